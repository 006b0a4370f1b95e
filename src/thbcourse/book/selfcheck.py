"""Self-checks at the end of chapter pages: drawn at build time, graded in advance by the engine.

The browser never grades. For every response that a question of a finite type allows (single,
multiple, true_false, matching, ordering) the build asks `thbcourse.engine.grade` for the score and
the feedback and writes them into the page as a table; `static/book/selfcheck.js` only reads the
learner's response and looks it up. Short answers carry the accepted answers (normalised by the
engine) and the patterns that mean the same in a browser; numeric questions carry the range the
grader accepts, found on the grader itself. docs/building.md describes the tables.

A page holds a few papers of the chapter's self-check blueprint (one per seed in SEEDS): the first
attempt shows the first paper, "try again" the next one, with the options in a new order; the button
says which paper comes next ("Try again (paper 2 of 3)").

Once checked, a question stays locked with the learner's choice marked "Your answer", and an answer
that is not fully right is followed by the question's key, written into the page here.
"""
from __future__ import annotations

import html
import json
import math
import posixpath
import random
import re
import warnings
from collections.abc import Callable, Iterator
from itertools import combinations, permutations, product
from pathlib import Path
from typing import Any

from thbcourse.bank.blueprint import Blueprint, Grading
from thbcourse.bank.model import Question
from thbcourse.book.sections import place
from thbcourse.deliveries.markdown import to_html, to_inline_html
from thbcourse.deliveries.papers import key_text
from thbcourse.engine.draw import Paper, PaperItem, draw
from thbcourse.engine.grade import MAX_TEXT, Graded, grader, normalise_text

SEEDS = (1, 2, 3)
MAX_TABLE = 5040  # responses tabulated per question: every order of 7 items
MATCHING_SAMPLE = 400  # responses checked against the engine when matching falls back to pair tables


class SelfCheckError(ValueError):
    """A question that the self-check cannot carry faithfully; the message says what to change."""


# --- the engine's verdicts, as tables the page carries ------------------------------------------


class _Outcomes:
    """Distinct results of one question: [score, correct, [note indexes]], notes as HTML."""

    def __init__(self) -> None:
        self.rows: list[list] = []
        self.notes: list[str] = []
        self._rows: dict[tuple, int] = {}
        self._notes: dict[str, int] = {}

    def add(self, graded: Graded) -> int:
        notes = []
        for note in graded.feedback:
            if note not in self._notes:
                self._notes[note] = len(self.notes)
                self.notes.append(to_html(note))
            notes.append(self._notes[note])
        row = (graded.score, graded.correct, tuple(notes))
        if row not in self._rows:
            self._rows[row] = len(self.rows)
            self.rows.append([graded.score, graded.correct, notes])
        return self._rows[row]


def response_key(response: Any) -> str:
    """The table key of a canonical response; selfcheck.js builds the same string from the page."""
    if isinstance(response, bool):
        return "true" if response else "false"
    if isinstance(response, int):
        return str(response)
    if isinstance(response, (set, frozenset)):
        return ",".join(map(str, sorted(response)))
    if isinstance(response, dict):  # matching: the right-hand item chosen for each left item
        return ",".join(str(response[i]) for i in range(len(response)))
    return ",".join(map(str, response))  # ordering


def _count(q: Question) -> int:
    """How many complete responses a question of a finite type allows."""
    if q.type in ("single", "multiple"):
        return len(q.options) if q.type == "single" else 2 ** len(q.options)
    if q.type == "ordering":
        return math.factorial(len(q.items))
    if q.type == "matching":
        return (len(q.pairs) + len(q.distractors)) ** len(q.pairs)
    return 2  # true_false


