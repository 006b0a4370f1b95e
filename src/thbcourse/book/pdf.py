"""Print-ready PDFs of the course, laid out by WeasyPrint from what `thbcourse build` and `draw` wrote.

    out/pdf/trainer-handbook.pdf   the trainer edition's pages in _toc.yml order, a title page, contents
    out/pdf/student-workbook.pdf   the student edition's exercises, a ruled answer space after each task
    out/pdf/answer-keys.pdf        every answer key in out/papers (`thbcourse draw`), one after another

They are made from the built HTML, not from the sources, so that a PDF says exactly what its edition
says: the student edition's build has already left out solutions and trainer notes, and the book's
directives, citations and figures need no second renderer. Each page's article is taken out of the
theme and laid out with static/pdf/print.css alone (the theme's styles are made for screens). Ids get
the page's name as a prefix so that they stay unique in one document; links between pages become links
inside the PDF, and links to what the PDF does not hold (decks, the index) become their text.

Offline: WeasyPrint fetches through `LocalFetcher`, which serves file: and data: URLs under the build
folder and refuses anything else; a refused URL fails the part. Fonts come from fontconfig (DejaVu on
Debian). Without Pango, WeasyPrint cannot be imported: the part says so in one line and succeeds.

A PDF whose inputs did not change (its HTML files, the stylesheet, this module, WeasyPrint's version:
the digest in pdf/pdfs.json) is not laid out again. Several PDFs are laid out in processes of their own.
"""
from __future__ import annotations

import hashlib
import html
import json
import os
import posixpath
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from thbcourse.bank.yamlfile import safe_load
from thbcourse.book.build import BuildFailed

STYLESHEET = Path(__file__).parent / "static" / "pdf" / "print.css"
COURSE = "THB and the internet"
PANGO_MISSING = "PDF skipped: WeasyPrint needs Pango (apt-get install libpango-1.0-0 libpangoft2-1.0-0)"
MANIFEST = "pdfs.json"  # per PDF: the digest of its inputs, pages, seconds, refused URLs
TRAINER_ONLY = ".solution, .trainer-notes, .trainer-only"  # what the student edition must not show
DROP = ("a.headerlink", "script", "noscript", "section.sc", "button", "input", "select", "textarea")
EXTERNAL = ("http", "https", "mailto")
INLINE = ["a", "span", "strong", "em", "b", "i", "code", "abbr", "cite", "small", "sub", "sup", "mark", "kbd", "q"]


@dataclass(frozen=True)
class Entry:
    """A page of the book as _toc.yml lists it."""
    docname: str  # "book/04-1-recruitment"
    part: str  # the caption of its part ("Course"); "" for the root page
    level: int  # 1 for a chapter, 2 for a section page such as 4.1


@dataclass(frozen=True)
class Pdf:
    """One PDF: the files it is made from, and how they become one HTML document."""
    name: str  # file name without .pdf
    label: str  # in the footer: "THB and the internet — <label> · page N of M"
    inputs: Callable[[Path, Path], list[Path]]  # (root, out) -> the HTML files read
    document: Callable[[Path, Path], str]  # (root, out) -> the HTML to lay out


def toc_entries(root: Path) -> list[Entry]:
    """Every page of the book in reading order: the root page, then each part's chapters with their
    section pages (only pages in _toc.yml are built, so only they can be printed)."""
    data = safe_load((root / "_toc.yml").read_text(encoding="utf-8")) or {}
    entries = [Entry(data["root"].removesuffix(".md"), "", 1)]

    def walk(items: list, part: str, level: int) -> None:
        for item in items:
            if "file" in item:
                entries.append(Entry(item["file"].removesuffix(".md"), part, level))
                walk(item.get("sections") or [], part, level + 1)

    for part in data.get("parts") or [{"chapters": data.get("chapters") or []}]:
        walk(part.get("chapters") or [], part.get("caption") or "", 1)
    return entries


