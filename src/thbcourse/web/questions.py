"""A paper item on a web page: what the answer form shows, and the form's fields <-> responses.

A submitted form is turned into the paper syntax (`B`, `A, C`, `1C 2A`, ...) and handed to
`thbcourse.engine.answers.parse_answer`, so the web app reads answers exactly as papers and the
terminal quiz do. Bank text goes through the safe Markdown renderer: raw HTML shows as text.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from thbcourse.deliveries.markdown import to_html, to_inline_html
from thbcourse.deliveries.papers import key_text
from thbcourse.engine.answers import letter, parse_answer
from thbcourse.engine.draw import PaperItem
from thbcourse.engine.grade import ResponseError

MAX_TYPED = 1000  # characters of a typed answer that are accepted at all

HOW = {
    "single": "Choose one answer.",
    "multiple": "Choose every correct answer. Wrong choices cost marks.",
    "true_false": "True or false?",
    "matching": "Match each item with one answer from its list. Some answers are not used.",
    "ordering": "Give each item its position, 1 for the first.",
    "short_answer": "Type a short answer.",
    "numeric": "Type a number.",
}


@dataclass
class Choice:
    label: str  # the letter (or number, for matching's left items) as on a paper
    html: Markup


@dataclass
class QuestionView:
    number: int
    total: int
    points: float
    type: str
    stem: Markup
    how: str
    choices: list[Choice] = field(default_factory=list)  # options, ordering items, matching's answers
    lefts: list[Choice] = field(default_factory=list)  # matching's numbered items
    unit: str = ""


def view(item: PaperItem, total: int) -> QuestionView:
    """Everything a learner may see before the question is closed: no key, no feedback."""
    q = item.question
    found = QuestionView(item.number, total, item.points, q.type, Markup(to_html(q.stem)), HOW[q.type])
    if q.type in ("single", "multiple"):
        found.choices = [Choice(letter(n), _inline(q.options[i].text)) for n, i in enumerate(item.order)]
    elif q.type == "ordering":
        found.choices = [Choice(letter(n), _inline(q.items[i])) for n, i in enumerate(item.order)]
    elif q.type == "matching":
        rights = [p.right for p in q.pairs] + list(q.distractors)
        found.lefts = [Choice(str(n + 1), _inline(p.left)) for n, p in enumerate(q.pairs)]
        found.choices = [Choice(letter(n), _inline(rights[i])) for n, i in enumerate(item.order)]
    elif q.type == "numeric":
        found.unit = q.unit
    return found


def _inline(text: str) -> Markup:
    return Markup(to_inline_html(text))


def answer_text(item: PaperItem, form) -> str:
    """The submitted form in paper syntax; ResponseError says what is missing."""
    kind, n = item.question.type, len(item.order)
    if kind == "multiple":
        return ", ".join(form.getlist("answer")) or "-"
    if kind == "matching":
        pairs = [f"{i + 1}{form.get(f'match-{i + 1}', '')}" for i in range(len(item.question.pairs))
                 if form.get(f"match-{i + 1}")]
        if not pairs:
            raise ResponseError("match at least one item")
        return " ".join(pairs)
    if kind == "ordering":
        positions = {letter(i): form.get(f"pos-{letter(i)}", "") for i in range(n)}
        if sorted(positions.values()) != sorted(str(p) for p in range(1, n + 1)):
            raise ResponseError(f"give each position from 1 to {n} exactly once")
        return " ".join(sorted(positions, key=lambda k: int(positions[k])))
    text = form.get("answer", "")
    if not isinstance(text, str) or not text.strip():
        raise ResponseError("choose or type an answer first")
    if len(text) > MAX_TYPED:
        raise ResponseError(f"the answer is longer than {MAX_TYPED} characters")
    return text


def read_answer(item: PaperItem, form) -> Any:
    """The canonical response of a submitted form (graded by the engine, stored by the gradebook)."""
    return parse_answer(item, answer_text(item, form))


def form_state(item: PaperItem, response: Any) -> dict[str, Any]:
    """The form fields that show `response` again (a rejoining learner finds the answer given)."""
    if response is None:
        return {}
    kind, position = item.question.type, {canonical: n for n, canonical in enumerate(item.order)}
    if kind == "single":
        return {"answer": letter(position[response])}
    if kind == "multiple":
        return {"answer": {letter(position[i]) for i in response}}
    if kind == "true_false":
        return {"answer": "true" if response else "false"}
    if kind == "matching":
        return {f"match-{left + 1}": letter(position[right]) for left, right in response.items()}
    if kind == "ordering":
        return {f"pos-{letter(position[i])}": str(place + 1) for place, i in enumerate(response)}
    if kind == "numeric":
        return {"answer": f"{response:g}"}
    return {"answer": response}


def describe(item: PaperItem, response: Any) -> str:
    """A response in words, with the paper's labels: 'B. Dating sites'."""
    q = item.question
    if response is None:
        return "no answer"
    position = {canonical: n for n, canonical in enumerate(item.order)}
    if q.type in ("single", "multiple"):
        chosen = [response] if q.type == "single" else sorted(response, key=position.get)
        return "; ".join(f"{letter(position[i])}. {q.options[i].text}" for i in chosen) or "nothing chosen"
    if q.type == "true_false":
        return "True" if response else "False"
    if q.type == "matching":
        rights = [p.right for p in q.pairs] + list(q.distractors)
        return "; ".join(f"{left + 1} → {letter(position[right])}. {rights[right]}"
                         for left, right in sorted(response.items()))
    if q.type == "ordering":
        return ", ".join(f"{letter(position[i])}. {q.items[i]}" for i in response)
    if q.type == "numeric":
        return f"{response:g}" + (f" {q.unit}" if q.unit else "")
    return str(response)


def key(item: PaperItem) -> str:
    """The correct answer in words: only ever rendered once the question is closed."""
    q = item.question
    if q.type == "single":
        return describe(item, next(i for i, o in enumerate(q.options) if o.correct))
    if q.type == "multiple":
        return describe(item, frozenset(i for i, o in enumerate(q.options) if o.correct))
    if q.type == "matching":
        return describe(item, {i: i for i in range(len(q.pairs))})
    if q.type == "ordering":
        return describe(item, list(range(len(q.items))))
    return key_text(item)


def key_labels(item: PaperItem) -> set[str]:
    """The labels of the correct choices (single, multiple), to mark them in a revealed distribution."""
    q = item.question
    if q.type not in ("single", "multiple"):
        return set()
    position = {canonical: n for n, canonical in enumerate(item.order)}
    return {letter(position[i]) for i, o in enumerate(q.options) if o.correct}


@dataclass
class Review:
    """A closed question for one learner: the answer given, the key, the feedback and what to re-read."""

    question: QuestionView
    yours: str
    key: str
    verdict: str  # correct, partly, wrong, unanswered
    score: float
    max: float
    notes: tuple[str, ...]
    explanation: Markup
    source: str


def review(item: PaperItem, total: int, response: Any, graded) -> Review:
    if response is None:
        verdict = "unanswered"
    else:
        verdict = "correct" if graded.correct else "partly" if graded.score > 0 else "wrong"
    return Review(view(item, total), describe(item, response), key(item), verdict, graded.score, graded.max,
                  graded.feedback, Markup(to_html(graded.explanation)), graded.source)
