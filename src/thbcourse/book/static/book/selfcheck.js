/* Self-checks at the end of chapter pages, and their scores in the chapter list.
 *
 * Nothing is graded here. The build asked the course's grading engine for the score and feedback
 * of every possible response and wrote them into the page (script.sc-data, made by
 * thbcourse/book/selfcheck.py); this file reads the learner's response, looks it up and shows it.
 * Scores are kept in this browser only (localStorage), per self-check.
 *
 * In the SCORM package a launch page holds a session with the learning platform, and scorm.js gives
 * the pages inside it `window.thbcourseScorm`: then each checked answer is also reported (interaction),
 * each self-check's record and current attempt are saved with the platform, and reopening the SCO
 * shows the attempt where the learner left it. Without it (the book online or on disk) nothing here
 * changes.
 */
(function () {
  "use strict";

  var STORE = "thbcourse.selfcheck.";
  var NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
  var MISSING = {
    multiple: "Choose at least one answer first.",
    matching: "Choose a match for every item first.",
    short_answer: "Type an answer first.",
    numeric: "Type a number first, such as 12.5.",
  };

  var link = null;  // the platform (scorm.js), set at start when there is one
  var kept = {};  // each self-check's record as the platform keeps it

  function record(quiz) {
    if (link) return kept[quiz] || null;  // the platform's, not whatever this browser holds
    try { return JSON.parse(localStorage.getItem(STORE + quiz)); } catch (e) { return null; }
  }

  function records() {
    var found = [];
    try {
      for (var i = 0; i < localStorage.length; i++) {
        var key = localStorage.key(i);
        if (key.indexOf(STORE) === 0) found.push(record(key.slice(STORE.length)));
      }
    } catch (e) { /* storage switched off: nothing to show */ }
    return found.filter(Boolean);
  }

  function number(x) { return String(Math.round(x * 100) / 100); }
  function points(x) { return number(x) + (x === 1 ? " point" : " points"); }

  function shuffle(items) {
    for (var i = items.length - 1; i > 0; i--) {
      var j = Math.floor(Math.random() * (i + 1));
      var t = items[i]; items[i] = items[j]; items[j] = t;
    }
    return items;
  }

  // --- one question: the response, as the key of the table the build wrote ----------------------

  function values(q, selector, read) { return Array.prototype.map.call(q.querySelectorAll(selector), read); }

  function normalise(text, max) {  // the engine's normalise_text: first max characters, spaces collapsed, lower case
    return Array.from(text).slice(0, max).join("").split(/\s+/).filter(Boolean).join(" ").toLowerCase();
  }

  /* The index of the engine's outcome for the response in the page, or null when incomplete. */
  function outcome(q, data) {
    var type = q.dataset.type;
    if (type === "short_answer") {
      var text = normalise(q.querySelector("input").value, data.maxText);
      if (!text) return null;
      var right = data.accepted.indexOf(text) >= 0 || data.patterns.some(function (p) {
        return new RegExp("^(?:" + p + ")$", "i").test(text);
      });
      return right ? data.right : data.wrong;
    }
    if (type === "numeric") {
      var typed = q.querySelector("input").value.trim().replace(/,/g, ".");
      if (!NUMBER.test(typed)) return null;
      var x = Number(typed);
      return x >= data.range[0] && x <= data.range[1] ? data.right : data.wrong;
    }
    var key;
    if (type === "single" || type === "true_false") {
      key = values(q, "input:checked", function (i) { return i.value; }).join();
      if (!key) return null;
    } else if (type === "multiple") {
      key = values(q, "input:checked", function (i) { return Number(i.value); })
        .sort(function (a, b) { return a - b; }).join(",");
      if (!key) return null;
    } else if (type === "matching") {
      var chosen = values(q, "select", function (s) { return s.value; });
      if (chosen.indexOf("") >= 0) return null;
      key = data.pairs ? chosen.map(function (v, i) { return data.pairs[i][v]; }).join("") : chosen.join(",");
    } else {  // ordering
      key = values(q, "li[data-index]", function (li) { return li.dataset.index; }).join(",");
    }
    return data.table[key];
  }

  /* The learner's response in the form the platform keeps (and answer() puts back): choices, matches
     and orders as canonical indexes ("0,2"), true/false as "true"/"false", typed answers as typed. */
  function responseOf(q) {
    var type = q.dataset.type;
    if (type === "short_answer" || type === "numeric") return q.querySelector("input").value;
    if (type === "matching") return values(q, "select", function (s) { return s.value; }).join(",");
    if (type === "ordering") return values(q, "li[data-index]", function (li) { return li.dataset.index; }).join(",");
    return values(q, "input:checked", function (i) { return i.value; })
      .sort(function (a, b) { return Number(a) - Number(b); }).join(",");
  }

  function answer(q, response) {
    var type = q.dataset.type, parts = String(response).split(",");
    if (type === "short_answer" || type === "numeric") q.querySelector("input").value = response;
    else if (type === "matching") q.querySelectorAll("select").forEach(function (s, i) { s.value = parts[i]; });
    else if (type === "ordering") {
      var list = q.querySelector(".sc-order");
      parts.forEach(function (index) {
        var li = list.querySelector(':scope > li[data-index="' + index + '"]');
        if (li) list.appendChild(li);
      });
    } else {
      q.querySelectorAll("input").forEach(function (i) { i.checked = parts.indexOf(i.value) >= 0; });
    }
  }

  /* The correct response in the same form, from the build-time tables (for the platform's report). */
  function expected(q, data) {
    var type = q.dataset.type;
    if (type === "short_answer") return data.accepted.length ? data.accepted[0] : null;
    if (type === "numeric") return data.range;
    if (data.pairs) return data.pairs.map(function (_, i) { return i; }).join(",");  // each left item's own match
    var keys = Object.keys(data.table).filter(function (k) { return data.outcomes[data.table[k]][1]; });
    return keys.length ? keys[0] : null;
  }

  function check(q, data, attempt, restoring) {
    var found = outcome(q, data);
    var missing = q.querySelector(".sc-missing");
    if (found == null) {
      missing.textContent = MISSING[q.dataset.type] || "Choose an answer first.";
      return;
    }
    var result = data.outcomes[found], score = result[0], max = Number(q.dataset.max);
    var verdict = result[1] ? "Correct" : score > 0 ? "Partly correct" : "Not correct";
    var feedback = q.querySelector(".sc-feedback");
    missing.textContent = "";
    feedback.querySelector(".sc-verdict").textContent = verdict + ": " + number(score) + " of " + points(max) + ".";
    feedback.querySelector(".sc-notes").innerHTML = result[2].map(function (n) {  // HTML made safe by the build
      return "<li>" + data.notes[n] + "</li>";
    }).join("");
    feedback.querySelector(".sc-key").hidden = result[1];  // the key, written by the build
    feedback.className = "sc-feedback " + (result[1] ? "sc-right" : score > 0 ? "sc-partly" : "sc-wrong");
    showChoice(q);
    feedback.hidden = false;
    q.disabled = true;
    var response = responseOf(q);
    attempt.scores[q.id] = {score: score, correct: result[1], source: q.querySelector(".sc-source a"), response: response};
    if (restoring) return;
    feedback.focus();
    if (link) {
      link.interaction(attempt.quiz, {id: q.dataset.key.split("@")[0], type: q.dataset.type, response: response,
                                      correct: result[1], score: score, max: max, expected: expected(q, data)});
    }
    attempt.update();
    attempt.save();
  }

  /* A locked question keeps the learner's choice plain to see: each chosen option is outlined and
     gets a "Your answer" marker inside its label (so screen readers say it with the option), and the
     feedback repeats the choice. Matching, ordering and typed answers show their own values. */
  function showChoice(q) {
    var chosen = Array.from(q.querySelectorAll(".sc-choice input:checked"));
    var given = q.querySelector(".sc-given");
    given.hidden = !chosen.length;
    given.textContent = "Your answer: " + chosen.map(function (i) {
      return i.labels[0].textContent.trim();
    }).join("; ");
    chosen.forEach(function (i) {
      var mark = document.createElement("span");
      mark.className = "sc-yours";  // an inline block: heard as "<option> Your answer"
      mark.textContent = "Your answer";
      i.labels[0].append(mark);
      i.closest(".sc-choice").classList.add("sc-chosen");
    });
  }

  function move(button) {
    var li = button.closest("li"), list = li.parentNode;
    if (button.classList.contains("sc-up") && li.previousElementSibling) li.after(li.previousElementSibling);
    if (button.classList.contains("sc-down") && li.nextElementSibling) li.before(li.nextElementSibling);
    button.focus();
    var position = Array.prototype.indexOf.call(list.children, li) + 1;
    list.parentNode.querySelector(".sc-live").textContent =
      li.querySelector(".sc-item").textContent + ": position " + position + " of " + list.children.length;
  }

  function reset(q) {
    q.disabled = false;
    q.querySelectorAll("input[type=radio], input[type=checkbox]").forEach(function (i) { i.checked = false; });
    q.querySelectorAll("input[type=text]").forEach(function (i) { i.value = ""; });
    q.querySelectorAll("select").forEach(function (s) {
      var options = shuffle(Array.from(s.options).slice(1));
      options.forEach(function (o) { s.appendChild(o); });
      s.value = "";
    });
    if (q.dataset.type === "single" || q.dataset.type === "multiple") {
      var answer = q.querySelector(".sc-answer");
      shuffle(Array.from(answer.children)).forEach(function (c) { answer.appendChild(c); });
    }
    q.querySelectorAll(".sc-order").forEach(function (list) {
      var items = Array.from(list.children);
      do { shuffle(items); } while (items.length > 2 && items.every(function (li, i) { return Number(li.dataset.index) === i; }));
      items.forEach(function (li) { list.appendChild(li); });
    });
    q.querySelectorAll(".sc-yours").forEach(function (mark) { mark.remove(); });
    q.querySelectorAll(".sc-chosen").forEach(function (choice) { choice.classList.remove("sc-chosen"); });
    q.querySelector(".sc-feedback").hidden = true;
    q.querySelector(".sc-missing").textContent = "";
  }

  // --- one self-check: papers, score, progress ---------------------------------------------------

  function setUp(box) {
    var data = JSON.parse(box.querySelector("script.sc-data").textContent);
    var papers = box.querySelectorAll(".sc-paper");
    var quiz = box.dataset.quiz;
    var attempt = {quiz: quiz, number: 0, scores: {}};

    function paper() { return papers[attempt.number % papers.length]; }
    function paperNumber(n) { return (n % papers.length + 1) + " of " + papers.length; }

    function showRecord() {
      var saved = record(quiz), line = box.querySelector(".sc-record");
      line.hidden = !saved;
      if (saved) {
        line.textContent = "In this browser: best " + saved.best + " %, last " + saved.last + " % (" +
          saved.attempts + (saved.attempts === 1 ? " attempt)." : " attempts).");
      }
    }

    attempt.update = function () {
      var current = paper(), questions = current.querySelectorAll(".sc-q");
      var max = Number(current.dataset.max), score = 0, done = 0, reread = {};
      Object.keys(attempt.scores).forEach(function (id) {
        var s = attempt.scores[id];
        score += s.score; done += 1;
        if (!s.correct) reread[s.source.getAttribute("href")] = s.source;
      });
      var percent = Math.round(100 * score / max), status = box.querySelector(".sc-score");
      if (done < questions.length) {
        status.textContent = "Score so far: " + number(score) + " of " + points(max) + "; " + done + " of " +
          questions.length + " questions checked.";
        return;
      }
      status.textContent = "Finished: " + number(score) + " of " + points(max) + " (" + percent + " %); " +
        "the pass mark is " + box.dataset.pass + " %.";
      var list = box.querySelector(".sc-reread"), links = Object.keys(reread);
      list.hidden = !links.length;
      list.querySelector("ul").replaceChildren(...links.map(function (href) {
        var li = document.createElement("li");
        li.appendChild(reread[href].cloneNode(true));
        return li;
      }));
      if (attempt.restoring) {  // an attempt the platform kept: its score is in the record already
        showRecord();
        return;
      }
      var saved = record(quiz) || {attempts: 0, best: 0};
      var now = {page: box.dataset.page, title: box.dataset.title, last: percent,
                 best: Math.max(saved.best, percent), attempts: saved.attempts + 1};
      if (link) kept[quiz] = now;
      try {
        localStorage.setItem(STORE + quiz, JSON.stringify(now));
      } catch (e) { /* storage switched off: the score is still shown */ }
      showRecord();
      showInChapterList();
    };

    /* The platform keeps the record and where the attempt is: the paper and each checked answer. */
    attempt.save = function () {
      if (!link) return;
      var answers = Array.prototype.map.call(paper().querySelectorAll(".sc-q"), function (q) {
        return attempt.scores[q.id] ? attempt.scores[q.id].response : null;
      });
      link.save(quiz, {r: kept[quiz] || null, n: attempt.number, a: answers});
    };

    function showPaper(number) {
      paper().hidden = true;
      attempt.number = number;
      attempt.scores = {};
      paper().querySelectorAll(".sc-q").forEach(reset);
      paper().hidden = false;
      box.querySelector(".sc-reread").hidden = true;
      box.querySelector(".sc-again").textContent = "Try again (paper " + paperNumber(number + 1) + ")";
    }

    function resume(saved) {
      kept[quiz] = saved.r || null;
      if (saved.r) {
        try { localStorage.setItem(STORE + quiz, JSON.stringify(saved.r)); } catch (e) { /* shown anyway */ }
      }
      if (saved.n) showPaper(saved.n);
      var questions = paper().querySelectorAll(".sc-q");
      attempt.restoring = true;
      (saved.a || []).forEach(function (response, i) {
        var q = questions[i];
        if (response == null || !q) return;
        answer(q, response);
        check(q, data[q.dataset.key], attempt, true);
      });
      if (Object.keys(attempt.scores).length) attempt.update();
      attempt.restoring = false;
    }

    box.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      var q = button.closest(".sc-q");
      if (button.classList.contains("sc-check")) check(q, data[q.dataset.key], attempt);
      else if (button.classList.contains("sc-up") || button.classList.contains("sc-down")) move(button);
      else if (button.classList.contains("sc-again")) {
        showPaper(attempt.number + 1);
        box.querySelector(".sc-score").textContent = "Attempt " + (attempt.number + 1) + ": paper " +
          paperNumber(attempt.number) + ", new questions, with the options in a new order.";
        box.querySelector("h3").focus();
        attempt.save();
      }
    });
    var saved = link && link.restore(quiz);
    if (saved) resume(saved);
    showRecord();
  }

  // --- the chapter list: each chapter's self-check score -----------------------------------------

  function showInChapterList() {
    var root = document.documentElement.dataset.content_root;
    if (root === undefined) return;
    var base = new URL(root, location.href).href, byPage = {};
    records().forEach(function (r) { byPage[r.page] = r; });
    document.querySelectorAll("nav.bd-docs-nav a.reference.internal").forEach(function (a) {
      var url = new URL(a.getAttribute("href"), location.href);
      url.hash = "";
      var page = url.href.indexOf(base) === 0 ? url.href.slice(base.length).replace(/\.html$/, "") : null;
      var r = byPage[page], badge = a.parentNode.querySelector(":scope > .sc-badge");
      if (!r) return;
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "sc-badge";
        a.after(badge);
      }
      badge.textContent = "Practice self-check: best " + r.best + " %, last " + r.last + " %";
    });
  }

  function start() {
    link = window.thbcourseScorm || null;
    document.querySelectorAll("section.sc").forEach(setUp);
    showInChapterList();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
