"""The cohort report: one offline HTML page, CSV tables and an XLSX workbook from a `GainReport`.

The page needs nothing but itself: CSS in a style element, plots drawn by matplotlib as SVG and put
inline, no script and no address outside the file. Text in the plots is written as paths
(svg.fonttype 'path', matplotlib's own DejaVu Sans): the report looks the same on every machine,
with no font to install or embed; each plot carries a title and a description for screen readers,
and every number it shows is also in a table. The SVG is made safe for the classroom app's content
security policy (no style attributes, no style element: presentation attributes instead), so the
trainer's page embeds exactly the same figures.
"""
from __future__ import annotations

import io
import re
from html import escape
from pathlib import Path

from thbcourse.analysis.gain import Estimate, GainReport, Learner, Paired
from thbcourse.analysis.report import _excerpt
from thbcourse.store.exports import _atomic_target, neutralise, write_csv

POLICY_TEXT = {
    "first": "the first complete post-test attempt of each learner",
    "best": "the best complete post-test attempt of each learner (highest percent; the earliest of equals)",
    "last": "the last complete post-test attempt of each learner",
}
PRE_COLOUR, POST_COLOUR, FLAG_COLOUR = "#8c8c8c", "#1f5a8c", "#a3280f"


# ---- numbers as text ----------------------------------------------------------------------------------

def pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} %"


def num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def interval(e: Estimate, digits: int = 1, unit: str = "") -> str:
    if e.low is None or e.high is None:
        return "n/a"
    return f"{e.low:.{digits}f}{unit} to {e.high:.{digits}f}{unit}"


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "cohort"


# ---- plots --------------------------------------------------------------------------------------------

RC = {"svg.fonttype": "path", "svg.hashsalt": "thbcourse", "font.size": 10, "axes.spines.top": False,
      "axes.spines.right": False, "font.family": "DejaVu Sans"}


def _figure(width: float, height: float):
    from matplotlib.figure import Figure  # no pyplot: no global state, safe in the web app's threads

    return Figure(figsize=(width, height), layout="constrained")


def _svg(fig, name: str, title: str, desc: str) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return inline_svg(buffer.getvalue(), name, title, desc)


_STYLE = re.compile(r'\sstyle="([^"]*)"')
_IDS = re.compile(r'(\bid="|xlink:href="#|href="#|url\(#)([^")]+)')


