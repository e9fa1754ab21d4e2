// The active incident view: ticking clocks, the quick-capture line, and the state panel kept
// current as others act. Entries themselves arrive through live.js's timeline refresh.
(function () {
  "use strict";

  var root = document.getElementById("active");
  if (!root || !window.htmx) return;

  function readJson(id) {
    var el = document.getElementById(id);
    try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
  }
  var kindWords = readJson("capture-kind-words");
  var kindKeys = readJson("capture-kind-keys");

  // ---- clocks -------------------------------------------------------------------------
  function two(n) { return (n < 10 ? "0" : "") + n; }

  function elapsed(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
    var m = Math.floor(s % 3600 / 60), sec = s % 60;
    if (d) return d + " d " + h + " h " + two(m) + " min";
    if (h) return h + " h " + two(m) + " min " + two(sec) + " s";
    return m + " min " + two(sec) + " s";
  }

  // Now as the server reads a typed time: YYYY-MM-DD HH:MM:SS in the viewer's named zone.
  var zoneFormat = null;
  try {
    zoneFormat = new Intl.DateTimeFormat("en-GB", {
      timeZone: root.dataset.timeZone || undefined, hourCycle: "h23",
      year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
  } catch (e) { zoneFormat = null; }

  function isoNow() {
    var now = new Date();
    if (!zoneFormat) {
      return now.getFullYear() + "-" + two(now.getMonth() + 1) + "-" + two(now.getDate()) + " " +
        two(now.getHours()) + ":" + two(now.getMinutes()) + ":" + two(now.getSeconds());
    }
    var part = {};
    zoneFormat.formatToParts(now).forEach(function (p) { part[p.type] = p.value; });
    return part.year + "-" + part.month + "-" + part.day + " " +
      part.hour + ":" + part.minute + ":" + part.second;
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".clock[data-since]").forEach(function (el) {
      el.textContent = elapsed(now - Date.parse(el.dataset.since));
    });
    document.querySelectorAll(".countdown[data-until]").forEach(function (el) {
      var left = Date.parse(el.dataset.until) - now;
      el.textContent = left >= 0 ? "(in " + elapsed(left) + ")" : "(" + elapsed(-left) + " overdue)";
      el.classList.toggle("overdue", left < 0);
    });
    // Empty time fields mean "now": show which now, to the second, in the zone named beside.
    var now = isoNow();
    document.querySelectorAll("input[data-now]").forEach(function (el) {
      el.placeholder = now;
    });
  }
  tick();
  setInterval(tick, 1000);
  // A swapped-in panel comes with the server's words ("0 minutes", "now"): tick it at once.
  document.addEventListener("htmx:afterSettle", tick);

  // ---- quick capture ------------------------------------------------------------------
  function captureParts() {
    var form = document.getElementById("capture");
    return form && {
      form: form,
      text: form.querySelector("#capture-text"),
      kind: form.querySelector("#capture-kind"),
      guess: form.querySelector(".capture-guess"),
    };
  }

  function showGuess() {
    var parts = captureParts();
    if (!parts || !parts.text || !parts.guess) return;
    var match = /^\s*([A-Za-z]+)\s*:/.exec(parts.text.value);
    var kind = parts.kind.value || (match && kindWords[match[1].toLowerCase()]) || "";
    var option = kind && parts.kind.querySelector("option[value='" + kind + "']");
    parts.guess.textContent = option ? "Files as " + option.textContent : "";
  }

  document.addEventListener("input", function (event) {
    if (event.target.id === "capture-text" || event.target.id === "capture-kind") showGuess();
  });
  document.addEventListener("change", function (event) {
    if (event.target.id === "capture-kind") showGuess();
  });

  document.addEventListener("keydown", function (event) {
    var parts = captureParts();
    if (!parts || !parts.text) return;
    if (event.target === parts.text && event.altKey && !event.ctrlKey && !event.metaKey) {
      // event.code, since Alt+letter types another character on some keyboards.
      var key = (event.code || "").replace(/^Key/, "").toLowerCase();
      if (kindKeys[key]) {
        event.preventDefault();
        parts.kind.value = kindKeys[key];
        showGuess();
      }
      return;
    }
    var typing = event.target.closest && event.target.closest("input, textarea, select, [contenteditable]");
    if (!typing && !event.ctrlKey && !event.metaKey && !event.altKey && event.key === "c") {
      event.preventDefault();
      parts.text.focus();
    }
  });

  function focusCapture() {
    var parts = captureParts();
    if (parts && parts.text) parts.text.focus();
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id === "capture" || (event.target.querySelector && event.target.querySelector("#capture"))) {
      focusCapture();
      showGuess();
    }
  });

  // ---- the state panel, refreshed when anyone changes the incident ---------------------
  var stateUrl = root.dataset.stateUrl;
  var refreshTimer = null;
  var pending = false;

  function busy() {
    return ["active-state", "active-people"].some(function (id) {
      var panel = document.getElementById(id);
      if (!panel) return false;
      if (panel.contains(document.activeElement) && document.activeElement !== document.body) {
        return true;
      }
      // A half-filled snooze or hand-over form is someone at work: wait for them.
      return Array.prototype.some.call(
        panel.querySelectorAll("details[open] input[type=text]"),
        function (el) { return el.value !== ""; }
      );
    });
  }

  function refreshState() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      if (busy()) { pending = true; return; }
      pending = false;
      htmx.ajax("GET", stateUrl, { target: "#active-state", swap: "outerHTML" });
    }, 250);
  }

  document.addEventListener("focusout", function () {
    if (pending) setTimeout(refreshState, 0);
  });

  document.addEventListener("hindsight:change", function (event) {
    var change = event.detail || {};
    if (change.type === "status-update" || (change.type === "block" &&
        (change.kind === "incident" || change.kind === "entry"))) {
      refreshState();
    }
  });

  // ---- who is here: the roster shows it -----------------------------------------------
  var me = Number((document.getElementById("live") || {}).dataset.userId);
  var here = new Set([me]);
  function showPresence() {
    document.querySelectorAll("#active-people [data-person]").forEach(function (row) {
      var on = here.has(Number(row.dataset.person));
      row.classList.toggle("online", on);
      var dot = row.querySelector("[data-presence]");
      if (dot) dot.textContent = on ? "here now" : "away";
    });
  }
  document.addEventListener("hindsight:presence", function (event) {
    here = new Set((event.detail || []).map(function (person) { return person.user_id; }));
    here.add(me);
    showPresence();
  });
  document.addEventListener("htmx:afterSettle", showPresence);

  focusCapture();
  showGuess();
  showPresence();
})();
