"""What every platform format takes from a question: its text as HTML or plain text, the partial
credit as per-answer weights, safe XML and zip bytes, and notes on what a format cannot carry."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from html.parser import HTMLParser
from io import BytesIO

from thbcourse.bank.model import BankInfo, Multiple, Question, Single
from thbcourse.deliveries.markdown import to_html, to_inline_html


BankQuestions = tuple[BankInfo, list[Question]]  # a bank and its questions (topics filled in)


class Notes(list):
    """What a format dropped or approximated, one line per finding: "question-id: what and why"."""

    def add(self, question: Question, text: str) -> None:
        self.append(f"{question.id}: {text}")


# --- text -----------------------------------------------------------------------------------------

def block_html(markdown: str) -> str:
    """Stems and feedback: paragraphs, lists, tables; raw HTML in the bank is shown as text."""
    return to_html(markdown).strip() if markdown.strip() else ""


def inline_html(markdown: str) -> str:
    """Options, items and matching sides: one line of Markdown, no paragraph around it."""
    return to_inline_html(markdown).strip()


def has_markup(markdown: str) -> bool:
    # The renderer escapes every '<' of the text itself, so a '<' left in its output is a tag.
    return "<" in inline_html(markdown)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def plain_text(markdown: str) -> str:
    """Where a platform takes plain text only (Moodle's and Canvas's matching answers)."""
    return " ".join(html_to_text(inline_html(markdown)).split())


def listed(values: list[str]) -> str:
    """Values named in a note, as the author wrote them: 'a', 'b'."""
    return ", ".join(f"'{v}'" for v in values)


def number(value: float) -> str:
    """80.0 -> "80", 0.5 -> "0.5": what the platforms parse, without float noise."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


# --- partial credit -------------------------------------------------------------------------------
# The weights below are the policy of thbcourse.engine.grade written as per-answer fractions, the
# only form the platforms take; tests/test_platforms.py checks them against the engine's grader.

def option_weights(question: Single | Multiple, negative_marking: bool = True) -> list[float]:
    """The fraction of the points each option adds when chosen (negative: takes away)."""
    if question.type == "single":
        return [1.0 if o.correct else 0.0 for o in question.options]
    k = sum(o.correct for o in question.options)
    w = len(question.options) - k
    wrong = -1.0 / w if negative_marking and w else 0.0
    return [1.0 / k if o.correct else wrong for o in question.options]


def pair_weight(pairs: int) -> float:
    """Matching: each left item matched correctly earns an equal share."""
    return 1.0 / pairs


def successor_weight(items: int) -> float:
    """Ordering: each item (but the last) followed by its correct successor earns an equal share."""
    return 1.0 / (items - 1)


# --- XML and zip ----------------------------------------------------------------------------------

# Characters XML 1.0 cannot hold at all (most C0 controls): a file containing one fails to parse.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def clean_tree(root: ET.Element) -> ET.Element:
    for el in root.iter():
        if el.text:
            el.text = xml_safe(el.text)
        if el.tail:
            el.tail = xml_safe(el.tail)
        for name, value in el.attrib.items():
            el.attrib[name] = xml_safe(value)
    return root


def xml_document(root: ET.Element) -> bytes:
    body = ET.tostring(clean_tree(root), encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip whose bytes depend only on its files (fixed dates), so exports can be compared."""
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()
