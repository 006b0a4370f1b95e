"""Slide decks: one per chapter and one per section of chapter 4, written in book/slides/<page>.md.

A deck source is MyST Markdown. Its front matter gives the lesson's length (`minutes:`); a `notes`
block before the first heading holds what the trainer says on the title slide; then every level-1
heading is a slide, with a short body (at most MAX_WORDS words and MAX_BULLETS bullets, citations not
counted), at most one figure (```{course-figure} name```) and exactly one ```{notes}``` block: what to
say, the timing, likely questions and the misconception to watch for.

The build adds a title slide (notes: the deck's opening notes, then the chapter's trainer notes), the
chapter's learning objectives (chapter decks), and a closing "Sources" slide with the full reference
of every work the deck cites. On slides a citation becomes a short source tag, e.g.
{cite:p}`directive2011{Art. 2(1)}` -> "Dir. 2011/36/EU, Art. 2(1)" (the `shorthand` field of the
entry in references.bib). A slide over the limits or without notes stops the build with file:line.

sphinx-revealjs ships reveal.js, so the decks open offline; after the build, the viewport is made
zoomable and the reveal.js themes that are not used (some load web fonts) are removed.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from thbcourse.bank.yamlfile import safe_load
from thbcourse.book.myst import Page, cite_keys, read_page
from thbcourse.book.objectives import parse_objectives
from thbcourse.book.plaintext import Plain
from thbcourse.problems import AuthoringError, Problem, display_path

STATIC = Path(__file__).parent / "static" / "slides"
CHAPTER = re.compile(r"^(\d\d)-[a-z][a-z0-9-]*\.md$")  # 04-facilitator.md, not 04-1-recruitment.md
DECKS = Path("book") / "slides"
COURSE = "Trafficking in human beings and the internet"
MAX_WORDS, MAX_BULLETS = 40, 6
OBJECTIVES = "What you will be able to do"
THEME = "white"  # bundles its own font; several other reveal.js themes @import web fonts
_CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
_WORD = re.compile(r"\w[\w'’-]*")


def chapter_pages(root: Path) -> list[Path]:
    return sorted(p for p in Path(root, "book").glob("*.md") if CHAPTER.match(p.name))


def deck_pages(root: Path) -> list[Path]:
    """The book pages that have a deck: every page with a source in book/slides/."""
    return sorted(Path(root, "book", p.name) for p in Path(root, DECKS).glob("*.md"))


def deck_for(page: Path, root: Path) -> str | None:
    """The deck for a page: its own, else its chapter's (the page with the same two-digit number)."""
    page = Path(page)
    if (Path(root) / DECKS / page.name).is_file():
        return page.stem
    return next((p.stem for p in chapter_pages(root) if p.name[:2] == page.name[:2]
                 and (Path(root) / DECKS / p.name).is_file()), None)


@dataclass
class Slide:
    title: str
    line: int
    body: str  # MyST, citations removed
    tags: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # the works cited
    figure: str | None = None
    notes: str = ""
    kind: str = "content"  # title, objectives, content, sources

    @property
    def words(self) -> int:
        text = re.sub(r"\{[a-z:]+\}`([^`]*)`", r"\1", self.body)
        text = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", text, flags=re.M)  # list markers are not words
        return len(_WORD.findall(text))

    @property
    def bullets(self) -> int:
        return len(re.findall(r"^\s*(?:[-*+]|\d+[.)])\s", self.body, re.M))


class Bibliography:
    def __init__(self, root: Path):
        self.root = Path(root)

    @cached_property
    def entries(self):
        from pybtex.database import parse_file

        return parse_file(str(self.root / "references.bib")).entries

    def tag(self, key: str, pin: str) -> str:
        entry = self.entries.get(key)
        short = entry.fields.get("shorthand", key) if entry is not None else key
        return f"{short}, {pin}" if pin else short

    def reference(self, key: str) -> str:
        entry = self.entries[key]
        people = entry.persons.get("author", [])
        author = "; ".join(" ".join(p.first_names + p.last_names) for p in people).replace("{", "").replace("}", "")
        f = entry.fields
        where = f.get("howpublished") or ", ".join(filter(None, [f.get("type"), f.get("institution"), f.get("address")]))
        parts = [f"{author} ({f.get('year', 'n.d.')}).", f"*{f['title'].replace('{', '').replace('}', '')}*."]
        if where:
            parts.append(f"{where.replace('--', '–')}.")
        return " ".join(parts)


