"""Learning gain of a cohort: the pre-test against the post-test, per learner, objective and topic.

gradebook -> `load_pairs` (a few grouped queries: per attempt, per attempt x objective, per attempt x
topic, per question; nothing per learner) -> `paired` (the statistics, numpy) -> `GainReport`, which
`cohort_report` writes as HTML, CSV and XLSX and the trainer page shows. docs/learning-gain.md has
the formulas; in short, over the n learners with both tests (percent of each paper's maximum):

- gain_i = post_i - pre_i; the cohort's mean pre, mean post and mean gain;
- Hake's class-average normalised gain <g> = (mean post - mean pre) / (100 - mean pre);
- the average of individual normalised gains g_i = (post_i - pre_i) / (100 - pre_i), over the
  learners with pre_i < 100 (a learner at 100 % on the pre-test has no room to gain: counted, and
  left out of that mean only);
- the effect size of the paired difference d_z = mean gain / SD of the gains (SD with n - 1);
- a paired t-test's two-sided p-value (scipy);
- 95 % confidence intervals by the percentile bootstrap: B resamples of the learners with
  replacement (as multinomial counts, so every statistic of one resample comes from the same drawn
  learners), from numpy's generator seeded with `seed`: the same gradebook and seed give the same
  report. A statistic undefined in a resample (an SD of 0, a mean pre-test of 100 %) leaves that
  resample out; when more than half are left out, or n < 2, there is no interval.

Which attempts count: the first complete pre-test attempt of each learner (a retaken pre-test has
seen the questions), and the post-test attempt the policy picks: first, best or last, exactly as
`scores export --policy` ranks attempts (`thbcourse.store.exports.ORDER`). Only complete attempts
count. Per objective and topic a learner's percent is the points scored over the points at stake
on that paper's questions of the objective (topic); an objective that one of the two papers did
not test leaves that learner out of the objective's pairs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from contextlib import closing

from sqlalchemy import Connection, exists, func, select, union_all

from thbcourse.store.exports import ORDER, _cursor, _exported
from thbcourse.store.gradebook import GradebookError, cohort_id
from thbcourse.store.tables import attempts, cohorts, learners, memberships, responses

POLICIES = ("first", "best", "last")  # `scores export` has 'all' too: a gain needs one attempt a side
PRE_POLICY = "first"
THRESHOLD = 70.0  # percent: objectives below it on the post-test are flagged
RESAMPLES = 2000
LEVEL = 0.95
SEED = 1
MOST_MISSED = 10


@dataclass(frozen=True)
class Estimate:
    """A statistic and its bootstrap confidence interval (None where not defined)."""

    value: float | None
    low: float | None = None
    high: float | None = None


@dataclass
class Paired:
    """The paired statistics of pre and post percents (one pair per learner)."""

    n: int
    mean_pre: Estimate
    mean_post: Estimate
    mean_gain: Estimate
    hake: Estimate  # class-average normalised gain
    mean_g: Estimate  # average of individual normalised gains
    d_z: Estimate  # effect size of the paired difference
    sd_gain: float | None
    p_value: float | None  # paired t-test, two-sided
    at_ceiling: int  # learners with pre = 100 % (left out of mean_g)


def _mean(x: np.ndarray) -> float | None:
    return float(x.mean()) if len(x) else None


def _hake(pre: float | None, post: float | None) -> float | None:
    if pre is None or post is None or pre >= 100 - 1e-9:
        return None
    return (post - pre) / (100 - pre)


def _interval(samples: np.ndarray, level: float) -> tuple[float | None, float | None]:
    finite = samples[np.isfinite(samples)]
    if len(finite) * 2 < len(samples) or not len(finite):
        return None, None
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def resample_counts(n: int, *, seed: int = SEED, resamples: int = RESAMPLES) -> np.ndarray:
    """B x n: how often each of n learners is drawn in each bootstrap resample (rows sum to n).

    Drawn in blocks of rows, so that no temporary is larger than a block (a 2,000 x 2,000 matrix of
    indices would cost more to allocate than to fill)."""
    rng = np.random.default_rng(seed)
    counts = np.empty((resamples, n), dtype=np.float64)
    block = max(1, min(resamples, 1_000_000 // max(n, 1)))
    offsets = (np.arange(block, dtype=np.int64) * n)[:, None]
    for start in range(0, resamples, block):
        rows = min(block, resamples - start)
        drawn = rng.integers(0, n, size=(rows, n)) + offsets[:rows]
        counts[start:start + rows] = np.bincount(drawn.ravel(), minlength=rows * n).reshape(rows, n)
    return counts


def paired(pre, post, *, seed: int = SEED, resamples: int = RESAMPLES, level: float = LEVEL,
           counts: np.ndarray | None = None) -> Paired:
    """Every cohort statistic of the pairs (pre_i, post_i), with bootstrap intervals."""
    pre, post = np.asarray(pre, dtype=np.float64), np.asarray(post, dtype=np.float64)
    n = len(pre)
    diff = post - pre
    room = pre < 100 - 1e-9
    g = np.where(room, diff / np.where(room, 100 - pre, 1.0), 0.0)
    sd = float(diff.std(ddof=1)) if n >= 2 else None
    mean_pre, mean_post, mean_gain = _mean(pre), _mean(post), _mean(diff)
    values = {
        "mean_pre": mean_pre, "mean_post": mean_post, "mean_gain": mean_gain,
        "hake": _hake(mean_pre, mean_post),
        "mean_g": float(g[room].mean()) if room.any() else None,
        "d_z": mean_gain / sd if sd else None,
    }
    intervals: dict[str, tuple] = {}
    if n >= 2 and resamples:
        c = resample_counts(n, seed=seed, resamples=resamples) if counts is None else counts
        with np.errstate(divide="ignore", invalid="ignore"):
            m_pre, m_post, m_diff = c @ pre / n, c @ post / n, c @ diff / n
            var = (c @ (diff * diff) - n * m_diff ** 2) / (n - 1)
            sd_b = np.sqrt(np.clip(var, 0, None))
            samples = {
                "mean_pre": m_pre, "mean_post": m_post, "mean_gain": m_diff,
                "hake": np.where(m_pre < 100 - 1e-9, (m_post - m_pre) / (100 - m_pre), np.nan),
                "mean_g": (c @ (g * room)) / (c @ room.astype(np.float64)),
                "d_z": np.where(sd_b > 1e-9, m_diff / sd_b, np.nan),
            }
        intervals = {k: _interval(v, level) for k, v in samples.items()}
    p_value = None
    if n >= 2 and sd:
        from scipy import stats

        p_value = float(stats.ttest_rel(post, pre).pvalue)
    est = {k: Estimate(v, *(intervals.get(k, (None, None)) if v is not None else (None, None)))
           for k, v in values.items()}
    return Paired(n=n, sd_gain=sd, p_value=p_value, at_ceiling=int(n - room.sum()), **est)


def mean_intervals(rows: np.ndarray, mask: np.ndarray, counts: np.ndarray | None,
                   level: float = LEVEL) -> list[tuple[float | None, float | None]]:
    """Bootstrap intervals of column means where only `mask`ed cells count, all columns at once.

    rows: n learners x k columns (e.g. the gain per objective), mask the same shape (1: a value).
    """
    if counts is None or not rows.size:
        return [(None, None)] * rows.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        means = (counts @ (rows * mask)) / (counts @ mask)
    found = []
    for j in range(rows.shape[1]):
        found.append(_interval(means[:, j], level) if mask[:, j].sum() >= 2 else (None, None))
    return found


# ---- from the gradebook ---------------------------------------------------------------------------

@dataclass
class Learner:
    code: str
    pre: float | None = None  # percent of the paper
    post: float | None = None
    pre_at: datetime | None = None
    post_at: datetime | None = None
    pre_attempts: int = 0  # complete attempts of each test (the chosen one counts)
    post_attempts: int = 0

    @property
    def status(self) -> str:
        if self.pre is not None and self.post is not None:
            return "both"
        return "only pre-test" if self.pre is not None else "only post-test" if self.post is not None else "neither"

    @property
    def gain(self) -> float | None:
        return None if self.status != "both" else self.post - self.pre

    @property
    def g(self) -> float | None:
        return _hake(self.pre, self.post) if self.status == "both" else None


@dataclass
class Pairs:
    """A cohort's learners with their chosen pre-test and post-test results, and per question."""

    cohort: str
    pre: str
    post: str
    policy: str
    learners: list[Learner]
    questions: list[tuple[str, str, int, float, float]]  # (test blueprint, question id, n, score, max)
    # "objectives" and "topics" -> (keys, pre %, post %): learners x keys in the order of `learners`, NaN
    # where that learner's paper did not test the key
    cells: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = field(default_factory=dict)


