"""Item statistics (the formulas of Moodle's quiz statistics), from marks alone: no database here.

The input is one mapping per attempt, question id -> (score, max), holding only the questions on
that attempt's paper: papers are drawn at random, so an item is judged over the attempts that had it.
With x the mark on an item, X the attempt's total and X - x the rest of the paper (variances and
covariances with divisor s - 1):

- facility F = mean(x / max) (= mean(x) / max when the item's points never change)
- discrimination D = corr(x, X - x)
- discriminative efficiency = cov(x, X - x) / cov(sorted x, sorted X - x), the largest covariance
  the two distributions allow
- Cronbach's alpha = p / (p - 1) * (1 - sum Var(x_i) / Var(X)), over the p items on every paper
  (X = the total over those items), and SEM = SD(X) * sqrt(1 - alpha)

A value that needs a variance which is zero (everyone got the same mark) is None, never NaN.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Marks = Mapping[str, tuple[float, float]]  # question id -> (score, max) on one attempt

LOW_DISCRIMINATION, LOW_FACILITY, HIGH_FACILITY, LOW_EFFICIENCY = 0.20, 0.20, 0.90, 0.15
REVISE = "discrimination < 0.20: revise"
CHECK_KEY = "negative discrimination: check the key"
TOO_HARD = "facility < 0.20: too hard"
TOO_EASY = "facility > 0.90: too easy"
DUBIOUS = "discriminative efficiency < 15 %: dubious"


@dataclass(frozen=True)
class ItemStats:
    question_id: str
    n: int  # attempts whose paper had the item
    points: float  # the item's maximum (the largest, should blueprints have given it different points)
    mean: float  # mean mark
    facility: float  # 0..1
    sd: float | None  # of the mark; None with fewer than 2 attempts
    discrimination: float | None  # -1..1
    efficiency: float | None  # -1..1 (shown as a percentage)
    flags: tuple[str, ...]


@dataclass(frozen=True)
class QuizFigures:
    attempts: int
    percents: tuple[float, ...]  # each attempt's total as a percentage of its paper's maximum
    mean_percent: float
    median_percent: float
    sd_percent: float | None
    common_items: int  # p: the items on every paper, which alpha is computed over
    alpha: float | None
    sem: float | None  # in marks, over the common items
    sem_percent: float | None  # of the common items' maximum
    alpha_note: str | None  # why alpha is not defined


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def variance(values: Sequence[float]) -> float | None:
    return covariance(values, values)


def covariance(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Sample covariance (divisor s - 1); None below 2 values; a rounding-level result is 0."""
    if len(a) < 2:
        return None
    ma, mb = mean(a), mean(b)
    value = math.fsum((x - ma) * (y - mb) for x, y in zip(a, b)) / (len(a) - 1)
    scale = (1.0 + abs(ma)) * (1.0 + abs(mb))
    return 0.0 if abs(value) <= 1e-12 * scale else value


def _sd(values: Sequence[float]) -> float | None:
    v = variance(values)
    return None if v is None else math.sqrt(v)


def correlation(a: Sequence[float], b: Sequence[float]) -> float | None:
    va, vb = variance(a), variance(b)
    if not va or not vb:  # None (too few values) or 0 (no spread): not defined
        return None
    return max(-1.0, min(1.0, covariance(a, b) / math.sqrt(va * vb)))


def efficiency(x: Sequence[float], rest: Sequence[float]) -> float | None:
    if not variance(x) or not variance(rest):
        return None
    largest = covariance(sorted(x), sorted(rest))  # > 0 whenever both vary
    return covariance(x, rest) / largest if largest else None


def median(values: Sequence[float]) -> float:
    ordered, middle = sorted(values), len(values) // 2
    return ordered[middle] if len(values) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def flags(facility: float, discrimination: float | None, efficiency_: float | None) -> tuple[str, ...]:
    """A negative discrimination gets 'check the key' alone: it is the stronger form of 'revise'."""
    out = []
    if discrimination is not None:
        if discrimination < 0:
            out.append(CHECK_KEY)
        elif discrimination < LOW_DISCRIMINATION:
            out.append(REVISE)
    if facility < LOW_FACILITY:
        out.append(TOO_HARD)
    elif facility > HIGH_FACILITY:
        out.append(TOO_EASY)
    if efficiency_ is not None and efficiency_ < LOW_EFFICIENCY:
        out.append(DUBIOUS)
    return tuple(out)


def item_statistics(attempts: Sequence[Marks]) -> list[ItemStats]:
    """One entry per question that appears on any paper, by question id."""
    totals = [math.fsum(score for score, _ in marks.values()) for marks in attempts]
    rows: dict[str, list[tuple[float, float, float]]] = {}  # question -> (x, max, X) per attempt with it
    for marks, total in zip(attempts, totals):
        for qid, (score, mx) in marks.items():
            rows.setdefault(qid, []).append((score, mx, total))
    out = []
    for qid in sorted(rows):
        x = [r[0] for r in rows[qid]]
        rest = [r[2] - r[0] for r in rows[qid]]
        facility = mean([r[0] / r[1] for r in rows[qid]])
        d, e = correlation(x, rest), efficiency(x, rest)
        out.append(ItemStats(qid, len(x), max(r[1] for r in rows[qid]), mean(x), facility, _sd(x), d, e,
                             flags(facility, d, e)))
    return out


def quiz_figures(attempts: Sequence[Marks]) -> QuizFigures:
    percents = tuple(100.0 * math.fsum(s for s, _ in m.values()) / math.fsum(mx for _, mx in m.values())
                     for m in attempts)
    common = sorted(set.intersection(*(set(m) for m in attempts))) if attempts else []
    alpha = sem = sem_percent = note = None
    if len(attempts) < 2:
        note = f"not defined: it needs at least 2 attempts and there is {len(attempts)}"
    elif len(common) < 2:
        note = (f"not defined: it needs at least 2 questions that are on every paper and there "
                f"{'is' if len(common) == 1 else 'are'} {len(common)} (papers are drawn at random)")
    else:
        p = len(common)
        totals = [math.fsum(m[q][0] for q in common) for m in attempts]
        var_total = variance(totals)
        if not var_total:
            note = "not defined: every attempt has the same total on the questions that are on every paper"
        else:
            item_variances = math.fsum(variance([m[q][0] for m in attempts]) for q in common)
            alpha = p / (p - 1) * (1.0 - item_variances / var_total)
            sem = math.sqrt(var_total) * math.sqrt(max(0.0, 1.0 - alpha))  # alpha <= 1 up to rounding
            top = mean([math.fsum(m[q][1] for q in common) for m in attempts])
            sem_percent = 100.0 * sem / top
    return QuizFigures(len(attempts), percents, mean(percents) if percents else 0.0,
                     median(percents) if percents else 0.0, _sd(percents), len(common), alpha, sem,
                     sem_percent, note)