def responses(q: Question) -> Iterator[Any]:
    """Every complete response of a finite type (matching: every left item matched)."""
    if q.type == "single":
        yield from range(len(q.options))
    elif q.type == "true_false":
        yield from (True, False)
    elif q.type == "multiple":
        n = len(q.options)
        yield from (frozenset(c) for size in range(n + 1) for c in combinations(range(n), size))
    elif q.type == "ordering":
        yield from (list(p) for p in permutations(range(len(q.items))))
    elif q.type == "matching":
        rights = len(q.pairs) + len(q.distractors)
        yield from (dict(enumerate(a)) for a in product(range(rights), repeat=len(q.pairs)))


def tables(item: PaperItem, policy: Grading) -> dict:
    """What the page needs to give this item's feedback and score, all of it from the engine."""
    q = item.question
    grade = grader(q, item.points, policy)
    outcomes = _Outcomes()
    data: dict[str, Any] = {}
    if q.type == "short_answer":
        data.update(_short_answer(q, grade, outcomes))
    elif q.type == "numeric":
        data.update(_numeric(q, grade, outcomes))
    elif q.type == "matching" and _count(q) > MAX_TABLE:
        data.update(_matching_by_pairs(q, grade, outcomes))
    elif _count(q) > MAX_TABLE:
        raise SelfCheckError(f"question {q.id!r} has {_count(q)} possible answers; a self-check tabulates at most "
                             f"{MAX_TABLE} (an ordering of 7 items): shorten it or leave it out of self-checks")
    else:
        data["table"] = {response_key(r): outcomes.add(grade(r)) for r in responses(q)}
    return {**data, "outcomes": outcomes.rows, "notes": outcomes.notes}


def _matching_by_pairs(q: Question, grade, outcomes: _Outcomes) -> dict:
    """Too many assignments to list: a table of which pairs are right (each entry asked of the
    engine), and the engine's result for each pattern of right and wrong pairs. The build checks,
    on a sample of responses, that the engine's result depends on that pattern only."""
    n_left, n_right = len(q.pairs), len(q.pairs) + len(q.distractors)
    key = {i: i for i in range(n_left)}  # the canonical response: each pair's own right-hand item
    pairs = [[int(grade({**key, i: j}).correct) for j in range(n_right)] for i in range(n_left)]
    wrong = [row.index(0) for row in pairs]

    def pattern_of(response: dict) -> str:
        return "".join(str(pairs[i][response[i]]) for i in range(n_left))

    table = {}
    for bits in product("10", repeat=n_left):
        response = {i: i if b == "1" else wrong[i] for i, b in enumerate(bits)}
        table["".join(bits)] = outcomes.add(grade(response))
    rng = random.Random(q.id)
    sample = [{i: rng.randrange(n_right) for i in range(n_left)} for _ in range(MATCHING_SAMPLE)]
    sample += [{**key, i: j} for i in range(n_left) for j in range(n_right)]
    for response in sample:
        if outcomes.add(grade(response)) != table[pattern_of(response)]:
            raise SelfCheckError(f"matching question {q.id!r} has too many possible answers to list "
                                 f"({_count(q)}), and its grade depends on more than which pairs are right")
    return {"pairs": pairs, "table": table}


def _short_answer(q: Question, grade, outcomes: _Outcomes) -> dict:
    right = grade(q.answers[0])
    wrong = next((g for g in map(grade, ("", "-", "?")) if not g.correct), right)  # right: a pattern takes anything
    problems = [f"pattern {p!r}: {why}" for p in q.patterns if (why := js_pattern_problem(p))]
    if problems:
        raise SelfCheckError(f"short-answer question {q.id!r}: " + "; ".join(problems))
    return {"accepted": sorted({normalise_text(a) for a in q.answers}), "patterns": list(q.patterns),
            "maxText": MAX_TEXT, "right": outcomes.add(right), "wrong": outcomes.add(wrong)}


