r"""Short answers written so that a platform accepts what the engine accepts.

The engine (thbcourse.engine.grade) reads a typed answer with each whitespace run made one space, none
at either end, and case folded ("STRASSE", "Straße" and "strasse" read the same); an accepted answer
must equal it, or a pattern (a Python regular expression, ignoring case) must match all of it.

QTI 2.1 compares with one regular expression (patternMatch) in the XML Schema flavour: no flags, no
(?:...), no anchors, and `\s` is space, tab and line breaks only. `xsd_pattern` writes every answer and
pattern of a question as one such expression over the text as typed: each letter is the class of the
characters that fold to it ([Mm], [Kk\u212a]; (ss|ß|ẞ) where one character folds to two), each space a
run of whitespace, and whitespace is allowed at both ends.

Moodle (and GIFT, which Moodle imports) and Canvas compare listed answers, ignoring case and the
spaces at both ends but not the spaces between words. `listed_answers` gives the bank's answers, every
answer that a pattern without repetition allows, the folded spelling of an answer with a letter such
as "ß", and a variant with one doubled space per gap, up to MAX_ANSWERS answers.

What stays different is left to the notes of each format; some cases are too rare to note per
question: a ligature or "ß" typed where a pattern has a class or a dot, and Moodle's reading of
an accent typed as a separate combining character as the accented letter (the engine does not).
"""
from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections import defaultdict
from re import _constants as C  # the standard library's own parser of Python expressions
from re import _parser
from typing import NamedTuple

from thbcourse.bank.model import ShortAnswer
from thbcourse.deliveries.platforms.content import Notes, listed as quoted
from thbcourse.engine.grade import normalise_text

MAX_ANSWERS = 100  # listed answers per question: beyond that an editor's form is no longer usable


# --- characters ------------------------------------------------------------------------------------

def _xml_char(cp: int) -> bool:
    return cp in (0x9, 0xA, 0xD) or 0x20 <= cp <= 0xD7FF or 0xE000 <= cp <= 0xFFFD or cp >= 0x10000


@functools.cache
def _tables() -> tuple[frozenset[str], dict[str, list[str]], dict[str, list[str]]]:
    """Whitespace as str.split() sees it (what XML can hold of it); for each folded character the
    other characters that fold to it; for each folded string of two or more, the characters that
    fold to it ("ss": ß, ẞ)."""
    spaces, single, multi = set(), defaultdict(list), defaultdict(list)
    for cp in range(0x110000):
        if not _xml_char(cp):
            continue
        c = chr(cp)
        if c.isspace():
            spaces.add(c)
        folded = c.casefold()
        if len(folded) > 1:
            multi[folded].append(c)
        elif folded != c:
            single[folded].append(c)
    return frozenset(spaces), dict(single), dict(multi)


def folds_to_many(c: str) -> bool:
    return len(c.casefold()) > 1


# --- XML Schema regular expressions ----------------------------------------------------------------

