"""`make bench`: each figure is measured against a baseline taken in the same run, and reported as a ratio.

(a) Loading and validating 5,000 generated questions, against the raw parse of the same files by
    yaml.load(..., CSafeLoader) with the cycle collector paused, as load_course pauses it (the parse as
    run, collector on, is shown too). Target: validation at most 2x the raw parse.
(b) Grading 1,000,000 generated responses. Target: at least 500,000 responses a second; the baseline
    is a bare loop over the same responses that only compares them with a key.
(c) Score exports (plain, per topic, per objective, per question; CSV and XLSX) from a gradebook shaped
    like the course's (real quizzes, sessions, retakes; about 1,800,000 responses), against the sqlite3
    shell writing the same CSV from the same file, compared row by row (benchmarks/export.py).
    Targets: every export at most 2x the shell, XLSX at most 2x our CSV (CPU time); peak memory at
    two sizes, flat in the number of rows.
(d) The classroom app under load: 300 officers in separate client processes answering 20 questions in
    one paced session on loopback (benchmarks/web.py): answers lost (must be 0); the server's CPU per
    answer and per static file (answers per CPU second: one worker's most); rates, p50/p99 latency.
(e) Rebuilding the book after editing one chapter, against a clean build, in a copy of the repository
    (benchmarks/build.py): seconds (wall and CPU) and ratio. Target: the rebuild at most 15 s.
(f) Marking papers drawn from the real banks through mark_paper, answers right, partly right, wrong and
    blank, against a loop doing the same comparisons (benchmarks/marking.py). Target: at least
    1,000,000 responses a second of CPU.
(g) Start-up of `validate` (one bank), `draw` and `take` as processes, against a bare Python process
    parsing the same files with CSafeLoader (benchmarks/startup.py), in CPU time. Target: at most 3x.
(h) The trainer handbook PDF (assemble the edition's pages, lay out, write), against WeasyPrint laying
    out the same HTML document (benchmarks/pdf.py): seconds, pages, ratio. Target: at most 1.75x.
(i) Scanning a class's answer sheets: 30 two-page exam sheets, filled with pen-like marks and degraded,
    as one 200 dpi PDF, read and graded, against rendering the same pages and decoding their QR codes
    (benchmarks/scan.py). Target: the class in under 30 s.
(j) The learning-gain report for 2,000 learners x pre/post x 30 questions, on SQLite and PostgreSQL,
    against the sqlite3 shell computing the per-learner pre/post percentages from the same file
    (benchmarks/gain.py). Target: at most 3x.
(k) The classroom app with several workers: 1,000 officers, 4 workers on PostgreSQL (THBCOURSE_BENCH_PG or
    THBCOURSE_TEST_PG; skipped without), 20 paced questions (benchmarks/web_workers.py): 0 answers lost
    or doubled, answer p99 at most 3x a static file's p99, beside 1 worker.
"""
from __future__ import annotations

import gc
import random
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.generate import response, write_banks
from benchmarks.timing import best_of
from thbcourse.bank.course import load_course
from thbcourse.engine.grade import grader

REPEAT = 5


def best(fn, repeat: int = REPEAT) -> float:
    """Wall seconds of the shortest of `repeat` runs."""
    return best_of(fn, repeat, time.perf_counter)[0]


def bench_validation(total: int = 5000) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_banks(Path(tmp), total)

        def raw_parse():
            for p in paths:
                with p.open("rb") as f:
                    yaml.load(f, Loader=yaml.CSafeLoader)

        def validate():
            course = load_course([Path(tmp)], book_root=None)
            assert len(course.questions) == total

        def raw_parse_collector_paused():
            gc.disable()
            try:
                raw_parse()
            finally:
                gc.enable()

        raw, paused, ours = best(raw_parse), best(raw_parse_collector_paused), best(validate)
    # load_course pauses the cycle collector while it loads; the target compares it with the parse
    # paused the same way (the stricter baseline), the plain parse is shown beside it.
    ratio = ours / paused
    print(f"(a) validate {total:,} questions: {ours * 1000:.0f} ms; raw CSafeLoader parse with the cycle "
          f"collector paused {paused * 1000:.0f} ms (as run, {raw * 1000:.0f} ms); ratio {ratio:.2f}x "
          f"(target <= 2.00x) {'OK' if ratio <= 2 else 'MISSED'}")
    return ratio <= 2


def bench_grading(n: int = 1_000_000) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        write_banks(Path(tmp), 700)
        course = load_course([Path(tmp)], book_root=None)
    rng = random.Random(1)
    questions = list(course.questions.values())
    graders = [grader(q) for q in questions]
    work = []
    for i in range(n):
        k = rng.randrange(len(questions))
        work.append((graders[k], response(questions[k], rng)))

    def grade_all():
        for g, r in work:
            g(r)

    def baseline():  # the floor: touching every response once in a Python loop
        for g, r in work:
            r == 0

    ours, floor = best(grade_all, 3), best(baseline, 3)
    rate = n / ours
    print(f"(b) grade {n:,} responses: {ours:.2f} s = {rate:,.0f} responses/s (target >= 500,000) "
          f"{'OK' if rate >= 500_000 else 'MISSED'}; bare loop {floor:.2f} s; ratio {ours / floor:.1f}x")
    return rate >= 500_000


def main() -> int:
    from benchmarks.build import bench_build
    from benchmarks.export import bench_export
    from benchmarks.marking import bench_marking
    from benchmarks.gain import bench_gain
    from benchmarks.pdf import bench_pdf
    from benchmarks.scan import bench_scan
    from benchmarks.startup import bench_startup
    from benchmarks.web import bench_web
    from benchmarks.web_workers import bench_web_workers

    benchmarks = [  # one a line; `python -m benchmarks export web` runs those whose names contain a word
        bench_validation,
        bench_grading,
        bench_export,
        bench_web,
        bench_web_workers,
        bench_build,
        bench_marking,
        bench_startup,
        bench_pdf,
        bench_scan,
        bench_gain,
    ]
    chosen = [b for b in benchmarks if not sys.argv[1:] or any(word in b.__name__ for word in sys.argv[1:])]
    results = [bench() for bench in chosen]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
