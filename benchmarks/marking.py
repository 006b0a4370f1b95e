"""(f) Marking whole papers drawn from the real banks, through `mark_paper`, against a bare scoring loop.

Papers: every blueprint in quizzes/, five seeds each. Each paper is marked for a class of learners
whose answers mix right, wrong, partly right (multiple, matching, ordering) and unanswered, in the
canonical form that the terminal quiz, CSV imports and the web app hand to `mark_paper`.

The baseline does the same comparisons with the keys worked out beforehand: chosen option against
the key, set intersection and the negative-marking penalty, matched pairs, right successors, the
normalised text against the accepted answers, the number against its range; it adds up the scores
and nothing more (no checks of the response, no Mark per item, no feedback). Both must give the
same total. Target: at least 1,000,000 responses a second of CPU, the best of three runs (as in a
class session or an import, where a paper is marked for many learners and the graders are warm).
Also shown: each learner on a paper object of their own, so that nothing made for a paper is reused.
"""
from __future__ import annotations

import random
import re
from pathlib import Path

from msgspec.structs import replace

from benchmarks.timing import best_of

from thbcourse.bank.course import load_course
from thbcourse.engine.attempt import mark_paper
from thbcourse.engine.draw import draw
from thbcourse.engine.grade import normalise_text

QUIZZES = Path(__file__).resolve().parents[1] / "quizzes"
SEEDS, LEARNERS, REPEAT = 5, 200, 3
TARGET = 1_000_000
SHARE = {"right": 0.45, "partly": 0.20, "wrong": 0.25, "unanswered": 0.10}


def answer(q, rng: random.Random):
    """A canonical response to q: right, partly right, wrong or unanswered (None)."""
    kind = rng.choices(list(SHARE), list(SHARE.values()))[0]
    if kind == "unanswered":
        return None
    if kind == "partly" and q.type not in ("multiple", "matching", "ordering"):
        kind = "wrong"  # all-or-nothing types have no partial answer
    if q.type in ("single", "multiple"):
        keys = [i for i, o in enumerate(q.options) if o.correct]
        others = [i for i, o in enumerate(q.options) if not o.correct]
        if q.type == "single":
            return keys[0] if kind == "right" else rng.choice(others)
        if kind == "right":
            return frozenset(keys)
        if kind == "partly":  # some of the keys, perhaps with a wrong option
            return frozenset(rng.sample(keys, max(1, len(keys) - 1)) + rng.sample(others, rng.randint(0, 1)))
        return frozenset(rng.sample(others, rng.randint(1, len(others))))
    if q.type == "true_false":
        return q.answer if kind == "right" else not q.answer
    if q.type == "matching":
        n_left, n_right = len(q.pairs), len(q.pairs) + len(q.distractors)
        if kind == "right":
            return {i: i for i in range(n_left)}
        wrong = rng.sample(range(n_left), 2 if kind == "partly" else n_left)
        return {i: (rng.choice([r for r in range(n_right) if r != i]) if i in wrong else i) for i in range(n_left)}
    if q.type == "ordering":
        order = list(range(len(q.items)))
        if kind == "right":
            return order
        if kind == "partly":  # two neighbours swapped
            p = rng.randrange(len(order) - 1)
            order[p], order[p + 1] = order[p + 1], order[p]
            return order
        return order[::-1]
    if q.type == "short_answer":
        if kind == "right":
            return rng.choice([q.answers[0], f"  {q.answers[-1].upper()} "])
        return rng.choice(["I do not know", "trafficking", q.answers[0] + " perhaps"])
    return q.value if kind == "right" else q.value + q.tolerance + 1.0


def workload(rng: random.Random):
    """[(paper, [responses of each learner])] for every blueprint x seed."""
    course = load_course([QUIZZES], book_root=None)
    work = []
    for blueprint in sorted(course.blueprints.values(), key=lambda b: b.id):
        for seed in range(1, SEEDS + 1):
            paper = draw(course, blueprint, seed)
            sheets = []
            for _ in range(LEARNERS):
                sheet = {}
                for item in paper.items:
                    response = answer(item.question, rng)
                    if response is not None:
                        sheet[item.question.id] = response
                sheets.append(sheet)
            work.append((paper, sheets))
    return work


