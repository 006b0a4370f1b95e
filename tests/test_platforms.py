"""Platform exports: each format is written, read back as a platform would read it, and compared
with the bank: every question (or a note saying why not), the key, the partial-credit weights, the
feedback, the points, and hostile text that must stay text."""
from __future__ import annotations

import hashlib
import itertools
import re
import xml.etree.ElementTree as ET
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from thbcourse.bank.blueprint import Grading
from thbcourse.bank.course import load_course
from thbcourse.deliveries.markdown import to_html
from thbcourse.deliveries.platforms import FORMATS, export_banks
from thbcourse.deliveries.platforms.content import option_weights
from thbcourse.deliveries.platforms.moodle_xml import serialise
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
    assert moodle_answers(short) == [("100", "multihoming", ""),
                                     ("0", "*", "The term is multihoming (footnote 2 of the notification).")]

    numeric = questions["s-numeric"]
    assert numeric.get("type") == "numerical"
    assert (numeric.findtext("answer/text"), numeric.findtext("answer/tolerance")) == ("80", "0.5")
    assert numeric.find("answer").get("fraction") == "100"
    assert numeric.findtext("units/unit/unit_name") == "%"

    assert ids_of(notes) == ["s-matching", "s-ordering", "s-short"]
    assert "feedback per pair" in notes[0]
    assert "qtype_ordering" in notes[1]
    assert "'multi[- ]?homing'" in notes[2]


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
        (100.0, "multihoming", ""), (0.0, "*", "The term is multihoming (footnote 2 of the notification).")]

    g = questions["s-numeric"]
    assert (g["type"], g["value"], g["tolerance"]) == ("numerical", 80.0, 0.5)

    assert ids_of(notes) == ["s-matching", "s-ordering", "s-short", "s-numeric"]
    assert "feedback per pair dropped" in notes[0]
    assert "not exported" in notes[1]
    assert "'multi[- ]?homing'" in notes[2]
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
    assert [v.text for v in key.iter(f"{Q12}varequal")] == ["multihoming"]
    assert canvas_feedback(item)["general_incorrect_fb"] == "The term is multihoming (footnote 2 of the notification)."

    item = items["s-numeric"]
    assert item.find(q12("presentation/response_str/render_fib")).get("fibtype") == "Decimal"
    (_, key, _, _), = [c for c in canvas_conditions(item) if c[2] is not None]
    assert key.findtext(q12("or/varequal")) == "80"
    assert (key.findtext(q12("or/and/vargte")), key.findtext(q12("or/and/varlte"))) == ("79.5", "80.5")

    assert ids_of(notes) == ["s-ordering", "s-short", "s-numeric"]
    assert "approximated as a matching question" in notes[0]
    assert "'multi[- ]?homing'" in notes[1]
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
    if q.type == "short_answer":  # the bank's patterns are not carried (noted): literal answers only
        return [(s, s) for s in ["multihoming", "MultiHoming", "homing", "multi homing x"]]
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
    assert ids_of(notes) == ["s-short"] and "'multi[- ]?homing'" in notes[0]


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
    assert mapping("s-short") == [("multihoming", 1.0, "false")]
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


def test_moodle_grades_off_the_list_are_rounded_and_noted(tmp_path):
    bank = _bank("b", "Bank", [_multiple("thirds", correct=3, wrong=1), _multiple("elevenths", correct=11, wrong=1)])
    path, notes = _export(tmp_path, bank, "moodle-xml")
    _, questions = read_moodle(path.read_bytes())
    assert [a.get("fraction") for a in questions["thirds"].findall("answer")] == ["33.33333"] * 3 + ["-100"]
    assert [a.get("fraction") for a in questions["elevenths"].findall("answer")] == ["10"] * 11 + ["-100"]
    assert ids_of(notes) == ["elevenths"] and "9.09091 % as 10 %" in notes[0]
    _, gift_notes = _export(tmp_path, bank, "gift")
    assert ids_of(gift_notes) == ["elevenths"]


def test_negative_marking_off_gives_wrong_options_no_weight(sample_course, tmp_path):
    path = tmp_path / "b.txt"
    export_banks(sample_course, "gift", path, negative_marking=False)
    _, questions = read_gift(path.read_text(encoding="utf-8"))
    assert [w for w, _, _ in questions["s-multiple"]["answers"]] == [50.0, 50.0, 0.0, 0.0]


# --- hostile text stays text in every format ------------------------------------------------------

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
        "a{b}~c=d#e:f\\*g ]]> <i>", "*"]
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
    assert [(w, a) for w, a, _ in short["answers"]] == [(100.0, "a{b}~c=d#e:f\\*g ]]> <i>"), (0.0, "*")]
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
    assert [v.text for v in short.iter(f"{Q12}varequal")] == [ANSWER]
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
    assert [m.get("mapKey") for m in items["hostile-short"].iter(f"{Q21}mapEntry")] == [ANSWER]
    assert QtiItem(items["hostile-short"]).run(ANSWER.upper())["SCORE"] == 1.0
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
