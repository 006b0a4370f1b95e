// Keeps a live page current: polls its state every 1.5 s and reloads when the session moved on
// (a question opened, closed or revealed); in between it only updates counts in place.
// Pages work without it: each has a Refresh link or is reloaded by the next form sent.
(function () {
  "use strict";
  var main = document.getElementById("main");
  var url = main && main.getAttribute("data-poll");
  if (url) {
    var version = main.getAttribute("data-version");
    var poll = function () {
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (state) {
          if (!state) return;
          if (String(state.version) !== version) { window.location.reload(); return; }
          Object.keys(state.fields || {}).forEach(function (id) {
            var el = document.getElementById(id);
            if (el) el.textContent = state.fields[id];
          });
          Object.keys(state.meters || {}).forEach(function (id) {
            var el = document.getElementById(id);
            if (el) { el.max = state.meters[id][1]; el.value = state.meters[id][0]; }
          });
        })
        .catch(function () {})  // offline for a moment: the next poll tries again
        .then(function () { window.setTimeout(poll, 1500); });
    };
    window.setTimeout(poll, 1500);
  }
  // Self-paced time limit: count down on the page; at zero the server hands the paper in.
  var timer = document.querySelector("[data-seconds-left]");
  if (timer) {
    var end = Date.now() + 1000 * Number(timer.getAttribute("data-seconds-left"));
    var tick = function () {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      timer.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      if (left === 0) { window.setTimeout(function () { window.location.reload(); }, 1000); }
      else { window.setTimeout(tick, 1000); }
    };
    tick();
  }
})();
