"""Reading the course's MyST pages without Sphinx.

The slide decks, the workbooks and the quiz validator need the structure of a page (headings,
directive blocks) and its text without roles. They parse with the same markdown-it set-up that
MyST uses in the book, so a heading or a fence means the same thing here as in the built pages.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from markdown_it.renderer import RendererHTML
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.mdit import create_md_parser

from thbcourse.bank.yamlfile import safe_load

# Must match parse.myst_enable_extensions in _config.yml.
EXTENSIONS = {"colon_fence", "linkify", "substitution", "tasklist"}
_MD = create_md_parser(MdParserConfig(enable_extensions=EXTENSIONS), RendererHTML)

_ROLE = re.compile(r"\{(?P<name>[A-Za-z0-9_:+.-]+)\}(?P<ticks>`+)(?P<content>.+?)(?P=ticks)", re.S)
_EXPLICIT = re.compile(r"^(?P<text>.+?)\s*<(?P<target>[^<>]+)>$", re.S)
_CITE_KEY = re.compile(r"(?:\{(?P<pre>[^}]*)\})?(?P<key>[^{},\s]+)(?:\{(?P<post>[^}]*)\})?")
_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\((?P<url>[^)\s]*)(?:\s+\"[^\"]*\")?\)")


@dataclass
class Block:
    """A directive fence at the top level of a page (```{name} argument ... ```)."""

    name: str
    argument: str
    options: dict[str, str]
    body: str
    line: int  # 1-based line of the opening fence
    end: int  # 1-based line after the closing fence
    body_line: int  # 1-based line of the first body line


@dataclass
class Section:
    level: int
    title: str  # the heading as written, roles included
    text: str  # the heading as the reader sees it: markup and roles resolved to their text
    line: int  # 1-based line of the heading
    end: int  # 1-based line where the next heading of the same or a higher level starts
    label: str | None = None  # a `(label)=` target right before the heading


@dataclass
class Page:
    path: Path
    text: str
    lines: list[str]
    blocks: list[Block]
    sections: list[Section]  # every heading outside fences, in order
    targets: dict[str, int]  # `(label)=` -> 1-based line
    body_start: int = 1  # 1-based first line after a YAML front matter

    def blocks_named(self, name: str) -> list[Block]:
        return [b for b in self.blocks if b.name == name]

    @property
    def title(self) -> str:
        return next((s.title for s in self.sections if s.level == 1), self.path.stem)


@lru_cache(maxsize=256)
def _read(path: Path, mtime: float) -> Page:
    text = path.read_text(encoding="utf-8")
    return parse(text, path)


def read_page(path: Path) -> Page:
    path = Path(path)
    return _read(path, path.stat().st_mtime)


def parse(text: str, path: Path = Path("<text>")) -> Page:
    tokens = _MD.parse(text)
    lines = text.splitlines(keepends=True)
    blocks, sections, targets = [], [], {}
    pending_label, body_start = None, 1
    for i, tok in enumerate(tokens):
        if tok.type == "front_matter" and tok.map:
            body_start = tok.map[1] + 1
        if tok.level != 0 or tok.map is None:
            continue
        if tok.type == "myst_target":
            targets[tok.content] = tok.map[0] + 1
            pending_label = tok.content
            continue
        if tok.type == "heading_open":
            inline = tokens[i + 1]
            sections.append(Section(int(tok.tag[1]), inline.content, _inline_text(inline.children or []),
                                    tok.map[0] + 1, len(lines) + 1, pending_label))
        elif tok.type in ("fence", "colon_fence") and tok.info.startswith("{"):
            name, _, argument = tok.info[1:].partition("}")
            options, body, offset = split_options(tok.content)
            blocks.append(Block(name.strip(), argument.strip(), options, body,
                                tok.map[0] + 1, tok.map[1] + 1, tok.map[0] + 2 + offset))
        pending_label = None
    for n, sec in enumerate(sections):  # a section runs to the next heading at its level or above
        sec.end = next((s.line for s in sections[n + 1 :] if s.level <= sec.level), len(lines) + 1)
    return Page(Path(path), text, lines, blocks, sections, targets, body_start)


def _inline_text(children) -> str:
    parts = []
    for tok in children:
        if tok.type in ("text", "code_inline", "math_inline"):
            parts.append(tok.content)
        elif tok.type == "myst_role":
            parts.append(plain_text(f"{{{tok.meta['name']}}}`{tok.content}`"))
        elif tok.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif tok.type == "image":
            parts.append(_inline_text(tok.children or []))
    return "".join(parts)


def split_options(content: str) -> tuple[dict[str, str], str, int]:
    """Split a directive body into its options (`:key: value` lines or a `---` YAML block) and
    the rest. Returns (options, body, number of option lines)."""
    lines = content.splitlines(keepends=True)
    options: dict[str, str] = {}
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is not None:
            options = {str(k): str(v) for k, v in (safe_load("".join(lines[1:end])) or {}).items()}
            return options, "".join(lines[end + 1 :]), end + 1
    n = 0
    while n < len(lines) and (m := re.match(r"^:([\w-]+):\s*(.*)$", lines[n].rstrip("\n"))):
        options[m.group(1)] = m.group(2).strip()
        n += 1
    return options, "".join(lines[n:]), n


# --- roles and links to plain text (for decks and notebooks, where the book's references do not resolve)


def plain_text(text: str, cite=None, titles=None) -> str:
    """Replace MyST roles with readable text and internal links with their text.

    cite(role_name, content) renders a citation; titles(role_name, target) finds the title of a
    page or label referenced without explicit text. Links to http(s) addresses are kept.
    """

    def role(m: re.Match) -> str:
        name, content = m.group("name"), m.group("content")
        if name.startswith("cite") and cite is not None:
            return cite(name, content)
        explicit = _EXPLICIT.match(content)
        if explicit:
            return explicit.group("text")
        if name in ("doc", "ref", "numref") and titles is not None:
            return titles(name, content) or content
        if name == "abbr":  # {abbr}`SIENA (Secure Information Exchange Network Application)`
            return content.split(" (", 1)[0]
        return content.lstrip("~!")

    def link(m: re.Match) -> str:
        if re.match(r"^(https?|mailto):", m.group("url")):
            return m.group(0)
        return m.group("text") or m.group("url")

    return _LINK.sub(link, _ROLE.sub(role, text))


def cite_keys(content: str) -> list[tuple[str, str, str]]:
    """(pre, key, post) for each key of a {cite} role: `europol2014{Key trends}`, `{see}a,b`."""
    return [(m.group("pre") or "", m.group("key"), m.group("post") or "") for m in _CITE_KEY.finditer(content)]
