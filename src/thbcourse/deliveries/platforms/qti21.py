"""QTI 2.1: an IMS content package with one assessmentItem per question and one assessmentTest.

    imsmanifest.xml          resources: every item, and the test (which depends on them)
    items/<question id>.xml  assessmentItem
    test.xml                 assessmentTest: a section per bank, listing its items

Every item declares SCORE (in points, from 0 to the question's points) and MAXSCORE, and shows its
feedback with modalFeedback: the outcome FEEDBACK starts as GENERAL (the explanation every learner
sees) and response processing adds the identifiers of the answers whose feedback applies. Where a
standard response processing template computes exactly the score and no feedback depends on the
answer, the item uses the template (match_correct, map_response); otherwise the item carries the
same rules written out, with the feedback rules after them.

A short answer is scored with patternMatch: one XML Schema expression that accepts what the engine
accepts, ignoring case and extra whitespace (see short_answers.py), where a mapping would compare the
text as typed, so that a space before or after the answer would score 0.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.etree.ElementTree import SubElement

from thbcourse.bank.model import Matching, Multiple, Numeric, Ordering, Question, ShortAnswer, Single, TrueFalse
from thbcourse.deliveries.platforms.content import (
    BankQuestions, Notes, block_html, inline_html, listed, number, option_weights, pair_weight, successor_weight,
    xml_document, xml_safe, zip_bytes,
)
from thbcourse.deliveries.platforms.short_answers import xsd_pattern

QTI = "http://www.imsglobal.org/xsd/imsqti_v2p1"
XSD = "http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
CP = "http://www.imsglobal.org/xsd/imscp_v1p1"
TEMPLATES = "http://www.imsglobal.org/question/qti_v2p1/rptemplates/"


def export(banks: list[BankQuestions], notes: Notes, *, negative_marking: bool = True) -> bytes:
    files: dict[str, bytes] = {}
    manifest = ET.Element("manifest", identifier="thbcourse-question-banks", xmlns=CP)
    metadata = _sub(manifest, "metadata")
    _sub(metadata, "schema", "QTIv2.1 Package")
    _sub(metadata, "schemaversion", "1.0.0")
    _sub(manifest, "organizations")
    resources = _sub(manifest, "resources")
    test = _test(banks)
    for bank, questions in banks:
        for q in questions:
            href = f"items/{q.id}.xml"
            files[href] = xml_document(_indent(_item(q, notes, negative_marking)))
            _resource(resources, identifier(q.id), "imsqti_item_xmlv2p1", href)
    resource = _resource(resources, "test", "imsqti_test_xmlv2p1", "test.xml")
    for bank, questions in banks:
        for q in questions:
            SubElement(resource, "dependency", identifierref=identifier(q.id))
    return zip_bytes({"imsmanifest.xml": xml_document(_indent(manifest)),
                      "test.xml": xml_document(_indent(test)), **files})


def identifier(question_id: str) -> str:
    # QTI identifiers cannot start with a digit, which question ids may; none starts with "_".
    return question_id if question_id[0].isalpha() else f"_{question_id}"


# --- items ----------------------------------------------------------------------------------------

class _Item:
    """One assessmentItem: declarations, body, response processing and feedback, built in parts."""

    def __init__(self, q: Question, notes: Notes):
        self.q, self.notes = q, notes
        self.el = _e("assessmentItem", xmlns=QTI, identifier=identifier(q.id), title=q.id, adaptive="false",
                     timeDependent="false")
        self.el.set(f"{{{XSI}}}schemaLocation", f"{QTI} {XSD}")
        self.response = _e("responseDeclaration", identifier="RESPONSE")
        self.body = _e("itemBody")
        self.dropped: set[str] = set()
        _append_html(self.body, block_html(q.stem), self.dropped)
        self.rules: list[ET.Element] = []  # scoring rules written out
        self.feedback_rules: list[ET.Element] = []
        self.template: str | None = None
        self.feedback: list[tuple[str, str]] = [("GENERAL", block_html(q.feedback))]

    def declare(self, cardinality: str, base_type: str, correct: list[str]) -> ET.Element:
        self.response.set("cardinality", cardinality)
        self.response.set("baseType", base_type)
        values = _sub(self.response, "correctResponse")
        for value in correct:
            _sub(values, "value", value)
        return self.response

    def feedback_when(self, condition: ET.Element, ident: str, markdown: str) -> None:
        """Show `markdown` (as feedback `ident`) when `condition` holds after scoring."""
        self.feedback_rules.append(_if(condition, _add_feedback(_base("identifier", ident))))
        self.feedback.append((ident, block_html(markdown)))

    def finish(self) -> ET.Element:
        self.el.append(self.response)
        _outcome(self.el, "SCORE", "float", "single", "0")
        _outcome(self.el, "MAXSCORE", "float", "single", number(self.q.points))
        _outcome(self.el, "FEEDBACK", "identifier", "multiple", "GENERAL")
        self.el.append(self.body)
        processing = _sub(self.el, "responseProcessing")
        if self.template and not self.feedback_rules:
            processing.set("template", TEMPLATES + self.template)
        else:
            processing.extend(self.rules + self.feedback_rules)
        for ident, html in self.feedback:
            fb = _sub(self.el, "modalFeedback", outcomeIdentifier="FEEDBACK", identifier=ident, showHide="show")
            _append_html(fb, html, self.dropped)
        if self.dropped:
            self.notes.add(self.q, f"formatting attributes {', '.join(sorted(self.dropped))} dropped "
                                   "(QTI 2.1 content does not have them)")
        return self.el


def _item(q: Question, notes: Notes, negative_marking: bool) -> ET.Element:
    item = _Item(q, notes)
    _MAKERS[q.type](item, q, negative_marking)
    return item.finish()


def _choice(item: _Item, q: Single | Multiple, negative_marking: bool) -> None:
    weights = option_weights(q, negative_marking)
    idents = [f"C{i + 1}" for i in range(len(q.options))]
    interaction = _sub(item.body, "choiceInteraction", responseIdentifier="RESPONSE", shuffle="true",
                       maxChoices="1" if q.type == "single" else "0")
    for ident, option in zip(idents, q.options):
        _append_html(_sub(interaction, "simpleChoice", identifier=ident), inline_html(option.text), item.dropped)
    correct = [i for i, w in zip(idents, weights) if w > 0]
    if q.type == "single":
        item.declare("single", "identifier", correct)
        _match_correct(item, q)
    else:
        mapping = _mapping(item.declare("multiple", "identifier", correct), q.points)
        for ident, weight in zip(idents, weights):
            _entry(mapping, ident, weight * q.points)
        _map_response(item)
    _choice_feedback(item, [(i, o.feedback) for i, o in zip(idents, q.options)])


def _true_false(item: _Item, q: TrueFalse, negative_marking: bool) -> None:
    interaction = _sub(item.body, "choiceInteraction", responseIdentifier="RESPONSE", shuffle="false",
                       maxChoices="1")
    _sub(interaction, "simpleChoice", "True", identifier="TRUE")
    _sub(interaction, "simpleChoice", "False", identifier="FALSE")
    item.declare("single", "identifier", ["TRUE" if q.answer else "FALSE"])
    _match_correct(item, q)
    _choice_feedback(item, [("TRUE", q.feedback_true), ("FALSE", q.feedback_false)])


def _matching(item: _Item, q: Matching, negative_marking: bool) -> None:
    lefts = [f"L{i + 1}" for i in range(len(q.pairs))]
    rights = [f"R{i + 1}" for i in range(len(q.pairs) + len(q.distractors))]
    interaction = _sub(item.body, "matchInteraction", responseIdentifier="RESPONSE", shuffle="true",
                       maxAssociations=str(len(lefts)))
    left_set, right_set = _sub(interaction, "simpleMatchSet"), _sub(interaction, "simpleMatchSet")
    for ident, pair in zip(lefts, q.pairs):
        choice = _sub(left_set, "simpleAssociableChoice", identifier=ident, matchMax="1")
        _append_html(choice, inline_html(pair.left), item.dropped)
    # The distractors are extra right-hand choices that no left item is matched to.
    for ident, text in zip(rights, [p.right for p in q.pairs] + list(q.distractors)):
        choice = _sub(right_set, "simpleAssociableChoice", identifier=ident, matchMax=str(len(lefts)))
        _append_html(choice, inline_html(text), item.dropped)
    keys = [f"{left} {right}" for left, right in zip(lefts, rights)]
    mapping = _mapping(item.declare("multiple", "directedPair", keys), q.points)
    for key in keys:
        _entry(mapping, key, pair_weight(len(keys)) * q.points)
    _map_response(item)
    for key, pair in zip(keys, q.pairs):
        if pair.feedback.strip():  # shown when this left item is not matched to its right item
            wrong = _e("or", _e("isNull", _var("RESPONSE")),
                       _e("not", _e("member", _base("directedPair", key), _var("RESPONSE"))))
            item.feedback_when(wrong, f"WRONG_{key.split()[0]}", pair.feedback)


def _ordering(item: _Item, q: Ordering, negative_marking: bool) -> None:
    idents = [f"I{i + 1}" for i in range(len(q.items))]
    interaction = _sub(item.body, "orderInteraction", responseIdentifier="RESPONSE", shuffle="true")
    for ident, text in zip(idents, q.items):
        _append_html(_sub(interaction, "simpleChoice", identifier=ident), inline_html(text), item.dropped)
    item.declare("ordered", "identifier", idents)
    # The engine's rule: a share for each place p whose item is followed by its correct successor.
    share = number(successor_weight(len(idents)) * q.points)

    def at(place: int, ident: str) -> ET.Element:
        return _e("match", _e("index", _var("RESPONSE"), n=str(place)), _base("identifier", ident))

    for place in range(1, len(idents)):
        followed = _e("or", *(_e("and", at(place, a), at(place + 1, b)) for a, b in zip(idents, idents[1:])))
        item.rules.append(_if(followed, _set("SCORE", _e("sum", _var("SCORE"), _base("float", share)))))


def _short_answer(item: _Item, q: ShortAnswer, negative_marking: bool) -> None:
    paragraph = _sub(item.body, "p")
    _sub(paragraph, "textEntryInteraction", responseIdentifier="RESPONSE",
         expectedLength=str(max(len(a) for a in q.answers) + 5))
    item.declare("single", "string", [" ".join(q.answers[0].split())])
    accepted = xsd_pattern(q)
    item.rules.append(_if(_e("patternMatch", _var("RESPONSE"), pattern=accepted.regex),
                          _set("SCORE", _var("MAXSCORE"))))
    if q.wrong_feedback.strip():
        item.feedback_when(_e("lt", _var("SCORE"), _var("MAXSCORE")), "WRONG", q.wrong_feedback)
    if accepted.dropped:
        item.notes.add(q, f"patterns {listed(accepted.dropped)} dropped: they use what XML Schema expressions "
                          "(QTI's patternMatch) cannot say, such as \\b, \\w, look-arounds or back-references")
    if accepted.inexact:
        item.notes.add(q, f"in {listed(accepted.inexact)}, a long run of letters such as 'ssss' is matched letter "
                          "by letter: typing 'ß' or a ligature for part of it scores 0")


def _numeric(item: _Item, q: Numeric, negative_marking: bool) -> None:
    paragraph = _sub(item.body, "p")
    entry = _sub(paragraph, "textEntryInteraction", responseIdentifier="RESPONSE",
                 expectedLength=str(len(number(q.value)) + 4))
    if q.unit:
        entry.tail = f" {q.unit}"
    item.declare("single", "float", [number(q.value)])
    tolerance = {"toleranceMode": "absolute", "tolerance": f"{number(q.tolerance)} {number(q.tolerance)}"} \
        if q.tolerance else {"toleranceMode": "exact"}
    within = _e("equal", _var("RESPONSE"), _base("float", number(q.value)), **tolerance)
    item.rules.append(_if(within, _set("SCORE", _var("MAXSCORE"))))


_MAKERS = {
    "single": _choice,
    "multiple": _choice,
    "true_false": _true_false,
    "matching": _matching,
    "ordering": _ordering,
    "short_answer": _short_answer,
    "numeric": _numeric,
}


# --- response processing --------------------------------------------------------------------------

def _match_correct(item: _Item, q: Question) -> None:
    # The template sets SCORE to 1 or 0: it fits only a question worth one point.
    item.rules.append(_if(_e("match", _var("RESPONSE"), _e("correct", identifier="RESPONSE")),
                          _set("SCORE", _var("MAXSCORE"))))
    item.template = "match_correct" if q.points == 1 else None


def _map_response(item: _Item) -> None:
    item.rules.append(_if(_e("not", _e("isNull", _var("RESPONSE"))),
                          _set("SCORE", _e("mapResponse", identifier="RESPONSE"))))
    item.template = "map_response"


def _choice_feedback(item: _Item, feedback: list[tuple[str, str]]) -> None:
    # Every chosen identifier joins FEEDBACK; the choices that have feedback have a modalFeedback.
    written = [(ident, block_html(markdown)) for ident, markdown in feedback if markdown.strip()]
    if written:
        item.feedback_rules.append(_add_feedback(_var("RESPONSE")))
        item.feedback += written


def _mapping(declaration: ET.Element, points: float) -> ET.Element:
    return _sub(declaration, "mapping", lowerBound="0", upperBound=number(points), defaultValue="0")


def _entry(mapping: ET.Element, key: str, value: float, case_sensitive: bool = True) -> None:
    _sub(mapping, "mapEntry", mapKey=key, mappedValue=repr(float(value)),
         caseSensitive="true" if case_sensitive else "false")


def _add_feedback(value: ET.Element) -> ET.Element:
    return _set("FEEDBACK", _e("multiple", _var("FEEDBACK"), value))


def _if(condition: ET.Element, *then: ET.Element) -> ET.Element:
    return _e("responseCondition", _e("responseIf", condition, *then))


def _set(identifier_: str, value: ET.Element) -> ET.Element:
    return _e("setOutcomeValue", value, identifier=identifier_)


def _var(identifier_: str) -> ET.Element:
    return _e("variable", identifier=identifier_)


def _base(base_type: str, value: str) -> ET.Element:
    el = _e("baseValue", baseType=base_type)
    el.text = value
    return el


# --- the test and the manifest --------------------------------------------------------------------

def _test(banks: list[BankQuestions]) -> ET.Element:
    titles = [bank.title for bank, _ in banks]
    test = _e("assessmentTest", xmlns=QTI, identifier="question-banks", title=" / ".join(titles) or "Question banks")
    test.set(f"{{{XSI}}}schemaLocation", f"{QTI} {XSD}")
    _outcome(test, "SCORE", "float", "single", "0")
    _outcome(test, "MAXSCORE", "float", "single", "0")
    part = _sub(test, "testPart", identifier="banks", navigationMode="nonlinear", submissionMode="individual")
    for bank, questions in banks:
        section = _sub(part, "assessmentSection", identifier=f"bank-{bank.id}", title=bank.title, visible="true")
        for q in questions:
            _sub(section, "assessmentItemRef", identifier=identifier(q.id), href=f"items/{q.id}.xml")
    processing = _sub(test, "outcomeProcessing")
    for outcome in ("SCORE", "MAXSCORE"):
        processing.append(_set(outcome, _e("sum", _e("testVariables", variableIdentifier=outcome))))
    return test


def _resource(resources: ET.Element, ident: str, kind: str, href: str) -> ET.Element:
    resource = SubElement(resources, "resource", identifier=ident, type=kind, href=href)
    SubElement(resource, "file", href=href)
    return resource


# --- building XML ---------------------------------------------------------------------------------

# Tags are unqualified, under a literal xmlns="...imsqti_v2p1" on each root element: ElementTree's
# default_namespace option refuses the unqualified attribute names that QTI uses.
def _e(local: str, *children: ET.Element, **attrs: str) -> ET.Element:
    el = ET.Element(local, attrs)
    el.extend(children)
    return el


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = SubElement(parent, tag, attrs)
    el.text = text
    return el


def _outcome(parent: ET.Element, ident: str, base_type: str, cardinality: str, default: str) -> None:
    declaration = _sub(parent, "outcomeDeclaration", identifier=ident, cardinality=cardinality, baseType=base_type)
    _sub(_sub(declaration, "defaultValue"), "value", default)


# QTI 2.1 content is an XHTML subset: these are the attributes it keeps of what the renderer writes.
_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt", "width", "height"}}
_KEEP_EVERYWHERE = {"class"}


def _append_html(parent: ET.Element, html: str, dropped: set[str]) -> None:
    """Append rendered HTML (well-formed: the renderer writes XHTML) as QTI content elements."""
    if not html:
        return
    fragment = ET.fromstring(f"<div>{xml_safe(html)}</div>")
    for el in fragment.iter():
        if el is fragment:
            continue
        allowed = _ATTRIBUTES.get(el.tag, set()) | _KEEP_EVERYWHERE
        for name in [n for n in el.attrib if n not in allowed]:
            dropped.add(f"{el.tag}@{name}")
            del el.attrib[name]
    if len(parent):
        parent[-1].tail = (parent[-1].tail or "") + (fragment.text or "")
    else:
        parent.text = (parent.text or "") + (fragment.text or "")
    parent.extend(fragment)


# Whitespace may go between blocks but not inside text: these elements are written as they are.
_AS_IS = {"p", "li", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "simpleChoice",
          "simpleAssociableChoice", "modalFeedback", "baseValue", "value"}


def _indent(el: ET.Element, depth: int = 0) -> ET.Element:
    if len(el) and el.tag not in _AS_IS and not (el.text or "").strip():
        pad = "\n" + "  " * (depth + 1)
        el.text = pad
        for child in el:
            _indent(child, depth + 1)
            if not (child.tail or "").strip():
                child.tail = pad
        el[-1].tail = "\n" + "  " * depth
    return el