_ESCAPE = {c: "\\" + c for c in "\\|.-^?*+{}()[]"} | {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _class_body(chars: set[str]) -> str:
    """The inside of a character class: runs of three or more code points written as ranges."""
    body, cps = [], sorted(map(ord, chars))
    for _, run in itertools.groupby(enumerate(cps), lambda p: p[1] - p[0]):
        run = [chr(cp) for _, cp in run]
        escaped = [_ESCAPE.get(c, c) for c in run]
        body.append(f"{escaped[0]}-{escaped[-1]}" if len(run) > 2 else "".join(escaped))
    return "".join(body)


def _class(chars: set[str]) -> str:
    (only,) = chars if len(chars) == 1 else (None,)
    return _ESCAPE.get(only, only) if only else f"[{_class_body(chars)}]"


@functools.cache
def _spaces() -> str:
    """Whitespace as a class body: XML Schema's \\s (space, tab, line breaks), \\p{Z} (Unicode's
    separators, such as the no-break space) and the rest of what str.split() splits at (NEL)."""
    spaces = _tables()[0]
    separators = {c for c in spaces if unicodedata.category(c).startswith("Z")}
    return "\\s\\p{Z}" + _class_body(set(spaces) - separators - set(" \t\n\r"))


@functools.cache
def _not_one() -> str:
    """The class body of what cannot stand for one letter of the engine's text: whitespace, and the
    characters that fold to two letters."""
    _, _, multi = _tables()
    return _spaces() + _class_body({c for chars in multi.values() for c in chars})


def _space_run() -> str:
    return f"[{_spaces()}]+"


def _letter(c: str) -> str:
    """A folded character: every character that folds to it; a space: a run of whitespace."""
    return _space_run() if c == " " else _class({c, *_tables()[1].get(c, ())})


class Literal(NamedTuple):
    regex: str
    exact: bool  # False: a run such as "ssssssss" is written without its ß spellings


_MAX_SPELLINGS = 64


def literal(folded: str) -> Literal:
    """Every typed text that folds to `folded` (which has single spaces, as the engine reads)."""
    multi = _tables()[2]
    longest = max(map(len, multi))
    steps = [[n for n in range(2, longest + 1) if folded[i:i + n] in multi] for i in range(len(folded))]
    parts, exact, i = [], True, 0
    while i < len(folded):
        end, j = i + 1, i
        while j < end:  # a segment ends where no spelling of two or more letters spans the cut
            end = max([end] + [j + n for n in steps[j]])
            j += 1
        spellings = _spellings(folded, i, end, steps)
        if len(spellings) > _MAX_SPELLINGS:
            spellings, exact = spellings[:1], False
        parts.append(spellings[0] if len(spellings) == 1 else f"({'|'.join(spellings)})")
        i = end
    return Literal("".join(parts), exact)


def _spellings(folded: str, i: int, end: int, steps: list[list[int]]) -> list[str]:
    if i == end:
        return [""]
    out = [_letter(folded[i]) + rest for rest in _spellings(folded, i + 1, end, steps)]
    for n in steps[i]:
        head = _class(set(_tables()[2][folded[i:i + n]]))
        out += [head + rest for rest in _spellings(folded, i + n, end, steps)]
    return out


class Untranslatable(ValueError):
    """A Python expression with a part that XML Schema expressions cannot say."""


class XsdPattern(NamedTuple):
    regex: str
    dropped: list[str]  # the bank's patterns that could not be written
    inexact: list[str]  # answers or patterns written without some ß-like spellings


def xsd_pattern(q: ShortAnswer) -> XsdPattern:
    """One XML Schema expression that matches a typed text when the engine accepts it."""
    branches, dropped, inexact = [], [], []
    for answer in dict.fromkeys(normalise_text(a) for a in q.answers):
        lit = literal(answer)
        branches.append(lit.regex)
        if not lit.exact:
            inexact.append(answer)
    for pattern in q.patterns:
        try:
            regex, exact = _Translation(pattern).regex()
        except Untranslatable:
            dropped.append(pattern)
            continue
        branches.append(regex)
        if not exact:
            inexact.append(pattern)
    ends = f"[{_spaces()}]*"
    return XsdPattern(f"{ends}({'|'.join(branches)}){ends}", dropped, inexact)


def _parse(pattern: str) -> list:
    """The nodes of a Python expression, without ^ and $ (or \\A and \\Z) at its ends: they say what
    matching the whole text says already."""
    parsed = _parser.parse(pattern, re.IGNORECASE)
    if parsed.state.flags & (re.ASCII | re.LOCALE):
        raise Untranslatable("the ASCII or LOCALE flag")
    nodes = list(parsed)
    if nodes[:1] in ([(C.AT, C.AT_BEGINNING)], [(C.AT, C.AT_BEGINNING_STRING)]):
        nodes = nodes[1:]
    if nodes[-1:] in ([(C.AT, C.AT_END)], [(C.AT, C.AT_END_STRING)]):
        nodes = nodes[:-1]
    return nodes


_OPPOSITE = {C.CATEGORY_NOT_SPACE: C.CATEGORY_SPACE, C.CATEGORY_NOT_DIGIT: C.CATEGORY_DIGIT}


class _Translation:
    """A Python expression (matched, ignoring case, against the text as the engine reads it) as an
    XML Schema expression over the text as typed."""

    def __init__(self, pattern: str):
        try:
            self.nodes = _parse(pattern)
        except re.error as e:
            raise Untranslatable(str(e)) from e
        self.exact = True

    def regex(self) -> tuple[str, bool]:
        return self.sequence(self.nodes), self.exact

    def sequence(self, nodes) -> str:
        """Consecutive letters are spelled together, so that "ss" can also be typed as "ß"."""
        out, run = [], []
        for op, av in [*nodes, (None, None)]:
            if op == C.LITERAL:
                run.append(chr(av))
                continue
            if run:
                out.append(self.letters("".join(run)))
                run = []
            if op is not None:
                out.append(self.node(op, av)[0])
        return "".join(out)

    def letters(self, text: str) -> str:
        if any(folds_to_many(c) for c in text):  # the engine's text is folded: "ß" is never in it
            raise Untranslatable("a letter that folds to two")
        lit = literal(text.casefold())
        self.exact &= lit.exact
        return lit.regex

    def node(self, op, av) -> tuple[str, bool]:
        """The expression for one node, and whether it is one atom (a quantifier may follow it)."""
        if op == C.LITERAL:
            return self.letters(chr(av)), False
        if op == C.SUBPATTERN:
            _, add, remove, inner = av
            if remove & re.IGNORECASE or add & (re.ASCII | re.LOCALE):
                raise Untranslatable("flags inside the expression")
            return f"({self.sequence(inner)})", True
        if op == C.BRANCH:
            return f"({'|'.join(self.sequence(branch) for branch in av[1])})", True
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):  # lazy or greedy: the same whole matches
            low, high, inner = av
            body, atom = self.node(*inner[0]) if len(inner) == 1 else (self.sequence(inner), False)
            body = body if atom else f"({body})"
            if (low, high) == (0, 1):
                return body + "?", False
            if high == C.MAXREPEAT:
                return body + {0: "*", 1: "+"}.get(low, f"{{{low},}}"), False
            return body + (f"{{{low}}}" if low == high else f"{{{low},{high}}}"), False
        if op == C.ANY:
            return f"([^{_not_one()}]|{_space_run()})", True
        if op == C.NOT_LITERAL:
            return self.chars([(C.NEGATE, None), (C.LITERAL, av)]), True
        if op == C.IN:
            if len(av) == 1 and av[0][0] == C.CATEGORY and av[0][1] in _OPPOSITE:
                return self.chars([(C.NEGATE, None), (C.CATEGORY, _OPPOSITE[av[0][1]])]), True
            return self.chars(av), True
        raise Untranslatable(f"{op} has no XML Schema counterpart")

    def chars(self, items) -> str:
        """A class: the typed characters whose folded form the class matches, ignoring case."""
        negate = items[0][0] == C.NEGATE
        members, digits, space = set(), False, False
        for op, av in items[1:] if negate else items:
            if op == C.LITERAL:
                members.add(chr(av))
            elif op == C.RANGE and av[1] - av[0] <= 5000:
                members.update(map(chr, range(av[0], av[1] + 1)))
            elif (op, av) == (C.CATEGORY, C.CATEGORY_DIGIT):
                digits = True
            elif (op, av) == (C.CATEGORY, C.CATEGORY_SPACE):
                space = True
            else:
                raise Untranslatable(f"class member {op} {av}")
        spaces, single, _ = _tables()
        space |= bool(members & spaces)
        members -= spaces
        typed = set()
        if members:
            matches = re.compile(f"[{''.join(map(re.escape, members))}]", re.IGNORECASE).fullmatch
            for m in members:
                for c in {m, m.lower(), m.upper(), m.casefold()}:
                    typed.update(x for x in (c, *single.get(c, ()))
                                 if not folds_to_many(x) and matches(x.casefold()))
        body = _class_body(typed) + ("\\d" if digits else "")
        if negate:  # a space in the engine's text is a run of whitespace as typed
            return f"[^{body}{_not_one()}]" if space else f"([^{body}{_not_one()}]|{_space_run()})"
        if not body:
            return _space_run()
        return f"([{body}]|{_space_run()})" if space else f"[{body}]"


