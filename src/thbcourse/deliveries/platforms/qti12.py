"""QTI 1.2 as Canvas classic quizzes import it (Course settings > Import course content > QTI .zip).

The zip holds imsmanifest.xml and, for each bank, <bank id>/<bank id>.xml: a questestinterop with
one assessment (the bank's title) whose section holds one item per question, shaped like Canvas's
own exports: `itemmetadata` with question_type and points_possible, response conditions that set
SCORE (percent of the points) for the key, and `itemfeedback` for general and per-answer feedback.
Canvas compares a short answer with each listed answer, ignoring case and the spaces at both ends:
the answers listed are those of short_answers.listed_answers.
"""
from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from decimal import Decimal
from xml.etree.ElementTree import SubElement

from thbcourse.bank.model import Matching, Multiple, Numeric, Ordering, Question, ShortAnswer, Single, TrueFalse
from thbcourse.deliveries.platforms.content import (
    BankQuestions, Notes, block_html, has_markup, inline_html, number, option_weights, pair_weight, plain_text,
    xml_document, zip_bytes,
)
from thbcourse.deliveries.platforms.short_answers import listed_answers, note_listed

QTI = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
MANIFEST = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
CANVAS_TYPES = {
    "single": "multiple_choice_question",
    "multiple": "multiple_answers_question",
    "true_false": "true_false_question",
    "matching": "matching_question",
    "ordering": "matching_question",  # approximated: Canvas classic quizzes have no ordering type
    "short_answer": "short_answer_question",
    "numeric": "numerical_question",
}


def export(banks: list[BankQuestions], notes: Notes, *, negative_marking: bool = True) -> bytes:
    files: dict[str, bytes] = {}
    manifest = ET.Element("manifest", identifier="thbcourse-question-banks", xmlns=MANIFEST)
    metadata = SubElement(manifest, "metadata")
    _value(metadata, "schema", "IMS Content")
    _value(metadata, "schemaversion", "1.1.3")
    SubElement(manifest, "organizations")
    resources = SubElement(manifest, "resources")
    for bank, questions in banks:
        href = f"{bank.id}/{bank.id}.xml"
        resource = SubElement(resources, "resource", identifier=f"bank-{bank.id}", type="imsqti_xmlv1p2", href=href)
        SubElement(resource, "file", href=href)
        root = ET.Element("questestinterop", xmlns=QTI)
        assessment = SubElement(root, "assessment", ident=f"bank-{bank.id}", title=bank.title)
        _field(SubElement(assessment, "qtimetadata"), "cc_maxattempts", "1")
        section = SubElement(assessment, "section", ident="root_section")
        for q in questions:
            section.append(_item(q, notes, negative_marking))
        ET.indent(root)
        files[href] = xml_document(root)
    ET.indent(manifest)
    return zip_bytes({"imsmanifest.xml": xml_document(manifest), **files})


class _Item:
    """One item being built: its presentation, its response conditions and its feedback texts."""

    def __init__(self, q: Question, stem_html: str):
        self.el = ET.Element("item", ident=q.id, title=q.id)
        self.meta = SubElement(SubElement(self.el, "itemmetadata"), "qtimetadata")
        _field(self.meta, "question_type", CANVAS_TYPES[q.type])
        _field(self.meta, "points_possible", number(q.points))
        self.presentation = SubElement(self.el, "presentation")
        _material(self.presentation, stem_html)
        self.processing = SubElement(self.el, "resprocessing")
        SubElement(SubElement(self.processing, "outcomes"), "decvar",
                   maxvalue="100", minvalue="0", varname="SCORE", vartype="Decimal")
        self.feedback: dict[str, str] = {}
        rule, when = self.rule("Yes")
        SubElement(when, "other")
        self.show(rule, "general_fb", block_html(q.feedback))

    def rule(self, cont: str | None = None) -> tuple[ET.Element, ET.Element]:
        """A new respcondition and its conditionvar."""
        rule = SubElement(self.processing, "respcondition", **({"continue": cont} if cont else {}))
        return rule, SubElement(rule, "conditionvar")

    def show(self, rule: ET.Element, ident: str, html: str) -> None:
        SubElement(rule, "displayfeedback", feedbacktype="Response", linkrefid=ident)
        self.feedback[ident] = html

    def finish(self) -> ET.Element:
        for ident, html in self.feedback.items():
            _material(SubElement(SubElement(self.el, "itemfeedback", ident=ident), "flow_mat"), html)
        return self.el


