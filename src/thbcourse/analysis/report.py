"""The item analysis as a CSV for spreadsheets and one self-contained HTML page for trainers.

The page needs nothing but itself: CSS in a style element, plots drawn here as inline SVG, no
script and no address of anything outside the file, so it opens offline and prints as it shows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from thbcourse.analysis.distractors import ChoiceTable
from thbcourse.analysis.items import (HIGH_FACILITY, LOW_DISCRIMINATION, LOW_FACILITY, ItemStats,
                                      QuizFigures)
from thbcourse.bank.model import Question
from thbcourse.store.exports import neutralise, write_csv

CSV_HEADER = ["question", "type", "attempts", "points", "mean", "facility", "sd", "discrimination",
              "discriminative efficiency", "flags"]
POLICY_TEXT = {"first": "the first complete attempt of each learner", "all": "every complete attempt"}


@dataclass
class Analysis:
    """Everything the report shows about one quiz."""

    quiz: str
    title: str
    policy: str  # first | all
    items: list[ItemStats]  # in bank order
    figures: QuizFigures
    choices: dict[str, ChoiceTable] = field(default_factory=dict)  # question id -> what was chosen
    questions: dict[str, Question] = field(default_factory=dict)  # the items that the banks still hold


def write_report(stats: Analysis, out_dir: Path) -> list[Path]:
    """Write <quiz>-item-analysis.csv and .html into out_dir; returns [csv_path, html_path]."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"{stats.quiz}-item-analysis.csv"
    html_path = out_dir / f"{stats.quiz}-item-analysis.html"
    write_csv(csv_path, CSV_HEADER, (_csv_row(stats, item) for item in stats.items))
    html_path.write_text(render_html(stats), encoding="utf-8")
    return [csv_path, html_path]


def _number(value: float | None, digits: int = 4):
    """A number cell: a spreadsheet reads it as a number; an undefined value is an empty cell."""
    return "" if value is None else round(value, digits)


def _csv_row(stats: Analysis, item: ItemStats) -> list:
    question = stats.questions.get(item.question_id)
    return [neutralise(item.question_id), question.type if question else "", item.n, _number(item.points),
            _number(item.mean), _number(item.facility), _number(item.sd), _number(item.discrimination),
            _number(item.efficiency), neutralise("; ".join(item.flags))]


# ---- HTML -------------------------------------------------------------------------------------

CSS = """
body { font-family: system-ui, sans-serif; color: #1a1a1a; max-width: 72rem; margin: 1.5rem auto;
       padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #999; }
table { border-collapse: collapse; margin: 0.8rem 0 1.2rem; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
th, td { border: 1px solid #999; padding: 0.25rem 0.5rem; vertical-align: top; }
th { background: #eceff3; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.flag { color: #8a1c00; font-weight: 600; }
.key { font-weight: 700; }
.note { color: #444; }
svg { max-width: 100%; height: auto; font-family: system-ui, sans-serif; }
@media print { h2 { break-after: avoid; } table, svg { break-inside: avoid; } }
"""


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} %"


def _num_cell(text: str) -> str:
    return f'<td class="num">{escape(text)}</td>'


def _excerpt(question: Question | None, length: int = 90) -> str:
    if question is None:
        return "(no longer in the banks)"
    text = " ".join(re.sub(r"[*_`#>]", "", question.stem).split())
    return text if len(text) <= length else text[:length - 1].rstrip() + "…"