def _numeric(q: Question, grade, outcomes: _Outcomes) -> dict:
    """The accepted range, found by bisection on the grader: the engine owns the tolerance rule."""
    reach = 2 * q.tolerance + abs(q.value) + 1

    def edge(inside: float, outside: float) -> float:
        while (middle := (inside + outside) / 2) not in (inside, outside):
            inside, outside = (middle, outside) if grade(middle).correct else (inside, middle)
        return inside

    low, high = edge(q.value, q.value - reach), edge(q.value, q.value + reach)
    return {"range": [low, high], "right": outcomes.add(grade(q.value)), "wrong": outcomes.add(grade(q.value + reach))}


_ESCAPES_KEPT = "sS"  # \s and \S; other letter escapes mean other things in a browser (\d, \w, \b: ASCII only)
_REPEAT = re.compile(r"\{\d+(,\d*)?\}")


def js_pattern_problem(pattern: str) -> str | None:
    """Why a pattern (Python, matched case-insensitively against normalised text) could match
    differently as a JavaScript RegExp; None when it uses only syntax that means the same in both:
    characters, escaped punctuation, \\s, classes [...], groups (...) and (?:...), |, ^, $ and the
    repeats ? * + {m} {m,} {m,n}, lazy or not."""
    try:
        with warnings.catch_warnings(action="ignore"):  # the FutureWarnings are refused below
            re.compile(pattern)  # what passes is valid Python: a repeat always has something to repeat
    except re.error as err:
        return f"not a valid regular expression ({err})"
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if why := _escape_problem(pattern[i + 1]):
                return why
            i += 2
        elif c == "[":
            i = _class_end(pattern, i)
            if isinstance(i, str):
                return i
        elif c == "(":
            if pattern.startswith("(?", i) and not pattern.startswith("(?:", i):
                return "only plain groups (...) and (?:...) work in a browser (no lookarounds, names or flags)"
            i += 3 if pattern.startswith("(?:", i) else 1
        elif c in "?*+{":
            m = _REPEAT.match(pattern, i) if c == "{" else None
            if c == "{" and not m:
                return "write \\{ for a literal '{'"
            i = m.end() if m else i + 1
            i += pattern.startswith("?", i)  # lazy
            if i < len(pattern) and pattern[i] in "?*+{":
                return "a repeat of a repeat (such as a*+ or a?+) does not work in a browser"
        else:
            i += 1
    return None


def _escape_problem(char: str) -> str | None:
    if char.isascii() and char.isalnum() and char not in _ESCAPES_KEPT:
        return f"\\{char} does not mean the same in a browser; write the characters out (such as [0-9] for \\d)"
    return None


def _class_end(pattern: str, start: int) -> int | str:
    """Index after the class [...] that opens at start, or why the class could differ in a browser."""
    i = start + 1 + pattern.startswith("^", start + 1)
    if pattern.startswith("]", i):  # literal in Python, an empty class in a browser
        return "a ']' first in [...] means different things in Python and a browser; write \\]"
    while pattern[i] != "]":
        if pattern[i] == "\\":
            if why := _escape_problem(pattern[i + 1]):
                return why
            i += 2
        elif pattern[i] == "[" or pattern[i:i + 2] in ("&&", "||", "--", "~~"):
            return f"write \\{pattern[i]} for a literal {pattern[i]!r} inside [...]"
        else:
            i += 1
    return i + 1


# --- the page ------------------------------------------------------------------------------------

_HOW = {
    "single": "Choose one answer.",
    "multiple": "Choose every correct answer (wrong choices cost points).",
    "true_false": "True or false?",
    "matching": "Choose the match for each item (some choices are not used).",
    "ordering": "Put the items in order with the Move up and Move down buttons.",
    "short_answer": "Type a short answer (case and spacing do not matter).",
    "numeric": "Type a number.",
}


def papers(course, blueprint: Blueprint) -> list[Paper]:
    return [draw(course, blueprint, seed) for seed in SEEDS]


def item_key(item: PaperItem) -> str:
    return f"{item.question.id}@{item.points:g}"