def read_deck(root: Path, page_path: Path, plain: Plain, bib: Bibliography) -> tuple[list[Slide], dict]:
    """The authored slides of a page's deck, checked; AuthoringError lists every problem with its line."""
    path = Path(root) / DECKS / page_path.name
    source = read_page(path)
    shown, problems = display_path(path), []
    meta = _front_matter(source, shown, problems)
    headings = [s for s in source.sections if s.level == 1]
    first = headings[0].line if headings else len(source.lines) + 1
    opening = [b for b in source.blocks if b.name == "notes" and b.line < first]
    meta["opening"] = plain(opening[0].body).strip() if opening else ""
    slides = []
    for section in headings:
        blocks = [b for b in source.blocks if section.line < b.line < section.end]
        notes = [b for b in blocks if b.name == "notes"]
        figures = [b for b in blocks if b.name == "course-figure"]
        for b in blocks:
            if b.name not in ("notes", "course-figure"):
                problems.append(Problem(shown, b.line, 1, f"slide {section.text!r}: a deck may hold only "
                                                         f"'notes' and 'course-figure' blocks, not {b.name!r}"))
        if len(notes) != 1 or not notes[0].body.strip():
            problems.append(Problem(shown, section.line, 1, f"slide {section.text!r} needs exactly one non-empty "
                                                            f"```{{notes}}``` block (what to say, timing, questions)"))
        if len(figures) > 1:
            problems.append(Problem(shown, figures[1].line, 1, f"slide {section.text!r}: one figure per slide"))
        if figures and not (Path(root) / "book" / "figures" / f"{figures[0].argument}.yml").is_file():
            problems.append(Problem(shown, figures[0].line, 1, f"no figure book/figures/{figures[0].argument}.yml"))
        keep = [line for n, line in enumerate(source.lines[section.line:section.end - 1], section.line + 1)
                if not any(b.line <= n < b.end for b in blocks)]
        raw = "".join(keep).strip()
        cites = [(key, post) for content in _CITE.findall(raw) for _, key, post in cite_keys(content)]
        problems += [Problem(shown, section.line, 1, f"slide {section.text!r}: no entry {key!r} in references.bib")
                     for key, _ in cites if key not in bib.entries]
        body = plain(re.sub(r"\s*" + _CITE.pattern, "", raw)).strip()
        note = plain(notes[0].body).strip() if notes else ""
        if cites and note:  # the tag on the slide is short; the notes carry the full reference
            note += "\n\nSources: " + " ".join(bib.reference(k) for k in dict.fromkeys(k for k, _ in cites)
                                               if k in bib.entries)
        slide = Slide(plain(section.title), section.line, body,
                      list(dict.fromkeys(bib.tag(key, post) for key, post in cites)),
                      list(dict.fromkeys(key for key, _ in cites)),
                      figures[0].argument if figures else None, note)
        if slide.words > MAX_WORDS:
            problems.append(Problem(shown, section.line, 1, f"slide {slide.title!r} has {slide.words} words; "
                                                            f"at most {MAX_WORDS} (move the rest to the notes)"))
        if slide.bullets > MAX_BULLETS:
            problems.append(Problem(shown, section.line, 1, f"slide {slide.title!r} has {slide.bullets} bullets; "
                                                            f"at most {MAX_BULLETS}"))
        slides.append(slide)
    if not slides:
        problems.append(Problem(shown, 1, 1, "the deck has no slides: each '# Heading' starts one"))
    if problems:
        raise AuthoringError(problems)
    return slides, meta


def _front_matter(source: Page, shown: str, problems: list) -> dict:
    if source.body_start == 1:
        problems.append(Problem(shown, 1, 1, "a deck starts with front matter: ---, 'minutes: <length of the "
                                             "lesson>', ---"))
        return {}
    meta = safe_load("".join(source.lines[1:source.body_start - 2])) or {}
    if not isinstance(meta.get("minutes"), int) or meta["minutes"] <= 0:
        problems.append(Problem(shown, 2, 1, "front matter needs 'minutes: <whole minutes of the lesson>'"))
    return meta


def deck(root: Path, page_path: Path, plain: Plain, bib: Bibliography) -> list[Slide]:
    """Every slide of a page's deck, in order, the added ones included."""
    page = read_page(page_path)
    authored, meta = read_deck(root, page_path, plain, bib)
    number = page_path.name[:2].lstrip("0") + (f".{page_path.name[3]}" if not CHAPTER.match(page_path.name) else "")
    trainer_notes = "\n\n".join(plain(b.body).strip() for b in page.blocks_named("trainer-notes"))
    opening = "\n\n".join(filter(None, [meta.get("opening"), trainer_notes]))
    if not opening:
        raise AuthoringError([Problem(display_path(Path(root) / DECKS / page_path.name), 1, 1,
                                      "the title slide needs notes: a ```{notes}``` block before the first slide")])
    what = "Chapter" if CHAPTER.match(page_path.name) else "Section"
    slides = [Slide(plain(page.title), 1, f"{what} {number} · {COURSE}", notes=opening, kind="title")]
    objectives = [o for b in page.blocks_named("learning-objectives") for o in parse_objectives(b, page.path)]
    if objectives:  # the slide says them briefly; the notes hold them in full
        found = next((s for s in authored if s.title == OBJECTIVES), None)
        if found is None:
            raise AuthoringError([Problem(display_path(Path(root) / DECKS / page_path.name), 1, 1,
                                          f"a chapter deck needs a slide '# {OBJECTIVES}' that states the chapter's "
                                          f"objectives briefly (the notes get them in full)")])
        found.notes += "\n\nThe objectives in full:\n\n" + "\n".join(f"- {plain(o.text)}" for o in objectives)
        found.kind = "objectives"
    slides += authored
    keys = list(dict.fromkeys(k for s in authored for k in s.keys))
    if keys:
        slides.append(Slide("Sources", 1, "\n".join(f"- {bib.reference(k)}" for k in keys),
                            notes="The full references of the source tags on these slides. The chapter's "
                                  "Reading section says what to read first.", kind="sources"))
    return slides


