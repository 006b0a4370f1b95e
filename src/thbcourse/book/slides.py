"""Slide decks, generated from the chapter pages.

One reveal.js deck per chapter (book/NN-name.md; a section page such as 04-1-... belongs to the
deck of its chapter): a title slide, the learning objectives, the "Case: ..." section, the key
points and the discussion questions. The chapter's trainer notes become the title slide's speaker
notes (press S in the deck). sphinx-revealjs ships reveal.js, so the decks open offline.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from thbcourse.book.myst import Page, read_page
from thbcourse.book.objectives import parse_objectives
from thbcourse.book.plaintext import Plain
from thbcourse.problems import AuthoringError, Problem, display_path

STATIC = Path(__file__).parent / "static" / "slides"
CHAPTER = re.compile(r"^(\d\d)-[a-z][a-z0-9-]*\.md$")  # 04-facilitator.md, not 04-1-recruitment.md
COURSE = "Trafficking in human beings and the internet"
SLIDES = ("Case: ", "Key points", "Discussion questions")  # in this order, after the objectives


def chapter_pages(root: Path) -> list[Path]:
    return sorted(p for p in Path(root, "book").glob("*.md") if CHAPTER.match(p.name))


def deck_for(page: Path, root: Path) -> str | None:
    """The deck that covers a page: the chapter page with the same two-digit number."""
    return next((p.stem for p in chapter_pages(root) if p.name[:2] == Path(page).name[:2]), None)


def deck_source(page: Page, plain: Plain, *, notes: bool) -> str:
    """The MyST source of one deck; each slide is a level-1 section (a horizontal slide)."""
    number = str(int(page.path.name[:2]))
    out = [f"# {plain(page.title)}\n\n", f"{{.subtitle}}\nChapter {number} · {COURSE}\n\n"]
    if notes:
        for block in page.blocks_named("trainer-notes"):
            out.append(_fence("revealjs-notes", plain(block.body)))
    objectives = [o for b in page.blocks_named("learning-objectives") for o in parse_objectives(b, page.path)]
    if objectives:
        out.append("# Learning objectives\n\n")
        out += [f"- {plain(o.text)} {{code}}`{o.id}`\n" for o in objectives]
        out.append("\n")
    missing = []
    for prefix in SLIDES:
        section = next((s for s in page.sections if s.level == 2 and s.title.startswith(prefix)), None)
        if section is None:
            missing.append(f"'## {prefix.strip()}{' ...' if prefix.endswith(' ') else ''}'")
            continue
        out.append(f"# {plain(section.title)}\n\n{plain(_body(page, section))}\n\n")
    if missing:  # the chapter template promises these slides
        raise AuthoringError([Problem(display_path(page.path), 1, 1, f"the slide deck needs the section(s) {', '.join(missing)} (see the chapter template)")])
    return "".join(out)


def _body(page: Page, section) -> str:
    """A section's text without directive blocks, label lines or sub-headings (made bold)."""
    keep = dict(enumerate(page.lines[section.line : section.end - 1], start=section.line + 1))
    for block in page.blocks:
        if section.line < block.line < section.end:
            for n in range(block.line, block.end):
                keep.pop(n, None)
    for n in page.targets.values():
        keep.pop(n, None)
    for sub in page.sections:
        if section.line < sub.line < section.end:
            keep[sub.line] = f"**{sub.text}**\n"
    return "".join(keep[n] for n in sorted(keep)).strip()


def _fence(name: str, body: str) -> str:
    ticks = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", body)), default=0))
    return f"{ticks}{{{name}}}\n{body.strip()}\n{ticks}\n\n"


def write_sources(root: Path, src: Path, *, notes: bool) -> list[str]:
    """Write one MyST file per deck and an index deck into src; returns the deck names."""
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    plain = Plain(root)
    decks = []
    for path in chapter_pages(root):
        page = read_page(path)
        (src / path.name).write_text(deck_source(page, plain, notes=notes), encoding="utf-8")
        decks.append((path.stem, plain(page.title)))
    index = [f"# Slide decks\n\n{{.subtitle}}\n{COURSE}\n\n"]
    index += [f"- {{doc}}`{title} <{stem}>`\n" for stem, title in decks]
    index.append("\n```{toctree}\n:hidden:\n\n" + "".join(f"{stem}\n" for stem, _ in decks) + "```\n")
    (src / "index.md").write_text("".join(index), encoding="utf-8")
    return [stem for stem, _ in decks]


def sphinx_config() -> dict:
    return {
        "project": COURSE,
        "extensions": ["myst_parser", "sphinx_revealjs", "thbcourse.book.slides"],
        # A fresh value: an earlier book build in the same process leaves myst-nb in Sphinx's default.
        "source_suffix": {".md": "markdown"},
        "myst_enable_extensions": ["attrs_block", "colon_fence"],
        "html_copy_source": False,  # the generated sources are no use to an audience
        "revealjs_style_theme": "white",  # white/black use bundled fonts; some themes load Google Fonts
        "revealjs_static_path": [str(STATIC)],
        "revealjs_css_files": ["slides.css"],
        "revealjs_script_conf": {"hash": True, "slideNumber": "c/t", "center": False, "width": 1280, "height": 800},
        "revealjs_script_plugins": [{"name": "RevealNotes", "src": "revealjs/plugin/notes/notes.js"}],
    }


def setup(app) -> dict:
    """Speaker notes as HTML: sphinx-revealjs writes them as flat text, which runs lists and
    paragraphs of the trainer notes together in the speaker view."""
    from sphinx_revealjs._ext.notes import revealjs_notes

    app.add_node(revealjs_notes, override=True, revealjs=(_visit_notes, _depart_notes))
    return {"parallel_read_safe": True}


def _visit_notes(translator, node) -> None:
    translator.body.append('<aside class="notes">')


def _depart_notes(translator, node) -> None:
    translator.body.append("</aside>")