def render(blueprint: Blueprint, drawn: list[Paper], page: str, link: Callable[[str], tuple[str, str]]) -> str:
    """The self-check block of a chapter page (`page` is its docname). `link(source)` gives the
    href and the text of the link to the section that teaches a question."""
    anchor = f"sc-{blueprint.id}"
    data = {item_key(item): tables(item, blueprint.grading) for paper in drawn for item in paper.items}
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("<", "\\u003c")
    # The heading holds the id that links point at: the section is not one of the page's own
    # (heading_anchors does not list it, so no question can name it as its source).
    out = [f'<section class="sc" aria-labelledby="{anchor}" data-quiz="{_a(blueprint.id)}" '
           f'data-page="{_a(page)}" data-title="{_a(blueprint.title)}" data-pass="{blueprint.pass_mark:g}">',
           f'<h3 id="{anchor}" tabindex="-1">{html.escape(blueprint.title)}</h3>',
           '<p class="sc-practice"><strong>Practice:</strong> nothing is recorded; the answers are in this page.</p>',
           f'<p class="sc-intro">{len(drawn[0].items)} questions. Check each answer to see why it is right or '
           f'wrong and the section that teaches it. There are {len(drawn)} papers of these questions: '
           '“Try again” shows the next one.</p>',
           '<p class="sc-record" hidden></p>',
           '<noscript><p>The self-check needs JavaScript; the questions can still be read.</p></noscript>',
           f'<script type="application/json" class="sc-data">{payload}</script>']
    for n, paper in enumerate(drawn):
        out.append(f'<div class="sc-paper" data-seed="{paper.seed}" data-max="{paper.max_score!r}"'
                   f'{" hidden" if n else ""}>')
        out += [_question(f"{anchor}-{n}-{item.number}", item, len(paper.items), link) for item in paper.items]
        out.append("</div>")
    out += ['<p class="sc-score" role="status"></p>',
            '<div class="sc-reread" hidden><p>Read again:</p><ul></ul></div>',
            # selfcheck.js keeps the words up to date as the papers go round
            f'<p><button type="button" class="sc-again">Try again (paper {1 % len(drawn) + 1} of {len(drawn)})'
            '</button></p>',
            "</section>"]
    return "\n".join(out)


def _a(text: str) -> str:
    return html.escape(text, quote=True)


def _plain(markdown: str) -> str:
    """Text of inline Markdown, for places that take no markup (<option>)."""
    return html.unescape(re.sub(r"<[^>]*>", "", to_inline_html(markdown))).strip()


def _question(qid: str, item: PaperItem, total: int, link) -> str:
    q = item.question
    href, where = link(q.source)
    points = f"{item.points:g} point" + ("" if item.points == 1 else "s")
    return "\n".join([
        f'<fieldset class="sc-q" id="{qid}" data-key="{_a(item_key(item))}" data-type="{q.type}" '
        f'data-max="{item.points!r}" aria-labelledby="{qid}-legend {qid}-stem">',
        f'<legend id="{qid}-legend">Question {item.number} of {total} ({points})</legend>',
        f'<div class="sc-stem" id="{qid}-stem">{to_html(q.stem)}</div>',
        f'<p class="sc-how">{_HOW[q.type]}</p>',
        f'<div class="sc-answer">{_answer(qid, item)}</div>',
        '<p><button type="button" class="sc-check">Check answer</button> <span class="sc-missing"></span></p>',
        '<div class="sc-feedback" tabindex="-1" hidden>',
        '<p class="sc-verdict"></p><p class="sc-given" hidden></p>',
        f'<div class="sc-key" hidden>{_key(item)}</div><ul class="sc-notes"></ul>',
        f'<div class="sc-explanation">{to_html(q.feedback)}</div>',
        f'<p class="sc-source">Read again: <a href="{_a(href)}">{html.escape(where)}</a></p>',
        "</div></fieldset>"])


