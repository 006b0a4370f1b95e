"""Printable papers and the trainer's answer key, in Markdown and in HTML (with a print style sheet).

The key names the section that teaches each question as the book numbers it ("4.1 Recruitment ›
Online recruitment channels"); `book` is the folder that holds book/ and _toc.yml.
"""
from __future__ import annotations

import html
from functools import partial
from pathlib import Path

from thbcourse.engine.answers import letter
from thbcourse.engine.draw import Paper, PaperItem

BOOK = Path(".")

_HOW = {
    "single": "Choose one answer.",
    "multiple": "Choose every correct answer (wrong choices cost marks).",
    "true_false": "True or false?",
    "matching": "Match each numbered item with one lettered item (some letters are not used).",
    "ordering": "Put the lettered items in the right order.",
    "short_answer": "Write a short answer.",
    "numeric": "Give a number.",
}


def points_text(p: float) -> str:
    return f"{p:g} point" + ("" if p == 1 else "s")


def paper_facts(paper: Paper) -> str:
    """'Paper exam / seed 3 · 30 questions · 30 points · pass mark 70 % · 45 minutes'"""
    bp = paper.blueprint
    facts = [f"{len(paper.items)} questions", f"{paper.max_score:g} points", f"pass mark {bp.pass_mark:g} %"]
    if bp.time_limit:
        facts.append(f"{bp.time_limit} minutes")
    return f"Paper {bp.id} / seed {paper.seed} · " + " · ".join(facts)


def _header(paper: Paper) -> list[str]:
    return [f"# {paper.blueprint.title}", "", paper_facts(paper), ""]


def choices(item: PaperItem) -> list[tuple[str, str]]:
    """(label, text) of what the paper shows under the stem, in display order."""
    q = item.question
    if q.type in ("single", "multiple"):
        return [(letter(n), q.options[i].text) for n, i in enumerate(item.order)]
    if q.type == "ordering":
        return [(letter(n), q.items[i]) for n, i in enumerate(item.order)]
    if q.type == "matching":
        rights = [p.right for p in q.pairs] + list(q.distractors)
        return [(str(n + 1), p.left) for n, p in enumerate(q.pairs)] + [
            (letter(n), rights[i]) for n, i in enumerate(item.order)]
    if q.type == "true_false":
        return [("", "True / False")]
    return [("", "Answer: ______________________" + (f" {q.unit}" if getattr(q, "unit", "") else ""))]


def key_text(item: PaperItem) -> str:
    """The correct answer, written in the paper's own labels."""
    q = item.question
    position = {canonical: n for n, canonical in enumerate(item.order)}
    if q.type in ("single", "multiple"):  # letters in the paper's order: A, C (not C, A)
        return ", ".join(sorted(letter(position[i]) for i, o in enumerate(q.options) if o.correct))
    if q.type == "true_false":
        return "True" if q.answer else "False"
    if q.type == "matching":
        return " ".join(f"{n + 1}{letter(position[n])}" for n in range(len(q.pairs)))
    if q.type == "ordering":
        return " ".join(letter(position[i]) for i in range(len(q.items)))
    if q.type == "short_answer":
        return " / ".join(q.answers)
    return f"{q.value:g}" + (f" ± {q.tolerance:g}" if q.tolerance else "") + (f" {q.unit}" if q.unit else "")


def paper_markdown(paper: Paper) -> str:
    out = _header(paper) + ["Name or learner id: ______________________", ""]
    for item in paper.items:
        q = item.question
        out += [f"## Question {item.number} ({points_text(item.points)})", "", q.stem.strip(), "", f"*{_HOW[q.type]}*", ""]
        for label, text in choices(item):
            out.append(f"- **{label}** {text}" if label else f"- {text}")
        out.append("")
    return "\n".join(out)


