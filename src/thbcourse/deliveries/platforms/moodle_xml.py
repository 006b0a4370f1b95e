"""Moodle XML: what Moodle's question bank imports (Question bank > Import > Moodle XML format).

`<quiz>` holds, for each bank, a category pseudo-question (`$course$/<bank title>`) and then the
bank's questions. Stems, options and feedback are HTML in CDATA sections, and so is every plain text
with a character XML escapes (as Moodle's own export writes them): Moodle's reader drops the text
between two escaped characters when it is only whitespace, so "a &amp; &lt;b&gt;" would arrive as "a &<b>".

Moodle refuses answer grades that are not on its list (see GRADES). A wrong option's share off the
list is rounded and noted; a correct option's share off the list (1/11 to 1/19, or less than 1/20) is
not exported at all, since the rounded shares would not add up to the full marks.
"""
from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from xml.etree.ElementTree import SubElement
from xml.sax.saxutils import escape, quoteattr

from thbcourse.bank.model import Matching, Multiple, Numeric, Ordering, Question, ShortAnswer, Single, TrueFalse
from thbcourse.deliveries.platforms.content import (
    BankQuestions, Notes, block_html, clean_tree, has_markup, inline_html, number, option_weights, plain_text,
)
from thbcourse.deliveries.platforms.short_answers import listed_answers, note_listed

PENALTY = "0.3333333"  # Moodle's default share lost per extra try (interactive quizzes only)

# Moodle's allowed answer grades (question_bank::fraction_options_full), stored to 7 decimals;
# the importer stops at any other value.
_POSITIVE = (1.0, 0.9, 0.8333333, 0.8, 0.75, 0.7, 0.6666667, 0.6, 0.5, 0.4, 0.3333333, 0.3, 0.25,
             0.2, 0.1666667, 0.1428571, 0.125, 0.1111111, 0.1, 0.05)
GRADES = (0.0,) + _POSITIVE + tuple(-g for g in _POSITIVE)


def moodle_grade(fraction: float) -> tuple[float, bool]:
    """The nearest grade Moodle accepts, and whether it is the same fraction to Moodle's 7 decimals."""
    grade = min(GRADES, key=lambda g: abs(g - fraction))
    return grade, abs(grade - fraction) < 5e-7


def moodle_grades(q: Question, weights: list[float], notes: Notes) -> list[float] | None:
    """The weights as grades Moodle accepts, a note naming each one that had to be rounded; or None,
    with a note, when the correct options' shares are not on the list."""
    right = [w for w in weights if w > 0]
    share, exact = moodle_grade(right[0])
    if not exact:
        total = share * len(right)
        effect = "full marks without every correct option" if total > 1 else "never full marks"
        notes.add(q, f"not exported: each of its {len(right)} correct options earns 1/{len(right)} of the "
                     f"marks, and Moodle's answer grades go from 1/2 to 1/10, then 1/20; the nearest, "
                     f"{percent(share)} %, would add up to {percent(total)} % ({effect}). Give the question at "
                     "most 10 correct options, or exactly 20, or split it")
        return None
    grades = [moodle_grade(w) for w in weights]
    rounded = dict.fromkeys(f"{percent(w)} % as {percent(g)} %" for w, (g, exact) in zip(weights, grades) if not exact)
    if rounded:
        notes.add(q, "each wrong option chosen takes away the nearest share Moodle accepts: "
                     f"{', '.join(rounded)}")
    return [g for g, _ in grades]


def note_short_matching(q: Matching, notes: Notes) -> None:
    if len(q.pairs) + len(q.distractors) < 3:
        notes.add(q, "Moodle imports it, but its question editor will not save it again with fewer than three "
                     "answers: add a distractor (in the bank, or in Moodle before editing the question)")


def percent(fraction: float) -> str:
    """0.5 -> "50", 0.3333333 -> "33.33333": Moodle writes fractions as percentages."""
    text = f"{fraction * 100:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def short_answer_text(answer: str) -> str:
    # Moodle reads "*" in a short answer as a wildcard; a backslash before it makes it an asterisk.
    return answer.replace("*", "\\*")


def category_path(title: str) -> str:
    # Moodle splits a category path on "/" and reads "//" as a slash inside a name.
    return "$course$/" + " ".join(title.split()).replace("/", "//")