def _percent(score, most) -> float | None:
    return None if not most else 100.0 * score / most


def _members(cid):
    return exists().where(memberships.c.learner_id == attempts.c.learner_id, memberships.c.cohort_id == cid)


def chosen_attempts(cid: int, pre: str, post: str, policy: str):
    """The counted attempts (id, learner_id, blueprint): the first pre-test and the policy's post-test
    of each member, ranked as `scores export` ranks them (thbcourse.store.exports.ORDER)."""
    if policy not in POLICIES:
        raise ValueError(f"attempt policy must be one of {', '.join(POLICIES)}")
    a = attempts.c
    parts = []
    for blueprint, rule in ((pre, PRE_POLICY), (post, policy)):
        rank = func.row_number().over(partition_by=(a.learner_id, a.blueprint), order_by=ORDER[rule]).label("rank")
        ranked = select(a.id, a.learner_id, a.blueprint, rank).where(
            a.status == "complete", a.blueprint == blueprint, _members(cid)).subquery()
        parts.append(select(ranked.c.id, ranked.c.learner_id, ranked.c.blueprint).where(ranked.c.rank == 1))
    return union_all(*parts)


def load_pairs(conn: Connection, *, cohort: str, pre: str, post: str, policy: str = "first") -> Pairs:
    cid = cohort_id(conn, cohort)
    chosen = chosen_attempts(cid, pre, post, policy).subquery()
    by_id = {lid: Learner(code) for lid, code in conn.execute(
        select(learners.c.id, learners.c.code).join(memberships, memberships.c.learner_id == learners.c.id)
        .where(memberships.c.cohort_id == cid).order_by(learners.c.code))}
    a = attempts.c
    partition = (a.learner_id, a.blueprint)
    ranked = (select(a.learner_id, a.blueprint, a.percent, a.finished_at,
                     func.row_number().over(partition_by=partition, order_by=ORDER[PRE_POLICY]).label("first"),
                     func.row_number().over(partition_by=partition, order_by=ORDER[policy]).label("chosen"),
                     func.count().over(partition_by=partition).label("taken"))
              .where(a.status == "complete", a.blueprint.in_((pre, post)), _members(cid))).subquery()
    r = ranked.c
    for lid, blueprint, percent, finished, taken in conn.execute(
            select(r.learner_id, r.blueprint, r.percent, r.finished_at, r.taken)
            .where(((r.blueprint == pre) & (r.first == 1)) | ((r.blueprint == post) & (r.chosen == 1)))):
        who = by_id[lid]
        if blueprint == pre:
            who.pre, who.pre_at, who.pre_attempts = percent, finished, taken
        else:
            who.post, who.post_at, who.post_attempts = percent, finished, taken
    picked = chosen.join(responses, responses.c.attempt_id == chosen.c.id)
    query = (select(chosen.c.learner_id, chosen.c.blueprint == pre, responses.c.question_id, responses.c.objective,
                    responses.c.topic, responses.c.score, responses.c.max_score).select_from(picked))
    with closing(_cursor(conn, query)) as cursor:  # one scan of the chosen responses, summed here two ways
        found = cursor.fetchall()
    cells, questions = _sums(found, list(by_id), pre, post)
    return Pairs(cohort, pre, post, policy, list(by_id.values()), questions, cells)