def inline_svg(svg: str, name: str, title: str, desc: str) -> str:
    """matplotlib's SVG as an inline element: no XML prolog, ids made unique to the figure, styles as
    presentation attributes (a content security policy without 'unsafe-inline' allows them), and
    a title and description for assistive technology."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = re.sub(r"<style[^>]*>.*?</style>", "", svg, flags=re.S)
    svg = re.sub(r"<defs>\s*</defs>", "", svg)

    def attributes(match: re.Match) -> str:
        pairs = [p.split(":", 1) for p in match.group(1).split(";") if ":" in p]
        return "".join(f' {k.strip()}="{escape(v.strip(), quote=True)}"' for k, v in pairs)

    svg = _STYLE.sub(attributes, svg)
    svg = _IDS.sub(lambda m: f"{m.group(1)}{name}-{m.group(2)}", svg)
    head_end = svg.index(">") + 1
    head = svg[:head_end]
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    head = head.replace("<svg", f'<svg role="img" aria-labelledby="{name}-title {name}-desc" '
                               'stroke-linejoin="round" stroke-linecap="butt" class="plot"', 1)
    return (head + f'<title id="{name}-title">{escape(title)}</title><desc id="{name}-desc">{escape(desc)}</desc>'
            + svg[head_end:])


def objectives_plot(report: GainReport) -> str:
    """Per objective: mean pre-test and post-test percent of the paired learners, joined by a line."""
    import matplotlib

    rows = [b for b in report.objectives if b.n]
    if not rows:
        return ""
    rows.sort(key=lambda b: b.key, reverse=True)  # top to bottom in id order
    with matplotlib.rc_context(RC):
        fig = _figure(7.6, 0.6 + 0.27 * len(rows))
        ax = fig.add_subplot()
        y = range(len(rows))
        for i, b in zip(y, rows):
            ax.plot([b.pre, b.post], [i, i], color="#b9c6d3", linewidth=2.2, zorder=1)
        ax.scatter([b.pre for b in rows], list(y), s=28, facecolors="white", edgecolors=PRE_COLOUR,
                   linewidths=1.4, label="pre-test", zorder=2)
        ax.scatter([b.post for b in rows], list(y), s=30, color=POST_COLOUR, label="post-test", zorder=3)
        ax.axvline(report.threshold, color=FLAG_COLOUR, linestyle="--", linewidth=1)
        ax.text(report.threshold, len(rows) - 0.3, f" {report.threshold:g} %", color=FLAG_COLOUR, fontsize=8,
                va="bottom")
        ax.set_yticks(list(y), [b.key for b in rows], fontsize=8)
        for tick, b in zip(ax.get_yticklabels(), rows):
            if b.flagged:
                tick.set_color(FLAG_COLOUR)
        ax.set_xlim(0, 100)
        ax.set_ylim(-0.7, len(rows) - 0.1)
        ax.set_xlabel("mean percent of the objective's points (learners with both tests)")
        ax.grid(axis="x", color="#e3e3e3")
        ax.legend(loc="lower right", fontsize=8, frameon=True)
    desc = "; ".join(f"{b.key}: {num(b.pre, 0)} to {num(b.post, 0)} %" for b in sorted(rows, key=lambda b: b.key))
    return _svg(fig, "objectives", "Pre-test and post-test per objective", desc)


def distribution_plot(report: GainReport) -> str:
    """Histogram of pre-test and post-test percents (everyone who took each), bands of 10 points."""
    import matplotlib
    import numpy as np

    pre = [x.pre for x in report.learners if x.pre is not None]
    post = [x.post for x in report.learners if x.post is not None]
    if not pre and not post:
        return ""
    edges = np.arange(0, 101, 10)
    counts_pre = np.histogram(np.clip(pre, 0, 100), edges)[0] if pre else np.zeros(10, int)
    counts_post = np.histogram(np.clip(post, 0, 100), edges)[0] if post else np.zeros(10, int)
    with matplotlib.rc_context(RC):
        fig = _figure(7.6, 3.0)
        ax = fig.add_subplot()
        ax.bar(edges[:-1] + 2.6, counts_pre, width=4.6, color=PRE_COLOUR, label=f"pre-test ({len(pre)})")
        ax.bar(edges[:-1] + 7.4, counts_post, width=4.6, color=POST_COLOUR, label=f"post-test ({len(post)})")
        ax.axvline(report.threshold, color=FLAG_COLOUR, linestyle="--", linewidth=1)
        ax.set_xlim(0, 100)
        ax.set_xticks(edges)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("score (% of the paper)")
        ax.set_ylabel("learners")
        ax.legend(fontsize=8)
        ax.grid(axis="y", color="#e3e3e3")
        ax.set_axisbelow(True)
    bands = ", ".join(f"{lo}-{lo + 10} %: {a} before, {b} after" for lo, a, b in zip(edges[:-1], counts_pre, counts_post))
    return _svg(fig, "distribution", "Scores on the pre-test and the post-test", bands)


def cohorts_plot(report: GainReport) -> str:
    """Mean pre-test and post-test of each cohort with pairs, oldest first, with the intervals."""
    import matplotlib

    lines = report.cohorts
    if len(lines) < 2:
        return ""
    with matplotlib.rc_context(RC):
        fig = _figure(7.6, 0.7 + 0.34 * len(lines))
        ax = fig.add_subplot()
        ordered = list(reversed(lines))
        for i, c in enumerate(ordered):
            f = c.figures
            for e, colour, offset in ((f.mean_pre, PRE_COLOUR, 0.12), (f.mean_post, POST_COLOUR, -0.12)):
                if e.low is not None:
                    ax.plot([e.low, e.high], [i + offset] * 2, color=colour, linewidth=1.4)
                ax.scatter([e.value], [i + offset], color=colour, s=22, zorder=3)
        ax.set_yticks(range(len(ordered)), [f"{c.cohort} (n={c.figures.n})" for c in ordered], fontsize=8)
        for tick, c in zip(ax.get_yticklabels(), ordered):
            if c.current:
                tick.set_fontweight("bold")
        ax.set_xlim(0, 100)
        ax.set_xlabel("mean score (%), with 95 % intervals: pre-test grey, post-test blue")
        ax.grid(axis="x", color="#e3e3e3")
    desc = "; ".join(f"{c.cohort}: {num(c.figures.mean_pre.value, 0)} to {num(c.figures.mean_post.value, 0)} %"
                     for c in lines)
    return _svg(fig, "cohorts", "Cohorts compared", desc)


# ---- HTML ---------------------------------------------------------------------------------------------

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1a1a1a;
       max-width: 74rem; margin: 1.5rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #999; }
table { border-collapse: collapse; margin: 0.8rem 0 1.2rem; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
th, td { border: 1px solid #999; padding: 0.25rem 0.5rem; vertical-align: top; }
th { background: #eceff3; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.flag { color: #a3280f; font-weight: 600; }
.note { color: #444; }
th .note { font-weight: 400; }
td.teaching { min-width: 20rem; }
svg.plot { width: 100%; max-width: 48rem; height: auto; display: block; }
figure { margin: 1rem 0; }
@media print { h2 { break-after: avoid; } table, svg { break-inside: avoid; } }
"""


