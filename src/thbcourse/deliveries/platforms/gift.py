r"""GIFT, Moodle's text format for questions (Question bank > Import > GIFT format).

Each bank starts with a `$CATEGORY: $course$/<bank title>` line; then comes one block per question,
the blocks separated by a blank line:

    ::s-multiple::[html]<p>stem</p>{
        ~%50%right#<p>feedback</p>
        ~%-50%wrong#<p>feedback</p>
        ####<p>general feedback</p>
    }

Every stem, option and feedback is written as [html] (answers and feedback inherit the question's
format), rendered by the same safe Markdown renderer as every other delivery; ~ = # { } : and the
backslash are escaped with a backslash, and line breaks are written as \n.

GIFT has no way to give a question's marks: Moodle imports every question at 1 mark, and each question
worth anything else is noted (the Moodle XML export carries the marks). What Moodle cannot grade as
the engine does is handled as in the Moodle XML export (see moodle_xml.py).
"""
from __future__ import annotations

from thbcourse.bank.model import Matching, Multiple, Numeric, Ordering, ShortAnswer, Single, TrueFalse
from thbcourse.deliveries.platforms.content import (
    BankQuestions, Notes, block_html, has_markup, inline_html, listed, number, option_weights, plain_text,
)
from thbcourse.deliveries.platforms.moodle_xml import (
    category_path, moodle_grades, note_short_matching, percent, short_answer_text,
)
from thbcourse.deliveries.platforms.short_answers import listed_answers, note_listed

_SPECIAL = {"\\": "\\\\", "~": "\\~", "=": "\\=", "#": "\\#", "{": "\\{", "}": "\\}", ":": "\\:",
            "\n": "\\n", "\r": ""}


def escape(text: str) -> str:
    return "".join(_SPECIAL.get(c, c) for c in text)


def html_part(html: str) -> str:
    """HTML for a GIFT text. A leading '%' would read as an answer weight and a leading '[' as a
    format name, so they become character references, which HTML shows the same."""
    html = html.strip()
    if html[:1] in ("%", "["):
        html = f"&#{ord(html[0])};{html[1:]}"
    return escape(html)


def export(banks: list[BankQuestions], notes: Notes, *, negative_marking: bool = True) -> bytes:
    blocks = ["// Question banks exported by thbcourse. Import: Question bank > Import > GIFT format."]
    for bank, questions in banks:
        blocks.append(f"// Bank {bank.id}\n$CATEGORY: {category_path(bank.title)}")
        for q in questions:
            body = _MAKERS[q.type](q, notes, negative_marking)
            if body is not None and q.points != 1:
                notes.add(q, f"imported at 1 mark, not {number(q.points)}: GIFT cannot give a question's marks "
                             "(use the Moodle XML export, or set the mark in Moodle)")
            if body is not None:
                blocks.append(f"// {q.id} ({q.type})\n::{escape(q.id)}::[html]{html_part(block_html(q.stem))}{{\n"
                              + "".join(f"\t{line}\n" for line in body)
                              + f"\t####{html_part(block_html(q.feedback))}\n}}")
    return ("\n\n".join(blocks) + "\n").encode("utf-8")


def _with_feedback(answer: str, feedback: str) -> str:
    return f"{answer}#{html_part(block_html(feedback))}" if feedback.strip() else answer


def _choice(q: Single | Multiple, notes: Notes, negative_marking: bool) -> list[str] | None:
    weights = option_weights(q, negative_marking)
    if q.type == "single":  # '=' marks the one right answer: Moodle makes it a single-answer question
        marks = ["=" if w == 1.0 else "~" for w in weights]
    else:  # weights only, no '=': Moodle makes it a multiple-answer question
        grades = moodle_grades(q, weights, notes)
        if grades is None:
            return None
        marks = [f"~%{percent(g)}%" for g in grades]
    return [_with_feedback(mark + html_part(inline_html(o.text)), o.feedback) for mark, o in zip(marks, q.options)]


def _true_false(q: TrueFalse, notes: Notes, negative_marking: bool) -> list[str]:
    # GIFT: {T#feedback if answered wrongly#feedback if answered rightly}
    right, wrong = (q.feedback_true, q.feedback_false) if q.answer else (q.feedback_false, q.feedback_true)
    parts = ["T" if q.answer else "F"]
    if wrong.strip() or right.strip():
        parts.append(html_part(block_html(wrong)))
    if right.strip():
        parts.append(html_part(block_html(right)))
    return ["#".join(parts)]


def _matching(q: Matching, notes: Notes, negative_marking: bool) -> list[str]:
    lines = [f"={html_part(inline_html(p.left))} -> {escape(plain_text(p.right))}" for p in q.pairs]
    # An empty left side is how Moodle's own GIFT export writes an extra (distractor) answer.
    lines += [f"= -> {escape(plain_text(d))}" for d in q.distractors]
    if any(p.feedback.strip() for p in q.pairs):
        notes.add(q, "feedback per pair dropped (GIFT matching has no feedback per pair)")
    if any(has_markup(r) for r in [p.right for p in q.pairs] + list(q.distractors)):
        notes.add(q, "right-hand items lose their Markdown formatting (Moodle matching answers are plain text)")
    note_short_matching(q, notes)
    return lines


def _ordering(q: Ordering, notes: Notes, negative_marking: bool) -> None:
    notes.add(q, "not exported: core GIFT has no ordering questions (use the Moodle XML export)")
    return None


def _short_answer(q: ShortAnswer, notes: Notes, negative_marking: bool) -> list[str] | None:
    # GIFT cannot escape "->", and a short answer containing it would be read as a matching pair.
    answers = listed_answers(q)
    arrows = [a for a in answers.answers if "->" in a]
    if arrows:
        notes.add(q, f"answers {listed(arrows)} dropped: GIFT would read '->' as a matching pair")
    if len(arrows) == len(answers.answers):
        notes.add(q, "not exported: no answer can be written in GIFT (use the Moodle XML export)")
        return None
    lines = [f"=%100%{escape(short_answer_text(a))}" for a in answers.answers if "->" not in a]
    if q.wrong_feedback.strip():
        lines.append(_with_feedback("=%0%*", q.wrong_feedback))  # the catch-all: any other answer
    note_listed(q, answers, "Moodle", notes)
    return lines


def _numeric(q: Numeric, notes: Notes, negative_marking: bool) -> list[str]:
    if q.unit:
        notes.add(q, f"unit {q.unit!r} dropped (GIFT numerical questions have no units; the stem should name it)")
    return [f"#{number(q.value)}:{number(q.tolerance)}"]


_MAKERS = {
    "single": _choice,
    "multiple": _choice,
    "true_false": _true_false,
    "matching": _matching,
    "ordering": _ordering,
    "short_answer": _short_answer,
    "numeric": _numeric,
}