def export(banks: list[BankQuestions], notes: Notes, *, negative_marking: bool = True) -> bytes:
    quiz = ET.Element("quiz")
    for bank, questions in banks:
        category = SubElement(quiz, "question", type="category")
        _value(category, "category", category_path(bank.title), wrap=True)
        _html(category, "info", f"<p>Question bank {html.escape(bank.id)}</p>")
        for q in questions:
            el = _MAKERS[q.type](q, notes, negative_marking)
            if el is not None:
                quiz.append(el)
    return serialise(quiz)


# --- one function per question type ---------------------------------------------------------------

def _choice(q: Single | Multiple, notes: Notes, negative_marking: bool) -> ET.Element | None:
    grades = moodle_grades(q, option_weights(q, negative_marking), notes)
    if grades is None:
        return None
    el = _header(q, "multichoice")
    _value(el, "single", "true" if q.type == "single" else "false")
    _value(el, "shuffleanswers", "true")
    _value(el, "answernumbering", "abc")
    _value(el, "showstandardinstruction", "0")
    _combined_feedback(el)
    for option, grade in zip(q.options, grades):
        _answer(el, percent(grade), inline_html(option.text), option.feedback, "html")
    return _tags(el, q)


def _true_false(q: TrueFalse, notes: Notes, negative_marking: bool) -> ET.Element:
    el = _header(q, "truefalse", penalty="1")
    # Moodle shows an answer's feedback to whoever chose that answer, as the bank does.
    _answer(el, "100" if q.answer else "0", "true", q.feedback_true)
    _answer(el, "0" if q.answer else "100", "false", q.feedback_false)
    return _tags(el, q)


def _matching(q: Matching, notes: Notes, negative_marking: bool) -> ET.Element:
    el = _header(q, "matching")
    _value(el, "shuffleanswers", "true")
    with_feedback = [p for p in q.pairs if p.feedback.strip()]
    pair_notes = "".join(f"<p><strong>{inline_html(p.left)}</strong></p>{block_html(p.feedback)}"
                         for p in with_feedback)
    _combined_feedback(el, partially=pair_notes, incorrect=pair_notes)
    if with_feedback:
        notes.add(q, "feedback per pair becomes the feedback for partly correct and incorrect answers, "
                     "shown whichever pair is wrong (Moodle matching has no feedback per pair)")
    # A subquestion with no text and an answer is how Moodle stores an extra (distractor) answer.
    for left, right in [(p.left, p.right) for p in q.pairs] + [(None, d) for d in q.distractors]:
        sub = _html(el, "subquestion", inline_html(left) if left is not None else "")
        _value(sub, "answer", plain_text(right), wrap=True)
    if any(has_markup(r) for r in [p.right for p in q.pairs] + list(q.distractors)):
        notes.add(q, "right-hand items lose their Markdown formatting (Moodle matching answers are plain text)")
    note_short_matching(q, notes)
    return _tags(el, q)


def _ordering(q: Ordering, notes: Notes, negative_marking: bool) -> ET.Element:
    el = _header(q, "ordering")
    _value(el, "layouttype", "VERTICAL")
    _value(el, "selecttype", "ALL")
    _value(el, "selectcount", str(len(q.items)))
    _value(el, "gradingtype", "RELATIVE_NEXT_EXCLUDE_LAST")  # the engine's ordering rule
    _value(el, "showgrading", "SHOW")
    _value(el, "numberingstyle", "none")
    _combined_feedback(el)
    for position, item in enumerate(q.items, start=1):  # the order of the answers is the key
        SubElement(SubElement(el, "answer", fraction=str(position), format="html"), "text").text = inline_html(item)
    notes.add(q, "needs the Ordering question type (qtype_ordering) on the Moodle site; "
                 "a site without it cannot import this question")
    return _tags(el, q)


def _short_answer(q: ShortAnswer, notes: Notes, negative_marking: bool) -> ET.Element:
    el = _header(q, "shortanswer")
    _value(el, "usecase", "0")  # case ignored, as the engine does
    answers = listed_answers(q)
    for answer in answers.answers:
        _answer(el, "100", short_answer_text(answer), "")
    if q.wrong_feedback.strip():
        _answer(el, "0", "*", q.wrong_feedback)  # Moodle's catch-all: any other answer
    note_listed(q, answers, "Moodle", notes)
    return _tags(el, q)


