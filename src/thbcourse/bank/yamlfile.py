"""Safe, bounded reading of authored YAML files, keeping the node tree for error positions.

PyYAML's composer (libyaml's C parser when present) builds the node tree; we build plain Python
values from it ourselves so that we can refuse what an author never means to write: duplicate keys,
object-constructing tags, alias bombs, absurd nesting. Positions are looked up in the node tree only
when a problem has to be reported, so a clean file costs no bookkeeping.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import yaml

from thbcourse.problems import Problem, display_path

try:  # libyaml is much faster; the pure-Python parser gives the same node tree
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_BYTES = 8 * 1024 * 1024  # a bank of thousands of questions is well under 1 MB
MAX_VALUES = 500_000  # values built, counting every expansion of an alias
MAX_DEPTH = 40

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_TIMESTAMP = "tag:yaml.org,2002:timestamp"  # kept as the text the author wrote
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_constructor = yaml.constructor.SafeConstructor()


def safe_load(text: str) -> Any:
    """yaml.safe_load with libyaml's parser when present: for the repository's own settings (_toc.yml,
    _config.yml, front matter), which need no positions and no limits."""
    return yaml.load(text, Loader=_Loader)


class YamlDocument(msgspec.Struct):
    path: Path
    shown: str  # the path as problems name it (display_path), worked out once per file
    data: Any
    root: yaml.Node
    question_lines: list[int] = []  # index in the file of each parsed question

    def _walk(self, loc: tuple) -> tuple[yaml.Node | None, yaml.Node]:
        # A key the tree lacks (a missing field, or a part of a location that is not in the file)
        # is skipped, so the result is the closest node that exists.
        node, key_node = self.root, None
        for part in loc:
            child = _child(node, part)
            if child is not None:
                key_node, node = child
        return key_node, node

    def position(self, loc: tuple, *, at_key: bool = False) -> tuple[int, int]:
        """1-based line and column of the value at `loc` (or of its key, with at_key)."""
        key_node, node = self._walk(loc)
        mark = (key_node if at_key and key_node is not None else node).start_mark
        return mark.line + 1, mark.column + 1

    def problem(self, loc: tuple, message: str, *, at_key: bool = False) -> Problem:
        line, col = self.position(loc, at_key=at_key)
        return Problem(self.shown, line, col, message)

    def problems(self, found: list) -> list[Problem]:
        """Problems from (location, message, at_key) triples, as thbcourse.bank.strict.convert finds them."""
        return [self.problem(loc, message, at_key=at_key) for loc, message, at_key in found]


def _child(node: yaml.Node, part: Any):
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                return key, value
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return None, node.value[part]
    return None


class _Refused(Exception):
    def __init__(self, node: yaml.Node | None, message: str):
        self.node, self.message = node, message


def read_yaml(path: Path) -> tuple[YamlDocument | None, list[Problem]]:
    """Read one YAML file. Returns the document, or None and the problems that stop reading it."""
    shown = display_path(path)

    def fail(message: str, line: int = 1, col: int = 1):
        return None, [Problem(shown, line, col, message)]

    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return fail(f"file is {size / 2**20:.0f} MB; a quiz file may be at most {MAX_BYTES // 2**20} MB")
        raw = path.read_bytes()
    except OSError as err:
        return fail(f"cannot read file: {err.strerror or err}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        col = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        return fail(f"not valid UTF-8 (byte 0x{raw[err.start]:02x}); save the file as UTF-8", line, col)
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        return fail("file contains a NUL byte: this looks like a binary file, not YAML", line)
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        message = " ".join(filter(None, [err.context, err.problem])) or "invalid YAML"
        lines = text.splitlines()
        if mark and mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]:
            message += " (a tab: YAML indents with spaces only)"
        return fail(f"YAML syntax error: {message}", mark.line + 1 if mark else 1, mark.column + 1 if mark else 1)
    except yaml.YAMLError as err:
        return fail(f"YAML syntax error: {err}")
    if root is None:
        return fail("file is empty")
    builder = _Builder()
    try:
        data = builder.build(root, 0)
    except _Refused as refused:
        builder.refused.append((refused.node or root, refused.message))
    if builder.refused:
        return None, [Problem(shown, n.start_mark.line + 1, n.start_mark.column + 1, m) for n, m in builder.refused]
    return YamlDocument(path, shown, data, root), []


class _Builder:
    """Turns a node tree into dicts, lists and scalars, within the limits above."""

    def __init__(self) -> None:
        self.count = 0
        self.refused: list[tuple[yaml.Node, str]] = []  # problems that do not stop reading

    def build(self, node: yaml.Node, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _Refused(node, f"file expands to more than {MAX_VALUES:,} values (aliases repeated too often?)")
        if depth > MAX_DEPTH:
            raise _Refused(node, f"nesting deeper than {MAX_DEPTH} levels")
        tag = node.tag
        if isinstance(node, yaml.ScalarNode):
            if tag in _SCALAR_TAGS:
                return _constructor.yaml_constructors[tag](_constructor, node)
            if tag == _TIMESTAMP:
                return node.value
            return self.refuse(node, _tag_message(tag))
        if isinstance(node, yaml.SequenceNode):
            if tag != _SEQ:
                return self.refuse(node, _tag_message(tag))
            return [self.build(item, depth + 1) for item in node.value]
        if tag != _MAP:
            return self.refuse(node, _tag_message(tag))
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                self.refuse(key_node, "keys must be plain names (no lists, maps or '<<' merges as keys)")
                continue
            key = key_node.value
            if key in result:
                self.refuse(key_node, f"duplicate key {key!r} (the second one would silently win)")
                continue
            result[key] = self.build(value_node, depth + 1)
        return result

    def refuse(self, node: yaml.Node, message: str) -> None:
        self.refused.append((node, message))


def _tag_message(tag: str) -> str:
    shown = tag.replace("tag:yaml.org,2002:", "!!")
    return f"YAML tag {shown} is not allowed in quiz files (only plain text, numbers, true/false, lists and mappings)"
