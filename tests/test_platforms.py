"""Platform exports: each format is written, read back as a platform would read it, and compared
with the bank: every question (or a note saying why not), the key, the partial-credit weights, the
feedback, the points, and hostile text that must stay text.

Where a platform's reader is a package, the test uses it: GIFT through gift-pegjs (npm, pinned in
tests/data/gift-parser, installed from npm's cache without a download: `npm cache add gift-pegjs@1.0.2
pegjs@0.10.0` once), QTI 2.1 against the official XSDs (a folder named by THBCOURSE_QTI21_XSD; see
QTI21_XSD below) with xmlschema, whose elementpath also reads QTI's XML Schema patterns. Moodle's reader (PHP) is simulated with expat."""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
import xml.parsers.expat
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
import xmlschema
import yaml
from elementpath.regex import translate_pattern
from hypothesis import given, settings, strategies as st

from conftest import DATA, REPO
from thbcourse.bank.blueprint import Grading
from thbcourse.bank.course import load_course
from thbcourse.deliveries.markdown import to_html
from thbcourse.deliveries.platforms import FORMATS, export_banks
from thbcourse.deliveries.platforms.content import option_weights
from thbcourse.deliveries.platforms.moodle_xml import serialise
from thbcourse.deliveries.platforms.short_answers import pattern_strings, xsd_pattern
from thbcourse.engine.grade import grade
from thbcourse.problems import NotFound