def key_markdown(paper: Paper, book: Path = BOOK) -> str:
    from thbcourse.book.sections import kept_places

    out = _header(paper)[:1] + ["", f"**Answer key for trainers** · paper {paper.blueprint.id} / seed {paper.seed}", ""]
    with kept_places(book) as place:
        for item in paper.items:
            q = item.question
            out += [f"## Question {item.number}: {key_text(item)}", "",
                    f"{q.id} · {q.type} · difficulty {q.difficulty} · objective `{q.objective}`", "",
                    q.feedback.strip(), "", f"Section: {place(q.source).name}", ""]
    return "\n".join(out)


_CSS = """
body { font-family: Georgia, 'DejaVu Serif', serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #111; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.1rem; margin-top: 1.6rem; }
.meta { color: #444; } ol.choices { list-style: none; padding-left: 0; }
ol.choices li { margin: .3rem 0; } .label { font-weight: bold; display: inline-block; min-width: 1.6rem; }
.how { font-style: italic; color: #333; } .book-section { font-weight: bold; }
section.question { break-inside: avoid; page-break-inside: avoid; }
@media print { body { margin: 0; max-width: none; font-size: 11pt; } a { color: inherit; text-decoration: none; }
  .no-print { display: none; } @page { margin: 18mm; } }
"""


def _page(title: str, body: list[str]) -> str:
    return "\n".join(["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
                      '<meta name="viewport" content="width=device-width, initial-scale=1">',
                      f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>", *body, "</body></html>"])


def paper_html(paper: Paper) -> str:
    from thbcourse.deliveries.markdown import to_html, to_inline_html  # markdown-it: for HTML only

    bp = paper.blueprint
    body = [f"<h1>{html.escape(bp.title)}</h1>", f'<p class="meta">{html.escape(_header(paper)[2])}</p>',
            "<p>Name or learner id: ______________________</p>"]
    for item in paper.items:
        q = item.question
        body += [f'<section class="question"><h2>Question {item.number} ({points_text(item.points)})</h2>',
                 to_html(q.stem), f'<p class="how">{_HOW[q.type]}</p>', '<ol class="choices">']
        for label, text in choices(item):
            body.append(f'<li><span class="label">{html.escape(label)}</span> {to_inline_html(text)}</li>')
        body.append("</ol></section>")
    return _page(bp.title, body)


def key_html(paper: Paper, book: Path = BOOK) -> str:
    from thbcourse.book.sections import kept_places
    from thbcourse.deliveries.markdown import to_html

    bp = paper.blueprint
    body = [f"<h1>{html.escape(bp.title)}: answer key</h1>",
            f'<p class="meta">For trainers · paper {html.escape(bp.id)} / seed {paper.seed}</p>']
    with kept_places(book) as place:
        for item in paper.items:
            q = item.question
            body += [f'<section class="question"><h2>Question {item.number}: {html.escape(key_text(item))}</h2>',
                     f'<p class="meta">{html.escape(q.id)} · {q.type} · difficulty {q.difficulty} · objective '
                     f'<code>{html.escape(q.objective)}</code></p>', to_html(q.feedback),
                     f'<p class="book-section">Section: {html.escape(place(q.source).name)}</p></section>']
    return _page(f"{bp.title}: answer key", body)


def write_paper(paper: Paper, out: Path, formats: tuple[str, ...] = ("md", "html"), *,
                book: Path = BOOK) -> list[Path]:
    """Write the paper and its key; each file is written whole or not at all."""
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{paper.blueprint.id}-seed{paper.seed}"
    render = {"md": (paper_markdown, partial(key_markdown, book=book)),
              "html": (paper_html, partial(key_html, book=book))}
    written = []
    for fmt in formats:
        for suffix, fn in zip(("", "-key"), render[fmt]):
            target = out / f"{stem}{suffix}.{fmt}"
            tmp = target.with_suffix(target.suffix + ".tmp")
            tmp.write_text(fn(paper), encoding="utf-8")
            tmp.replace(target)
            written.append(target)
    return written