def deck_markdown(root: Path, slides: list[Slide], *, notes: bool) -> str:
    """The MyST source sphinx-revealjs builds: one level-1 section per slide."""
    from thbcourse.book.figures import figure_html

    out = []
    for slide in slides:
        out.append(f"# {slide.title}\n\n")
        if slide.kind == "title":
            out.append(f"{{.subtitle}}\n{slide.body}\n\n")
        elif slide.kind == "sources":
            out.append(f"{{.references}}\n{slide.body}\n\n")
        elif slide.body:
            out.append(f"{slide.body}\n\n")
        if slide.figure:
            out.append(figure_html(root, slide.figure) + "\n\n")
        if slide.tags:
            out.append("{.source-tag}\n" + "; ".join(slide.tags) + "\n\n")
        if notes:
            out.append(_fence("revealjs-notes", slide.notes))
    return "".join(out)


def _fence(name: str, body: str) -> str:
    ticks = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", body)), default=0))
    return f"{ticks}{{{name}}}\n{body.strip()}\n{ticks}\n\n"


def write_sources(root: Path, src: Path, *, notes: bool) -> list[str]:
    """Write one MyST file per deck and an index deck into src; returns the deck names. A file whose
    text is unchanged is left alone, so that Sphinx reads again only the decks that changed."""
    src.mkdir(parents=True, exist_ok=True)
    written = set()

    def write(path: Path, text: str) -> None:
        written.add(path)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")

    plain, bib = Plain(root), Bibliography(root)
    decks, problems = [], []
    for path in deck_pages(root):
        if not path.is_file():
            problems.append(Problem(display_path(Path(root) / DECKS / path.name), 1, 1,
                                    f"no book page {path.name} for this deck"))
            continue
        try:
            slides = deck(root, path, plain, bib)
        except AuthoringError as err:
            problems += err.problems
            continue
        write(src / path.name, deck_markdown(root, slides, notes=notes))
        decks.append((path.stem, plain(read_page(path).title)))
    if problems:
        raise AuthoringError(problems)
    index = [f"# Slide decks\n\n{{.subtitle}}\n{COURSE}\n\n"]
    index += [f"- {{doc}}`{title} <{stem}>`\n" for stem, title in decks]
    index.append("\n```{toctree}\n:hidden:\n\n" + "".join(f"{stem}\n" for stem, _ in decks) + "```\n")
    write(src / "index.md", "".join(index))
    for stale in set(src.glob("*.md")) - written:  # a deck whose source is gone
        stale.unlink()
    return [stem for stem, _ in decks]


def sphinx_config() -> dict:
    return {
        "project": COURSE,
        "extensions": ["myst_parser", "sphinx_revealjs", "thbcourse.book.slides"],
        # A fresh value: an earlier book build in the same process leaves myst-nb in Sphinx's default.
        "source_suffix": {".md": "markdown"},
        "myst_enable_extensions": ["attrs_block", "colon_fence"],
        "html_copy_source": False,  # the generated sources are no use to an audience
        "revealjs_style_theme": THEME,
        "revealjs_static_path": [str(STATIC)],
        "revealjs_css_files": ["slides.css"],
        "revealjs_script_conf": {"hash": True, "slideNumber": "c/t", "center": False, "width": 1280, "height": 720},
        "revealjs_script_plugins": [{"name": "RevealNotes", "src": "revealjs/plugin/notes/notes.js"}],
    }


def finish(dest: Path) -> None:
    """After the build: let readers zoom (reveal.js's page template forbids it), put the main landmark
    around the deck, and ship only the theme in use (others @import fonts from the web)."""
    for html in dest.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        fixed = re.sub(r'(<meta name="viewport"[^>]*>)+',
                       '<meta name="viewport" content="width=device-width, initial-scale=1.0">', text)
        # reveal.js gives its wrapper role="application", and the page template puts role="main" on the
        # slides inside it (axe: landmark-main-is-top-level): the main landmark goes around the wrapper.
        if '<div class="slides" role="main">' in fixed and '<div class="reveal">' in fixed:
            fixed = fixed.replace('<div class="slides" role="main">', '<div class="slides">', 1)
            fixed = fixed.replace('<div class="reveal">', '<main><div class="reveal">', 1)
            head, _, tail = fixed.rpartition('<script src="_static/revealjs/dist/reveal.js">')
            fixed = head.rstrip() + '\n    </main>\n    <script src="_static/revealjs/dist/reveal.js">' + tail
        if fixed != text:
            html.write_text(fixed, encoding="utf-8")
    for theme in dest.glob("_static/revealjs/dist/theme/*.css"):
        if theme.stem != THEME:
            theme.unlink()
    for fonts in dest.glob("_static/revealjs/dist/theme/fonts/*"):
        if fonts.is_dir() and fonts.name != "source-sans-pro":  # the white theme's own font
            shutil.rmtree(fonts)


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