def _sums(rows, lids: list[int], pre: str, post: str):
    """(learner, is pre-test, question, objective, topic, score, max) rows, one per chosen response ->
    the percent matrices per objective and per topic, and per test and question (blueprint, question,
    n, score, max). Summed with numpy's bincount, which is cheaper than two grouped scans in SQL."""
    at = {lid: i for i, lid in enumerate(lids)}
    count = len(rows)
    columns = list(zip(*rows)) if rows else [()] * 7
    learner = np.fromiter(map(at.__getitem__, columns[0]), np.int64, count)
    is_pre = np.fromiter(columns[1], bool, count)
    score = np.array(columns[5], dtype=np.float64)
    most = np.array(columns[6], dtype=np.float64)
    weights = [np.where(is_pre, score, 0.0), np.where(is_pre, most, 0.0),
               np.where(is_pre, 0.0, score), np.where(is_pre, 0.0, most)]
    cells = {}
    for name, keyed in (("objectives", columns[3]), ("topics", columns[4])):
        keys, index = _indexed(keyed, count)
        width = max(len(keys), 1)
        flat = learner * width + index
        size = len(lids) * width
        sums = [np.bincount(flat, weights=w, minlength=size) for w in weights]
        with np.errstate(divide="ignore", invalid="ignore"):
            before = np.where(sums[1] > 0, 100.0 * sums[0] / sums[1], np.nan).reshape(len(lids), width)[:, :len(keys)]
            after = np.where(sums[3] > 0, 100.0 * sums[2] / sums[3], np.nan).reshape(len(lids), width)[:, :len(keys)]
        cells[name] = (keys, before, after)
    qids, index = _indexed(columns[2], count)
    flat = index * 2 + is_pre  # (question, post) then (question, pre)
    size = 2 * len(qids)
    n, scored, out_of = (np.bincount(flat, weights=w, minlength=size) for w in (None, score, most))
    questions = [(pre if k % 2 else post, qids[k // 2], int(n[k]), float(scored[k]), float(out_of[k]))
                 for k in range(size) if n[k]]
    return cells, questions


def _indexed(values, count: int) -> tuple[list[str], np.ndarray]:
    """The distinct values sorted, and each value's position among them (hashing, not sorting, the rows)."""
    keys = sorted(set(values))
    position = {k: i for i, k in enumerate(keys)}
    return keys, np.fromiter(map(position.__getitem__, values), np.int64, count)


def cohort_percents(conn: Connection, *, pre: str, post: str, policy: str) -> list[tuple[str, datetime, str, str, float]]:
    """(cohort, its creation, learner code, test blueprint, percent) of the counted attempts of every
    cohort, for the comparison with other cohorts (one query)."""
    a = attempts.c
    complete = [a.status == "complete"]
    chosen = union_all(_exported(PRE_POLICY, [*complete, a.blueprint == pre]),
                       _exported(policy, [*complete, a.blueprint == post])).subquery()  # every cohort
    return [tuple(r) for r in conn.execute(
        select(cohorts.c.name, cohorts.c.created_at, learners.c.code, a.blueprint, a.percent)
        .join(memberships, memberships.c.learner_id == a.learner_id)
        .join(cohorts, cohorts.c.id == memberships.c.cohort_id)
        .join(learners, learners.c.id == a.learner_id)
        .where(a.id.in_(select(chosen.c.id))))]


# ---- the report's figures ---------------------------------------------------------------------------

@dataclass
class Breakdown:
    """One objective or topic: paired figures, and the post-test mastery of everyone who took it."""

    key: str
    n: int  # learners with the key on both papers
    pre: float | None
    post: float | None
    gain: Estimate
    hake: float | None
    mastery: float | None  # mean post-test percent over every learner whose post-test tested it
    mastery_n: int
    flagged: bool = False


@dataclass
class CohortLine:
    cohort: str
    created: datetime
    figures: Paired
    current: bool = False


@dataclass
class GainReport:
    cohort: str
    pre: str
    post: str
    pre_title: str
    post_title: str
    policy: str
    threshold: float
    seed: int
    resamples: int
    learners: list[Learner]
    cohort_figures: Paired
    objectives: list[Breakdown]
    topics: list[Breakdown]
    missed: list[dict]  # the post-test's questions with the lowest mean mark
    pre_missed: list[dict]
    cohorts: list[CohortLine]
    cells: dict = field(default_factory=dict)  # Pairs.cells: per learner x objective (topic) percents
    teaching: dict = field(default_factory=dict)  # objective -> Teaching (sections, exercises, self-checks)
    objective_texts: dict[str, str] = field(default_factory=dict)

    def having(self, status: str) -> list[Learner]:
        return [x for x in self.learners if x.status == status]

    @property
    def paired_learners(self) -> list[Learner]:
        return self.having("both")


def _breakdowns(cells: tuple[list[str], np.ndarray, np.ndarray], both: np.ndarray, counts,
                threshold: float | None) -> list[Breakdown]:
    """Per key: the paired learners' means and gain (with intervals), and everyone's post-test mastery."""
    keys, before_all, after_all = cells
    before, after = before_all[both], after_all[both]
    mask = (np.isfinite(before) & np.isfinite(after)).astype(np.float64)
    rows = np.where(mask > 0, after - before, 0.0)
    intervals = mean_intervals(rows, mask, counts)
    k_of = mask.sum(axis=0)
    pre_sum = np.where(mask > 0, before, 0.0).sum(axis=0)
    post_sum = np.where(mask > 0, after, 0.0).sum(axis=0)
    tested = np.isfinite(after_all)
    mastery_n, mastery_sum = tested.sum(axis=0), np.where(tested, after_all, 0.0).sum(axis=0)
    found = []
    for j, key in enumerate(keys):
        k = int(k_of[j])
        mean_pre, mean_post = (float(pre_sum[j] / k), float(post_sum[j] / k)) if k else (None, None)
        gain = Estimate(mean_post - mean_pre, *intervals[j]) if k else Estimate(None)
        m = int(mastery_n[j])
        mastery = float(mastery_sum[j] / m) if m else None
        found.append(Breakdown(key, k, mean_pre, mean_post, gain, _hake(mean_pre, mean_post), mastery, m,
                               threshold is not None and mastery is not None and mastery < threshold - 1e-9))
    return found


def _missed(course, questions, blueprint: str, limit: int = MOST_MISSED) -> list[dict]:
    rows = [(score / most if most else None, qid, n) for test, qid, n, score, most in questions if test == blueprint]
    rows = sorted((r for r in rows if r[0] is not None), key=lambda r: (r[0], -r[2], r[1]))[:limit]
    found = []
    for share, qid, n in rows:
        q = course.questions.get(qid) if course is not None else None
        found.append({"id": qid, "percent": 100 * share, "n": n, "question": q,
                      "objective": q.objective if q else None, "source": q.source if q else None})
    return found


def _title(course, blueprint: str) -> str:
    bp = course.blueprints.get(blueprint) if course is not None else None
    return bp.title if bp else blueprint


def default_tests(course) -> tuple[str, str]:
    """The course's pre-test and post-test blueprints (by purpose); refused when not exactly one each."""
    found = {}
    for purpose in ("pre-test", "post-test"):
        ids = sorted(bp.id for bp in course.blueprints.values() if bp.purpose == purpose)
        if len(ids) != 1:
            raise GradebookError(f"the course has {len(ids)} {purpose} blueprint(s): name one with "
                                 f"--{purpose.split('-')[0]}" + (f" ({', '.join(ids)})" if ids else ""))
        found[purpose] = ids[0]
    return found["pre-test"], found["post-test"]


def gain_report(engine, course, cohort: str, *, pre: str | None = None, post: str | None = None,
                policy: str = "first", threshold: float = THRESHOLD, seed: int = SEED,
                resamples: int = RESAMPLES, book_root=None, compare: bool = True) -> GainReport:
    """Everything the cohort report shows. book_root: the folder of book/ and _toc.yml, for the
    sections and exercises that teach a flagged objective (None: question sources as they are)."""
    if policy not in POLICIES:
        raise GradebookError(f"attempt policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    if pre is None or post is None:
        default_pre, default_post = default_tests(course)
        pre, post = pre or default_pre, post or default_post
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # every figure from one snapshot
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            pairs = load_pairs(conn, cohort=cohort, pre=pre, post=post, policy=policy)
            others = cohort_percents(conn, pre=pre, post=post, policy=policy) if compare else []
    both = [x for x in pairs.learners if x.status == "both"]
    paired_rows = np.array([x.status == "both" for x in pairs.learners], dtype=bool)
    counts = resample_counts(len(both), seed=seed, resamples=resamples) if len(both) >= 2 and resamples else None
    figures = paired([x.pre for x in both], [x.post for x in both], seed=seed, resamples=resamples, counts=counts)
    report = GainReport(
        cohort=cohort, pre=pre, post=post, pre_title=_title(course, pre), post_title=_title(course, post),
        policy=policy, threshold=threshold, seed=seed, resamples=resamples, learners=pairs.learners,
        cohort_figures=figures, cells=pairs.cells,
        objectives=_breakdowns(pairs.cells["objectives"], paired_rows, counts, threshold),
        topics=_breakdowns(pairs.cells["topics"], paired_rows, counts, None),
        missed=_missed(course, pairs.questions, post), pre_missed=_missed(course, pairs.questions, pre),
        cohorts=_compare(others, cohort, pre, seed=seed, resamples=resamples, current_figures=figures))
    if course is not None:
        from thbcourse.analysis.teaching import objective_texts, teaching

        flagged = [b.key for b in report.objectives if b.flagged]
        report.teaching = teaching(course, flagged, book_root)
        report.objective_texts = objective_texts(book_root)
    return report


def _compare(rows, current: str, pre: str, *, seed: int, resamples: int,
             current_figures: Paired | None = None) -> list[CohortLine]:
    """Every cohort with paired learners, oldest first (the current one marked)."""
    per: dict[str, tuple] = {}
    for name, created, code, blueprint, percent in rows:
        entry = per.setdefault(name, (created, {}))
        entry[1].setdefault(code, [None, None])[0 if blueprint == pre else 1] = percent
    lines = []
    for name, (created, by_learner) in per.items():
        values = [v for v in by_learner.values() if v[0] is not None and v[1] is not None]
        if values:
            figures = current_figures if name == current and current_figures else paired(
                [v[0] for v in values], [v[1] for v in values], seed=seed, resamples=resamples)
            lines.append(CohortLine(name, created, figures, name == current))
    return sorted(lines, key=lambda c: (c.created, c.cohort))
