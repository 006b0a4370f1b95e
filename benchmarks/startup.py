"""(g) Start-up: everyday commands against a bare Python process that parses the same files.

Each command runs as its own process from the repository root, as an author or a trainer runs it:

- `thbcourse validate quizzes/banks/chain.yml` (one bank, checked against the book);
- `thbcourse draw exam --seed 1 --format md --format html --out <tmp>` (every bank and blueprint, one paper
  in Markdown and HTML; the PDF paper with its answer sheet is timed by the scan benchmark, (s));
- `thbcourse take self-check-legal-frame --seed 1 --answers <file>` (a short answers file, feedback for
  every question and the result).

The baseline for each is `python -c "import yaml; yaml.load(open(f), Loader=yaml.CSafeLoader)"` over
the files the command reads: the one bank for validate, every file under quizzes/ for draw and take.
Commands and baselines alternate in one run; the figure is CPU time (user + system, from
getrusage(RUSAGE_CHILDREN)), the least of REPEAT runs, since wall time on a busy machine measures the
other processes too. Target: each command at most 3x its baseline, as it runs day to day: with what the
previous run kept in _build/.cache (the book's objectives and anchors, the near-duplicate pairs; each
under a digest of what it was worked out from). The first run after a fresh clone, or after every
page and stem changed, is reported too, without a target.
"""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEAT = 7
TARGET = 3.0
BANK = "quizzes/banks/chain.yml"
KEPT = ROOT / "_build" / ".cache"  # what the commands keep between runs (book facts, near-duplicates)
QUIZ = "self-check-legal-frame"
BARE = ("import sys, yaml\n"
        "for f in sys.argv[1:]:\n"
        "    with open(f, 'rb') as stream:\n"
        "        yaml.load(stream, Loader=yaml.CSafeLoader)\n")


# Python as people run it: byte-compiled modules are written on the first run and read on the next
# ones. A shell that sets PYTHONDONTWRITEBYTECODE would have every run compile the package's modules
# again (about 25 ms), which no user pays twice.
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def cpu_seconds(command: list[str]) -> float:
    """CPU time of one run of `command` (and anything it starts), which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, cwd=ROOT, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def answers_file(path: Path) -> Path:
    """Answers to the first three questions of the paper `take` draws, as written on the paper."""
    from thbcourse.bank.course import load_course
    from thbcourse.deliveries.papers import key_text
    from thbcourse.engine.draw import draw

    course = load_course([ROOT / "quizzes"], book_root=None)
    paper = draw(course, course.blueprint(QUIZ), 1)
    lines = [f"{item.question.id}: {key_text(item).split(' / ')[0].split(' ± ')[0].rstrip(' %')!r}"
             for item in paper.items[:3]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def bench_startup() -> bool:
    thbcourse = [sys.executable, "-m", "thbcourse"]
    every_file = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "quizzes").rglob("*.yml"))]
    with tempfile.TemporaryDirectory() as tmp:
        answers = answers_file(Path(tmp) / "answers.yml")
        cases = [
            ("validate one bank", thbcourse + ["validate", BANK], [BANK]),
            ("draw exam", thbcourse + ["draw", "exam", "--seed", "1", "--format", "md", "--format", "html",
                                       "--out", str(Path(tmp) / "papers")], every_file),
            ("take with answers", thbcourse + ["take", QUIZ, "--seed", "1", "--answers", str(answers)], every_file),
        ]
        for _, command, _ in cases:  # once untimed: byte-compiled modules and the page cache are warm
            cpu_seconds(command)
        ok = True
        for name, command, files in cases:
            bare = [sys.executable, "-c", BARE, *files]
            ours, base = [], []
            for _ in range(REPEAT):
                ours.append(cpu_seconds(command))
                base.append(cpu_seconds(bare))
            ratio = min(ours) / min(base)
            ok &= ratio <= TARGET
            print(f"(g) start-up, {name}: {min(ours) * 1000:.0f} ms CPU; bare parse of the same "
                  f"{len(files)} file(s) {min(base) * 1000:.0f} ms; ratio {ratio:.2f}x (target <= {TARGET:.2f}x) "
                  f"{'OK' if ratio <= TARGET else 'MISSED'}")
            cold = []
            for _ in range(REPEAT):
                shutil.rmtree(KEPT, ignore_errors=True)
                cold.append(cpu_seconds(command))
            print(f"    the same with nothing kept from an earlier run ({KEPT.relative_to(ROOT)} deleted: the "
                  f"book's pages parsed, every pair of stems scored): {min(cold) * 1000:.0f} ms, "
                  f"{min(cold) / min(base):.2f}x (no target)")
    return ok