def _item(q: Question, notes: Notes, negative_marking: bool) -> ET.Element:
    stem = block_html(q.stem)
    if q.type == "ordering":
        stem += "<p>Match each position with the item that belongs there.</p>"
    item = _Item(q, stem)
    _MAKERS[q.type](item, q, notes, negative_marking)
    return item.finish()


# --- one function per question type ---------------------------------------------------------------

def _choice(item: _Item, q: Single | Multiple, notes: Notes, negative_marking: bool) -> None:
    labels = [(str(1000 + i), inline_html(o.text), o.feedback) for i, o in enumerate(q.options)]
    weights = option_weights(q, negative_marking)
    _choices(item, labels, "Multiple" if q.type == "multiple" else "Single")
    rule, when = item.rule("No")
    if q.type == "single":
        _varequal(when, next(ident for (ident, _, _), w in zip(labels, weights) if w > 0))
    else:  # Canvas reads the key from this and/not condition and grades the answers its own way
        both = SubElement(when, "and")
        for (ident, _, _), weight in zip(labels, weights):
            _varequal(both if weight > 0 else SubElement(both, "not"), ident)
        k = sum(w > 0 for w in weights)
        w = len(weights) - k
        if not (negative_marking and w == k):
            bank_rule = f"1/{w} (the number of wrong options)" if negative_marking else "nothing"
            notes.add(q, f"Canvas grades multiple answers its own way: each wrong option chosen takes away "
                         f"1/{k} of the points (the number of right options); the bank takes away {bank_rule}")
    _score(rule, 100)


def _true_false(item: _Item, q: TrueFalse, notes: Notes, negative_marking: bool) -> None:
    labels = [("1001", "True", q.feedback_true), ("1002", "False", q.feedback_false)]
    _choices(item, labels, "Single")
    rule, when = item.rule("No")
    _varequal(when, "1001" if q.answer else "1002")
    _score(rule, 100)


def _matching(item: _Item, q: Matching, notes: Notes, negative_marking: bool) -> None:
    rights = [p.right for p in q.pairs] + list(q.distractors)
    _pairs(item, q, [(inline_html(p.left), i, p.feedback) for i, p in enumerate(q.pairs)], rights)
    if any(has_markup(r) for r in rights):
        notes.add(q, "right-hand items lose their Markdown formatting (Canvas matching answers are plain text)")


def _ordering(item: _Item, q: Ordering, notes: Notes, negative_marking: bool) -> None:
    _pairs(item, q, [(f"Position {n + 1}", n, "") for n in range(len(q.items))], list(q.items))
    notes.add(q, "approximated as a matching question (position -> item): Canvas classic quizzes have no "
                 "ordering type, and each item in its right position earns a share instead of each item "
                 "followed by its right successor")
    if any(has_markup(i) for i in q.items):
        notes.add(q, "items lose their Markdown formatting (Canvas matching answers are plain text)")


def _short_answer(item: _Item, q: ShortAnswer, notes: Notes, negative_marking: bool) -> None:
    lid = SubElement(item.presentation, "response_str", ident="response1", rcardinality="Single")
    SubElement(SubElement(lid, "render_fib"), "response_label", ident="answer1", rshuffle="No")
    rule, when = item.rule("No")
    answers = listed_answers(q)
    for answer in answers.answers:  # as Canvas writes it: the accepted answers side by side, any is right
        _varequal(when, answer)
    _score(rule, 100)
    if q.wrong_feedback.strip():
        rule, when = item.rule("Yes")  # reached only when no accepted answer stopped processing
        SubElement(when, "other")
        item.show(rule, "general_incorrect_fb", block_html(q.wrong_feedback))
    note_listed(q, answers, "Canvas", notes)