def exercise_entries(root: Path) -> list[Entry]:
    return [e for e in toc_entries(root) if e.docname.startswith("exercises/")]


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name)


def _soup(text: str):
    from bs4 import BeautifulSoup

    return BeautifulSoup(text, "html.parser")


def article(path: Path):
    """The page's main content, without the theme's navigation, sidebars and buttons."""
    found = _soup(path.read_text(encoding="utf-8")).select_one("article.bd-article")
    if found is None:
        raise BuildFailed(f"{path} has no article: is it a page of an edition built by `thbcourse build`?")
    for selector in DROP:
        for tag in found.select(selector):
            tag.decompose()
    while (item := found.select_one("a.slide-deck, .self-check")) is not None:  # screen-only resources
        (item.find_parent("li") or item).decompose()
    return found


def keep_line_breaks(content) -> None:
    """Move the space before an inline element into it. WeasyPrint 70 breaks a line wrongly when an
    inline element does not fit after text that fills the rest of the line (it leaves a single word
    on the line); with no break opportunity between the two it finds the right one."""
    from bs4 import Comment, NavigableString

    for tag in content.find_all(INLINE):
        before = tag.previous_sibling
        if (isinstance(before, NavigableString) and not isinstance(before, Comment) and before[-1:].isspace()
                and tag.find_parent(["pre", "svg"]) is None):
            before.replace_with(before.rstrip())
            tag.insert(0, " ")


# --- putting pages together --------------------------------------------------------------------------

class Assembly:
    """The pages of one PDF: ids made unique by a page prefix, links pointed inside the PDF."""

    def __init__(self, docnames: list[str]):
        self.slugs = {d: slug(d) for d in docnames}
        self.pages: list = []

    def add(self, docname: str, content) -> None:
        """Add a page's content (a BeautifulSoup tag, changed in place) as a section of its own."""
        keep_line_breaks(content)
        prefix = self.slugs[docname]
        for tag in content.find_all(id=True):
            if tag.find_parent("svg") is None:  # a figure's own references (markers, titles) stay as they are
                tag["id"] = f"{prefix}--{tag['id']}"
        for link in content.find_all("a", href=True):
            self._point(link, docname)
        content.name, content.attrs = "section", {"class": ["page"], "id": prefix}
        self.pages.append(content)

    def _point(self, link, docname: str) -> None:
        href = link["href"]
        parts = urlsplit(href)
        if parts.scheme in EXTERNAL:
            text = link.get_text(" ", strip=True)
            if text not in (href, parts.path):  # print where the link goes
                link.append(" ")
                url = _soup("").new_tag("span", attrs={"class": "url"})
                url.string = f"<{href}>"
                link.append(url)
            return
        target = docname
        if parts.path:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(docname), unquote(parts.path)))
            target = target.removesuffix(".html")
        if parts.scheme or parts.netloc or target not in self.slugs:
            link.unwrap()  # a deck, the index, a page not in this PDF: its words stay
            return
        fragment = unquote(parts.fragment)
        link["href"] = f"#{self.slugs[target]}--{fragment}" if fragment else f"#{self.slugs[target]}"

    def html(self) -> str:
        """The pages as HTML; links whose target did not make it into the PDF become their text."""
        ids = {tag["id"] for page in self.pages for tag in [page, *page.find_all(id=True)]}
        for page in self.pages:
            for link in page.find_all("a", href=True):
                if link["href"].startswith("#") and link["href"][1:] not in ids:
                    link.unwrap()
        return "\n".join(str(page) for page in self.pages)


def page_document(title: str, label: str, body: str, *, header: str = "") -> str:
    """A complete HTML document with the print stylesheet and this PDF's footer, all inline."""
    footer = _css_string(f"{COURSE} — {label} · page ")
    style = (STYLESHEET.read_text(encoding="utf-8")
             + f'\n@page {{ @bottom-center {{ content: {footer} counter(page) " of " counter(pages); }} }}\n')
    if header:
        style += f"@page {{ @top-right {{ content: {_css_string(header)}; font: 8pt sans-serif; color: #6a1b9a; }} }}\n"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>\n{style}</style></head><body>\n{body}\n</body></html>\n")


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _book_title(root: Path) -> str:
    config = safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
    return str(config.get("title") or COURSE)