def baseline_scorer(item, policy):
    """The comparisons marking makes for one item, with its keys worked out beforehand."""
    q, pts, partial = item.question, item.points, policy.partial_credit

    def credit(fraction: float) -> float:
        return pts * fraction if partial or fraction >= 1.0 else 0.0

    if q.type == "single":
        key = next(i for i, o in enumerate(q.options) if o.correct)
        return lambda r: pts if r == key else 0.0
    if q.type == "multiple":
        correct = frozenset(i for i, o in enumerate(q.options) if o.correct)
        wrong = len(q.options) - len(correct)
        k, penalty = len(correct), (1.0 / wrong if policy.negative_marking and wrong else 0.0)

        def multiple(r):
            hits = len(r & correct)
            return credit(max(0.0, hits / k - (len(r) - hits) * penalty))
        return multiple
    if q.type == "true_false":
        return lambda r: pts if r == q.answer else 0.0
    if q.type == "matching":
        n = len(q.pairs)
        return lambda r: credit(sum(a == b for a, b in r.items()) / n)
    if q.type == "ordering":
        n = len(q.items)
        return lambda r: credit(sum(r[p + 1] == r[p] + 1 for p in range(n - 1)) / (n - 1))
    if q.type == "short_answer":
        accepted = frozenset(normalise_text(a) for a in q.answers)
        patterns = [re.compile(p, re.IGNORECASE) for p in q.patterns]

        def short(r):
            text = normalise_text(r)
            return pts if text in accepted or any(p.fullmatch(text) for p in patterns) else 0.0
        return short
    slack = 1e-9 * max(1.0, abs(q.value))
    low, high = q.value - q.tolerance - slack, q.value + q.tolerance + slack
    return lambda r: pts if low <= r <= high else 0.0


def bench_marking() -> bool:
    work = workload(random.Random(1))
    count = sum(len(paper.items) * len(sheets) for paper, sheets in work)
    prepared = [([(item.question.id, baseline_scorer(item, paper.blueprint.grading)) for item in paper.items], sheets)
                for paper, sheets in work]

    def ours() -> float:
        return sum(mark_paper(paper, sheet).score for paper, sheets in work for sheet in sheets)

    def baseline() -> float:
        total = 0.0
        for scorers, sheets in prepared:
            for sheet in sheets:
                for qid, score in scorers:
                    r = sheet.get(qid)
                    if r is not None:
                        total += score(r)
        return total

    # As when every learner's paper is drawn anew (one seed each): nothing made for a paper is used twice.
    copies = [[(replace(paper), sheet) for paper, sheets in work for sheet in sheets] for _ in range(REPEAT)]

    def each_on_a_new_paper() -> float:
        return sum(mark_paper(paper, sheet).score for paper, sheet in copies.pop())

    (ours_s, ours_total), (base_s, base_total) = best_of(ours, REPEAT), best_of(baseline, REPEAT)
    new_s, new_total = best_of(each_on_a_new_paper, REPEAT)
    same = abs(ours_total - base_total) < 1e-6 * max(1.0, base_total) and abs(new_total - ours_total) < 1e-6 * ours_total
    rate, base_rate = count / ours_s, count / base_s
    ok = rate >= TARGET and same
    print(f"(f) mark {count:,} responses ({len(work)} papers from the real banks x {LEARNERS} learners) through "
          f"mark_paper: {ours_s:.2f} s CPU = {rate:,.0f} responses/s (target >= {TARGET:,}) "
          f"{'OK' if rate >= TARGET else 'MISSED'}; baseline loop doing the same comparisons {base_s:.2f} s = "
          f"{base_rate:,.0f}/s; ratio {ours_s / base_s:.2f}x; same total score: {'yes' if same else 'NO'}")
    print(f"    each learner on a paper object of their own: {count / new_s:,.0f} responses/s")
    return ok