def render_html(stats: Analysis) -> str:
    figures = stats.figures
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Item analysis: {escape(stats.title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>Item analysis: {escape(stats.title)} <span class=\"note\">({escape(stats.quiz)})</span></h1>",
        f"<p>{figures.attempts} attempt(s): {escape(POLICY_TEXT.get(stats.policy, stats.policy))}. "
        f"{len(stats.items)} question(s) appeared on the papers.</p>",
        '<h2 id="quiz">The quiz as a whole</h2>',
        _figures_table(figures),
        histogram_svg(figures.percents),
        '<h2 id="questions">Questions</h2>',
        scatter_svg(stats.items),
        _items_table(stats),
        '<h2 id="choices">What learners chose</h2>',
        *(_choice_section(n, stats, item) for n, item in enumerate(stats.items, 1)),
        '<h2 id="reading">How to read this report</h2>',
        READING,
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _figures_table(f: QuizFigures) -> str:
    if f.alpha is None:
        alpha = f"n/a: {escape(f.alpha_note or '')}"
        sem = "n/a (it needs Cronbach's alpha)"
    else:
        alpha = f"{f.alpha:.2f} (over the {f.common_items} questions that are on every paper)"
        sem = f"{f.sem:.2f} marks ({f.sem_percent:.1f} % of those questions' maximum)"
    rows = [("Attempts analysed", str(f.attempts)), ("Mean score", _pct(f.mean_percent, 1)),
            ("Median score", _pct(f.median_percent, 1)), ("Standard deviation", _pct(f.sd_percent, 1)),
            ("Cronbach's alpha", alpha), ("Standard error of measurement", sem)]
    body = "\n".join(f'<tr><th scope="row">{label}</th><td>{value}</td></tr>' for label, value in rows)
    caption = "Figures for the whole quiz (scores as a percentage of each paper's maximum)"
    return f"<table>\n<caption>{caption}</caption>\n{body}\n</table>"


def _items_table(stats: Analysis) -> str:
    head = ("#", "Question", "Type", "Stem", "Attempts", "Points", "Mean", "Facility", "SD", "Discrimination",
            "Discriminative efficiency", "Flags")
    lines = ["<table>", "<caption>Statistics per question (n/a: not defined, the marks do not vary)</caption>",
             "<thead><tr>" + "".join(f'<th scope="col">{h}</th>' for h in head) + "</tr></thead>", "<tbody>"]
    for n, item in enumerate(stats.items, 1):
        q = stats.questions.get(item.question_id)
        flags = "<br>".join(f'<span class="flag">{escape(f)}</span>' for f in item.flags) or "none"
        eff = None if item.efficiency is None else 100 * item.efficiency
        lines.append(
            f'<tr><td class="num">{n}</td><th scope="row">{escape(item.question_id)}</th>'
            f"<td>{escape(q.type if q else '?')}</td><td>{escape(_excerpt(q))}</td>"
            + _num_cell(str(item.n)) + _num_cell(f"{item.points:g}") + _num_cell(_fmt(item.mean))
            + _num_cell(_fmt(item.facility)) + _num_cell(_fmt(item.sd)) + _num_cell(_fmt(item.discrimination))
            + _num_cell(_pct(eff)) + f"<td>{flags}</td></tr>")
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines)


LABEL_HEADER = {"single": "Option", "multiple": "Option", "true_false": "Answer", "matching": "Left item",
                "ordering": "Order given", "short_answer": "Answer (normalised)", "numeric": "Value"}


def _choice_section(n: int, stats: Analysis, item: ItemStats) -> str:
    qid = item.question_id
    heading = f"<h3>{n}. {escape(qid)}</h3>"
    table = stats.choices.get(qid)
    if table is None:
        return heading + '\n<p class="note">This question is no longer in the banks: its answers cannot be read.</p>'
    heading += f"\n<p>{escape(_excerpt(stats.questions.get(qid), 200))}</p>"
    share = len(table.columns) == 1 and table.attempts
    head = [LABEL_HEADER[table.question_type], *(c.capitalize() for c in table.columns)]
    head += ["% of attempts"] if share else []
    keyed = any(row.key is not None for row in table.rows)  # matching counts right and wrong per row instead
    head += ["Right answer"] if keyed else []
    lines = [heading, "<table>", f"<caption>{escape(qid)}: what the {table.attempts} attempt(s) chose</caption>",
             "<thead><tr>" + "".join(f'<th scope="col">{escape(h)}</th>' for h in head) + "</tr></thead>",
             "<tbody>"]
    for row in table.rows:
        key = {True: '<td class="key">yes</td>', False: "<td>no</td>", None: "<td></td>"}[row.key] if keyed else ""
        cells = "".join(_num_cell(str(c)) for c in row.counts)
        if share:
            cells += _num_cell(_pct(100 * row.counts[0] / table.attempts))
        lines.append(f'<tr><th scope="row">{escape(row.label)}</th>{cells}{key}</tr>')
    lines += ["</tbody>", "</table>"]
    notes = [f"{table.unanswered} attempt(s) left it unanswered."] if table.unanswered else []
    if table.unfitting:
        notes.append(f"{table.unfitting} answer(s) no longer fit the question as the bank has it now.")
    if notes:
        lines.append(f'<p class="note">{" ".join(notes)}</p>')
    return "\n".join(lines)


READING = """<dl>
<dt>Facility</dt><dd>The mean mark as a share of the question's points (0 to 1): below 0.2 the question is too hard
for this group, above 0.9 too easy to tell anyone apart.</dd>
<dt>Discrimination</dt><dd>The correlation between the mark on the question and the rest of the paper (the
total without that question), over the attempts that had it. Below 0.20 the question separates strong from
weak learners poorly; below 0 the stronger learners did worse on it: check the key.</dd>
<dt>Discriminative efficiency</dt><dd>How much of the discrimination the question's marks could reach at
best (the covariance with the rest of the paper divided by the largest the two distributions allow).
Moodle calls a question below 15 % dubious.</dd>
<dt>Cronbach's alpha</dt><dd>p/(p&#8722;1) &#215; (1 &#8722; sum of the questions' variances / variance of the
totals), over the p questions on every paper: how consistently the quiz measures. Standard error of
measurement = SD of the totals &#215; &#8730;(1 &#8722; alpha).</dd>
<dt>n/a</dt><dd>Not defined: the value needs a spread of marks (or two attempts) that the data do not have.</dd>
</dl>"""


# ---- plots --------------------------------------------------------------------------------------

def _svg_open(name: str, width: int, height: int, title: str, desc: str) -> str:
    return (f'<figure>\n<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-labelledby="{name}-title {name}-desc">\n'
            f'<title id="{name}-title">{escape(title)}</title>\n<desc id="{name}-desc">{escape(desc)}</desc>')


def _axes(width: int, height: int, left: int, right: int, top: int, bottom: int, x_label: str, y_label: str) -> str:
    """The two axis lines and their labels around a plot area."""
    base, middle = height - bottom, top + (height - top - bottom) / 2
    return (f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#333"/>'
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="#333"/>'
            f'<text x="{(left + width - right) / 2:.1f}" y="{height - 8}" text-anchor="middle" font-size="13">'
            f"{escape(x_label)}</text>"
            f'<text x="14" y="{middle:.1f}" text-anchor="middle" font-size="13" '
            f'transform="rotate(-90 14 {middle:.1f})">{escape(y_label)}</text>')


def histogram_svg(percents: tuple[float, ...]) -> str:
    """Attempts per 10-point band of the total score (100 % falls in the last band)."""
    counts = [0] * 10
    for p in percents:
        counts[min(9, max(0, int(p // 10)))] += 1
    width, height, left, right, top, bottom = 560, 300, 50, 20, 20, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    step = max(1, -(-max(counts, default=0) // 5))  # about five gridlines
    y_max = max(step, -(-max(counts, default=0) // step) * step)
    bands = ", ".join(f"{10 * i}–{10 * i + 10} %: {c}" for i, c in enumerate(counts))
    parts = [_svg_open("histogram", width, height, "Total scores of the attempts",
                       f"Histogram of {len(percents)} total scores in bands of 10 percentage points. {bands}.")]
    for tick in range(0, y_max + 1, step):
        y = top + plot_h - plot_h * tick / y_max
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12">{tick}</text>')
    bar_w = plot_w / 10
    for i, count in enumerate(counts):
        h = plot_h * count / y_max
        x, y = left + i * bar_w, top + plot_h - h
        parts.append(f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bar_w - 4:.1f}" height="{h:.1f}" fill="#2f5d8a">'
                     f"<title>{10 * i}–{10 * i + 10} %: {count} attempt(s)</title></rect>")
    for i in range(11):
        x = left + i * bar_w
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 18}" text-anchor="middle" font-size="12">{10 * i}</text>')
    parts += [_axes(width, height, left, right, top, bottom, "total score (%)", "attempts"),
              "</svg>", "<figcaption>Total scores: attempts per band of 10 percentage points.</figcaption>",
              "</figure>"]
    return "\n".join(parts)


def scatter_svg(items: list[ItemStats]) -> str:
    """Facility (x, 0 to 1) against discrimination (y, -1 to 1), with the usual limits drawn in."""
    width, height, left, right, top, bottom = 560, 380, 56, 20, 20, 50
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(f: float) -> float:
        return left + plot_w * f

    def sy(d: float) -> float:
        return top + plot_h * (1 - d) / 2

    plotted = [(n, item) for n, item in enumerate(items, 1) if item.discrimination is not None]
    low = sum(item.discrimination < LOW_DISCRIMINATION for _, item in plotted)
    left_out = len(items) - len(plotted)
    desc = (f"{len(plotted)} question(s) plotted by facility and discrimination; {low} below the "
            f"{LOW_DISCRIMINATION:.2f} line." + (f" {left_out} question(s) without a discrimination "
                                                 "(their marks do not vary) are left out." if left_out else ""))
    parts = [_svg_open("scatter", width, height, "Facility against discrimination", desc),
             f'<rect x="{sx(LOW_FACILITY):.1f}" y="{top}" width="{sx(HIGH_FACILITY) - sx(LOW_FACILITY):.1f}" '
             f'height="{plot_h}" fill="#e6f0e6"><title>facility from {LOW_FACILITY} to {HIGH_FACILITY}</title></rect>']
    for tick in (-1.0, -0.5, 0.0, 0.5, 1.0):
        parts.append(f'<line x1="{left}" y1="{sy(tick):.1f}" x2="{width - right}" y2="{sy(tick):.1f}" '
                     f'stroke="{"#888" if tick == 0 else "#ddd"}"/>'
                     f'<text x="{left - 6}" y="{sy(tick) + 4:.1f}" text-anchor="end" font-size="12">{tick:g}</text>')
    for tick in (0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0):
        parts.append(f'<text x="{sx(tick):.1f}" y="{top + plot_h + 18}" text-anchor="middle" '
                     f'font-size="12">{tick:g}</text>')
    parts.append(f'<line x1="{left}" y1="{sy(LOW_DISCRIMINATION):.1f}" x2="{width - right}" '
                 f'y2="{sy(LOW_DISCRIMINATION):.1f}" stroke="#8a1c00" stroke-dasharray="6 4"/>'
                 f'<text x="{width - right - 4}" y="{sy(LOW_DISCRIMINATION) - 5:.1f}" text-anchor="end" '
                 f'font-size="12" fill="#8a1c00">discrimination {LOW_DISCRIMINATION:.2f}</text>')
    for n, item in plotted:
        x, y = sx(item.facility), sy(item.discrimination)
        parts.append(f'<g><title>{n}. {escape(item.question_id)}: facility {item.facility:.2f}, '
                     f'discrimination {item.discrimination:.2f}</title>'
                     f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#2f5d8a" stroke="#fff"/>'
                     f'<text x="{x + 7:.1f}" y="{y - 6:.1f}" font-size="11">{n}</text></g>')
    parts += [_axes(width, height, left, right, top, bottom, "facility", "discrimination"),
              "</svg>",
              "<figcaption>Each point is a question (numbered as in the table below). The shaded band is facility "
              f"{LOW_FACILITY} to {HIGH_FACILITY}; points below the dashed line discriminate poorly.</figcaption>",
              "</figure>"]
    return "\n".join(parts)