def _heading(content, number: str | None) -> str:
    """Give the page's first heading its number ("4.1", as the keys and decks say it), the built book
    numbering chapter pages only; returns the title for the table of contents."""
    h1 = content.find("h1")
    if h1 is None:
        return ""
    for old in h1.select(".section-number"):
        old.decompose()
    title = h1.get_text(" ", strip=True)
    if number:
        span = _soup("").new_tag("span", attrs={"class": "section-number"})
        span.string = f"{number} "  # the running header takes the heading's text
        h1.insert(0, span)
    return title


def _contents(rows: list[tuple[Entry, str | None, str]], slugs: dict[str, str]) -> str:
    """The table of contents: part captions, then each page with its number and page number."""
    items, part = [], None
    for entry, number, title in rows:
        if entry.part != part and entry.part:
            items.append(f'<li class="part">{html.escape(entry.part)}</li>')
        part = entry.part
        number_html = f'<span class="number">{number}</span>' if number else ""
        items.append(f'<li class="{"sub" if entry.level > 1 else "page"}"><a href="#{slugs[entry.docname]}">'
                     f"{number_html}{html.escape(title)}</a></li>")
    return f'<nav class="contents"><h1>Contents</h1><ol>{"".join(items)}</ol></nav>'


def _title_page(root: Path, subtitle: str, edition: str, note: str) -> str:
    return (f'<section class="title-page"><h1>{html.escape(_book_title(root))}</h1>'
            f'<p class="subtitle">{html.escape(subtitle)}</p><p class="edition">{html.escape(edition)}</p>'
            f'<p class="note">{html.escape(note)}</p></section>')


# --- the three PDFs -----------------------------------------------------------------------------------

def _edition_pages(out: Path, edition: str, entries: list[Entry]) -> list[Path]:
    html_dir = out / edition / "html"
    missing = [e.docname for e in entries if not (html_dir / f"{e.docname}.html").is_file()]
    if missing:
        raise BuildFailed(f"the {edition} edition is not built ({html_dir / missing[0]}.html is missing); "
                          f"run `thbcourse build --only {edition}` first")
    return [html_dir / f"{e.docname}.html" for e in entries]


def handbook_inputs(root: Path, out: Path) -> list[Path]:
    return _edition_pages(out, "trainer", toc_entries(root))


def handbook_document(root: Path, out: Path) -> str:
    """The trainer edition as one document: title page, contents, every page of _toc.yml."""
    from thbcourse.book.sections import page_numbers

    entries, numbers = toc_entries(root), page_numbers(root)
    assembly, rows = Assembly([e.docname for e in entries]), []
    for entry, path in zip(entries, handbook_inputs(root, out)):
        content = article(path)
        number = numbers.get(entry.docname)
        rows.append((entry, number, _heading(content, number)))
        assembly.add(entry.docname, content)
    note = ("Lesson plans are in the appendix Trainer guide. Solutions, model answers and trainer notes "
            "are shown in purple boxes.")
    body = (_title_page(root, "Trainer handbook", "Trainer edition: contains solutions and trainer notes, "
                        "not for learners", note)
            + _contents(rows, assembly.slugs) + assembly.html())
    return page_document("Trainer handbook", "Trainer handbook", body, header="Trainer edition · not for learners")


def workbook_inputs(root: Path, out: Path) -> list[Path]:
    return _edition_pages(out, "student", exercise_entries(root))


