// A premortem's page: the writing countdown, and the board kept live.
//
// The countdown counts down from the seconds the server said were left when it rendered the
// board (so a wrong clock on this machine does not matter), and starts again whenever the board
// is read again. Events on the premortem's stream say only that something changed and the
// counts; the page then asks the server for the board as this person may see it. A form being
// filled in on the board is never swapped away: the refresh waits until it is left.
(function () {
  "use strict";
  var root = document.querySelector("[data-premortem]");
  if (!root) return;
  var boardUrl = root.dataset.boardUrl;
  var eventsUrl = root.dataset.eventsUrl;
  var status = root.querySelector("[data-live-status]");
  var deadline = null;
  var pending = false;
  var fetching = false;

  function board() {
    return document.getElementById("premortem-board");
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function startCountdown() {
    var el = board() && board().querySelector("[data-countdown]");
    deadline = el ? Date.now() + Number(el.dataset.secondsLeft) * 1000 : null;
    tick();
  }

  function tick() {
    var el = board() && board().querySelector("[data-countdown]");
    if (!el || deadline === null) return;
    var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    var clock = el.querySelector("[data-countdown-clock]");
    clock.textContent = Math.floor(left / 60) + ":" + pad(left % 60);
    el.classList.toggle("countdown-low", left > 0 && left <= 60);
    el.classList.toggle("countdown-over", left === 0);
    if (left === 0) {
      el.querySelector("[data-countdown-words]").textContent =
        "Time is up: the facilitator reveals the reasons or adds time.";
    }
  }

  function busy() {
    var b = board();
    if (!b) return false;
    if (b.contains(document.activeElement) && document.activeElement.matches("input, select, textarea")) {
      return true;
    }
    var forms = b.querySelectorAll("[data-holds-input]");
    for (var i = 0; i < forms.length; i++) {
      var fields = forms[i].querySelectorAll("input[type=checkbox], input[type=text], select");
      for (var j = 0; j < fields.length; j++) {
        var f = fields[j];
        if ((f.type === "checkbox" && f.checked) || (f.type !== "checkbox" && f.value)) return true;
      }
    }
    return false;
  }

  function refresh() {
    if (busy()) {
      pending = true;
      return;
    }
    if (fetching) {
      pending = true;
      return;
    }
    pending = false;
    fetching = true;
    fetch(boardUrl, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 404) {
          say("You no longer have access to this premortem.");
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html === null || html === undefined) return;
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("#premortem-board");
        if (!fresh) return;
        // A new phase changes the page around the board (the writing form goes): read it whole.
        if (fresh.dataset.phase !== root.dataset.phase) {
          window.location.reload();
          return;
        }
        board().replaceWith(fresh);
        startCountdown();
      })
      .catch(function () {
        say("Offline: the board will catch up.");
      })
      .finally(function () {
        fetching = false;
      });
  }

  function say(text) {
    if (status) status.textContent = text;
  }

  function describe(event) {
    var what = {
      reason: "A reason was written or taken back",
      reveal: "The reasons are revealed",
      phase: "The premortem moved on",
      group: "The groups changed",
      vote: "A vote was cast",
      join: "Someone joined",
    }[event.what];
    return what ? what + (event.by ? " (" + event.by + ")" : "") + "." : "The board changed.";
  }

  function listen() {
    if (!window.EventSource) return poll();
    var source = new EventSource(eventsUrl);
    var opened = false;
    source.addEventListener("ready", function () {
      if (opened) refresh(); // back after a drop: whatever was missed, read the board again
      opened = true;
      say("Live.");
    });
    source.addEventListener("change", function (message) {
      var event = {};
      try {
        event = JSON.parse(message.data);
      } catch (error) {
        event = {};
      }
      say(describe(event));
      refresh();
    });
    source.addEventListener("gone", function () {
      source.close();
      say("You no longer have access to this premortem.");
    });
    source.onerror = function () {
      if (!opened) {
        source.close();
        poll();
      }
    };
  }

  function poll() {
    say("Checking for changes every 10 seconds.");
    setInterval(refresh, 10000);
  }

  document.addEventListener("focusout", function () {
    setTimeout(function () {
      if (pending) refresh();
    }, 300);
  });
  setInterval(function () {
    tick();
    if (pending) refresh();
  }, 1000);
  startCountdown();
  listen();
})();
