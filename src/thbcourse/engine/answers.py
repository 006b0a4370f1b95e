"""What a learner types or writes on a paper -> the canonical response that grading takes.

A paper shows options, right-hand items and ordering items under letters (A, B, C, ...) in its
display order, and matching's left items under numbers (1, 2, ...). The same syntax serves the
terminal quiz and answer files:

single        B
multiple      A, C        (or AC; nothing chosen: -)
true_false    true / false (also t, f, yes, no)
matching      1C 2A 3B    (or 1-C, 2-A, 3-B)
ordering      C A B D     (the letters in the order you put the items)
short_answer  any text
numeric       3.5 (a decimal comma is accepted)
"""
from __future__ import annotations

import re
import string
from typing import Any

from thbcourse.engine.draw import PaperItem
from thbcourse.engine.grade import ResponseError

LETTERS = string.ascii_uppercase
_TRUE, _FALSE = {"true", "t", "yes", "y", "1"}, {"false", "f", "no", "n", "0"}


def letter(i: int) -> str:
    return LETTERS[i]


def parse_answer(item: PaperItem, answer: Any) -> Any:
    """Canonical response for `answer` (text, or a YAML value from an answers file)."""
    q = item.question
    text = answer if isinstance(answer, str) else _as_text(answer)
    if q.type == "single":
        letters = _letters(text, len(item.order))
        if len(letters) != 1:
            raise ResponseError(f"choose exactly one letter from A to {letter(len(item.order) - 1)}")
        return item.order[letters[0]]
    if q.type == "multiple":
        letters = [] if text.strip() in ("-", "") else _letters(text, len(item.order))
        if len(set(letters)) != len(letters):
            raise ResponseError("a letter is given twice")
        return frozenset(item.order[i] for i in letters)
    if q.type == "true_false":
        word = text.strip().lower()
        if word in _TRUE or answer is True:
            return True
        if word in _FALSE or answer is False:
            return False
        raise ResponseError("answer true or false")
    if q.type == "matching":
        return _matching(item, text)
    if q.type == "ordering":
        letters = _letters(text, len(item.order))
        if sorted(letters) != list(range(len(item.order))):
            raise ResponseError(f"give every letter from A to {letter(len(item.order) - 1)} exactly once, in your order")
        return [item.order[i] for i in letters]
    if q.type == "short_answer":
        if not text.strip():
            raise ResponseError("type an answer")
        return text
    if q.type == "numeric":
        try:
            return float(text.strip().replace(",", "."))
        except ValueError:
            raise ResponseError(f"{text.strip()!r} is not a number") from None
    raise ResponseError(f"unknown question type {q.type!r}")  # pragma: no cover


def _as_text(answer: Any) -> str:
    if isinstance(answer, bool):
        return "true" if answer else "false"
    if isinstance(answer, (list, tuple)):
        return " ".join(map(str, answer))
    if isinstance(answer, dict):
        return " ".join(f"{k}{v}" for k, v in answer.items())
    return str(answer)


def _letters(text: str, n: int) -> list[int]:
    found = re.sub(r"[\s,;]+", "", text.upper())
    if not found:
        raise ResponseError("no answer given")
    indexes = []
    for ch in found:
        i = LETTERS.find(ch)
        if not 0 <= i < n:
            raise ResponseError(f"{ch!r} is not one of the letters A to {letter(n - 1)}")
        indexes.append(i)
    return indexes


def _matching(item: PaperItem, text: str) -> dict[int, int]:
    n_left, n_right = len(item.question.pairs), len(item.order)
    pairs = re.findall(r"(\d+)\s*[-:=>]*\s*([A-Za-z])", text)
    leftover = re.sub(r"(\d+)\s*[-:=>]*\s*([A-Za-z])|[\s,;]", "", text)
    if leftover or not pairs:
        raise ResponseError("write each match as number and letter, e.g. 1C 2A 3B")
    response: dict[int, int] = {}
    for number, ch in pairs:
        left, right = int(number) - 1, LETTERS.find(ch.upper())
        if not 0 <= left < n_left:
            raise ResponseError(f"there is no item {number}: items go from 1 to {n_left}")
        if not 0 <= right < n_right:
            raise ResponseError(f"{ch.upper()!r} is not one of the letters A to {letter(n_right - 1)}")
        if left in response:
            raise ResponseError(f"item {number} is matched twice")
        response[left] = item.order[right]
    return response