def answer_lines(task_words: int) -> int:
    """Ruled lines after a task: a longer task asks for more (9 mm a line, 8 to 16 lines)."""
    return max(8, min(16, 6 + task_words // 8))


def workbook_document(root: Path, out: Path) -> str:
    """The student edition's exercises, each on new pages with a line for the learner's name and id,
    and a ruled answer space after each task. A solution in the student edition stops the build:
    the PDF is handed to learners."""
    entries = exercise_entries(root)
    assembly, rows = Assembly([e.docname for e in entries]), []
    for entry, path in zip(entries, workbook_inputs(root, out)):
        content = article(path)
        if content.select_one(TRAINER_ONLY) is not None:
            raise BuildFailed(f"{path} shows a solution or trainer notes; the student workbook cannot use it")
        rows.append((entry, None, _heading(content, None)))
        _answer_spaces(content)
        h1 = content.find("h1")
        learner = _soup('<div class="learner-line"><span>Name / learner id:</span><span class="blank"></span>'
                        "</div>")
        (h1.parent if h1 else content).insert(0, learner)
        assembly.add(entry.docname, content)
    note = "Write your answers in the ruled space after each task. All names, numbers, addresses and events " \
           "in the exercises are fictional."
    body = (_title_page(root, "Student workbook", "Exercises", note)
            + _contents(rows, assembly.slugs) + assembly.html())
    return page_document("Student workbook", "Student workbook", body)


def _answer_spaces(content) -> None:
    for task in content.select("div.exercise"):
        title = task.select_one(".admonition-title")
        name = title.get_text(" ", strip=True) if title else "the task"
        words = len(task.get_text(" ", strip=True).split())
        lines = "".join('<div class="rule"></div>' for _ in range(answer_lines(words)))
        together = task.wrap(_soup("").new_tag("div", attrs={"class": "task-with-answer"}))
        together.append(_soup(f'<div class="answer-space"><p class="answer-label">Your answer to '
                              f"{html.escape(name)}</p>{lines}</div>"))


def key_files(papers: Path) -> list[Path]:
    """The answer keys by quiz, then by seed as a number (seed 2 before seed 10)."""
    def order(path: Path) -> tuple[str, int, str]:
        found = re.fullmatch(r"(.*)-seed(\d+)-key", path.stem)
        return (found[1], int(found[2]), path.name) if found else (path.stem, 0, path.name)

    return sorted(papers.glob("*-key.html"), key=order)


def keys_inputs(root: Path, out: Path) -> list[Path]:
    return key_files(out / "papers")


def keys_document(root: Path, out: Path) -> str:
    """Every answer key, each from a new page, with the keys' own print styles left out for ours."""
    files = keys_inputs(root, out)
    assembly = Assembly([f"papers/{f.stem}" for f in files])
    for path in files:
        body = _soup(path.read_text(encoding="utf-8")).body
        for tag in body.select(".no-print, style, script"):
            tag.decompose()
        body["class"] = ["key"]
        assembly.add(f"papers/{path.stem}", body)
    for page in assembly.pages:
        page["class"] = ["page", "key"]
    return page_document("Answer keys", "Answer keys", assembly.html())


PDFS = (
    Pdf("trainer-handbook", "Trainer handbook", handbook_inputs, handbook_document),
    Pdf("student-workbook", "Student workbook", workbook_inputs, workbook_document),
    Pdf("answer-keys", "Answer keys", keys_inputs, keys_document),
)
BY_NAME = {pdf.name: pdf for pdf in PDFS}


# --- laying out, offline ------------------------------------------------------------------------------

def local_fetcher(allowed: Path):
    """A WeasyPrint URL fetcher that serves file: URLs under `allowed` and data: URLs, and refuses
    anything else, keeping what it refused in `.refused` (the PDFs must build with no network)."""
    from weasyprint import URLFetcher
    from weasyprint.logger import LOGGER

    class LocalFetcher(URLFetcher):
        def __init__(self):
            super().__init__(allowed_protocols=("file", "data"))
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            scheme = urlsplit(url).scheme.lower()
            if scheme == "data" or (scheme == "file" and _under(url, allowed)):
                return super().fetch(url, headers)
            self.refused.append(url)
            LOGGER.error("refused to fetch %s: the PDFs are built offline from %s", url, allowed)
            raise ValueError(f"refused to fetch {url}")

    return LocalFetcher()


def _under(url: str, folder: Path) -> bool:
    from urllib.request import url2pathname

    path = Path(url2pathname(urlsplit(url).path)).resolve()
    return path.is_relative_to(folder.resolve())


def render(document: str, target: Path, allowed: Path) -> dict:
    """Lay out and write one PDF; returns its pages, the seconds it took and the URLs refused."""
    from weasyprint import HTML

    start = time.perf_counter()
    fetcher = local_fetcher(allowed)
    laid_out = HTML(string=document, base_url=allowed.as_uri() + "/", url_fetcher=fetcher).render()
    partial = target.with_name(target.name + ".part")
    laid_out.write_pdf(partial, pdf_tags=True)  # tagged: headings, lists and tables for screen readers
    partial.replace(target)  # a PDF is there whole or not at all
    return {"pages": len(laid_out.pages), "seconds": round(time.perf_counter() - start, 2),
            "refused": fetcher.refused}


def make(name: str, root: Path, out: Path) -> dict:
    """One PDF from the built course: assemble its HTML and lay it out (run in a process of its own)."""
    pdf = BY_NAME[name]
    start = time.perf_counter()
    document = pdf.document(root, out)
    made = render(document, out / "pdf" / f"{name}.pdf", out)
    return {**made, "seconds": round(time.perf_counter() - start, 2)}


def digest(pdf: Pdf, files: list[Path]) -> str:
    import weasyprint

    found = hashlib.sha256(f"{weasyprint.__version__}\0".encode())
    for path in [Path(__file__), STYLESHEET, *files]:
        found.update(f"{path.name}\0".encode())
        found.update(path.read_bytes())
    return found.hexdigest()


def build_pdfs(root: Path, out: Path) -> str:
    """The part `pdf` of `thbcourse build`: every PDF whose inputs changed, side by side; returns the
    line that says what was done (with each PDF's pages and seconds)."""
    try:
        import weasyprint  # noqa: F401  (raises OSError when Pango is missing)
    except OSError:
        return PANGO_MISSING
    dest = out / "pdf"
    dest.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(dest)
    said, todo = {}, {}
    for pdf in PDFS:
        files = pdf.inputs(root, out)
        if not files:
            (dest / f"{pdf.name}.pdf").unlink(missing_ok=True)
            manifest.pop(pdf.name, None)
            said[pdf.name] = "skipped: no answer keys in papers/ (`thbcourse draw` writes them)"
            continue
        found = digest(pdf, files)
        if manifest.get(pdf.name, {}).get("digest") == found and (dest / f"{pdf.name}.pdf").is_file():
            said[pdf.name] = "unchanged"
        else:
            todo[pdf.name] = found
    refused = []
    for name, made in _make_all(list(todo), root, out):
        manifest[name] = {**made, "digest": todo[name] if not made["refused"] else ""}
        said[name] = f"{made['pages']} pages in {made['seconds']:.1f} s"
        refused += [f"{name}.pdf: refused to fetch {url}" for url in made["refused"]]
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    if refused:
        raise BuildFailed("the PDFs must build offline, but:\n" + "\n".join(refused))
    return f"{dest} ({'; '.join(f'{name}.pdf {said[name]}' for name in BY_NAME if name in said)})"


def _read_manifest(dest: Path) -> dict:
    try:
        return json.loads((dest / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _make_all(names: list[str], root: Path, out: Path):
    """(name, result) of each PDF: in this process when there is one, else in processes side by side,
    the largest first (a spawned process starts clean, whatever threads the caller runs)."""
    workers = min(len(names), os.cpu_count() or 1)
    if workers <= 1:
        for name in names:
            yield name, make(name, root, out)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {name: pool.submit(make, name, root, out) for name in names}
        for name, future in futures.items():
            yield name, future.result()

