"""Typed, frozen records for authored files, and problems an author can act on when a file does not fit.

The formats (banks, blueprints, rubrics, figures) are msgspec Structs: checking a file against its
format takes a few microseconds per question and importing msgspec a few milliseconds, so the everyday
commands start quickly. msgspec stops at the first problem of a value it converts; the loaders
therefore convert each question (and each part of a bank) on its own, so one broken question does not
hide the problems of the others.

Two things msgspec does not do by itself are done here:

- Text fields declared `NonEmpty` are stripped of surrounding whitespace, and refused when nothing is
  left (a YAML block scalar ends with a newline; a field of blanks is an empty field).
- msgspec's error text (`Object contains unknown field `corect` - at `$.options[1]``) is turned into
  a location inside the file and a sentence for an author (`unknown field 'corect'; did you mean
  'correct'?`).
"""
from __future__ import annotations

import difflib
import re
from typing import Annotated, Any

import msgspec
from msgspec import Meta

BLANK = r"\S"
_NON_EMPTY = Meta(pattern=BLANK)
NonEmpty = Annotated[str, _NON_EMPTY]  # some text that is not blank; stripped (Strict.__post_init__)

Located = tuple[tuple, str, bool]  # (location in the file's data, message, point at the key rather than the value)


class Strict(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every authored record: unknown fields refused, values frozen once read."""

    __stripped__ = ()  # (field name, holds a list) of each NonEmpty field, worked out per class

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        stripped: dict[str, bool] = {}
        for klass in reversed(cls.__mro__):
            for name, annotation in vars(klass).get("__annotations__", {}).items():
                if isinstance(annotation, str):  # msgspec would have to evaluate each one: slower to start
                    raise TypeError(f"{cls.__qualname__}.{name}: a format module must not use "
                                    f"'from __future__ import annotations'")
                if _non_empty(annotation):
                    stripped[name] = False
                elif _non_empty(annotation, inside=True) or _non_empty(  # list[NonEmpty], maybe Annotated
                        getattr(annotation, "__origin__", None), inside=True):
                    stripped[name] = True
        cls.__stripped__ = tuple(stripped.items())

    def __post_init__(self) -> None:
        for name, is_list in self.__stripped__:
            value = getattr(self, name)
            if is_list:
                for i, item in enumerate(value):
                    if not item.strip():
                        raise ValueError(f"field `{name}`[{i}]: is empty")
                stripped = [item.strip() for item in value]
                if stripped != value:
                    msgspec.structs.force_setattr(self, name, stripped)
            elif value is not None:
                text = value.strip()
                if not text:
                    raise ValueError(f"field `{name}`: is empty")
                if text != value:
                    msgspec.structs.force_setattr(self, name, text)


def _non_empty(annotation: Any, *, inside: bool = False) -> bool:
    """Whether `annotation` is NonEmpty (however further annotated), or with `inside` a list of it."""
    if inside:
        return getattr(annotation, "__origin__", None) is list and _non_empty(annotation.__args__[0])
    return _NON_EMPTY in getattr(annotation, "__metadata__", ())


def convert(data: Any, kind: Any, at: tuple = ()) -> tuple[Any, list[Located]]:
    """`data` (plain values read from YAML) as `kind`, or None and its problems: the one msgspec stopped
    at, and besides it every unknown and every missing field (the commonest slips, so that an author
    fixes them in one go rather than one a run). `at` is where `data` sits in its file."""
    try:
        return msgspec.convert(data, kind), []
    except msgspec.ValidationError as err:
        first = located(str(err), kind, data, at)
        return None, [first, *(found for found in field_problems(kind, data, at) if found[:2] != first[:2])]


# --- msgspec's messages, as an author reads them -----------------------------------------------------
# (Patterns as text: `re` compiles and caches them when a problem is first reported, not at start-up.)

_WHERE = r"(?s)^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$"
_STEP = r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]"
_OURS = r"(?s)^field `(?P<name>[^`]+)`(?:\[(?P<index>\d+)\])?: (?P<message>.*)$"
_UNKNOWN = r"^Object contains unknown field `(?P<name>[^`]+)`$"
_MISSING = r"^Object missing required field `(?P<name>[^`]+)`$"
_LENGTH = r"^Expected `(?P<kind>\w+)` of length (?P<op>[<>]=) (?P<n>\d+)$"
_BOUND = r"^Expected `(?P<kind>\w+)` (?P<op>>=|<=|>|<) (?P<n>[-\d.e+]+)$"
_PATTERN = r"^Expected `str` matching regex"
_TYPE = r"^Expected `(?P<expected>[^`]+)`(?:, got `(?P<got>[^`]+)`)?$"
_CHOICE = r"^Invalid (?:enum )?value (?P<value>.*)$"

_KINDS = {"str": "a text", "int": "a whole number", "float": "a number", "bool": "true or false",
          "array": "a list", "object": "a mapping of fields", "null": "empty",
          "int | float": "a number", "float | null": "a number", "str | null": "a text", "int | null": "a whole number"}
_RELATIONS = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}

# Help for a value of the wrong form, by field name.
PATTERN_HELP = {
    "id": "ids use lower-case letters, digits, '.', '_' and '-' only (e.g. chain-recruitment-01)",
    "objective": "objective ids look like 'chapter.objective-name' (e.g. chain.recruitment)",
    "objectives": "objective ids look like 'chapter.objective-name' (e.g. chain.recruitment)",
    "exercise": "exercise must look like exercises/<file>.md (e.g. exercises/ex12-awareness-campaign.md)",
    "source": "source must look like book/<file>.md#<heading-anchor> (e.g. book/04-1-recruitment.md#online-adverts)",
}


def located(error: str, kind: Any, data: Any, at: tuple = ()) -> Located:
    """Where msgspec's `error` is (in the file: `at`, where `data` sits, then the place inside `data`),
    and what an author should read."""
    found = re.match(_WHERE, error)
    message, path = found["message"], found["path"] or ""
    inner = tuple(name if name else int(index) for name, index in re.findall(_STEP, path))
    if ours := re.match(_OURS, message):
        loc = at + inner + (ours["name"],) + ((int(ours["index"]),) if ours["index"] else ())
        return loc, f"{_subject(loc)} {ours['message']}", False
    loc = at + inner
    names = [part for part in loc if isinstance(part, str)]
    name, subject = (names[-1] if names else ""), _subject(loc)
    if unknown := re.match(_UNKNOWN, message):
        return _unknown_field(loc, unknown["name"], _fields_at(kind, data, inner))
    if missing := re.match(_MISSING, message):
        field = missing["name"]
        if field == "type" and _is_tagged(kind, data, inner):
            return loc, f"missing field 'type' (one of: {', '.join(_choices_at(kind, data, inner + ('type',)))})", True
        return loc, f"missing field {field!r}", True
    if length := re.match(_LENGTH, message):
        n, what = int(length["n"]), "items" if length["kind"] == "array" else "characters"
        if length["op"] == ">=" and n == 1:
            return loc, f"{subject} is empty", False
        return loc, f"{subject} must have {_RELATIONS[length['op']]} {n} {what}", False
    if bound := re.match(_BOUND, message):
        return loc, f"{subject} must be {_RELATIONS[bound['op']]} {float(bound['n']):g}", False
    if re.match(_PATTERN, message):
        if message.endswith(f"regex {BLANK!r}"):
            return loc, f"{subject} is empty", False
        return loc, PATTERN_HELP.get(name, f"{subject} has the wrong form"), False
    if choice := re.match(_CHOICE, message):
        choices = _choices_at(kind, data, inner)
        if name == "type" and _is_tagged(kind, data, inner[:-1]):
            return loc, f"unknown question type {choice['value']}; use one of: {', '.join(choices)}", False
        return loc, f"{subject} must be {_one_of(choices)}; found {choice['value']}", False
    if wrong := re.match(_TYPE, message):
        expected = _KINDS.get(wrong["expected"], wrong["expected"])
        got = f"; found {_KINDS.get(wrong['got'], wrong['got'])}" if wrong["got"] else ""
        return loc, f"{subject} must be {expected}{got}", False
    return loc, message, False  # a rule of the format about several fields (a __post_init__ of its own)


def _subject(loc: tuple) -> str:
    """What a message is about: 'stem', item 2 of 'options', or this entry (a question, a file)."""
    if not loc:
        return "this entry"
    names = [part for part in loc if isinstance(part, str)]
    if isinstance(loc[-1], int):
        return f"item {loc[-1] + 1} of {names[-1]!r}" if names else f"item {loc[-1] + 1}"
    return repr(loc[-1])


def _unknown_field(loc: tuple, field: str, allowed: list[str]) -> Located:
    close = difflib.get_close_matches(field, allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; allowed here: {', '.join(allowed)}"
    return loc + (field,), f"unknown field {field!r}{hint}", True


def field_problems(kind: Any, data: Any, at: tuple = ()) -> list[Located]:
    """Every unknown field and every missing field in `data`, wherever the format puts a record (only
    where a union's member is known: a question with no or an unknown `type` is not searched)."""
    from msgspec import inspect as mi

    found: list[Located] = []

    def walk(info, value, loc: tuple) -> None:
        info = _unwrap(info, value, strict_tags=True)
        if isinstance(info, mi.StructType) and isinstance(value, dict):
            fields, allowed = {f.encode_name: f for f in info.fields}, _allowed(info)
            for key in value:
                if key not in allowed:
                    found.append(_unknown_field(loc, str(key), allowed))
            for name, field in fields.items():
                if name in value:
                    walk(field.type, value[name], loc + (name,))
                elif field.required:
                    found.append((loc, f"missing field {name!r}", True))
        elif isinstance(info, mi.ListType) and isinstance(value, list):
            for i, item in enumerate(value):
                walk(info.item_type, item, loc + (i,))

    walk(mi.type_info(kind), data, at)
    return found


def _one_of(choices: list[str]) -> str:
    if not choices:
        return "one of the allowed values"
    return choices[0] if len(choices) == 1 else f"{', '.join(choices[:-1])} or {choices[-1]}"


# --- what the format allows at a place in the data (only when a problem is reported) ------------------

def _info_at(kind: Any, data: Any, loc: tuple, *, keep_union: bool = False):
    """msgspec's description of the type at `loc`, choosing union members by the data's tag
    (with keep_union, a union at `loc` itself is returned whole)."""
    from msgspec import inspect as mi

    info = mi.type_info(kind)
    for part in loc:
        info = _unwrap(info, data)
        if isinstance(info, mi.StructType) and isinstance(part, str):
            field = next((f for f in info.fields if f.encode_name == part), None)
            if field is None:
                return None
            info, data = field.type, data.get(part) if isinstance(data, dict) else None
        elif isinstance(info, mi.ListType) and isinstance(part, int):
            info = info.item_type
            data = data[part] if isinstance(data, list) and 0 <= part < len(data) else None
        else:
            return None
    return _unwrap(info, None if keep_union else data, keep_union=keep_union)


def _unwrap(info, data, *, keep_union: bool = False, strict_tags: bool = False):
    """The member of a union that `data` is (by its tag; with strict_tags None when the tag is missing
    or unknown, else the first member)."""
    from msgspec import inspect as mi

    while True:
        if isinstance(info, mi.Metadata):
            info = info.type
            continue
        if not isinstance(info, mi.UnionType) or keep_union:
            return info
        members = [t for t in info.types if not isinstance(t, mi.NoneType)]
        structs = [t for t in members if isinstance(t, mi.StructType)]
        if structs and structs[0].tag_field:
            tag = data.get(structs[0].tag_field) if isinstance(data, dict) else None
            info = next((t for t in structs if t.tag == tag), None if strict_tags else structs[0])
        elif len(members) == 1:
            info = members[0]
        else:
            return info


def _fields_at(kind: Any, data: Any, loc: tuple) -> list[str]:
    from msgspec import inspect as mi

    info = _info_at(kind, data, loc)
    return _allowed(info) if isinstance(info, mi.StructType) else []


def _allowed(info) -> list[str]:
    """The field names a record of this type may have, its tag (`type`) first."""
    return ([info.tag_field] if info.tag_field else []) + [f.encode_name for f in info.fields]


def _is_tagged(kind: Any, data: Any, loc: tuple) -> bool:
    from msgspec import inspect as mi

    info = _info_at(kind, data, loc)
    return isinstance(info, mi.StructType) and info.tag_field is not None


def _choices_at(kind: Any, data: Any, loc: tuple) -> list[str]:
    """The values allowed at `loc`: a Literal's or an Enum's, or the tags of a tagged union."""
    from msgspec import inspect as mi

    if loc and loc[-1] == "type":
        union = _info_at(kind, data, loc[:-1], keep_union=True)
        if isinstance(union, mi.UnionType):
            return [str(t.tag) for t in union.types if isinstance(t, mi.StructType) and t.tag is not None]
    info = _info_at(kind, data, loc)
    if isinstance(info, mi.LiteralType):
        return [str(v) for v in info.values]
    if isinstance(info, mi.EnumType):
        return [str(member.value) for member in info.cls]
    return []