def _cell(text: str) -> str:
    return f'<td class="num">{escape(text)}</td>'


def _table(caption: str, head: list[str], rows: list[str]) -> str:
    return ("<table>\n" + f"<caption>{caption}</caption>\n<thead><tr>"
            + "".join(f'<th scope="col">{h}</th>' for h in head) + "</tr></thead>\n<tbody>\n"
            + "\n".join(rows) + "\n</tbody>\n</table>")


def _summary(report: GainReport) -> str:
    f = report.cohort_figures
    n = f"{report.resamples:,} resamples, seed {report.seed}"
    rows = [("Learners with both tests", str(f.n), ""),
            ("Mean pre-test", pct(f.mean_pre.value), interval(f.mean_pre, 1, " %")),
            ("Mean post-test", pct(f.mean_post.value), interval(f.mean_post, 1, " %")),
            ("Mean gain (percentage points)", num(f.mean_gain.value, 1), interval(f.mean_gain)),
            ("Normalised gain &lt;g&gt; (Hake)", num(f.hake.value), interval(f.hake, 2)),
            ("Average of individual normalised gains", num(f.mean_g.value), interval(f.mean_g, 2)),
            ("Effect size d<sub>z</sub> (mean gain / SD of gains)", num(f.d_z.value), interval(f.d_z, 2)),
            ("SD of the gains (percentage points)", num(f.sd_gain, 1), ""),
            ("Paired t-test, two-sided p", "n/a" if f.p_value is None else f"{f.p_value:.2g}", "")]
    body = [f'<tr><th scope="row">{label}</th>{_cell(value)}{_cell(ci)}</tr>' for label, value, ci in rows]
    notes = []
    if f.at_ceiling:
        notes.append(f"{f.at_ceiling} learner(s) scored 100 % on the pre-test: they have no room to gain and are "
                     "left out of the average of individual normalised gains (they count everywhere else).")
    if f.n < 2:
        notes.append("Intervals, the SD and the effect size need at least two learners with both tests.")
    elif f.n < 10:
        notes.append("Fewer than 10 learners with both tests: the intervals are rough.")
    table = _table(f"The cohort (95 % intervals: percentile bootstrap over learners, {n})",
                   ["Figure", "Value", "95 % interval"], body)
    return table + "".join(f'\n<p class="note">{escape(n)}</p>' for n in notes)


def _who(report: GainReport) -> str:
    parts = []
    for status, label in (("only pre-test", "Took only the pre-test"), ("only post-test", "Took only the post-test"),
                          ("neither", "Took neither test")):
        people = report.having(status)
        if people:
            names = ", ".join(escape(x.code) for x in people)
            parts.append(f"<li>{label} ({len(people)}): {names}</li>")
    if not parts:
        return "<p>Every learner of the cohort took both tests.</p>"
    return ("<p>Learners without both tests are not in the gain figures; they are listed here and in the "
            "learners table.</p>\n<ul>\n" + "\n".join(parts) + "\n</ul>")


def _teaching_cell(report: GainReport, oid: str) -> str:
    t = report.teaching.get(oid)
    if t is None:
        return "<td></td>"
    bits = []
    if t.sections:
        bits.append("Re-read: " + "; ".join(escape(name) for name, _ in t.sections))
    if t.exercises:
        bits.append("Exercises: " + ", ".join(escape(e) for e in t.exercises))
    if t.self_checks:
        bits.append("Self-checks: " + ", ".join(escape(title) for _, title in t.self_checks))
    return '<td class="teaching">' + "<br>".join(bits) + "</td>"