def _numeric(q: Numeric, notes: Notes, negative_marking: bool) -> ET.Element:
    el = _header(q, "numerical")
    answer = _answer(el, "100", number(q.value), "")
    _value(answer, "tolerance", number(q.tolerance))
    if q.unit:
        unit = SubElement(SubElement(el, "units"), "unit")
        _value(unit, "multiplier", "1")
        _value(unit, "unit_name", q.unit)
        _value(el, "unitgradingtype", "0")  # the unit may be typed or left out; never graded
        _value(el, "unitpenalty", "0.1000000")
        _value(el, "showunits", "0")
        _value(el, "unitsleft", "0")
    return _tags(el, q)


_MAKERS = {
    "single": _choice,
    "multiple": _choice,
    "true_false": _true_false,
    "matching": _matching,
    "ordering": _ordering,
    "short_answer": _short_answer,
    "numeric": _numeric,
}


# --- parts every question shares ------------------------------------------------------------------

def _header(q: Question, qtype: str, penalty: str = PENALTY) -> ET.Element:
    el = ET.Element("question", type=qtype)
    _value(el, "name", q.id, wrap=True)
    _html(el, "questiontext", block_html(q.stem))
    _html(el, "generalfeedback", block_html(q.feedback))
    _value(el, "defaultgrade", number(q.points))
    _value(el, "penalty", penalty)
    _value(el, "hidden", "0")
    _value(el, "idnumber", q.id)
    return el


def _tags(el: ET.Element, q: Question) -> ET.Element:
    tags = SubElement(el, "tags")
    for tag in (f"topic:{q.topic.value}", f"difficulty:{q.difficulty}", f"objective:{q.objective}"):
        _value(tags, "tag", tag, wrap=True)
    return el


def _combined_feedback(el: ET.Element, correct: str = "", partially: str = "", incorrect: str = "") -> None:
    _html(el, "correctfeedback", correct)
    _html(el, "partiallycorrectfeedback", partially)
    _html(el, "incorrectfeedback", incorrect)
    SubElement(el, "shownumcorrect")


def _answer(parent: ET.Element, fraction: str, text: str, feedback: str,
            fmt: str = "moodle_auto_format") -> ET.Element:
    answer = SubElement(parent, "answer", fraction=fraction, format=fmt)
    SubElement(answer, "text").text = text
    _html(answer, "feedback", block_html(feedback))
    return answer


def _html(parent: ET.Element, tag: str, html_text: str) -> ET.Element:
    el = SubElement(parent, tag, format="html")
    SubElement(el, "text").text = html_text
    return el


def _value(parent: ET.Element, tag: str, value: str, wrap: bool = False) -> ET.Element:
    """<tag>value</tag>, or <tag><text>value</text></tag> where Moodle expects a text element."""
    el = SubElement(parent, tag)
    (SubElement(el, "text") if wrap else el).text = value
    return el


# --- writing: ElementTree cannot write CDATA sections, so the tree is written here ----------------
# Moodle's reader (xmlize, PHP's xml_parse_into_struct skipping white space) gets a text in pieces
# split at each character reference and drops a piece that is only whitespace; a CDATA section is
# one piece. So a text is written in CDATA when it is HTML or has a character XML escapes.

def serialise(root: ET.Element) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    _write(clean_tree(root), lines, 0, cdata=False)
    return ("\n".join(lines) + "\n").encode("utf-8")


def _write(el: ET.Element, lines: list[str], depth: int, cdata: bool) -> None:
    pad = "  " * depth
    attrs = "".join(f" {name}={quoteattr(value)}" for name, value in el.attrib.items())
    if len(el):
        lines.append(f"{pad}<{el.tag}{attrs}>")
        for child in el:
            _write(child, lines, depth + 1, cdata=el.get("format") == "html" and child.tag == "text")
        lines.append(f"{pad}</{el.tag}>")
    elif el.text is None:
        lines.append(f"{pad}<{el.tag}{attrs}/>")
    elif cdata or escape(el.text) != el.text:
        body = el.text.replace("]]>", "]]]]><![CDATA[>")  # a "]]>" in the text would end the section
        lines.append(f"{pad}<{el.tag}{attrs}><![CDATA[{body}]]></{el.tag}>")
    else:
        lines.append(f"{pad}<{el.tag}{attrs}>{escape(el.text)}</{el.tag}>")