SAMPLE_IDS = ["s-single", "s-multiple", "s-tf", "s-matching", "s-ordering", "s-short", "s-numeric"]
FILES = {"moodle-xml": "banks.xml", "gift": "banks.txt", "qti12": "banks-qti12.zip", "qti21": "banks-qti21.zip"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.parts.append(data)


def text(html: str | None) -> str:
    """What a browser shows of an HTML fragment (whitespace runs as one space)."""
    parser = _Text()
    parser.feed(html or "")
    parser.close()
    return " ".join("".join(parser.parts).split())


def tags(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.tags


def rendered(markdown: str) -> str:
    return text(to_html(markdown))


@pytest.fixture(scope="module")
def exported(sample_course, tmp_path_factory):
    out = tmp_path_factory.mktemp("platforms")
    return {fmt: (out / name, export_banks(sample_course, fmt, out / name)) for fmt, name in FILES.items()}


def ids_of(notes: list[str]) -> list[str]:
    return [n.split(": ", 1)[0] for n in notes]


# --- Moodle XML -----------------------------------------------------------------------------------

def read_moodle(data: bytes):
    root = ET.fromstring(data)
    assert root.tag == "quiz"
    categories, questions = [], {}
    for el in root.findall("question"):
        if el.get("type") == "category":
            categories.append(el.findtext("category/text"))
        else:
            questions[el.findtext("idnumber")] = el
    return categories, questions


def moodle_answers(el) -> list[tuple[str, str, str]]:
    return [(a.get("fraction"), text(a.findtext("text")), text(a.findtext("feedback/text")))
            for a in el.findall("answer")]


def test_moodle_xml_carries_every_question(sample_course, exported):
    path, notes = exported["moodle-xml"]
    data = path.read_bytes()
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert b"<![CDATA[<p>" in data  # HTML fields in CDATA sections, as Moodle writes them
    categories, questions = read_moodle(data)
    assert categories == ["$course$/Sample bank with every question type"]
    assert list(questions) == SAMPLE_IDS
    for qid, el in questions.items():
        q = sample_course.questions[qid]
        assert el.findtext("name/text") == qid
        assert el.find("questiontext").get("format") == "html"
        assert text(el.findtext("questiontext/text")) == rendered(q.stem)
        assert text(el.findtext("generalfeedback/text")) == rendered(q.feedback)
        assert float(el.findtext("defaultgrade")) == q.points
        assert [t.findtext("text") for t in el.findall("tags/tag")] == [
            f"topic:{q.topic.value}", f"difficulty:{q.difficulty}", f"objective:{q.objective}"]

    single, q = questions["s-single"], sample_course.questions["s-single"]
    assert single.get("type") == "multichoice" and single.findtext("single") == "true"
    assert moodle_answers(single) == [("100" if o.correct else "0", rendered(o.text), rendered(o.feedback))
                                      for o in q.options]

    multiple, q = questions["s-multiple"], sample_course.questions["s-multiple"]
    assert multiple.findtext("single") == "false"
    assert moodle_answers(multiple) == [(f, rendered(o.text), rendered(o.feedback))
                                        for f, o in zip(["50", "50", "-50", "-50"], q.options)]

    tf = questions["s-tf"]
    assert tf.get("type") == "truefalse"
    assert moodle_answers(tf) == [("100", "true", "Yes."),
                                  ("0", "false", "No, this is what the notification describes.")]

    matching, q = questions["s-matching"], sample_course.questions["s-matching"]
    assert matching.get("type") == "matching"
    subs = [(text(s.findtext("text")), s.findtext("answer/text")) for s in matching.findall("subquestion")]
    assert subs == [(p.left, p.right) for p in q.pairs] + [("", "Radio broadcasts")]
    for kind in ("partiallycorrectfeedback", "incorrectfeedback"):
        assert "Tickets belong to transportation." in text(matching.findtext(f"{kind}/text"))

    ordering, q = questions["s-ordering"], sample_course.questions["s-ordering"]
    assert ordering.get("type") == "ordering"
    assert ordering.findtext("gradingtype") == "RELATIVE_NEXT_EXCLUDE_LAST"
    assert ordering.findtext("selecttype") == "ALL"
    assert [(a.get("fraction"), text(a.findtext("text"))) for a in ordering.findall("answer")] == [
        (str(n), item) for n, item in enumerate(q.items, start=1)]

    short = questions["s-short"]
    assert short.get("type") == "shortanswer" and short.findtext("usecase") == "0"
    # the answer, what the pattern allows, and one doubled space (Moodle compares inner spaces as typed)
    assert [(a.get("fraction"), a.findtext("text")) for a in short.findall("answer")] == [
        ("100", "multihoming"), ("100", "multi homing"), ("100", "multi-homing"), ("100", "multi  homing"),
        ("0", "*")]
    assert moodle_answers(short)[-1][2] == "The term is multihoming (footnote 2 of the notification)."

    numeric = questions["s-numeric"]
    assert numeric.get("type") == "numerical"
    assert (numeric.findtext("answer/text"), numeric.findtext("answer/tolerance")) == ("80", "0.5")
    assert numeric.find("answer").get("fraction") == "100"
    assert numeric.findtext("units/unit/unit_name") == "%"

    assert ids_of(notes) == ["s-matching", "s-ordering", "s-short"]
    assert "feedback per pair" in notes[0]
    assert "qtype_ordering" in notes[1]
    assert "one doubled space is listed" in notes[2]


def test_moodle_cdata_survives_its_end_marker():
    root = ET.Element("quiz")
    field = ET.SubElement(root, "questiontext", format="html")
    ET.SubElement(field, "text").text = "a ]]> b <script>x</script>"
    assert ET.fromstring(serialise(root)).findtext("questiontext/text") == "a ]]> b <script>x</script>"


# --- GIFT -----------------------------------------------------------------------------------------
# A reader of what the GIFT format defines (as Moodle's importer reads it): blocks separated by blank
# lines, // comments, $CATEGORY, ::name::, [format], {answers}, ####general feedback, and the
# backslash escapes of ~ = # { } : \ and \n.

_HELD = {c: chr(0xE000 + i) for i, c in enumerate("\\:#={}~n")}
_FREED = {v: ("\n" if c == "n" else c) for c, v in _HELD.items()}
_WEIGHT = re.compile(r"%(-?\d+(?:\.\d+)?)%")


def hold(s: str) -> str:
    return re.sub(r"\\([\\:#={}~n])", lambda m: _HELD[m.group(1)], s)


def free(s: str) -> str:
    return "".join(_FREED.get(c, c) for c in s).strip()


def _weighted(part: str, default: float) -> tuple[float, str]:
    match = _WEIGHT.match(part)
    return (float(match.group(1)), part[match.end():]) if match else (default, part)


def formatted(s: str) -> str:
    """Moodle reads a leading [html], [moodle], [plain] or [markdown] as the text's format."""
    name, bracket, rest = s[1:].partition("]")
    return rest.strip() if s.startswith("[") and bracket and name in ("html", "moodle", "plain", "markdown") else s


def _answer(part: str) -> tuple[str, str]:
    answer, _, feedback = part.partition("#")
    return formatted(free(answer)), formatted(free(feedback))


def read_gift(source: str):
    categories, questions = [], {}
    for block in re.split(r"\n[ \t]*\n", source):
        body = hold("\n".join(line for line in block.splitlines() if not line.strip().startswith("//")).strip())
        if not body:
            continue
        if body.startswith("$CATEGORY:"):
            categories.append(body[len("$CATEGORY:"):].strip())
            continue
        assert body.startswith("::"), body
        name, _, body = body[2:].partition("::")
        start, end = body.index("{"), body.index("}")
        assert not body[end + 1:].strip(), "text after the answers"
        stem, answers = body[:start], body[start + 1:end].strip()
        fmt = None
        if stem.startswith("["):
            fmt, _, stem = stem[1:].partition("]")
        general = ""
        if "####" in answers:
            answers, _, general = answers.rpartition("####")
            answers = answers.strip()
        q = {"format": fmt, "stem": free(stem), "general": formatted(free(general))}
        if answers.startswith("#"):
            value, _, tolerance = answers[1:].strip().partition(":")
            q.update(type="numerical", value=float(value), tolerance=float(tolerance or 0))
        elif "~" in answers:
            parsed = []
            for part in answers.replace("=", "~=").split("~"):
                part = part.strip()
                if part:
                    weight, part = (100.0, part[1:]) if part.startswith("=") else _weighted(part, 0.0)
                    parsed.append((weight, *_answer(part)))
            q.update(type="multichoice", single="=" in answers, answers=parsed)
        elif "=" in answers and "->" in answers:
            pairs = []
            for part in answers.split("=")[1:]:
                left, _, right = part.partition("->")
                pairs.append((formatted(free(left)), free(right)))
            q.update(type="matching", pairs=pairs)
        elif answers.split("#")[0].strip() in ("T", "TRUE", "F", "FALSE"):
            key, wrong, right = (answers.split("#", 2) + ["", ""])[:3]
            q.update(type="truefalse", answer=key.strip() in ("T", "TRUE"), wrong=formatted(free(wrong)),
                     right=formatted(free(right)))
        else:
            parsed = [(weight, *_answer(rest)) for weight, rest in
                      (_weighted(part.strip(), 100.0) for part in answers.split("=")[1:])]
            q.update(type="shortanswer", answers=parsed)
        questions[free(name)] = q
    return categories, questions


def test_gift_carries_every_question_it_can(sample_course, exported):
    path, notes = exported["gift"]
    categories, questions = read_gift(path.read_text(encoding="utf-8"))
    assert categories == ["$course$/Sample bank with every question type"]
    assert list(questions) == [i for i in SAMPLE_IDS if i != "s-ordering"]
    for qid, g in questions.items():
        q = sample_course.questions[qid]
        assert g["format"] == "html"
        assert text(g["stem"]) == rendered(q.stem)
        assert text(g["general"]) == rendered(q.feedback)

    q = sample_course.questions["s-single"]
    g = questions["s-single"]
    assert g["type"] == "multichoice" and g["single"]
    assert [(w, text(a), text(f)) for w, a, f in g["answers"]] == [
        (100.0 if o.correct else 0.0, rendered(o.text), rendered(o.feedback)) for o in q.options]

    q = sample_course.questions["s-multiple"]
    g = questions["s-multiple"]
    assert g["type"] == "multichoice" and not g["single"]
    assert [(w, text(a), text(f)) for w, a, f in g["answers"]] == [
        (w, rendered(o.text), rendered(o.feedback)) for w, o in zip([50.0, 50.0, -50.0, -50.0], q.options)]

    g = questions["s-tf"]
    assert (g["type"], g["answer"]) == ("truefalse", True)
    # GIFT: the first feedback is for a wrong answer (false), the second for a right one (true)
    assert (text(g["wrong"]), text(g["right"])) == ("No, this is what the notification describes.", "Yes.")

    q = sample_course.questions["s-matching"]
    g = questions["s-matching"]
    assert g["type"] == "matching"
    assert [(text(left), right) for left, right in g["pairs"]] == [(p.left, p.right) for p in q.pairs] + [
        ("", "Radio broadcasts")]

    g = questions["s-short"]
    assert g["type"] == "shortanswer"
    assert [(w, a, text(f)) for w, a, f in g["answers"]] == [
        (100.0, "multihoming", ""), (100.0, "multi homing", ""), (100.0, "multi-homing", ""),
        (100.0, "multi  homing", ""), (0.0, "*", "The term is multihoming (footnote 2 of the notification).")]

    g = questions["s-numeric"]
    assert (g["type"], g["value"], g["tolerance"]) == ("numerical", 80.0, 0.5)

    assert ids_of(notes) == ["s-matching", "s-ordering", "s-short", "s-numeric"]
    assert "feedback per pair dropped" in notes[0]
    assert "not exported" in notes[1]
    assert "one doubled space is listed" in notes[2]
    assert "unit '%'" in notes[3]


# --- QTI 1.2 (Canvas) -----------------------------------------------------------------------------

Q12 = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
CC = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"


def read_qti12(path: Path) -> dict[str, ET.Element]:
    with zipfile.ZipFile(path) as archive:
        manifest = ET.fromstring(archive.read("imsmanifest.xml"))
        resources = manifest.findall(f"{CC}resources/{CC}resource")
        assert {r.get("type") for r in resources} == {"imsqti_xmlv1p2"}
        items = {}
        for resource in resources:
            root = ET.fromstring(archive.read(resource.find(f"{CC}file").get("href")))
            for assessment in root.findall(f"{Q12}assessment"):
                for item in assessment.iter(f"{Q12}item"):
                    items[item.get("ident")] = item
                items["@" + assessment.get("title")] = assessment
    return items


def q12(path: str) -> str:
    return "/".join(Q12 + part for part in path.split("/"))


def canvas_meta(item) -> dict[str, str]:
    return {f.findtext(q12("fieldlabel")): f.findtext(q12("fieldentry"))
            for f in item.iter(f"{Q12}qtimetadatafield")}


def canvas_labels(lid) -> dict[str, str]:
    return {label.get("ident"): text(label.findtext(q12("material/mattext")))
            for label in lid.iter(f"{Q12}response_label")}


def canvas_feedback(item) -> dict[str, str]:
    return {fb.get("ident"): text(fb.findtext(q12("flow_mat/material/mattext")))
            for fb in item.findall(f"{Q12}itemfeedback")}


def canvas_conditions(item):
    """(continue, conditionvar, setvar or None, displayfeedback ids) of every respcondition."""
    return [(rc.get("continue"), rc.find(f"{Q12}conditionvar"), rc.find(f"{Q12}setvar"),
             [d.get("linkrefid") for d in rc.findall(f"{Q12}displayfeedback")])
            for rc in item.iter(f"{Q12}respcondition")]


def test_qti12_carries_every_question_canvas_can(sample_course, exported):
    path, notes = exported["qti12"]
    items = read_qti12(path)
    assert "@Sample bank with every question type" in items
    types = {qid: canvas_meta(items[qid])["question_type"] for qid in SAMPLE_IDS}
    assert types == {"s-single": "multiple_choice_question", "s-multiple": "multiple_answers_question",
                     "s-tf": "true_false_question", "s-matching": "matching_question",
                     "s-ordering": "matching_question", "s-short": "short_answer_question",
                     "s-numeric": "numerical_question"}
    for qid in SAMPLE_IDS:
        q, item = sample_course.questions[qid], items[qid]
        assert float(canvas_meta(item)["points_possible"]) == q.points
        assert text(item.findtext(q12("presentation/material/mattext"))).startswith(rendered(q.stem))
        assert canvas_feedback(item)["general_fb"] == rendered(q.feedback)
        assert any(fb == ["general_fb"] for _, _, _, fb in canvas_conditions(item))

    for qid in ("s-single", "s-multiple"):
        q, item = sample_course.questions[qid], items[qid]
        lid = item.find(q12("presentation/response_lid"))
        labels = canvas_labels(lid)
        assert list(labels.values()) == [rendered(o.text) for o in q.options]
        by_text = {v: k for k, v in labels.items()}
        feedback = canvas_feedback(item)
        for o in q.options:  # a per-answer feedback condition for each option
            assert feedback[f"{by_text[rendered(o.text)]}_fb"] == rendered(o.feedback)
        (cont, key, setvar, _), = [c for c in canvas_conditions(item) if c[2] is not None]
        assert (cont, setvar.text, setvar.get("action")) == ("No", "100", "Set")
        right = {labels[v.text] for v in key.iter(f"{Q12}varequal")
                 if v not in {n for x in key.iter(f"{Q12}not") for n in x}}
        assert right == {rendered(o.text) for o in q.options if o.correct}
        if qid == "s-multiple":
            assert lid.get("rcardinality") == "Multiple"
            wrong = {labels[v.text] for x in key.iter(f"{Q12}not") for v in x.iter(f"{Q12}varequal")}
            assert wrong == {rendered(o.text) for o in q.options if not o.correct}

    item = items["s-tf"]
    labels = canvas_labels(item.find(q12("presentation/response_lid")))
    (_, key, _, _), = [c for c in canvas_conditions(item) if c[2] is not None]
    assert labels[key.findtext(f"{Q12}varequal")] == "True"
    by_text = {v: k for k, v in labels.items()}
    assert canvas_feedback(item)[f"{by_text['True']}_fb"] == "Yes."

    def pairs(item):
        matched, feedback_of = {}, {}
        for lid in item.findall(q12("presentation/response_lid")):
            labels = canvas_labels(lid)
            left = text(lid.findtext(q12("material/mattext")))
            for _, cond, setvar, fb in canvas_conditions(item):
                v = cond.find(f"{Q12}varequal")
                if setvar is not None and v is not None and v.get("respident") == lid.get("ident"):
                    assert setvar.get("action") == "Add"
                    matched[left] = (labels[v.text], float(setvar.text))
                negated = cond.find(f"{Q12}not/{Q12}varequal")
                if fb and negated is not None and negated.get("respident") == lid.get("ident"):
                    feedback_of[left] = canvas_feedback(item)[fb[0]]
            offered = list(labels.values())
        return matched, feedback_of, offered

    q = sample_course.questions["s-matching"]
    matched, feedback_of, offered = pairs(items["s-matching"])
    assert {left: right for left, (right, _) in matched.items()} == {p.left: p.right for p in q.pairs}
    assert [share for _, share in matched.values()] == [pytest.approx(100 / 3, abs=1e-4)] * 3
    assert sorted(offered) == sorted([p.right for p in q.pairs] + q.distractors)
    assert feedback_of == {"Transportation": "Tickets belong to transportation."}

    q = sample_course.questions["s-ordering"]
    matched, _, offered = pairs(items["s-ordering"])
    assert [matched[f"Position {n + 1}"][0] for n in range(len(q.items))] == q.items
    assert offered != q.items  # offered in a shuffle, not in the key's order

    item = items["s-short"]
    (_, key, _, _), = [c for c in canvas_conditions(item) if c[2] is not None]
    assert [v.text for v in key.iter(f"{Q12}varequal")] == [
        "multihoming", "multi homing", "multi-homing", "multi  homing"]
    assert canvas_feedback(item)["general_incorrect_fb"] == "The term is multihoming (footnote 2 of the notification)."

    item = items["s-numeric"]
    assert item.find(q12("presentation/response_str/render_fib")).get("fibtype") == "Decimal"
    (_, key, _, _), = [c for c in canvas_conditions(item) if c[2] is not None]
    assert key.findtext(q12("or/varequal")) == "80"
    assert (key.findtext(q12("or/and/vargte")), key.findtext(q12("or/and/varlte"))) == ("79.5", "80.5")

    assert ids_of(notes) == ["s-ordering", "s-short", "s-numeric"]
    assert "approximated as a matching question" in notes[0]
    assert "Canvas compares the spaces between words as typed" in notes[1]
    assert "unit '%'" in notes[2]


def test_qti12_reports_canvas_multiple_answer_rule(tmp_path):
    bank = _bank("b", "Bank", [_multiple("m", correct=2, wrong=3)])
    course = _course(tmp_path, bank)
    notes = export_banks(course, "qti12", tmp_path / "out.zip")
    assert ids_of(notes) == ["m"] and "1/2" in notes[0] and "1/3" in notes[0]


# --- QTI 2.1 --------------------------------------------------------------------------------------

Q21 = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"
CP = "{http://www.imsglobal.org/xsd/imscp_v1p1}"
TEMPLATES = "http://www.imsglobal.org/question/qti_v2p1/rptemplates/"


def read_qti21(path: Path):
    with zipfile.ZipFile(path) as archive:
        manifest = ET.fromstring(archive.read("imsmanifest.xml"))
        resources = manifest.findall(f"{CP}resources/{CP}resource")
        items = {}
        for r in resources:
            if r.get("type") == "imsqti_item_xmlv2p1":
                item = ET.fromstring(archive.read(r.get("href")))
                assert item.tag == f"{Q21}assessmentItem" and item.get("identifier") == r.get("identifier")
                items[item.get("title")] = item
        (test_resource,) = [r for r in resources if r.get("type") == "imsqti_test_xmlv2p1"]
        test = ET.fromstring(archive.read(test_resource.get("href")))
        assert [d.get("identifierref") for d in test_resource.findall(f"{CP}dependency")] == [
            i.get("identifier") for i in items.values()]
    return items, test


def q21(path: str) -> str:
    return "/".join(Q21 + part for part in path.split("/"))


class QtiItem:
    """Runs an item's response processing (the operators this package writes) on a response."""

    def __init__(self, el: ET.Element):
        self.el = el
        self.decl = el.find(f"{Q21}responseDeclaration")
        self.cardinality, self.base_type = self.decl.get("cardinality"), self.decl.get("baseType")
        self.correct = [self.value(v.text) for v in self.decl.iter(f"{Q21}value")]
        self.mapping = self.decl.find(f"{Q21}mapping")
        processing = el.find(f"{Q21}responseProcessing")
        template = processing.get("template")
        if template == TEMPLATES + "match_correct":
            self.rules = [ET.fromstring(
                f'<responseCondition xmlns="{Q21[1:-1]}"><responseIf><match><variable identifier="RESPONSE"/>'
                f'<correct identifier="RESPONSE"/></match><setOutcomeValue identifier="SCORE">'
                f'<baseValue baseType="float">1</baseValue></setOutcomeValue></responseIf></responseCondition>')]
        elif template == TEMPLATES + "map_response":
            self.rules = [ET.fromstring(
                f'<responseCondition xmlns="{Q21[1:-1]}"><responseIf><not><isNull><variable identifier="RESPONSE"/>'
                f'</isNull></not><setOutcomeValue identifier="SCORE"><mapResponse identifier="RESPONSE"/>'
                f'</setOutcomeValue></responseIf></responseCondition>')]
        else:
            assert template is None
            self.rules = list(processing)
        self.template = template

    def value(self, raw: str):
        if self.base_type == "float":
            return float(raw)
        if self.base_type == "directedPair":
            return tuple(raw.split())
        return raw

    def run(self, response) -> dict:
        env = {"RESPONSE": response}
        for decl in self.el.findall(f"{Q21}outcomeDeclaration"):
            values = [v.text for v in decl.iter(f"{Q21}value")]
            if decl.get("cardinality") == "multiple":
                env[decl.get("identifier")] = values
            else:
                env[decl.get("identifier")] = float(values[0]) if decl.get("baseType") == "float" else values[0]
        for rule in self.rules:
            self.rule(rule, env)
        return env

    def rule(self, rule, env):
        tag = rule.tag[len(Q21):]
        if tag == "setOutcomeValue":
            env[rule.get("identifier")] = self.expr(rule[0], env)
        elif tag == "responseCondition":
            for branch in rule:
                kind = branch.tag[len(Q21):]
                if kind == "responseElse" or self.expr(branch[0], env):
                    for inner in branch[0 if kind == "responseElse" else 1:]:
                        self.rule(inner, env)
                    break
        else:
            raise AssertionError(f"unexpected rule {tag}")

    def expr(self, e, env):
        tag, args = e.tag[len(Q21):], [self.expr(c, env) for c in e]
        if tag == "variable":
            return env[e.get("identifier")]
        if tag == "correct":
            return self.correct if self.cardinality != "single" else self.correct[0]
        if tag == "baseValue":
            base = e.get("baseType")
            return float(e.text) if base == "float" else tuple(e.text.split()) if base == "directedPair" else e.text
        if tag == "isNull":
            return args[0] is None or args[0] == [] or args[0] == ""
        if tag == "not":
            return None if args[0] is None else not args[0]
        if tag == "and":
            return all(args)
        if tag == "or":
            return any(args)
        if tag == "match":
            a, b = args
            if a is None or b is None:
                return None
            return sorted(a) == sorted(b) if self.cardinality == "multiple" and isinstance(a, list) else a == b
        if tag == "member":
            return None if args[1] is None else args[0] in args[1]
        if tag == "multiple":
            out = []
            for a in args:
                out += a if isinstance(a, list) else ([] if a is None else [a])
            return out
        if tag == "index":
            n = int(e.get("n"))
            return args[0][n - 1] if args[0] and len(args[0]) >= n else None
        if tag == "sum":
            return sum(args)
        if tag == "lt":
            return args[0] < args[1]
        if tag == "equal":
            if args[0] is None:
                return None
            tolerance = float(e.get("tolerance", "0").split()[0]) if e.get("toleranceMode") == "absolute" else 0.0
            return abs(args[0] - args[1]) <= tolerance + 1e-9
        if tag == "mapResponse":
            return self.map_response(env["RESPONSE"])
        if tag == "patternMatch":
            return None if args[0] is None else xsd_match(e.get("pattern"), args[0])
        raise AssertionError(f"unexpected expression {tag}")

    def map_response(self, response) -> float:
        entries = [(self.value(m.get("mapKey")), float(m.get("mappedValue")), m.get("caseSensitive") == "true")
                   for m in self.mapping.findall(f"{Q21}mapEntry")]

        def mapped(v):
            for key, value, case in entries:
                if key == v or (not case and isinstance(v, str) and key.casefold() == v.casefold()):
                    return value
            return float(self.mapping.get("defaultValue", "0"))

        values = response if isinstance(response, list) else [response]
        total = sum(mapped(v) for v in dict.fromkeys(values))
        low, high = self.mapping.get("lowerBound"), self.mapping.get("upperBound")
        total = max(total, float(low)) if low is not None else total
        return min(total, float(high)) if high is not None else total

    def feedback_shown(self, env) -> set[str]:
        return {text(ET.tostring(fb, encoding="unicode"))
                for fb in self.el.findall(f"{Q21}modalFeedback")
                if fb.get("identifier") in env[fb.get("outcomeIdentifier")]}


def qti_responses(q):
    """(canonical response for the engine, the same response as QTI values) for every response."""
    if q.type == "single":
        return [(i, f"C{i + 1}") for i in range(len(q.options))]
    if q.type == "multiple":
        n = len(q.options)
        return [(set(s), [f"C{i + 1}" for i in s]) for k in range(n + 1) for s in itertools.combinations(range(n), k)]
    if q.type == "true_false":
        return [(True, "TRUE"), (False, "FALSE")]
    if q.type == "matching":
        rights = range(len(q.pairs) + len(q.distractors))
        out = []
        for choice in itertools.product([None, *rights], repeat=len(q.pairs)):
            canonical = {left: right for left, right in enumerate(choice) if right is not None}
            out.append((canonical, [(f"L{a + 1}", f"R{b + 1}") for a, b in canonical.items()] or None))
        return out
    if q.type == "ordering":
        return [(list(p), [f"I{i + 1}" for i in p]) for p in itertools.permutations(range(len(q.items)))]
    if q.type == "short_answer":
        return [(s, s) for s in ["multihoming", "MultiHoming", " multihoming\t", "Multi-Homing", "MULTI \u00a0 HOMING",
                                 "multi--homing", "homing", "multi homing x", ""]]
    return [(v, v) for v in [80.0, 79.5, 80.5, 79.4, 80.6, -80.0]]


def test_qti21_scores_and_feedback_match_the_engine(sample_course, exported):
    path, notes = exported["qti21"]
    items, test = read_qti21(path)
    assert list(items) == SAMPLE_IDS
    section = test.find(q21("testPart/assessmentSection"))
    assert section.get("title") == "Sample bank with every question type"
    assert [ref.get("href") for ref in section] == [f"items/{i}.xml" for i in SAMPLE_IDS]
    for qid, el in items.items():
        q = sample_course.questions[qid]
        item = QtiItem(el)
        assert text(ET.tostring(el.find(f"{Q21}itemBody/{Q21}p"), encoding="unicode")) == rendered(q.stem)
        assert item.run(None)["MAXSCORE"] == q.points
        for canonical, response in qti_responses(q):
            graded = grade(q, canonical)
            env = item.run(response)
            assert env["SCORE"] == pytest.approx(graded.score), (qid, canonical)
            assert item.feedback_shown(env) == {rendered(f) for f in (q.feedback, *graded.feedback)}, (qid, canonical)
    assert notes == []  # patternMatch carries the bank's answer and pattern


def test_qti21_declares_key_weights_and_interactions(sample_course, exported):
    items, _ = read_qti21(exported["qti21"][0])

    def mapping(qid):
        return [(m.get("mapKey"), float(m.get("mappedValue")), m.get("caseSensitive"))
                for m in items[qid].iter(f"{Q21}mapEntry")]

    def correct(qid):
        return [v.text for v in items[qid].find(f"{Q21}responseDeclaration/{Q21}correctResponse")]

    assert items["s-single"].find(q21("itemBody/choiceInteraction")).get("maxChoices") == "1"
    assert correct("s-single") == ["C1"]
    assert items["s-multiple"].find(q21("itemBody/choiceInteraction")).get("maxChoices") == "0"
    assert mapping("s-multiple") == [("C1", 0.5, "true"), ("C2", 0.5, "true"),
                                     ("C3", -0.5, "true"), ("C4", -0.5, "true")]
    assert correct("s-tf") == ["TRUE"]

    q = sample_course.questions["s-matching"]
    match = items["s-matching"].find(q21("itemBody/matchInteraction"))
    lefts, rights = match.findall(f"{Q21}simpleMatchSet")
    assert [text(ET.tostring(c, encoding="unicode")) for c in lefts] == [p.left for p in q.pairs]
    assert [text(ET.tostring(c, encoding="unicode")) for c in rights] == [p.right for p in q.pairs] + q.distractors
    assert correct("s-matching") == ["L1 R1", "L2 R2", "L3 R3"]
    assert [(k, round(v, 6)) for k, v, _ in mapping("s-matching")] == [
        ("L1 R1", 0.333333), ("L2 R2", 0.333333), ("L3 R3", 0.333333)]

    q = sample_course.questions["s-ordering"]
    order = items["s-ordering"].find(q21("itemBody/orderInteraction"))
    assert [text(ET.tostring(c, encoding="unicode")) for c in order] == q.items
    assert correct("s-ordering") == ["I1", "I2", "I3", "I4"]

    assert items["s-short"].find(f"{Q21}responseDeclaration").get("baseType") == "string"
    assert correct("s-short") == ["multihoming"]
    assert next(items["s-short"].iter(f"{Q21}patternMatch")).get("pattern").startswith("[\\s\\p{Z}\x85]*(")
    assert items["s-short"].find(q21("itemBody/p/textEntryInteraction")) is not None

    numeric = items["s-numeric"]
    assert numeric.find(f"{Q21}responseDeclaration").get("baseType") == "float"
    assert correct("s-numeric") == ["80"]
    equal = next(numeric.iter(f"{Q21}equal"))
    assert (equal.get("toleranceMode"), equal.get("tolerance")) == ("absolute", "0.5 0.5")
    assert numeric.find(q21("itemBody/p/textEntryInteraction")).tail == " %"


def test_qti21_uses_standard_templates_where_they_fit(tmp_path):
    bank = _bank("b", "Bank", [
        _multiple("plain-multiple", correct=2, wrong=2, feedback=False),
        {**_single("plain-single"), "options": [{"text": "Yes", "correct": True}, {"text": "No"}]},
        {**_single("two-points"), "points": 2, "options": [{"text": "Yes", "correct": True}, {"text": "No"}]},
    ])
    course = _course(tmp_path, bank)
    export_banks(course, "qti21", tmp_path / "b.zip")
    items, _ = read_qti21(tmp_path / "b.zip")
    templates = {qid: el.find(f"{Q21}responseProcessing").get("template") for qid, el in items.items()}
    assert templates == {"plain-multiple": TEMPLATES + "map_response", "plain-single": TEMPLATES + "match_correct",
                         "two-points": None}  # match_correct scores 1, not 2: the rules are written out
    for qid, el in items.items():
        q = course.questions[qid]
        for canonical, response in qti_responses(q):
            assert QtiItem(el).run(response)["SCORE"] == pytest.approx(grade(q, canonical).score)


# --- partial credit: the weights every format writes are the engine's policy ----------------------

@pytest.mark.parametrize("negative_marking", [True, False])
def test_option_weights_follow_the_engine(sample_course, negative_marking):
    policy = Grading(negative_marking=negative_marking)
    for q in [sample_course.questions["s-multiple"], sample_course.questions["s-single"]]:
        weights = option_weights(q, negative_marking)
        n = len(q.options)
        for k in range(n + 1):
            for chosen in itertools.combinations(range(n), k):
                if q.type == "single" and k != 1:
                    continue
                response = chosen[0] if q.type == "single" else set(chosen)
                expected = grade(q, response, policy=policy).score
                assert max(0.0, sum(weights[i] for i in chosen)) == pytest.approx(expected)


def test_moodle_refuses_correct_shares_off_its_list(tmp_path):
    """1/k for k = 11..19 or k > 20 is not a Moodle grade: rounded, the shares would add up to more than
    100 % (full marks without every correct option) or less (never full marks), so the question is left
    out, with a note that says why; a wrong option's share off the list is only rounded."""
    bank = _bank("b", "Bank", [
        _multiple("thirds", correct=3, wrong=1), _multiple("elevenths", correct=11, wrong=1),
        _multiple("nineteenths", correct=19, wrong=1), _multiple("twentieths", correct=20, wrong=1),
        _multiple("wrong-twelfths", correct=2, wrong=12)])
    for fmt, read in (("moodle-xml", lambda p: read_moodle(p.read_bytes())[1]),
                      ("gift", lambda p: read_gift(p.read_text(encoding="utf-8"))[1])):
        path, notes = _export(tmp_path, bank, fmt)
        questions = read(path)
        assert list(questions) == ["thirds", "twentieths", "wrong-twelfths"], fmt
        by_id = dict(n.split(": ", 1) for n in notes if "imported at 1 mark" not in n)
        assert "110 %" in by_id["elevenths"] and "full marks without every correct option" in by_id["elevenths"]
        assert "95 %" in by_id["nineteenths"] and "never full marks" in by_id["nineteenths"]
        assert by_id["wrong-twelfths"] == "each wrong option chosen takes away the nearest share Moodle accepts: " \
                                          "-8.33333 % as -10 %"
        assert set(by_id) == {"elevenths", "nineteenths", "wrong-twelfths"}
    _, questions = read_moodle((tmp_path / "out-moodle-xml").read_bytes())
    assert [a.get("fraction") for a in questions["thirds"].findall("answer")] == ["33.33333"] * 3 + ["-100"]
    assert [a.get("fraction") for a in questions["twentieths"].findall("answer")] == ["5"] * 20 + ["-100"]
    assert [a.get("fraction") for a in questions["wrong-twelfths"].findall("answer")] == ["50"] * 2 + ["-10"] * 12


def test_negative_marking_off_gives_wrong_options_no_weight(sample_course, tmp_path):
    path = tmp_path / "b.txt"
    export_banks(sample_course, "gift", path, negative_marking=False)
    _, questions = read_gift(path.read_text(encoding="utf-8"))
    assert [w for w, _, _ in questions["s-multiple"]["answers"]] == [50.0, 50.0, 0.0, 0.0]


# --- hostile text stays text in every format ------------------------------------------------------

def doubled(answer: str) -> list[str]:
    """The answer and, for each space in it, the answer with that space doubled."""
    return [answer] + [answer[:i] + " " + answer[i:] for i, c in enumerate(answer) if c == " "]

HOSTILE_IDS = ["1-hostile-single", "hostile-short", "hostile-matching", "hostile-tf"]  # one stem, on purpose


def _peers(qid: str) -> list[str]:
    return [other for other in HOSTILE_IDS if other != qid]


HOSTILE = r"Hostile <script>alert(1)</script> ]]> {curly} ~tilde =equals #hash :colon -> arrow \ [html] 50% end"
OPTION = "%50% [markdown] <img src=x onerror=alert(1)> ~ = # { } : ]]>"
ANSWER = "a{b}~c=d#e:f*g ]]> <i>"
RIGHT = "R ]]> <b>y</b> ~=#: {z}"
TITLE = "Hostile / bank: {x} #1 ~"


@pytest.fixture
def hostile_course(tmp_path):
    bank = _bank("hostile", TITLE, [
        {**_single("1-hostile-single"), "stem": HOSTILE, "feedback": HOSTILE, "distinct_from": _peers("1-hostile-single"),
         "options": [{"text": "Right", "correct": True, "feedback": HOSTILE},
                     {"text": OPTION}, {"text": "[plain] wrong"}]},
        {**_base("hostile-short", "short_answer"), "stem": HOSTILE, "answers": [ANSWER], "wrong_feedback": HOSTILE,
         "distinct_from": _peers("hostile-short")},
        {**_base("hostile-matching", "matching"), "stem": HOSTILE, "distinct_from": _peers("hostile-matching"),
         "pairs": [{"left": HOSTILE, "right": RIGHT}, {"left": "Two", "right": "Deux"}], "distractors": ["D {x} -> y"]},
        {**_base("hostile-tf", "true_false"), "stem": HOSTILE, "answer": False, "distinct_from": _peers("hostile-tf"),
         "feedback_true": "Bell\x07 rings", "feedback_false": HOSTILE},
    ])
    return _course(tmp_path, bank)


def test_hostile_text_is_a_valid_premise():
    assert rendered(HOSTILE) == " ".join(HOSTILE.split())  # Markdown leaves it as it is
    assert "&lt;script&gt;" in to_html(HOSTILE)


def _no_markup_from_bank(html: str) -> None:
    assert "script" not in tags(html) and "img" not in tags(html) and "b" not in tags(html)


def test_hostile_text_round_trips_in_moodle_xml(hostile_course, tmp_path):
    path = tmp_path / "h.xml"
    export_banks(hostile_course, "moodle-xml", path)
    categories, questions = read_moodle(path.read_bytes())
    assert categories == ["$course$/Hostile // bank: {x} #1 ~"]
    single = questions["1-hostile-single"]
    for html in (single.findtext("questiontext/text"), single.findtext("generalfeedback/text"),
                 single.findtext("answer/text"), single.findtext("answer/feedback/text")):
        _no_markup_from_bank(html)
    assert text(single.findtext("questiontext/text")) == rendered(HOSTILE)
    assert moodle_answers(single) == [("100", "Right", rendered(HOSTILE)), ("0", rendered(OPTION), ""),
                                      ("0", "[plain] wrong", "")]
    # short answers are plain text (format moodle_auto_format), compared as typed
    assert [a.findtext("text") for a in questions["hostile-short"].findall("answer")] == [
        *doubled("a{b}~c=d#e:f\\*g ]]> <i>"), "*"]
    assert [s.findtext("answer/text") for s in questions["hostile-matching"].findall("subquestion")] == [
        RIGHT, "Deux", "D {x} -> y"]
    assert text(questions["hostile-matching"].find("subquestion").findtext("text")) == rendered(HOSTILE)
    assert moodle_answers(questions["hostile-tf"])[0][2] == "Bell\ufffd rings"  # XML cannot hold U+0007


def test_hostile_text_round_trips_in_gift(hostile_course, tmp_path):
    path = tmp_path / "h.txt"
    export_banks(hostile_course, "gift", path)
    categories, questions = read_gift(path.read_text(encoding="utf-8"))
    assert categories == ["$course$/Hostile // bank: {x} #1 ~"]
    assert list(questions) == ["1-hostile-single", "hostile-short", "hostile-matching", "hostile-tf"]
    single = questions["1-hostile-single"]
    assert single["type"] == "multichoice" and single["single"]
    _no_markup_from_bank(single["stem"])
    assert text(single["stem"]) == text(single["general"]) == rendered(HOSTILE)
    # a leading '%' would read as a weight and a leading '[plain]' as a format: both stay text
    assert [(w, text(a), text(f)) for w, a, f in single["answers"]] == [
        (100.0, "Right", rendered(HOSTILE)), (0.0, rendered(OPTION), ""), (0.0, "[plain] wrong", "")]
    short = questions["hostile-short"]
    assert short["type"] == "shortanswer"
    assert [(w, a) for w, a, _ in short["answers"]] == [
        *((100.0, a) for a in doubled("a{b}~c=d#e:f\\*g ]]> <i>")), (0.0, "*")]
    matching = questions["hostile-matching"]
    assert matching["type"] == "matching"
    assert [(text(left), right) for left, right in matching["pairs"]] == [
        (rendered(HOSTILE), RIGHT), ("Two", "Deux"), ("", "D {x} -> y")]
    tf = questions["hostile-tf"]
    assert (tf["type"], tf["answer"], text(tf["wrong"]), text(tf["right"])) == (
        "truefalse", False, "Bell\x07 rings", rendered(HOSTILE))


def test_hostile_text_round_trips_in_qti12(hostile_course, tmp_path):
    path = tmp_path / "h.zip"
    export_banks(hostile_course, "qti12", path)
    items = read_qti12(path)
    assert f"@{TITLE}" in items
    single = items["1-hostile-single"]
    stem = single.findtext(q12("presentation/material/mattext"))
    _no_markup_from_bank(stem)
    assert text(stem) == rendered(HOSTILE)
    assert list(canvas_labels(single.find(q12("presentation/response_lid"))).values()) == [
        "Right", rendered(OPTION), "[plain] wrong"]
    assert set(canvas_feedback(single).values()) == {rendered(HOSTILE)}
    short = items["hostile-short"]
    assert [v.text for v in short.iter(f"{Q12}varequal")] == doubled(ANSWER)
    labels = canvas_labels(items["hostile-matching"].find(q12("presentation/response_lid")))
    assert sorted(labels.values()) == sorted([text(RIGHT), "Deux", "D {x} -> y"])
    assert "Bell\ufffd rings" in canvas_feedback(items["hostile-tf"]).values()


def test_hostile_text_round_trips_in_qti21(hostile_course, tmp_path):
    path = tmp_path / "h.zip"
    export_banks(hostile_course, "qti21", path)
    items, test = read_qti21(path)
    single = items["1-hostile-single"]
    assert single.get("identifier") == "_1-hostile-single"  # QTI identifiers cannot start with a digit
    assert test.find(q21("testPart/assessmentSection")).get("title") == TITLE
    assert not [el for el in single.iter() if el.tag.endswith(("script", "img"))]
    assert " ".join("".join(single.find(q21("itemBody/p")).itertext()).split()) == rendered(HOSTILE)
    choice = single.findall(q21("itemBody/choiceInteraction/simpleChoice"))[1]
    assert " ".join("".join(choice.itertext()).split()) == rendered(OPTION)
    short = QtiItem(items["hostile-short"])
    assert [short.run(r)["SCORE"] for r in (ANSWER.upper(), f" {ANSWER}  ".replace(" ", "\t "), ANSWER[1:])] == [
        1.0, 1.0, 0.0]
    right = items["hostile-matching"].findall(q21("itemBody/matchInteraction/simpleMatchSet"))[1][0]
    assert " ".join("".join(right.itertext()).split()) == rendered(RIGHT)


# --- the API --------------------------------------------------------------------------------------

def test_export_replaces_the_file_whole(sample_course, tmp_path):
    target = tmp_path / "banks.xml"
    target.write_text("old export")
    export_banks(sample_course, "moodle-xml", target)
    assert target.read_bytes().startswith(b"<?xml")
    assert [p.name for p in tmp_path.iterdir()] == ["banks.xml"]  # no temporary file left behind


def test_unknown_format_and_bank_are_named(sample_course, tmp_path):
    with pytest.raises(NotFound, match="use one of: moodle-xml, gift, qti12, qti21"):
        export_banks(sample_course, "scorm", tmp_path / "x")
    with pytest.raises(NotFound, match="did you mean 'sample'"):
        export_banks(sample_course, "gift", tmp_path / "x", bank_ids=["sampel"])
    assert not (tmp_path / "x").exists()
    assert set(FORMATS) == set(FILES)


def test_bank_ids_select_banks(tmp_path):
    first = _bank("first", "First", [_single("one")])
    second = _bank("second", "Second", [_single("two")])
    (tmp_path / "banks").mkdir()
    for bank in (first, second):
        (tmp_path / "banks" / f"{bank['id']}.yml").write_text(yaml.safe_dump(bank), encoding="utf-8")
    course = load_course([tmp_path / "banks"], book_root=None)
    export_banks(course, "moodle-xml", tmp_path / "b.xml", bank_ids=["second"])
    categories, questions = read_moodle((tmp_path / "b.xml").read_bytes())
    assert (categories, list(questions)) == (["$course$/Second"], ["two"])


# --- small bank builders --------------------------------------------------------------------------

def _base(qid: str, qtype: str) -> dict:
    # A stem of its own per question: banks with near-duplicate stems do not validate.
    stem = f"Which? {hashlib.sha256(qid.encode()).hexdigest()[:24]}"
    return {"id": qid, "type": qtype, "difficulty": 1, "objective": "chain.recruitment",
            "source": "book/04-1-recruitment.md#online-adverts", "stem": stem, "feedback": "Because."}


def _single(qid: str) -> dict:
    return {**_base(qid, "single"), "options": [{"text": "Right", "correct": True, "feedback": "Yes."},
                                                {"text": "Wrong", "feedback": "No."}]}


def _multiple(qid: str, correct: int, wrong: int, feedback: bool = True) -> dict:
    options = [{"text": f"Right {i}", "correct": True} for i in range(correct)] + [
        {"text": f"Wrong {i}"} for i in range(wrong)]
    if feedback:
        options = [{**o, "feedback": "Noted."} for o in options]
    return {**_base(qid, "multiple"), "options": options}


def _bank(bank_id: str, title: str, questions: list[dict]) -> dict:
    return {"id": bank_id, "title": title, "topic": "chain", "questions": questions}


def _course(tmp_path: Path, bank: dict):
    folder = tmp_path / "quizzes"
    folder.mkdir(exist_ok=True)
    (folder / "bank.yml").write_text(yaml.safe_dump(bank, allow_unicode=True), encoding="utf-8")
    return load_course([folder], book_root=None)


def _export(tmp_path: Path, bank: dict, fmt: str):
    path = tmp_path / f"out-{fmt}"
    return path, export_banks(_course(tmp_path, bank), fmt, path)


# --- the platforms' own readers -------------------------------------------------------------------

def left_out(reason: str):
    """A test that cannot run here is skipped, with its reason; in CI (THBCOURSE_CI=1) it fails."""
    if os.environ.get("THBCOURSE_CI") == "1":
        pytest.fail(f"CI runs every test, but: {reason}")
    pytest.skip(reason)


GIFT_PARSER = DATA / "gift-parser"  # package.json and package-lock.json: gift-pegjs 1.0.2 and pegjs 0.10.0
_PARSE_GIFT = """
const {parse} = require(process.argv[1]);
let text = "";
process.stdin.setEncoding("utf8").on("data", d => text += d).on("end", () => {
  process.stdout.write(JSON.stringify(parse(text)));
});
"""


@pytest.fixture(scope="session")
def gift_pegjs(request, tmp_path_factory):
    """Parse GIFT with gift-pegjs, installed from npm's cache into pytest's cache folder (no download)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        left_out("GIFT round trips read with gift-pegjs, which needs node and npm (apt-get install nodejs npm)")
    cache = request.config.cache
    folder = cache.mkdir("gift-parser") if cache is not None else tmp_path_factory.mktemp("gift-parser")
    lock = (GIFT_PARSER / "package-lock.json").read_bytes()
    module = folder / "node_modules" / "gift-pegjs"
    if not module.is_dir() or not (folder / "package-lock.json").is_file() or \
            (folder / "package-lock.json").read_bytes() != lock:
        for name in ("package.json", "package-lock.json"):
            shutil.copy(GIFT_PARSER / name, folder / name)
        done = subprocess.run([npm, "ci", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=folder,
                              capture_output=True, text=True)
        if done.returncode:
            left_out("gift-pegjs is not in npm's cache; run once: npm cache add gift-pegjs@1.0.2 pegjs@0.10.0")

    def parse(text: str) -> list[dict]:
        done = subprocess.run([node, "-e", _PARSE_GIFT, str(module)], input=text, capture_output=True,
                              text=True, encoding="utf-8")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return parse


# The official IMS QTI 2.1 XSDs (Final Release, with the schemas they import, and IMS Content Packaging
# 1.1 for the manifest) are not part of the repository: set THBCOURSE_QTI21_XSD to a folder that holds
# qtiv2p1/imsqti_v2p1.xsd and imscp_v1p1.xsd with local schemaLocations (for example the copy kept by
# the public oat-sa/qti-sdk in src/qtism/data/storage/xml/schemes/). Without it, the schema tests say so.
QTI21_XSD = Path(os.environ.get("THBCOURSE_QTI21_XSD") or REPO.parent / ".cache" / "qti21-xsd")


def require_qti21_xsd() -> None:
    if not (QTI21_XSD / "qtiv2p1" / "imsqti_v2p1.xsd").is_file():
        pytest.skip(f"QTI 2.1 schema validation needs the official IMS XSDs in {QTI21_XSD} "
                    f"(set THBCOURSE_QTI21_XSD; the repository does not ship them)")


@functools.cache
def qti21_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(QTI21_XSD / "qtiv2p1" / "imsqti_v2p1.xsd"))


@functools.cache
def content_package_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(QTI21_XSD / "imscp_v1p1.xsd"))


def qti21_errors(path: Path) -> list[str]:
    """Every file of a QTI 2.1 package checked against the official XSDs (the test is skipped, with
    its reason, where they are not available)."""
    require_qti21_xsd()
    errors = []
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            schema = content_package_schema() if name == "imsmanifest.xml" else qti21_schema()
            errors += [f"{name}: {e.reason} at {e.path}" for e in schema.iter_errors(archive.read(name).decode())]
    return errors


@functools.cache
def _xsd_regex(pattern: str) -> re.Pattern:
    # elementpath reads the XML Schema flavour (as xmlschema does for xs:pattern) and writes Python's
    return re.compile(translate_pattern(pattern, back_references=False, lazy_quantifiers=False, anchors=False))


def xsd_match(pattern: str, value: str) -> bool:
    """QTI's patternMatch: the whole value matches the XML Schema expression."""
    return _xsd_regex(pattern).fullmatch(value) is not None


def moodle_xmlize(document: bytes) -> ET.Element:
    """The file as Moodle's reader gets it: PHP's xml_parse_into_struct with XML_OPTION_SKIP_WHITE,
    which hands over text in pieces split at each character reference and drops a piece that is only
    spaces, tabs and line breaks. A CDATA section is one piece. Expat also splits text at each line
    break, which PHP's parser does not: a piece with a line break is kept."""
    parser = xml.parsers.expat.ParserCreate()
    stack = [ET.Element("document")]

    def start(tag, attrs):
        stack.append(ET.SubElement(stack[-1], tag, attrs))

    def piece(text):
        if text.strip(" \t\n") or "\n" in text:
            stack[-1].text = (stack[-1].text or "") + text

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: stack.pop()
    parser.CharacterDataHandler = piece
    parser.Parse(document, True)
    return stack[0][0]


def moodle_short_answer(answers: list[tuple[float, str]], response: str) -> float:
    """Moodle's short answer grading: the response trimmed (PARAM_RAW_TRIMMED, then trim()), both sides
    NFC, each answer a pattern whose unescaped * runs match anything, compared ignoring case (usecase
    0); the first answer that matches gives its fraction (question_first_matching_answer_grading_strategy)."""
    typed = unicodedata.normalize("NFC", response.strip(" \t\n\r\0\x0b"))
    for fraction, answer in answers:
        bits = re.split(r"(?<!\\)\*+", unicodedata.normalize("NFC", answer))
        if re.fullmatch(".*".join(re.escape(b.replace("\\*", "*")) for b in bits), typed, re.IGNORECASE):
            return fraction
    return 0.0


def canvas_short_answer(answers: list[str], response: str) -> float:
    """Canvas classic quizzes: the response stripped and lower-cased equals an answer stripped and lower-cased."""
    return 1.0 if response.strip().lower() in {a.strip().lower() for a in answers} else 0.0


# --- Moodle's reader and CDATA --------------------------------------------------------------------

def test_moodle_reader_loses_a_space_between_escaped_characters():
    """The premise of writing plain text in CDATA: escaped, 'a & <b>' reaches Moodle as 'a &<b>'."""
    root = ET.Element("quiz")
    ET.SubElement(root, "text").text = "a & <b> c"
    assert moodle_xmlize(ET.tostring(root)).findtext("text") == "a &<b> c"
    assert moodle_xmlize(serialise(root)).findtext("text") == "a & <b> c"


@pytest.mark.parametrize("fixture", ["sample_course", "hostile_course", "rich_course"])
def test_moodle_reader_gets_every_text_as_written(fixture, request, tmp_path):
    course = request.getfixturevalue(fixture)
    path = tmp_path / "m.xml"
    export_banks(course, "moodle-xml", path)
    data = path.read_bytes()
    written, read = ET.fromstring(data), moodle_xmlize(data)
    pairs = list(zip(written.iter(), read.iter(), strict=True))
    assert all(w.tag == r.tag for w, r in pairs)
    for w, r in pairs:
        if not len(w):
            assert (r.text or "") == ("" if (w.text or "").strip(" \t\n") == "" else w.text), w.tag
    plain = [w.text for w, _ in pairs if w.tag == "text" and w.text and "&" in w.text]
    assert plain or fixture == "sample_course"  # the hostile banks do test texts with escaped characters


# --- GIFT read by gift-pegjs ----------------------------------------------------------------------

def gift_questions(parsed: list[dict]) -> dict[str, dict]:
    return {q["title"]: q for q in parsed if q["type"] != "Category"}


def gift_plain(text: str) -> str:
    """gift-pegjs 1.0.2 leaves its placeholders for escaped characters (&&126; for ~) in plain text
    (matching answers); its own escapedCharacterDecode, as its other texts get, undoes them."""
    return re.sub(r"&&(\d{3});", lambda m: chr(int(m.group(1))), text).replace("&&010", "\n")


def gift_pairs(g: dict) -> list[tuple[str, str]]:
    return [(text(m["subquestion"]["text"]), gift_plain(m["subanswer"])) for m in g["matchPairs"]]


def test_gift_pegjs_reads_every_question(sample_course, exported, gift_pegjs):
    parsed = gift_pegjs(exported["gift"][0].read_text(encoding="utf-8"))
    assert [q["title"] for q in parsed if q["type"] == "Category"] == ["$course$/Sample bank with every question type"]
    questions = gift_questions(parsed)
    assert list(questions) == [i for i in SAMPLE_IDS if i != "s-ordering"]
    assert {i: q["type"] for i, q in questions.items()} == {
        "s-single": "MC", "s-multiple": "MC", "s-tf": "TF", "s-matching": "Matching", "s-short": "Short",
        "s-numeric": "Numerical"}
    for qid, g in questions.items():
        q = sample_course.questions[qid]
        assert (g["stem"]["format"], text(g["stem"]["text"])) == ("html", rendered(q.stem))
        assert text(g["globalFeedback"]["text"]) == rendered(q.feedback)
    q = sample_course.questions["s-multiple"]
    choices = questions["s-multiple"]["choices"]
    assert [(c["weight"], text(c["text"]["text"]), text(c["feedback"]["text"])) for c in choices] == [
        (w, rendered(o.text), rendered(o.feedback)) for w, o in zip([50, 50, -50, -50], q.options)]
    assert [c["isCorrect"] for c in questions["s-single"]["choices"]] == [
        o.correct for o in sample_course.questions["s-single"].options]
    assert gift_pairs(questions["s-matching"]) == [
        (p.left, p.right) for p in sample_course.questions["s-matching"].pairs] + [("", "Radio broadcasts")]
    assert questions["s-numeric"]["choices"] == {"type": "range", "number": 80, "range": 0.5}


def gift_short_answers(g: dict) -> list[tuple[float, str]]:
    return [(c["weight"] / 100, c["text"]["text"]) for c in g["choices"]]


def test_hostile_text_reads_back_in_gift_pegjs(hostile_course, tmp_path, gift_pegjs):
    path = tmp_path / "h.txt"
    export_banks(hostile_course, "gift", path)
    parsed = gift_pegjs(path.read_text(encoding="utf-8"))
    assert [q["title"] for q in parsed if q["type"] == "Category"] == ["$course$/Hostile // bank: {x} #1 ~"]
    questions = gift_questions(parsed)
    single = questions["1-hostile-single"]
    _no_markup_from_bank(single["stem"]["text"])
    assert text(single["stem"]["text"]) == text(single["globalFeedback"]["text"]) == rendered(HOSTILE)
    assert [(c["isCorrect"], text(c["text"]["text"])) for c in single["choices"]] == [
        (True, "Right"), (False, rendered(OPTION)), (False, "[plain] wrong")]
    assert [a for _, a in gift_short_answers(questions["hostile-short"])] == [
        *doubled("a{b}~c=d#e:f\\*g ]]> <i>"), "*"]
    assert gift_pairs(questions["hostile-matching"]) == [
        (rendered(HOSTILE), RIGHT), ("Two", "Deux"), ("", "D {x} -> y")]
    tf = questions["hostile-tf"]
    assert (tf["isTrue"], text(tf["trueFeedback"]["text"]), text(tf["falseFeedback"]["text"])) == (
        False, "Bell\x07 rings", rendered(HOSTILE))  # gift-pegjs names them by place: wrong answer, right answer


# --- QTI 2.1 against the official schema ----------------------------------------------------------

def test_qti21_schema_check_finds_errors(exported, tmp_path):
    """The check is real: an item that breaks the schema is reported."""
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(exported["qti21"][0]) as source, zipfile.ZipFile(broken, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "items/s-short.xml":
                data = data.replace(b"<patternMatch ", b"<patternMatch wrong=\"1\" ")
            target.writestr(name, data)
    assert qti21_errors(exported["qti21"][0]) == []
    (error,) = qti21_errors(broken)
    assert error.startswith("items/s-short.xml:") and "wrong" in error


@pytest.mark.parametrize("fixture", ["hostile_course", "rich_course", "short_course", "real_course"])
def test_qti21_hostile_banks_are_valid(fixture, request, tmp_path):
    path = tmp_path / "q.zip"
    export_banks(request.getfixturevalue(fixture), "qti21", path)
    assert qti21_errors(path) == []


# --- short answers: what each platform accepts is what the engine accepts -------------------------

def _short(qid: str, answers: list[str], patterns: list[str] = (), points: float = 1.0) -> dict:
    return {**_base(qid, "short_answer"), "answers": answers, "patterns": list(patterns), "points": points}


SHORT_ANSWERS = [
    _short("one-word", ["multihoming"], ["multi[- ]?homing"]),
    _short("words", ["position of vulnerability", "a position of vulnerability"]),
    _short("german", ["Straße", "Schlossstraße"]),
    _short("ligature", ["ﬁnance office"], [r"(the )?finance (office|department)s?\.?"]),
    _short("hostile", ['a & <b> "c" \'d\' {=~#:} *', "Ærø ø 東京"]),
    _short("classes", ["18"], [r"(under |below )?(18|eighteen)( years?)?( old| of age)?\.?", r"\d\d? ?years?",
                               r"[a-c]{2,3}[^x]", r"x.y"]),
    _short("untranslatable", ["osint"], [r"\bosint\b", r"(o)sint\1"]),
]


@pytest.fixture(scope="module")
def short_course(tmp_path_factory):
    return _course(tmp_path_factory.mktemp("short"), _bank("short", "Short answers", SHORT_ANSWERS))


def _typed_forms(accepted: str) -> list[str]:
    """What a learner may type for an accepted answer: other case, spaces around and between words."""
    return [accepted, accepted.upper(), accepted.title(), f"  {accepted}\t", accepted.replace(" ", "\u00a0 "),
            accepted.replace(" ", "  ", 1), f" {accepted.swapcase()} "]


def _accepted(q) -> list[str]:
    return list(q.answers) + [s for p in q.patterns for s in (pattern_strings(p) or [])]


def test_qti21_short_answers_grade_as_the_engine(short_course, tmp_path):
    path = tmp_path / "s.zip"
    notes = export_banks(short_course, "qti21", path)
    items, _ = read_qti21(path)
    for qid, el in items.items():
        q, item = short_course.questions[qid], QtiItem(el)
        responses = [r for a in _accepted(q) for r in _typed_forms(a)] + [
            "", " ", "x", "multi homing homing", "strase", "STRASSE", "schloßstrasse", "fInance office",
            "ﬁnance  Office", "ab", "abcd", "abcx", "x y", "xy", "x  y", "osint", "osint osint", "18 years old."]
        for r in responses:
            assert item.run(r)["SCORE"] == grade(q, r).score, (qid, r)
    assert notes == ["untranslatable: patterns '\\bosint\\b', '(o)sint\\1' dropped: they use what XML Schema "
                     "expressions (QTI's patternMatch) cannot say, such as \\b, \\w, look-arounds or back-references"]


_TYPING = st.sampled_from(list("aAbBsSßẞfFiIﬁ18 \t\u00a0\u3000-.xXyYøØ東<&\"'*{}"))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_qti21_short_answer_pattern_is_the_engine_on_any_typing(short_course, tmp_path_factory, data):
    """Any text, typed from letters the answers use (case, spaces, ß, ligatures), scores as the engine."""
    q = data.draw(st.sampled_from([q for q in short_course.questions.values() if q.id != "untranslatable"]))
    regex = xsd_pattern(q).regex
    base = data.draw(st.sampled_from(_accepted(q)))
    edits = data.draw(st.lists(st.tuples(st.integers(0, 40), _TYPING, st.booleans()), max_size=3))
    typed = list(base)
    for at, char, insert in edits:
        at = min(at, len(typed))
        typed[at:at if insert else at + 1] = [char]
    typed = "".join(typed)
    assert xsd_match(regex, typed) == (grade(q, typed).score == q.points), (q.id, typed)


def test_moodle_and_canvas_short_answers_grade_as_the_engine_where_they_can(short_course, tmp_path):
    """Listed answers: every typing that a note does not name scores as the engine scores it, and no
    answer the engine rejects is accepted."""
    path = tmp_path / "m.xml"
    moodle_notes = export_banks(short_course, "moodle-xml", path)
    read = moodle_xmlize(path.read_bytes())
    moodle = {el.findtext("idnumber"): [(float(a.get("fraction")) / 100, a.findtext("text"))
                                        for a in el.findall("answer")]
              for el in read.findall("question") if el.get("type") == "shortanswer"}
    export_banks(short_course, "qti12", tmp_path / "c.zip")
    canvas = {qid: [v.text for v in item.iter(f"{Q12}varequal")]
              for qid, item in read_qti12(tmp_path / "c.zip").items() if not qid.startswith("@")}
    assert list(moodle) == list(canvas) == list(short_course.questions)
    for qid, q in short_course.questions.items():
        # every typing but the no-break space between words, which the spacing note names
        covered = [r for a in _accepted(q) for i, r in enumerate(_typed_forms(a)) if i != 4]
        if q.id == "german":
            covered += ["STRASSE", "strasse", "STRAẞE", "SCHLOSSSTRASSE"]
        for r in covered:
            engine = grade(q, r).score / q.points
            assert moodle_short_answer(moodle[qid], r) == engine, (qid, r)
            assert canvas_short_answer(canvas[qid], r) == engine, (qid, r)
        for r in ["", "x", "18 years  old", "multi   homing", "position  of  vulnerability", "a&<b>", "*", "osintx"]:
            engine = grade(q, r).score / q.points
            assert moodle_short_answer(moodle[qid], r) <= engine and canvas_short_answer(canvas[qid], r) <= engine
    by_id = {}
    for note in moodle_notes:
        qid, text_ = note.split(": ", 1)
        by_id.setdefault(qid, []).append(text_)
    assert "spaces added in two places, or three in a row, score 0" in by_id["words"][0]
    (dropped,) = [n for n in by_id["classes"] if n.startswith("patterns")]
    for pattern in (r"(under |below )?(18|eighteen)( years?)?( old| of age)?\.?", r"\d\d? ?years?", "[a-c]{2,3}[^x]",
                    "x.y"):
        assert f"'{pattern}'" in dropped


# --- marks, matching, and the notes that say what a platform does otherwise -----------------------

def test_gift_notes_every_question_not_worth_one_mark(tmp_path):
    bank = _bank("b", "Bank", [{**_single("two"), "points": 2}, {**_single("half"), "points": 0.5}, _single("one")])
    _, notes = _export(tmp_path, bank, "gift")
    assert notes == [f"{qid}: imported at 1 mark, not {mark}: GIFT cannot give a question's marks (use the Moodle XML "
                     "export, or set the mark in Moodle)" for qid, mark in (("two", "2"), ("half", "0.5"))]
    _, notes = _export(tmp_path, bank, "moodle-xml")
    assert notes == []
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "GIFT" in readme and re.search(r"GIFT[^.]*1 mark[^.]*Moodle XML", readme.replace("\n", " "))


def test_matching_with_two_answers_is_noted_for_moodle(tmp_path):
    two = {**_base("two-pairs", "matching"), "pairs": [{"left": "A", "right": "1"}, {"left": "B", "right": "2"}]}
    three = {**_base("with-distractor", "matching"), "pairs": two["pairs"], "distractors": ["3"]}
    bank = _bank("b", "Bank", [two, three])
    for fmt in ("moodle-xml", "gift"):
        _, notes = _export(tmp_path, bank, fmt)
        assert ids_of(notes) == ["two-pairs"] and "fewer than three answers" in notes[0], fmt


# --- rich text through every format ---------------------------------------------------------------

RICH = ("**Fett** & <i>x</i> \"dit\" l'été {a=b} ~t #h :c — Straße, Ωμέγα, 東京 🚓 `code` "
        "[link](https://example.org)")
RICH_OPTIONS = [f"Opción {i} & <{i}> \"q\" 'a' {{=}}~#: é" for i in range(12)]


@pytest.fixture
def rich_course(tmp_path):
    options = [{"text": t, "correct": i < 5, "feedback": f"fb {i} & <b>"} for i, t in enumerate(RICH_OPTIONS)]
    ids = ["rich-multiple", "rich-single", "rich-short", "rich-tf", "rich-matching"]
    bank = _bank("rich", "Reich & <Schön> \"x\"", [{**q, "distinct_from": [i for i in ids if i != q["id"]]} for q in [
        {**_base("rich-multiple", "multiple"), "stem": RICH, "feedback": RICH, "points": 2, "options": options},
        {**_base("rich-single", "single"), "stem": f"Single: {RICH}", "points": 0.5,
         "options": [{**o, "correct": i == 3} for i, o in enumerate(options)]},
        {**_short("rich-short", ["Straße & <Wien>", "Ærø 'x' \"y\" {=~#:}"], ["(die )?strasse"], points=0.5),
         "stem": f"Short: {RICH}", "wrong_feedback": RICH},
        {**_base("rich-tf", "true_false"), "stem": f"TF: {RICH}", "answer": True, "points": 2,
         "feedback_true": RICH, "feedback_false": "Non & <non>"},
        {**_base("rich-matching", "matching"), "stem": f"Match: {RICH}", "points": 0.5,
         "pairs": [{"left": "Straße & <1>", "right": "Ωμέγα & \"2\""},
                   {"left": "東京 {=}", "right": "l'été ~#:"}]},
    ]])
    return _course(tmp_path, bank)


def _subsets(n: int):
    return (set(c) for k in range(n + 1) for c in itertools.combinations(range(n), k))


RICH_TYPED = ["Straße & <Wien>", " strasse &  <wien> ", "STRASSE & <WIEN>", "ærø 'X' \"Y\" {=~#:}", "die strasse",
              "Strasse", "Straße &<Wien>", "Wien", ""]  # the listed answers carry these; QTI 2.1 carries any spacing


def test_rich_text_reads_back_and_grades_in_moodle_xml(rich_course, tmp_path):
    path = tmp_path / "r.xml"
    notes = export_banks(rich_course, "moodle-xml", path)
    assert ids_of(notes) == ["rich-short", "rich-matching"]
    read = moodle_xmlize(path.read_bytes())
    assert read.findtext("question/category/text") == "$course$/Reich & <Schön> \"x\""
    questions = {el.findtext("idnumber"): el for el in read.findall("question")[1:]}
    for qid, el in questions.items():
        q = rich_course.questions[qid]
        assert float(el.findtext("defaultgrade")) == q.points
        assert text(el.findtext("questiontext/text")) == rendered(q.stem)
    multiple, q = questions["rich-multiple"], rich_course.questions["rich-multiple"]
    fractions = [float(a.get("fraction")) / 100 for a in multiple.findall("answer")]
    assert [text(a.findtext("text")) for a in multiple.findall("answer")] == [rendered(t) for t in RICH_OPTIONS]
    for chosen in _subsets(len(fractions)):
        moodle = min(1.0, max(0.0, sum(fractions[i] for i in chosen))) * q.points
        assert moodle == pytest.approx(grade(q, chosen).score, abs=1e-6)
    q = rich_course.questions["rich-short"]
    answers = [(float(a.get("fraction")) / 100, a.findtext("text")) for a in questions["rich-short"].findall("answer")]
    for typed in RICH_TYPED:
        assert moodle_short_answer(answers, typed) * q.points == grade(q, typed).score, typed
    pairs = [(text(s.findtext("text")), s.findtext("answer/text"))
             for s in questions["rich-matching"].findall("subquestion")]
    assert pairs == [(p.left, p.right) for p in rich_course.questions["rich-matching"].pairs]


def test_rich_text_reads_back_and_grades_in_gift(rich_course, tmp_path, gift_pegjs):
    path = tmp_path / "r.txt"
    notes = export_banks(rich_course, "gift", path)
    assert sorted(set(ids_of(notes))) == ["rich-matching", "rich-multiple", "rich-short", "rich-single", "rich-tf"]
    parsed = gift_pegjs(path.read_text(encoding="utf-8"))
    assert parsed[0] == {"type": "Category", "title": "$course$/Reich & <Schön> \"x\""}
    questions = gift_questions(parsed)
    for qid, g in questions.items():
        assert text(g["stem"]["text"]) == rendered(rich_course.questions[qid].stem)
    q = rich_course.questions["rich-multiple"]
    choices = questions["rich-multiple"]["choices"]
    assert [(text(c["text"]["text"]), text(c["feedback"]["text"])) for c in choices] == [
        (rendered(o.text), rendered(o.feedback)) for o in q.options]
    for chosen in _subsets(len(choices)):  # GIFT marks every question 1: compare the fraction
        fraction = min(1.0, max(0.0, sum(choices[i]["weight"] for i in chosen) / 100))
        assert fraction == pytest.approx(grade(q, chosen).score / q.points, abs=1e-6)
    q = rich_course.questions["rich-single"]
    assert [c["isCorrect"] for c in questions["rich-single"]["choices"]] == [o.correct for o in q.options]
    q = rich_course.questions["rich-short"]
    for typed in RICH_TYPED:
        fraction = moodle_short_answer(gift_short_answers(questions["rich-short"]), typed)
        assert fraction == grade(q, typed).score / q.points, typed
    assert questions["rich-tf"]["isTrue"] is True
    assert gift_pairs(questions["rich-matching"]) == [
        (p.left, p.right) for p in rich_course.questions["rich-matching"].pairs]


def test_rich_text_reads_back_and_grades_in_qti12(rich_course, tmp_path):
    path = tmp_path / "r.zip"
    export_banks(rich_course, "qti12", path)
    items = read_qti12(path)
    assert "@Reich & <Schön> \"x\"" in items
    for qid, q in rich_course.questions.items():
        assert float(canvas_meta(items[qid])["points_possible"]) == q.points
        assert text(items[qid].findtext(q12("presentation/material/mattext"))).startswith(rendered(q.stem))
    labels = canvas_labels(items["rich-multiple"].find(q12("presentation/response_lid")))
    assert list(labels.values()) == [rendered(t) for t in RICH_OPTIONS]
    q = rich_course.questions["rich-short"]
    answers = [v.text for v in items["rich-short"].iter(f"{Q12}varequal")]
    for typed in RICH_TYPED:
        assert canvas_short_answer(answers, typed) * q.points == grade(q, typed).score, typed


def test_rich_text_reads_back_and_grades_in_qti21(rich_course, tmp_path):
    path = tmp_path / "r.zip"
    assert export_banks(rich_course, "qti21", path) == []
    items, test = read_qti21(path)
    assert test.find(q21("testPart/assessmentSection")).get("title") == "Reich & <Schön> \"x\""
    for qid, el in items.items():
        q, item = rich_course.questions[qid], QtiItem(el)
        assert text(ET.tostring(el.find(f"{Q21}itemBody/{Q21}p"), encoding="unicode")).startswith(
            rendered(q.stem).split(" ")[0])
        typed = RICH_TYPED + ["\u3000Straße  &  <Wien>\t", "die  STRASSE"]
        responses = [(t, t) for t in typed] if q.type == "short_answer" else qti_responses(q)
        for canonical, response in responses:
            assert item.run(response)["SCORE"] == pytest.approx(grade(q, canonical).score), (qid, canonical)


# --- the real banks -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_course():
    return load_course([REPO / "quizzes" / "banks"], book_root=None)


def test_real_banks_export_in_every_format(real_course, tmp_path, gift_pegjs):
    for fmt, name in FILES.items():
        notes = export_banks(real_course, fmt, tmp_path / name)
        assert all(n.split(": ", 1)[0] in real_course.questions for n in notes), fmt
    exported_ids = set(gift_questions(gift_pegjs((tmp_path / FILES["gift"]).read_text(encoding="utf-8"))))
    assert exported_ids == {q.id for q in real_course.questions.values() if q.type != "ordering"}
    written = ET.fromstring((tmp_path / FILES["moodle-xml"]).read_bytes())
    read = moodle_xmlize((tmp_path / FILES["moodle-xml"]).read_bytes())
    assert [(w.tag, w.text or "") for w in written.iter() if not len(w)] == [
        (r.tag, r.text or "") for r in read.iter() if not len(r)]
