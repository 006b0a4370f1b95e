"""Markdown from the banks -> HTML with no way to inject script: raw HTML is shown as text."""
from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt


@lru_cache(maxsize=1)
def _md() -> MarkdownIt:
    # commonmark with html disabled escapes any tag an author (or an attacker) writes;
    # markdown-it also refuses javascript: and data: link targets.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def to_html(text: str) -> str:
    return _md().render(text)


def to_inline_html(text: str) -> str:
    return _md().renderInline(text)
