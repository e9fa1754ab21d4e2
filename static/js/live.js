// The live document page: an event stream of what others change, presence, and sections that
// save themselves as people type. Text merges happen on the server; this file only applies
// their results without moving the caret, and keeps unacknowledged text in localStorage.
(function () {
  "use strict";

  var root = document.getElementById("live");
  if (!root || !window.htmx || !window.fetch) return;

  var ref = root.dataset.ref;
  var me = Number(root.dataset.userId);
  var base = "/incidents/" + encodeURIComponent(ref) + "/";
  var lastId = root.dataset.lastEventId || "";
  var seen = new Set();
  var pendingLists = new Set();
  var tab = sessionStorage.getItem("hindsight-tab");
  if (!tab) {
    tab = Math.random().toString(36).slice(2, 12);
    sessionStorage.setItem("hindsight-tab", tab);
  }
  var csrf = (function () {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["x-csrftoken"]; }
    catch (e) { return ""; }
  })();

  function post(url, data) {
    var body = new URLSearchParams(data);
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Accept": "application/json" },
    });
  }

  // ---- status line -------------------------------------------------------------------
  var statusEl = document.getElementById("live-status");
  function status(text, tone) {
    if (!statusEl) return;
    statusEl.textContent = text;
    statusEl.dataset.tone = tone || "";
  }

  // ---- where each kind of block lives: the server's kind registry ---------------------
  var kinds = (function () {
    try { return JSON.parse(document.getElementById("block-kinds").textContent); }
    catch (e) { return {}; }
  })();

  // The list holding a changed block, when its kind lives in one: by element id and URL. A
  // kind whose list sits inside a block of another kind (whys in their cause) names that kind.
  function listFor(change) {
    var kind = kinds[change.kind];
    if (!kind || !kind.list) return null;
    if (kind.parent) {
      if (!change.parent) return listFor({ kind: kind.parent });
      return { id: kind.list + "-" + change.parent,
               url: base + change.kind + "/list/?" + kind.parent + "=" + change.parent };
    }
    return { id: kind.list, url: base + change.kind + "/list/" };
  }

  var OPEN_FORMS = "form.block-form, form.image-upload";
  function editing(el) {
    return el && (el.matches(OPEN_FORMS) || el.querySelector(OPEN_FORMS));
  }

  // The id of the block an edit form stands for: the form's own, or that of the table row or
  // list item holding it in a table or list (they take the block's id; see kernel.kinds).
  function blockIdOf(form) {
    var block = form.closest(".block[id]");
    return block ? block.id : "";
  }

  // Where to add something to a block: a table row takes it in its first cell.
  function inside(block) {
    return block.tagName === "TR" ? block.cells[0] : block;
  }

  // Requests under way and the elements their answers will replace: an Edit, Add, Delete or
  // Move that was clicked. A live change to such an element waits until the answer is in, so
  // an edit form is never swapped into an element that is no longer on the page.
  var inflight = new Map();  // target element → when its request started
  var INFLIGHT_MS = 10000;   // a request that never reported back stops holding changes up
  function opening(el) {
    var found = false, now = Date.now();
    inflight.forEach(function (started, target) {
      if (now - started > INFLIGHT_MS) { inflight.delete(target); return; }
      if (target === el || el.contains(target) ||
          (target.contains(el) && target !== document.body)) found = true;
    });
    return found;
  }
  function busy(el) { return editing(el) || opening(el); }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.target) inflight.set(event.detail.target, Date.now());
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    inflight.delete(event.detail.target);
    // Also any element of this request that an earlier swap replaced.
    inflight.forEach(function (_, target) { if (!target.isConnected) inflight.delete(target); });
    behindForms();
    applyPending();
  });

  // Swaps resolve their target when they are made: an answer for an element a live change
  // replaced meanwhile goes to the element now standing under that id.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && !target.isConnected && target.id) {
      var now = document.getElementById(target.id);
      if (now) event.detail.target = now;
    }
  });

  // ---- changes that carry their HTML: swapped in without a request ----------------------
  var pending = new Map();  // element id → the newest change that waits for a form to close
  var known = new Map();    // block id → the newest save any event announced
  var zone = root.dataset.zone || "";

  function blockVersion(change) {
    return change.action === "saved" ? Number(change.version) : 0;
  }

  function applyHtml(change) {
    var el = document.getElementById(change.target);
    if (!el) return false;
    if (busy(el)) {
      var waiting = pending.get(change.target);
      if (!waiting || blockVersion(change) >= blockVersion(waiting)) pending.set(change.target, change);
      if (change.action === "saved" && editing(el) && change.by_id !== me) {
        notice(el, change.by + " saved this while you edit it.");
      }
      return true;
    }
    if (change.action === "saved" && Number(el.dataset.version || 0) >= change.version) return true;
    put(el, change.html, change.by_id === me ? "" : change.by, change.zone);
    return true;
  }

  function put(el, html, who, renderedIn) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    var fresh = holder.content.firstElementChild;
    if (!fresh) return;
    el.replaceWith(fresh);
    htmx.process(fresh);
    if (renderedIn && renderedIn !== zone) localTimes(fresh);
    mark(fresh, who);
    // Pages with scripts of their own (the meeting's timer) follow HTML put in by an event, as
    // they follow htmx's swaps.
    document.dispatchEvent(new CustomEvent("hindsight:swapped", { detail: { element: fresh } }));
  }

  function applyPending() {
    pending.forEach(function (change, id) {
      var el = document.getElementById(id);
      if (!el) { pending.delete(id); return; }
      if (busy(el)) return;
      pending.delete(id);
      applyHtml(change);
    });
  }

  // A form that arrived older than a save an event announced while it was on its way stays
  // open: the person may be typing in it already. A section's editor merges the newer text in,
  // as it merges any save made while it is open; any other form says the block changed, and
  // its save then shows both versions rather than overwriting.
  function behindForms() {
    document.querySelectorAll("form.block-form:not([data-compared])").forEach(function (form) {
      form.dataset.compared = "1";  // once, on arrival: later saves reach it as events
      var holder = form.closest(".block[id]");
      var version = form.querySelector("input[name=base_version]");
      if (!holder || !version || holder.id.slice(-4) === "-new") return;
      var newest = known.get(holder.id);
      if (!newest || newest.version <= Number(version.value)) return;
      var editor = editors.get(holder.id);
      if (editor && editor.form === form) {
        editor.remoteChange(newest);
      } else {
        notice(form, newest.by + " saved a newer version of this. Saving shows theirs beside yours.");
      }
    });
  }

  // Times in an event are rendered in UTC: shown in this browser's zone, as the page shows them.
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localTimes(root) {
    root.querySelectorAll("[data-zone-label]").forEach(function (label) {
      label.textContent = "Times in " + zone;
    });
    root.querySelectorAll("time[datetime*='T']").forEach(function (time) {
      var when = new Date(time.getAttribute("datetime"));
      if (isNaN(when)) return;
      var text = when.getFullYear() + "-" + pad(when.getMonth() + 1) + "-" + pad(when.getDate()) +
        " " + pad(when.getHours()) + ":" + pad(when.getMinutes());
      if (time.textContent.trim().length > 16) text += ":" + pad(when.getSeconds());
      time.textContent = text;
    });
  }

  function blockUrl(id) {
    var dash = id.lastIndexOf("-");
    return base + id.slice(0, dash) + "/" + id.slice(dash + 1) + "/";
  }

  function mark(el, who) {
    if (!el) return;
    el.classList.add("live-changed");
    if (who) {
      var badge = document.createElement("span");
      badge.className = "changed-by";
      badge.textContent = "Changed by " + who;
      inside(el).appendChild(badge);
      setTimeout(function () { badge.remove(); }, 5000);
    }
    setTimeout(function () { el.classList.remove("live-changed"); }, 2500);
  }

  function swap(url, id, who) {
    return htmx.ajax("GET", url, {
      target: "#" + id, swap: "outerHTML", headers: { "X-Live-Refresh": url },
    }).then(function () {
      mark(document.getElementById(id), who);
    });
  }

  // A form may have opened while the refresh was on its way: check again right before the swap.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var headers = event.detail.requestConfig && event.detail.requestConfig.headers;
    var url = headers && headers["X-Live-Refresh"];
    if (!url || !editing(event.detail.target)) return;
    event.detail.shouldSwap = false;
    pendingLists.add(JSON.stringify({ id: event.detail.target.id, url: url }));
  });

  // A kind without a list (the incident's details) asked to refresh: re-read its blocks. The
  // header draws the timeline's entries in its picture, so a changed entry refreshes it.
  function refreshBlocks(change) {
    if (!kinds[change.kind] || kinds[change.kind].list) return;
    document.querySelectorAll(".block[id^='" + change.kind + "-']").forEach(function (el) {
      if (editing(el)) {
        pendingLists.add(JSON.stringify({ id: el.id, url: base + change.kind + "/" + el.id.slice(change.kind.length + 1) + "/" }));
        return;
      }
      swap(base + change.kind + "/" + el.id.slice(change.kind.length + 1) + "/", el.id, "");
    });
  }

  function refreshList(change) {
    var list = listFor(change);
    if (!list) return refreshBlocks(change);
    var el = document.getElementById(list.id);
    if (!el) return;
    if (editing(el)) {
      // Never swap what someone is typing in: refresh once their form closes.
      pendingLists.add(JSON.stringify(list));
      return;
    }
    swap(list.url, list.id, change.by_id === me ? "" : change.by);
  }

  function onChange(change) {
    document.dispatchEvent(new CustomEvent("hindsight:change", { detail: change }));
    if (change.type === "presence") return renderPresence(change.people);
    if (change.type !== "block") return;
    var key = [change.kind, change.id, change.version, change.action].join(":");
    if (seen.has(key)) return;
    seen.add(key);
    var id = change.kind + "-" + change.id;
    var newest = known.get(id);
    if (change.action === "saved" && (!newest || change.version > newest.version)) {
      known.set(id, change);
    }
    var editor = editors.get(id);
    if (editor && change.action === "saved" && document.body.contains(editor.form)) {
      return editor.remoteChange(change);
    }
    if (change.html && change.target && applyHtml(change)) return;
    if (change.action !== "saved") return refreshList(change);
    var el = document.getElementById(id);
    if (!el) return refreshList(change);
    if (editing(el)) {
      var editor = editors.get(id);
      if (editor) editor.remoteChange(change);
      else if (change.by_id !== me) notice(el, change.by + " saved this while you edit it.");
      return;
    }
    if (Number(el.dataset.version || 0) >= change.version) return;
    swap(base + change.kind + "/" + change.id + "/", id, change.by_id === me ? "" : change.by);
  }

  function notice(el, text) {
    var box = el.querySelector(".live-notice");
    if (!box) {
      box = document.createElement("p");
      box.className = "live-notice";
      box.setAttribute("role", "status");
      (el.querySelector(".form-actions") || el).before(box);
    }
    box.textContent = text;
  }

  function refreshEverything() {
    Object.keys(kinds).forEach(function (name) {
      if (kinds[name].list) {
        if (!kinds[name].parent) refreshList({ kind: name });
        return;
      }
      // Kinds without a list (the incident's details, sections) are refreshed block by block.
      document.querySelectorAll(".block[id^='" + name + "-']").forEach(function (el) {
        if (editing(el)) return;
        swap(base + name + "/" + el.id.slice(name.length + 1) + "/", el.id, "");
      });
    });
  }

  // ---- controls: one delegated handler; long lists share one set of controls ------------
  document.addEventListener("click", function (event) {
    var control = event.target.closest && event.target.closest("[data-do]");
    var what = control && control.dataset.do;
    var block = control && control.closest(".block[id]");
    if (!block || what === "image") return;
    // A click on a link in a section's text follows the link rather than opening the editor.
    if (control.hasAttribute("data-edit-unless-link") && event.target.closest("a")) return;
    event.preventDefault();
    var url = blockUrl(block.id);
    var options = { source: control, target: "#" + block.id, swap: "outerHTML" };
    if (what === "edit") {
      htmx.ajax("GET", url + "edit/", options);
    } else if (what === "delete") {
      if (!window.confirm(control.dataset.confirm)) return;
      options.values = { base_version: block.dataset.version };
      htmx.ajax("POST", url + "delete/", options);
    } else if (what === "move") {
      options.values = { direction: control.dataset.direction };
      htmx.ajax("POST", url + "move/", options);
    }
  });

  function showControls(event) {
    var block = event.target.closest && event.target.closest(".block[tabindex]");
    if (!block || block.querySelector(".block-actions")) return;
    var template = document.getElementById("controls-" + block.id.slice(0, block.id.lastIndexOf("-")));
    if (!template) return;
    var shared = document.querySelector(".block-actions[data-shared]");
    if (shared && shared.contains(document.activeElement)) return;  // not from under the keyboard
    if (shared) shared.remove();
    var bar = template.content.firstElementChild.cloneNode(true);
    bar.setAttribute("data-shared", "");
    inside(block).appendChild(bar);
  }
  document.addEventListener("focusin", showControls);
  document.addEventListener("mouseover", showControls);

  document.addEventListener("htmx:afterSwap", function () {
    applyPending();
    pendingLists.forEach(function (raw) {
      var list = JSON.parse(raw);
      var el = document.getElementById(list.id);
      if (el && !editing(el)) {
        pendingLists.delete(raw);
        swap(list.url, list.id, "");
      }
    });
    attachEditors();
    beat();
  });

  // ---- the event stream, with polling when it cannot be had --------------------------
  var source = null;
  var failures = 0;
  var pollTimer = null;
  var pollSince = new Date().toISOString();

  function connect() {
    var url = base + "events/" + (lastId ? "?last_event_id=" + encodeURIComponent(lastId) : "");
    source = new EventSource(url);
    source.addEventListener("ready", function (event) {
      var data = JSON.parse(event.data);
      var wasDown = failures > 0 || pollTimer;
      failures = 0;
      stopPolling();
      status(
        wasDown
          ? "Reconnected" + (data.caught_up ? ", caught up on " + data.caught_up + " change" +
            (data.caught_up === 1 ? "" : "s") : "")
          : "Live",
        "ok"
      );
    });
    source.addEventListener("change", function (event) {
      if (event.lastEventId) lastId = event.lastEventId;
      onChange(JSON.parse(event.data));
    });
    source.addEventListener("presence", function (event) {
      if (event.lastEventId) lastId = event.lastEventId;
      renderPresence(JSON.parse(event.data).people);
    });
    source.addEventListener("gone", function (event) {
      // Access to this incident was taken away: stop listening, polling and beating.
      source.onerror = null;
      source.close();
      stopPolling();
      status(JSON.parse(event.data).reason, "warn");
    });
    source.addEventListener("reset", function () {
      refreshEverything();
      status("Reconnected, reloaded the document", "ok");
    });
    source.onerror = function () {
      source.close();
      failures += 1;
      status("Offline, reconnecting…", "warn");
      if (failures >= 2) startPolling();
      // Back off with jitter, so a restarted server is not hit by every page at once.
      var delay = Math.min(30000, 1000 * Math.pow(2, Math.min(failures, 5)));
      setTimeout(connect, delay * (0.5 + Math.random()));
    };
  }

  function startPolling() {
    if (pollTimer) return;
    pollTimer = setInterval(poll, 10000);
    poll();
  }

  function stopPolling() {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  }

  function poll() {
    fetch(base + "changes/?since=" + encodeURIComponent(pollSince), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        pollSince = data.now;
        data.changes.forEach(onChange);
        if (failures) status("Live updates paused; checking every 10 seconds", "warn");
      })
      .catch(function () { status("Offline, will retry", "warn"); });
  }

  // ---- presence ----------------------------------------------------------------------
  var presenceEl = document.getElementById("presence");

  function openBlockId() {
    var forms = document.querySelectorAll("form.block-form");
    for (var i = 0; i < forms.length; i++) {
      var id = blockIdOf(forms[i]);
      if (id) return id;
    }
    return "";
  }

  function renderPresence(people) {
    if (!presenceEl || !people) return;
    document.dispatchEvent(new CustomEvent("hindsight:presence", { detail: people }));
    var byUser = new Map();
    people.forEach(function (person) {
      var known = byUser.get(person.user_id);
      if (!known || person.editing) byUser.set(person.user_id, person);
    });
    presenceEl.textContent = "";
    document.querySelectorAll(".editing-badge").forEach(function (b) { b.remove(); });
    byUser.forEach(function (person) {
      var chip = document.createElement("span");
      chip.className = "avatar" + (person.user_id === me ? " me" : "");
      chip.textContent = person.initials;
      var label = person.name + (person.user_id === me ? " (you)" : "");
      chip.title = label;
      chip.setAttribute("aria-label", label);
      presenceEl.appendChild(chip);
      if (person.editing && person.user_id !== me) {
        var block = document.getElementById(person.editing);
        if (block) {
          var badge = document.createElement("span");
          badge.className = "editing-badge";
          badge.textContent = person.name + " is editing";
          (block.querySelector(".part-head") || inside(block)).appendChild(badge);
        }
      }
    });
  }

  var lastBeat = "";
  function beat() {
    var editingId = openBlockId();
    if (document.hidden) return;
    lastBeat = editingId;
    post(base + "presence/", { tab: tab, editing: editingId })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) renderPresence(data.people); })
      .catch(function () {});
  }

  function leave() {
    var form = new FormData();
    form.append("tab", tab);
    form.append("csrfmiddlewaretoken", csrf);
    navigator.sendBeacon(base + "presence/leave/", form);
  }

  setInterval(function () { beat(); }, 7000);
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) leave(); else beat();
  });
  window.addEventListener("pagehide", leave);
  document.addEventListener("focusin", function () {
    if (openBlockId() !== lastBeat) beat();
  });

  // ---- sections that save themselves -------------------------------------------------
  var editors = new Map();
  var DRAFT = "hindsight:draft:" + ref + ":";

  function readDraft(key) {
    try { return JSON.parse(localStorage.getItem(DRAFT + key)); } catch (e) { return null; }
  }

  // Where a position in the old text lands in the new one, given the server's edits.
  function mapPosition(position, edits) {
    var shift = 0;
    for (var i = 0; i < edits.length; i++) {
      var start = edits[i][0], end = edits[i][1], text = edits[i][2];
      if (end <= position && !(start === end && start === position)) {
        shift += text.length - (end - start);
      } else if (start < position && position < end) {
        return start + shift + text.length;
      } else if (start === end && start === position) {
        shift += text.length;  // their insertion right at the caret goes before it
      }
    }
    return position + shift;
  }

  function setTextKeepingCaret(area, text, edits) {
    if (area.value === text) return;
    var focused = document.activeElement === area;
    var start = area.selectionStart, end = area.selectionEnd;
    area.value = text;
    if (focused) area.setSelectionRange(mapPosition(start, edits), mapPosition(end, edits));
  }

  // The single stretch typed between two values: [start, end-in-old, inserted text].
  function spliceBetween(before, after) {
    var p = 0;
    while (p < before.length && p < after.length && before[p] === after[p]) p++;
    var s = 0;
    while (s < before.length - p && s < after.length - p &&
           before[before.length - 1 - s] === after[after.length - 1 - s]) s++;
    return [p, before.length - s, after.slice(p, after.length - s)];
  }

  function Editor(form) {
    this.form = form;
    this.key = blockIdOf(form);
    this.field = form.dataset.autosaveField;
    this.area = form.querySelector("textarea[name=" + this.field + "]");
    this.versionInput = form.querySelector("input[name=base_version]");
    this.status = form.querySelector(".autosave-status");
    this.url = form.dataset.autosave;
    this.limit = Number(form.dataset.autosaveLimit || 0);
    this.acked = this.area.value;
    this.inflight = false;
    this.again = false;
    this.timer = null;
    this.retry = 1000;
    this.blocked = false;
    var self = this;
    var draft = readDraft(this.key);
    if (draft && draft.text !== this.area.value) {
      this.area.value = draft.text;
      this.versionInput.value = draft.base;
      this.say("Restored text you had not saved");
      this.schedule(0);
    }
    this.area.addEventListener("input", function () {
      self.keepDraft();
      self.say("Unsaved changes");
      self.schedule(1200);
    });
    this.area.addEventListener("blur", function () { self.schedule(0); });
  }

  Editor.prototype.say = function (text) { if (this.status) this.status.textContent = text; };

  Editor.prototype.keepDraft = function () {
    try {
      localStorage.setItem(DRAFT + this.key, JSON.stringify({
        text: this.area.value, base: Number(this.versionInput.value), at: Date.now(),
        field: this.field,
      }));
      this.draftLost = false;
    } catch (e) {
      // The browser's storage is full (a paste of several megabytes can do it): say so.
      this.draftLost = true;
      this.say("Not saved, and too large to keep in this browser: copy your text somewhere safe");
    }
  };

  Editor.prototype.schedule = function (delay) {
    var self = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.send(); }, delay);
  };

  Editor.prototype.send = function (force) {
    var self = this;
    if (this.blocked) return Promise.resolve();
    if (this.inflight) { this.again = true; return this.inflight; }
    var sent = this.area.value;
    if (sent === this.acked && !force) {
      this.refused = false;
      localStorage.removeItem(DRAFT + this.key);
      return Promise.resolve();
    }
    var sentBase = Number(this.versionInput.value);
    if (this.limit && sent.length > this.limit) {
      // Nothing is sent, so nothing is cut: the whole text stays in the box and the draft.
      this.refused = true;
      if (!this.draftLost) {
        this.say("Not saved: this holds at most " + this.limit.toLocaleString("en") +
          " characters and the text has " + sent.length.toLocaleString("en") + ". Shorten it by " +
          (sent.length - this.limit).toLocaleString("en") + "; your text is kept here until you do.");
      }
      return Promise.resolve();
    }
    this.say("Saving…");
    var data = { base_version: sentBase };
    data[this.field] = sent;
    this.inflight = post(this.url, data)
      .then(function (response) {
        return response.json().then(function (data) { return [response.status, data]; });
      })
      .then(function (result) {
        var code = result[0], data = result[1];
        self.refused = code !== 200 && code !== 409;
        if (code === 200) self.saved(sent, data);
        else if (code === 409) self.conflict(data);
        else if (!self.draftLost) self.say(data.error || "Not saved: error " + code);
      })
      .catch(function () {
        self.say("Offline, will retry");
        self.schedule(self.retry);
        self.retry = Math.min(self.retry * 2, 30000);
      })
      .finally(function () {
        self.inflight = false;
        if (self.again) { self.again = false; self.schedule(0); }
      });
    return this.inflight;
  };

  Editor.prototype.saved = function (sent, data) {
    this.retry = 1000;
    this.savedSomething = true;
    this.versionInput.value = data.version;
    this.acked = data.text;
    var area = this.area;
    if (area.value === sent) {
      setTextKeepingCaret(area, data.text, data.edits || []);
    } else if (data.text !== sent) {
      // They typed on while this save was under way: replay that typing on the merged text.
      var typed = spliceBetween(sent, area.value);
      var edits = data.edits || [];
      var start = mapPosition(typed[0], edits), end = mapPosition(typed[1], edits);
      var text = data.text.slice(0, start) + typed[2] + data.text.slice(end);
      var caret = area.selectionStart, typedEnd = typed[0] + typed[2].length, moved;
      if (caret < typed[0]) moved = mapPosition(caret, edits);
      else if (caret <= typedEnd) moved = start + (caret - typed[0]);
      else moved = mapPosition(caret - typedEnd + typed[1], edits) - end + start + typed[2].length;
      var focused = document.activeElement === area;
      area.value = text;
      if (focused) area.setSelectionRange(moved, moved);
    }
    if (area.value === this.acked) {
      localStorage.removeItem(DRAFT + this.key);
      this.say(data.merged ? "Saved, merged with others' changes" : "Saved");
    } else {
      this.keepDraft();
      this.schedule(300);
    }
  };

  Editor.prototype.remoteChange = function (change) {
    if (change.version <= Number(this.versionInput.value)) return;
    this.say(change.by + " saved a change; merging…");
    this.send(true);
  };

  Editor.prototype.conflict = function (data) {
    var self = this;
    this.blocked = true;
    this.versionInput.value = data.version;
    this.say("Not merged: choose below");
    var panel = document.createElement("div");
    panel.className = "conflict";
    panel.setAttribute("role", "alert");
    var intro = document.createElement("p");
    intro.innerHTML = "<strong></strong> Nothing was overwritten, and your text is kept as a " +
      "conflict copy in the history.";
    intro.firstChild.textContent = (data.by || "Someone") +
      " changed the same words while you were typing, so the two texts could not be merged.";
    var theirs = document.createElement("pre");
    theirs.className = "conflict-text";
    theirs.textContent = data.theirs;
    var label = document.createElement("p");
    label.textContent = "Their text (yours is in the box):";
    var buttons = document.createElement("div");
    buttons.className = "form-actions";
    [["mine", "Keep mine"], ["theirs", "Keep theirs"], ["both", "Edit both"]].forEach(function (c) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button small" + (c[0] === "both" ? " primary" : "");
      button.textContent = c[1];
      button.addEventListener("click", function () { self.resolve(data.conflict, c[0], panel); });
      buttons.appendChild(button);
    });
    panel.append(intro, label, theirs, buttons);
    this.form.prepend(panel);
  };

  Editor.prototype.resolve = function (conflictId, choice, panel) {
    var self = this;
    post(base + "conflicts/" + conflictId + "/resolve/", { choice: choice })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        panel.remove();
        self.blocked = false;
        self.versionInput.value = data.version;
        self.area.value = data.text;
        if (choice === "both") {
          self.acked = null;  // the combined text is not saved yet
          self.keepDraft();
          self.say("Both texts are in the box: edit them into one");
          self.area.focus();
        } else {
          self.acked = data.text;
          localStorage.removeItem(DRAFT + self.key);
          self.say(choice === "mine" ? "Saved yours" : "Kept theirs");
        }
      })
      .catch(function () { self.say("Offline, try again"); });
  };

  Editor.prototype.close = function () {
    var self = this;
    clearTimeout(this.timer);
    return this.send().then(function () {
      // A refused save (the text is too long) keeps the editor open with the text in it.
      if (self.blocked || self.refused) return;
      editors.delete(self.key);
      var shown = self.form.dataset.show + (self.savedSomething ? "?saved=1" : "");
      htmx.ajax("GET", shown, { target: "#" + self.key, swap: "outerHTML" });
    });
  };

  function attachEditors() {
    editors.forEach(function (editor, key) {
      if (!document.body.contains(editor.form)) editors.delete(key);
    });
    document.querySelectorAll("form.block-form[data-autosave]").forEach(function (form) {
      var key = blockIdOf(form);
      if (!editors.has(key) || editors.get(key).form !== form) {
        editors.set(key, new Editor(form));
      }
    });
  }

  // With autosave, Save and Cancel both mean "done": flush what is typed, then close.
  document.addEventListener("submit", function (event) {
    var editor = editors.get(blockIdOf(event.target));
    if (!editor || editor.form !== event.target) return;
    event.preventDefault();
    event.stopPropagation();
    editor.close();
  }, true);
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-cancel]");
    var form = button && button.closest("form[data-autosave]");
    var editor = form && editors.get(blockIdOf(form));
    if (!editor) return;
    event.preventDefault();
    event.stopPropagation();
    editor.close();
  }, true);

  // Text typed before a reload or a closed tab, never acknowledged: send it now.
  function recoverDrafts() {
    Object.keys(localStorage).forEach(function (name) {
      if (name.indexOf(DRAFT) !== 0) return;
      var key = name.slice(DRAFT.length);
      var draft = readDraft(key);
      var block = document.getElementById(key);
      if (!draft || !block || editors.has(key)) return;
      var dash = key.lastIndexOf("-");
      var kind = key.slice(0, dash), id = key.slice(dash + 1);
      if (!kinds[kind] || !kinds[kind].autosave) return;
      var data = { base_version: draft.base };
      data[kinds[kind].autosave] = draft.text;
      var url = base + kind + "/" + id + "/";
      post(url + "autosave/", data)
        .then(function (response) {
          if (response.status === 200) {
            localStorage.removeItem(name);
            swap(url, key, "");
            status("Saved text you had typed before the page closed", "ok");
          } else if (response.status === 409 || response.status === 422) {
            // Open the editor: it restores the draft and shows the choice, or what is too long.
            htmx.ajax("GET", url + "edit/", { target: "#" + key, swap: "outerHTML" });
          } else if (response.status !== 404) {
            localStorage.removeItem(name);
          }
        })
        .catch(function () { status("Offline: your unsaved text is kept and will be sent", "warn"); });
    });
  }

  window.addEventListener("online", function () {
    editors.forEach(function (editor) { editor.schedule(0); });
    recoverDrafts();
  });

  attachEditors();
  recoverDrafts();
  connect();
  beat();
})();
