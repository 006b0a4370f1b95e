/* The self-checks inside a learning platform: SCORM 1.2 and SCORM 2004 (4th edition).
 *
 * Only the SCORM package (thbcourse package --format scorm12|scorm2004, thbcourse/deliveries/scorm.py)
 * loads this file; the book online and on disk never does. It has two roles:
 *
 * - In a SCO's launch page (scorm/<page>.html, <html data-scorm-version="1.2|2004">) it is the session:
 *   it finds the platform's API object as the ADL run-time environment describes (window.API for 1.2,
 *   window.API_1484_11 for 2004, in this window, its parents, then the opener's), initialises it,
 *   reads back the suspend data, shows the book page in a frame, and on pagehide/unload writes the
 *   session time and exit "suspend", commits and terminates. Browsing from page to page inside the
 *   frame keeps the one session.
 * - In a book page inside that frame it gives selfcheck.js `window.thbcourseScorm` (restore, save,
 *   interaction), connected to the session. Without a session nothing is set and the self-checks
 *   behave as in the book (localStorage only).
 *
 * What is reported, for the self-checks the SCO tracks (data-scorm-quizzes: the chapter's own, or
 * every chapter's when the whole course is one SCO): the score as a percentage, the mean of each
 * self-check's best percentage (raw, min 0, max 100; scaled = raw / 100 in 2004); completion once
 * every one of them has been finished at least once; passed once each best reaches its pass mark,
 * failed when one does not; an interaction per checked answer; and in suspend data each
 * self-check's record (best, last, attempts) and its current attempt (paper, answers checked).
 */
