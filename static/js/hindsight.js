// Small behaviours htmx does not cover: the viewer's timezone, Esc to cancel, focus on edit.
(function () {
  "use strict";

  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && document.cookie.indexOf("tz=" + zone) === -1) {
    // From the next page on, the server renders times in this zone.
    document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var form = event.target.closest && event.target.closest("form.block-form");
    if (!form) return;
    var cancel = form.querySelector("[data-cancel], [data-dismiss]");
    if (cancel) {
      event.preventDefault();
      // htmx wires a swapped-in form's buttons only once it settles; Esc may come sooner.
      htmx.process(cancel);
      cancel.click();
    }
  });

  document.addEventListener("htmx:confirm", function (event) {
    // Clicking a section's text opens its editor, except when the click follows a link in it.
    var trigger = event.detail.triggeringEvent;
    if (event.detail.elt.hasAttribute("data-edit-unless-link") && trigger &&
        trigger.target.closest && trigger.target.closest("a")) {
      event.preventDefault();
    }
  });

  // N opens an incident from anywhere: the dashboard's short form, or the full one.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "n" && event.key !== "N") return;
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (event.target.closest && event.target.closest("input, textarea, select, [contenteditable]")) return;
    var title = document.getElementById("quick-open-title");
    var link = document.querySelector("a[data-open-incident]");
    if (!title && !link) return;
    event.preventDefault();
    if (title) title.focus();
    else window.location.href = link.href;
  });

  document.addEventListener("click", function (event) {
    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) dismiss.closest("form").remove();
    // A Close button that empties a panel (in place of an inline handler the policy forbids).
    var empties = event.target.closest("[data-empties]");
    var panel = empties && document.getElementById(empties.getAttribute("data-empties"));
    if (panel) panel.replaceChildren();
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    // Fired on each swapped-in element; with outerHTML, detail.target is the one just removed.
    var swapped = event.target;
    var form = swapped.matches && swapped.matches("form.block-form")
      ? swapped
      : swapped.querySelector && swapped.querySelector("form.block-form");
    if (form && form.isConnected && !form.contains(document.activeElement)) {
      // The first field to fix, else the first field to type in.
      var first = form.querySelector("[aria-invalid=true]") ||
        form.querySelector("textarea, input:not([type=hidden]), select");
      if (first) first.focus();
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("request-error");
    if (!box) return;
    var status = event.detail.xhr.status;
    box.textContent = status === 403
      ? "Not allowed. Your session may have ended: reload the page and log in again."
      : "That did not work (error " + status + "). Nothing was lost; try again.";
    box.hidden = false;
    setTimeout(function () { box.hidden = true; }, 8000);
  });

  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("request-error");
    if (!box) return;
    box.textContent = "Cannot reach the server. Your text is still in the form; try again in a moment.";
    box.hidden = false;
  });
})();