# --- listed answers (Moodle, GIFT, Canvas) ---------------------------------------------------------

class Listed(NamedTuple):
    answers: list[str]
    dropped: list[str]  # patterns whose answers could not be listed
    spacing: str  # "" (no answer has a space), "one" (one doubled space is listed) or "none"


def listed_answers(q: ShortAnswer, limit: int = MAX_ANSWERS) -> Listed:
    """The answers to list so that a platform comparing listed answers (ignoring case and the
    spaces at both ends) accepts what the engine accepts, as far as `limit` answers go."""
    answers: dict[str, str] = {}  # as the platform compares them (letter by letter, ignoring case): no answer twice

    def add(texts) -> None:
        for text in texts:
            text = " ".join(text.split())
            answers.setdefault(text.lower(), text)

    add(q.answers)
    dropped = []
    for pattern in q.patterns:
        strings = pattern_strings(pattern, limit)
        if strings is None or len(answers.keys() | {s.lower() for s in strings}) > limit:
            dropped.append(pattern)
        else:
            add(strings)
    # A platform compares letter by letter: "Straße" needs "strasse" beside it.
    add([a.casefold() for a in answers.values() if any(folds_to_many(c) for c in a)])
    listed = list(answers.values())
    doubled = [a[:i] + " " + a[i:] for a in listed for i, c in enumerate(a) if c == " "]
    spacing = "" if not doubled else "one" if len(listed) + len(doubled) <= limit else "none"
    return Listed(listed + doubled if spacing == "one" else listed, dropped, spacing)