def _objectives(report: GainReport) -> str:
    head = ["Objective", "Learners (both)", "Pre", "Post", "Gain (points)", "95 % interval", "&lt;g&gt;",
            "Post-test mastery (learners)", "What teaches it"]
    rows = []
    for b in report.objectives:
        text = report.objective_texts.get(b.key, "")
        name = f'<th scope="row">{escape(b.key)}' + (f'<br><span class="note">{escape(text)}</span>' if text else "") + "</th>"
        flag = f' <span class="flag">below {report.threshold:g} %</span>' if b.flagged else ""
        rows.append(f"<tr>{name}{_cell(str(b.n))}{_cell(pct(b.pre, 0))}{_cell(pct(b.post, 0))}"
                    f"{_cell(num(b.gain.value, 1))}{_cell(interval(b.gain))}{_cell(num(b.hake))}"
                    f'<td class="num">{escape(pct(b.mastery, 0))} ({b.mastery_n}){flag}</td>'
                    + (_teaching_cell(report, b.key) if b.flagged else "<td></td>") + "</tr>")
    flagged = sum(b.flagged for b in report.objectives)
    caption = (f"Per objective: {flagged} objective(s) below {report.threshold:g} % post-test mastery, flagged with "
               "what teaches them")
    return _table(caption, head, rows)


def _topics(report: GainReport) -> str:
    rows = [f'<tr><th scope="row">{escape(b.key)}</th>{_cell(str(b.n))}{_cell(pct(b.pre, 0))}{_cell(pct(b.post, 0))}'
            f"{_cell(num(b.gain.value, 1))}{_cell(interval(b.gain))}{_cell(num(b.hake))}</tr>" for b in report.topics]
    return _table("Per topic", ["Topic", "Learners (both)", "Pre", "Post", "Gain (points)", "95 % interval",
                                "&lt;g&gt;"], rows)


def _missed(rows: list[dict], caption: str) -> str:
    if not rows:
        return "<p>No answers recorded.</p>"
    body = [f'<tr><th scope="row">{escape(r["id"])}</th><td>{escape(_excerpt(r["question"]))}</td>'
            f'<td>{escape(r["objective"] or "")}</td>{_cell(str(r["n"]))}{_cell(pct(r["percent"], 0))}</tr>'
            for r in rows]
    return _table(caption, ["Question", "Stem", "Objective", "Answered by", "Mean mark"], body)


def _cohorts(report: GainReport) -> str:
    if not report.cohorts:
        return "<p>No cohort has learners with both tests yet.</p>"
    body = []
    for c in report.cohorts:
        f = c.figures
        name = escape(c.cohort) + (" (this cohort)" if c.current else "")
        body.append(f'<tr><th scope="row">{name}</th><td>{c.created:%Y-%m-%d}</td>{_cell(str(f.n))}'
                    f"{_cell(pct(f.mean_pre.value))}{_cell(pct(f.mean_post.value))}{_cell(num(f.mean_gain.value, 1))}"
                    f"{_cell(num(f.hake.value))}{_cell(interval(f.hake, 2))}{_cell(num(f.d_z.value))}</tr>")
    return _table("Every cohort with learners who took both tests, oldest first",
                  ["Cohort", "Created", "Learners (both)", "Mean pre", "Mean post", "Gain", "&lt;g&gt;",
                   "95 % interval of &lt;g&gt;", "d<sub>z</sub>"], body)


def _learners(report: GainReport) -> str:
    body = []
    below = 0
    for x in report.learners:
        low = x.post is not None and x.post < report.threshold - 1e-9
        below += low
        post = escape(pct(x.post)) + (' <span class="flag">below</span>' if low else "")
        body.append(f'<tr><th scope="row">{escape(x.code)}</th><td>{escape(x.status)}</td>'
                    f'{_cell(pct(x.pre))}<td class="num">{post}</td>{_cell(num(x.gain, 1))}{_cell(num(x.g))}'
                    f"{_cell(str(x.post_attempts))}</tr>")
    note = (f'<p>{below} learner(s) scored below {report.threshold:g} % on the post-test. Each learner\'s own '
            "list of what to revise (from every attempt, not only the tests): <code>thbcourse revise --learner ID"
            "</code>, or for the whole cohort <code>thbcourse revise --cohort NAME --out revise.csv</code>.</p>")
    return note + _table("Per learner (g: individual normalised gain; n/a at 100 % on the pre-test)",
                         ["Learner", "Tests taken", "Pre", "Post", "Gain", "g", "Post-test attempts"], body)