def _numeric(item: _Item, q: Numeric, notes: Notes, negative_marking: bool) -> None:
    lid = SubElement(item.presentation, "response_str", ident="response1", rcardinality="Single")
    SubElement(SubElement(lid, "render_fib", fibtype="Decimal"), "response_label", ident="answer1")
    rule, when = item.rule("No")
    either = SubElement(when, "or")
    _varequal(either, number(q.value))
    both = SubElement(either, "and")
    value, margin = Decimal(repr(float(q.value))), Decimal(repr(float(q.tolerance)))
    SubElement(both, "vargte", respident="response1").text = _decimal(value - margin)
    SubElement(both, "varlte", respident="response1").text = _decimal(value + margin)
    _score(rule, 100)
    if q.unit:
        notes.add(q, f"unit {q.unit!r} dropped (Canvas numerical answers have no units; the stem should name it)")


_MAKERS = {
    "single": _choice,
    "multiple": _choice,
    "true_false": _true_false,
    "matching": _matching,
    "ordering": _ordering,
    "short_answer": _short_answer,
    "numeric": _numeric,
}


# --- shared shapes --------------------------------------------------------------------------------

def _choices(item: _Item, labels: list[tuple[str, str, str]], cardinality: str) -> None:
    """One response_lid with a label per choice, and a feedback condition per choice with feedback."""
    lid = SubElement(item.presentation, "response_lid", ident="response1", rcardinality=cardinality)
    render = SubElement(lid, "render_choice")
    for ident, html, _ in labels:
        _material(SubElement(render, "response_label", ident=ident), html)
    _field(item.meta, "original_answer_ids", ",".join(ident for ident, _, _ in labels))
    for ident, _, feedback in labels:
        if feedback.strip():
            rule, when = item.rule("Yes")
            _varequal(when, ident)
            item.show(rule, f"{ident}_fb", block_html(feedback))


def _pairs(item: _Item, q: Question, lefts: list[tuple[str, int, str]], rights: list[str]) -> None:
    """Canvas matching: a response_lid per left item offering every right item; each correct
    match adds an equal share; a left item's feedback shows when it is matched wrongly."""
    share = 100 * pair_weight(len(lefts))
    offered = _offered_order(q.id, len(rights))
    for n, (left_html, right_index, feedback) in enumerate(lefts):
        ident, key = str(1000 + n), str(2000 + right_index)
        lid = SubElement(item.presentation, "response_lid", ident=f"response_{ident}")
        _material(lid, left_html)
        render = SubElement(lid, "render_choice")
        for r in offered:
            _value(SubElement(SubElement(render, "response_label", ident=str(2000 + r)), "material"),
                   "mattext", plain_text(rights[r]))
        rule, when = item.rule()
        _varequal(when, key, f"response_{ident}")
        _score(rule, share, "Add")
        if feedback.strip():
            rule, when = item.rule()
            _varequal(SubElement(when, "not"), key, f"response_{ident}")
            item.show(rule, f"{ident}_fb", block_html(feedback))


def _offered_order(seed: str, n: int) -> list[int]:
    """A fixed shuffle of the right-hand items: offered in the key's order they would give it away."""
    order = list(range(n))
    random.Random(seed).shuffle(order)  # a str seed is hashed with SHA-512: the same on every run
    return order[1:] + order[:1] if order == sorted(order) else order


def _score(rule: ET.Element, percent: float, action: str = "Set") -> None:
    SubElement(rule, "setvar", action=action, varname="SCORE").text = f"{percent:.5f}".rstrip("0").rstrip(".")


def _varequal(parent: ET.Element, value: str, respident: str = "response1") -> None:
    SubElement(parent, "varequal", respident=respident).text = value


def _material(parent: ET.Element, html: str) -> None:
    SubElement(SubElement(parent, "material"), "mattext", texttype="text/html").text = html


def _field(qtimetadata: ET.Element, label: str, entry: str) -> None:
    field = SubElement(qtimetadata, "qtimetadatafield")
    _value(field, "fieldlabel", label)
    _value(field, "fieldentry", entry)


def _value(parent: ET.Element, tag: str, text: str) -> None:
    SubElement(parent, tag).text = text


def _decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text == "-0" else text