def pattern_strings(pattern: str, limit: int = MAX_ANSWERS) -> list[str] | None:
    """Every text the engine can read that the pattern matches, when that is at most `limit` texts."""
    try:
        strings = _strings(_parse(pattern), limit)
    except (re.error, Untranslatable):
        return None
    if strings is None:
        return None
    # The engine reads single spaces and folded letters: other matches can never be typed.
    readable = sorted(s for s in strings if s == " ".join(s.split()) and not any(folds_to_many(c) for c in s))
    return readable if len(readable) <= limit else None


def _strings(nodes, limit: int) -> set[str] | None:
    out = {""}
    for op, av in nodes:
        if op == C.LITERAL:
            these = {chr(av)}
        elif op == C.IN and all(o == C.LITERAL or (o == C.RANGE and a[1] - a[0] < limit) for o, a in av):
            these = {chr(c) for o, a in av for c in ([a] if o == C.LITERAL else range(a[0], a[1] + 1))}
        elif op == C.SUBPATTERN and not av[2] & re.IGNORECASE:
            these = _strings(av[3], limit)
        elif op == C.BRANCH:
            branches = [_strings(b, limit) for b in av[1]]
            these = None if None in branches else set().union(*branches)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[1] <= limit:
            inner = _strings(av[2], limit)
            if inner is None or len(inner) ** av[1] > limit * 4:
                return None
            these = {"".join(p) for n in range(av[0], av[1] + 1) for p in itertools.product(sorted(inner), repeat=n)}
        else:
            return None
        if these is None or len(out) * len(these) > limit * 4:
            return None
        out = {a + b for a in out for b in these}
    return out


def note_listed(q: ShortAnswer, answers: Listed, platform: str, notes: Notes) -> None:
    """What a platform comparing listed answers still grades otherwise than the engine."""
    if answers.dropped:
        notes.add(q, f"patterns {quoted(answers.dropped)} dropped: {platform} takes listed answers, and these "
                     f"allow more than {MAX_ANSWERS} answers or repeat without end (list the answers they "
                     "should accept)")
    if answers.spacing == "one":
        notes.add(q, f"{platform} compares the spaces between words as typed: one doubled space is listed as "
                     "an answer, but spaces added in two places, or three in a row, score 0")
    elif answers.spacing == "none":
        notes.add(q, f"{platform} compares the spaces between words as typed: an answer with a space too many "
                     f"between words scores 0 (listing those answers would take more than {MAX_ANSWERS})")