READING = """<dl>
<dt>Gain</dt><dd>Post-test percent minus pre-test percent, in percentage points, for the learners who took both.</dd>
<dt>Normalised gain &lt;g&gt; (Hake)</dt><dd>(mean post &#8722; mean pre) / (100 &#8722; mean pre): the share of
the possible improvement that the cohort achieved. Around 0.3 is usual for lecture-based teaching, 0.5 and
above for interactive teaching (Hake 1998).</dd>
<dt>Average of individual normalised gains</dt><dd>The mean of (post &#8722; pre) / (100 &#8722; pre) over the
learners below 100 % on the pre-test.</dd>
<dt>Effect size d<sub>z</sub></dt><dd>Mean gain divided by the standard deviation of the gains: how large the
improvement is against how much it varies from learner to learner (0.2 small, 0.5 medium, 0.8 large).</dd>
<dt>95 % interval</dt><dd>Percentile bootstrap: the learners are resampled with replacement, the figure computed
on each resample; the interval holds the middle 95 % of them. The seed fixes the resamples, so the same
gradebook always gives the same report.</dd>
<dt>Post-test mastery</dt><dd>The mean post-test percent on an objective's questions over every learner whose
post-test tested it (also those without a pre-test). Objectives below the threshold are flagged with the book
sections, exercises and self-checks that teach them.</dd>
<dt>n/a</dt><dd>Not defined for these data (for example an SD with one learner, or &lt;g&gt; when the pre-test
mean is 100 %).</dd>
</dl>"""


def render_body(report: GainReport, plots: dict[str, str] | None = None) -> str:
    """The report without the page around it (the trainer page embeds it as it is)."""
    plots = plots if plots is not None else make_plots(report)
    f = report.cohort_figures
    intro = (f"<p>Pre-test <strong>{escape(report.pre_title)}</strong> ({escape(report.pre)}): the first complete "
             f"attempt of each learner. Post-test <strong>{escape(report.post_title)}</strong> ({escape(report.post)}): "
             f"{escape(POLICY_TEXT[report.policy])} (policy <code>{escape(report.policy)}</code>). "
             f"{len(report.learners)} learner(s) in the cohort, {f.n} with both tests.</p>")

    def figure(key: str, caption: str) -> str:
        return f"<figure>{plots[key]}<figcaption>{caption}</figcaption></figure>" if plots.get(key) else ""

    parts = [
        intro,
        '<h2 id="cohort">Did the cohort learn?</h2>', _summary(report), _who(report),
        '<h2 id="objectives">What did it learn? Per objective</h2>',
        figure("objectives", "Mean pre-test (open circle) and post-test (dot) per objective, learners with both "
                             f"tests; objectives in red are below {report.threshold:g} % post-test mastery."),
        _objectives(report), _topics(report),
        '<h2 id="distribution">Distribution of scores</h2>',
        figure("distribution", "Learners per band of 10 percentage points, everyone who took each test."),
        '<h2 id="missed">Questions most got wrong</h2>',
        _missed(report.missed, f"Post-test: the {len(report.missed)} questions with the lowest mean mark"),
        _missed(report.pre_missed, f"Pre-test: the {len(report.pre_missed)} questions with the lowest mean mark"),
        '<h2 id="cohorts">Compared with other cohorts</h2>',
        figure("cohorts", "Mean pre-test and post-test per cohort, with 95 % intervals; this cohort in bold."),
        _cohorts(report),
        '<h2 id="learners">Who needs help</h2>',
        _learners(report),
        '<h2 id="reading">How to read this report</h2>', READING,
    ]
    return "\n".join(p for p in parts if p)


def make_plots(report: GainReport) -> dict[str, str]:
    return {"objectives": objectives_plot(report), "distribution": distribution_plot(report),
            "cohorts": cohorts_plot(report)}


def render_html(report: GainReport) -> str:
    title = f"Learning gain: {report.cohort}"
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>", "<main>",
        f"<h1>{escape(title)}</h1>", render_body(report), "</main>", "</body>", "</html>"]) + "\n"


# ---- tables: CSV and XLSX -------------------------------------------------------------------------------

def _r(value: float | None, digits: int = 2):
    return None if value is None else round(value, digits)


