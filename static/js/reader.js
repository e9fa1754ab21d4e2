// A stakeholder's page: refresh the content when the postmortem changes, stop when the link is
// revoked. Without JavaScript the page still reads; with it, polling remains the fallback.
(function () {
  "use strict";
  var content = document.getElementById("reader-content");
  if (!content || !window.EventSource || !window.htmx) return;
  var source = new EventSource(content.dataset.events);
  source.addEventListener("change", function () {
    var current = document.getElementById("reader-content");
    if (current) htmx.trigger(current, "refresh");
  });
  source.addEventListener("gone", function () {
    source.close();
    var current = document.getElementById("reader-content");
    if (current) htmx.trigger(current, "refresh");  // answers 404: "no longer available"
  });
})();