def _key(item: PaperItem) -> str:
    """The correct answer in the page's own words (options by their text, as they are shuffled)."""
    q = item.question

    def listed(intro: str, tag: str, entries: list[str]) -> str:
        return f"<p>{intro}</p><{tag}>" + "".join(f"<li>{e}</li>" for e in entries) + f"</{tag}>"

    if q.type in ("single", "multiple"):
        right = [to_inline_html(q.options[i].text) for i in item.order if q.options[i].correct]
        if len(right) == 1:
            return f"<p>The correct answer: {right[0]}</p>"
        return listed("The correct answers:", "ul", right)
    if q.type == "matching":
        return listed("The correct matches:", "ul",
                      [f"{to_inline_html(p.left)}: {to_inline_html(p.right)}" for p in q.pairs])
    if q.type == "ordering":
        return listed("The correct order:", "ol", [to_inline_html(i) for i in q.items])
    answer = q.answers[0] if q.type == "short_answer" else key_text(item)
    return f"<p>The correct answer: {html.escape(answer)}</p>"


def _answer(qid: str, item: PaperItem) -> str:
    q = item.question
    if q.type in ("single", "multiple", "true_false"):
        kind = "checkbox" if q.type == "multiple" else "radio"
        choices = ([(str(i), to_inline_html(q.options[i].text)) for i in item.order] if q.type != "true_false"
                   else [("true", "True"), ("false", "False")])
        return "".join(f'<div class="sc-choice"><input type="{kind}" name="{qid}" id="{qid}-{v}" value="{v}"> '
                       f'<label for="{qid}-{v}">{text}</label></div>' for v, text in choices)
    if q.type == "matching":
        rights = [p.right for p in q.pairs] + list(q.distractors)
        options = '<option value="">Choose…</option>' + "".join(
            f'<option value="{j}">{html.escape(_plain(rights[j]))}</option>' for j in item.order)
        return '<div class="sc-matching">' + "".join(
            f'<div class="sc-pair"><label for="{qid}-{i}">{to_inline_html(p.left)}</label> '
            f'<select id="{qid}-{i}">{options}</select></div>' for i, p in enumerate(q.pairs)) + "</div>"
    if q.type == "ordering":
        rows = []
        for i in item.order:
            text = f"{qid}-item{i}"
            rows.append(f'<li data-index="{i}"><span class="sc-item" id="{text}">{to_inline_html(q.items[i])}</span> '
                        f'<span class="sc-move"><button type="button" class="sc-up" id="{text}-up" '
                        f'aria-labelledby="{text}-up {text}">Move up</button> '
                        f'<button type="button" class="sc-down" id="{text}-down" '
                        f'aria-labelledby="{text}-down {text}">Move down</button></span></li>')
        return f'<ol class="sc-order">{"".join(rows)}</ol><p class="sc-live sc-sr-only" aria-live="polite"></p>'
    label = "Your answer" + (f" (in {q.unit})" if getattr(q, "unit", "") else "")
    mode = ' inputmode="decimal"' if q.type == "numeric" else ""
    unit = f' <span class="sc-unit">{html.escape(q.unit)}</span>' if getattr(q, "unit", "") else ""
    return (f'<label for="{qid}-text">{html.escape(label)}</label> '
            f'<input type="text" id="{qid}-text" autocomplete="off" spellcheck="false"{mode}>{unit}')


def source_link(source: str, docname: str, root: Path) -> tuple[str, str]:
    """href (relative to the page `docname`) and text of the link to a question's source section:
    the section as the terminal quiz and the answer keys name it (sections.place)."""
    target, _, anchor = source.partition("#")
    target = target.removesuffix(".md")
    name = place(root, source).name
    if target == docname:
        return f"#{anchor}", name
    href = posixpath.relpath(f"{target}.html", posixpath.dirname(docname) or ".")
    return f"{href}#{anchor}", name