(function () {
  "use strict";

  var HOST = "thbcourseScormHost";
  var LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789";
  var TYPES = {single: "choice", multiple: "choice", true_false: "true-false", matching: "matching",
               ordering: "sequencing", short_answer: "fill-in", numeric: "numeric"};
  var SUSPEND_12 = 4096;  // SCORM 1.2's limit for cmi.suspend_data (2004: 64000)

  function reach(win, name) {
    try { return win[name] || null; } catch (e) { return null; }  // another origin: not ours to ask
  }

  /* ADL's search: this window, then each parent up to the top, at most 500 steps. */
  function search(win, name) {
    for (var steps = 0; win && steps < 500; steps++) {
      var found = reach(win, name);
      if (found) return found;
      var parent = reach(win, "parent");
      if (!parent || parent === win) break;
      win = parent;
    }
    return null;
  }

  function locate(name) {
    var found = search(window, name);
    var top = reach(window, "top");
    [reach(window, "opener"), top && reach(top, "opener")].forEach(function (opener) {
      if (!found && opener) found = search(opener, name);
    });
    return found;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // --- the session, in a SCO's launch page ----------------------------------------------------------

  function Session(version, api, quizzes) {
    var v12 = version === "1.2";
    var started = Date.now(), open = false, state = {};
    var tracked = {};
    quizzes.forEach(function (q) { tracked[q.id] = q; });

    function call(name12, name2004, args) {
      try { return String(api[v12 ? name12 : name2004].apply(api, args)); } catch (e) { return ""; }
    }
    function get(element) { return call("LMSGetValue", "GetValue", [element]); }
    function set(element, value) { return call("LMSSetValue", "SetValue", [element, String(value)]) === "true"; }
    function commit() { call("LMSCommit", "Commit", [""]); }

    open = call("LMSInitialize", "Initialize", [""]) === "true";
    if (!open) return null;
    try {
      var saved = JSON.parse(get("cmi.suspend_data") || "null");
      if (saved && saved.v === 1 && saved.q) state = saved.q;
    } catch (e) { /* not ours, or damaged: start afresh */ }
    if (v12) {
      if (get("cmi.core.lesson_status") === "not attempted") {
        set("cmi.core.lesson_status", quizzes.length ? "incomplete" : "completed");
      }
      set("cmi.core.exit", "suspend");
    } else {
      if (["completed", "incomplete"].indexOf(get("cmi.completion_status")) < 0) {
        set("cmi.completion_status", quizzes.length ? "incomplete" : "completed");
      }
      set("cmi.exit", "suspend");
    }
    commit();

    /* Score and status from the tracked self-checks' records; nothing until one is finished. */
    function report() {
      var sum = 0, done = 0, passed = 0;
      quizzes.forEach(function (q) {
        var record = (state[q.id] || {}).r;
        if (!record || !record.attempts) return;
        done += 1;
        sum += record.best;
        if (record.best >= q.pass) passed += 1;
      });
      if (!done) return;
      var raw = Math.round(100 * sum / quizzes.length) / 100;
      var complete = done === quizzes.length, verdict = passed === quizzes.length ? "passed" : "failed";
      var prefix = v12 ? "cmi.core.score." : "cmi.score.";
      set(prefix + "raw", raw);
      set(prefix + "min", 0);
      set(prefix + "max", 100);
      if (v12) {
        set("cmi.core.lesson_status", complete ? verdict : "incomplete");
      } else {
        set("cmi.score.scaled", Math.round(raw * 100) / 10000);
        set("cmi.completion_status", complete ? "completed" : "incomplete");
        set("cmi.success_status", complete ? verdict : "unknown");
      }
    }

    function persist() {
      var text = JSON.stringify({v: 1, q: state});
      if (v12 && text.length > SUSPEND_12) {  // keep the records; the attempts in progress start again
        var records = {};
        Object.keys(state).forEach(function (id) { records[id] = {r: state[id].r}; });
        text = JSON.stringify({v: 1, q: records});
      }
      set("cmi.suspend_data", text);
      report();
      commit();
    }

    function ids(text) { return text === "" ? [] : String(text).split(","); }
    function letter(i) { return LETTERS.charAt(Number(i)) || String(i); }

    /* A response (selfcheck.js's canonical form) in the version's format for the interaction's type. */
    function format(type, response) {
      var list = v12 ? "," : "[,]", pair = v12 ? "." : "[.]";
      if (type === "true_false") return v12 ? response.charAt(0) : response;
      if (type === "single" || type === "multiple" || type === "ordering") {
        return ids(response).map(letter).join(list);
      }
      if (type === "matching") {
        return ids(response).map(function (right, left) { return (left + 1) + pair + letter(right); }).join(list);
      }
      if (type === "numeric") {
        var x = Number(String(response).trim().replace(/,/g, "."));
        return isFinite(x) && /^-?\d+(\.\d+)?$/.test(String(x)) ? String(x) : "";
      }
      var text = String(response).replace(/\s+/g, " ").trim();  // fill-in: plain text, no delimiters
      if (!v12) text = text.split("[,]").join(",").replace(/^\{/, "(");
      return Array.from(text).slice(0, v12 ? 255 : 250).join("");
    }

    function pattern(type, correct) {
      if (correct == null) return "";
      if (type === "numeric") {  // the accepted range: 2004 only (1.2 takes one number)
        return v12 ? "" : format("numeric", correct[0]) + "[:]" + format("numeric", correct[1]);
      }
      return format(type, correct);
    }

    function interaction(info) {
      var n = Number(get("cmi.interactions._count")) || 0, at = "cmi.interactions." + n + ".";
      var now = new Date(), clock = pad(now.getHours()) + ":" + pad(now.getMinutes()) + ":" + pad(now.getSeconds());
      set(at + "id", info.id);
      set(at + "type", TYPES[info.type]);
      set(at + (v12 ? "student_response" : "learner_response"), format(info.type, info.response));
      set(at + "result", info.correct ? "correct" : v12 ? "wrong" : "incorrect");
      set(at + "weighting", info.max);
      if (v12) set(at + "time", clock);
      else set(at + "timestamp", now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate()) + "T" + clock);
      var expected = pattern(info.type, info.expected);
      if (expected) set(at + "correct_responses.0.pattern", expected);
    }

    function sessionTime() {
      var s = Math.round((Date.now() - started) / 1000);
      var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
      s %= 60;
      return v12 ? (h < 10 ? "000" : h < 100 ? "00" : h < 1000 ? "0" : "") + h + ":" + pad(m) + ":" + pad(s)
        : "PT" + h + "H" + m + "M" + s + "S";
    }

    function finish() {
      if (!open) return;
      open = false;
      set(v12 ? "cmi.core.session_time" : "cmi.session_time", sessionTime());
      set(v12 ? "cmi.core.exit" : "cmi.exit", "suspend");
      persist();
      call("LMSFinish", "Terminate", [""]);
    }

    return {
      finish: finish,
      /* What a book page's selfcheck.js uses; self-checks the SCO does not track are left alone. */
      connect: function () {
        return {
          restore: function (quiz) {
            return open && tracked[quiz] && state[quiz] ? JSON.parse(JSON.stringify(state[quiz])) : null;
          },
          save: function (quiz, saved) {
            if (!open || !tracked[quiz]) return;
            state[quiz] = JSON.parse(JSON.stringify(saved));
            persist();
          },
          interaction: function (quiz, info) {
            if (open && tracked[quiz]) interaction(JSON.parse(JSON.stringify(info)));
          },
        };
      },
    };
  }

  var root = document.documentElement;
  var version = root.getAttribute("data-scorm-version");
  if (version) {  // a SCO's launch page
    var quizzes = JSON.parse(root.getAttribute("data-scorm-quizzes") || "[]");
    var api = locate(version === "1.2" ? "API" : "API_1484_11");
    var session = api && Session(version, api, quizzes);
    if (session) {
      window[HOST] = session;
      window.addEventListener("pagehide", session.finish);
      window.addEventListener("unload", session.finish);
    }
  } else {  // a book page: inside a launch page that holds a session, or not
    var host = search(reach(window, "parent") === window ? null : reach(window, "parent"), HOST);
    if (host) window.thbcourseScorm = host.connect();
  }
})();