def summary_table(report: GainReport) -> tuple[list[str], list[list]]:
    f: Paired = report.cohort_figures
    rows = [["learners in the cohort", len(report.learners), None, None],
            ["learners with both tests", f.n, None, None],
            ["learners with only the pre-test", len(report.having("only pre-test")), None, None],
            ["learners with only the post-test", len(report.having("only post-test")), None, None],
            ["learners with neither test", len(report.having("neither")), None, None]]
    for label, e, digits in (("mean pre-test %", f.mean_pre, 2), ("mean post-test %", f.mean_post, 2),
                             ("mean gain (points)", f.mean_gain, 2), ("normalised gain <g> (Hake)", f.hake, 4),
                             ("average individual normalised gain", f.mean_g, 4), ("effect size d_z", f.d_z, 4)):
        rows.append([label, _r(e.value, digits), _r(e.low, digits), _r(e.high, digits)])
    rows += [["SD of the gains", _r(f.sd_gain), None, None],
             ["paired t-test p", None if f.p_value is None else float(f"{f.p_value:.4g}"), None, None],
             ["learners at 100 % on the pre-test", f.at_ceiling, None, None],
             [f"policy: {report.policy}; pre-test {report.pre} (first attempt); post-test {report.post}; "
              f"bootstrap {report.resamples} resamples, seed {report.seed}", None, None, None]]
    return ["figure", "value", "95 % low", "95 % high"], rows


def learner_table(report: GainReport) -> tuple[list[str], list[list]]:
    keys = [b.key for b in report.objectives]
    header = ["learner", "tests taken", "pre %", "post %", "gain", "normalised gain", "pre-test date (UTC)",
              "post-test date (UTC)", "post-test attempts"]
    header += [f"{side} % {k}" for k in keys for side in ("pre", "post")]
    rows = []
    _, before, after = report.cells["objectives"]
    for i, x in enumerate(report.learners):
        row = [x.code, x.status, _r(x.pre), _r(x.post), _r(x.gain), _r(x.g, 4), _date(x.pre_at), _date(x.post_at),
               x.post_attempts]
        for b, a in zip(before[i].tolist(), after[i].tolist()):
            row += [None if b != b else round(b, 2), None if a != a else round(a, 2)]
        rows.append(row)
    return header, rows


def objective_table(report: GainReport) -> tuple[list[str], list[list]]:
    header = ["objective", "learners with both", "mean pre %", "mean post %", "mean gain", "gain 95 % low",
              "gain 95 % high", "normalised gain", "post-test mastery %", "post-test learners",
              f"below {report.threshold:g} %", "sections to re-read", "exercises", "self-checks"]
    rows = []
    for b in report.objectives:
        t = report.teaching.get(b.key)
        rows.append([b.key, b.n, _r(b.pre), _r(b.post), _r(b.gain.value), _r(b.gain.low), _r(b.gain.high),
                     _r(b.hake, 4), _r(b.mastery), b.mastery_n, "yes" if b.flagged else "no",
                     "; ".join(n for n, _ in t.sections) if t else "", "; ".join(t.exercises) if t else "",
                     "; ".join(i for i, _ in t.self_checks) if t else ""])
    return header, rows


def _date(value) -> str | None:
    return None if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def _csv_rows(rows: list[list]) -> list[list]:
    return [[neutralise(v) for v in row] for row in rows]


def write_report(report: GainReport, out_dir: Path, *, xlsx: bool = False) -> list[Path]:
    """<slug>-gain.html, -gain-summary.csv, -gain-learners.csv, -gain-objectives.csv (and -gain.xlsx)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / f"{slug(report.cohort)}-gain"
    written = []
    tables = {"summary": summary_table(report), "learners": learner_table(report), "objectives": objective_table(report)}
    for name, (header, rows) in tables.items():
        path = base.with_name(f"{base.name}-{name}.csv")
        write_csv(path, header, iter(_csv_rows(rows)))
        written.append(path)
    if xlsx:
        written.append(write_xlsx(report, base.with_suffix(".xlsx"), tables))
    html = base.with_suffix(".html")
    tmp = _atomic_target(html)
    try:
        tmp.write_text(render_html(report), encoding="utf-8")
        tmp.replace(html)
    finally:
        tmp.unlink(missing_ok=True)
    return [html, *written]


def write_xlsx(report: GainReport, path: Path, tables: dict | None = None) -> Path:
    from thbcourse.store.xlsx import write_book

    tables = tables or {"summary": summary_table(report), "learners": learner_table(report),
                        "objectives": objective_table(report)}
    tmp = _atomic_target(path)
    try:
        write_book(tmp, [(name, header, rows) for name, (header, rows) in tables.items()])
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def learners_without_pairs(report: GainReport) -> list[Learner]:
    return [x for x in report.learners if x.status != "both"]
