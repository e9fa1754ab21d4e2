// The review meeting page: clocks that tick from what the server last said, one part of the
// agenda at a time on the projector, and buttons only their person may use.
//
// Each clock carries the seconds its part had taken when the server rendered it, and whether
// it runs. The page counts on from the moment that fragment arrived, so every open screen
// shows the same time without trusting its own clock; a live event re-renders the fragment
// whenever someone starts, pauses or moves the timer.
(function () {
  "use strict";

  var live = document.getElementById("live");
  var me = live ? live.dataset.userId : "";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function format(seconds) {
    var whole = Math.floor(seconds);
    return pad(Math.floor(whole / 60)) + ":" + pad(whole % 60);
  }

  function tick() {
    var now = performance.now();
    document.querySelectorAll("[data-timer]").forEach(function (clock) {
      if (clock.hindsightSince === undefined) clock.hindsightSince = now;
      var seconds = Number(clock.dataset.elapsedMs || 0) / 1000;
      if (clock.hasAttribute("data-running")) seconds += (now - clock.hindsightSince) / 1000;
      var text = format(seconds);
      if (clock.textContent !== text) clock.textContent = text;
      var over = seconds > Number(clock.dataset.plannedS || 0);
      var holder = clock.closest(".agenda-part, .big-clock");
      if (holder) holder.classList.toggle("over", over);
      var part = clock.closest(".now-part");
      var note = part && part.querySelector("[data-over-note]");
      if (note && clock.closest(".big-clock")) note.hidden = !over;
    });
  }

  // The agenda part shown on its own (projector) or highlighted (laptop) follows the timer.
  function followPart() {
    var timer = document.querySelector(".meeting-timer[data-part]");
    if (!timer) return;
    var part = timer.dataset.part;
    document.querySelectorAll("[data-agenda-part]").forEach(function (section) {
      section.classList.toggle("current", section.dataset.agendaPart === part);
    });
  }

  function personal() {
    document.querySelectorAll("[data-only-user]").forEach(function (el) {
      el.hidden = el.dataset.onlyUser !== me;
    });
    document.querySelectorAll("[data-not-user]").forEach(function (el) {
      el.hidden = el.dataset.notUser === me;
    });
  }

  function follow() { followPart(); personal(); tick(); }
  document.addEventListener("htmx:afterSwap", follow);
  document.addEventListener("hindsight:swapped", follow);
  followPart();
  personal();
  tick();
  setInterval(tick, 250);
})();
