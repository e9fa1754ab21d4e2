// Start from the viewer's own time zone; they change it when the chat was elsewhere.
(function () {
  var field = document.getElementById("id_time_zone");
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (field && zone) field.value = zone;
})();
