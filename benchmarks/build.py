"""Rebuilding the book after editing one chapter, against a clean build of the same copy.

The real repository is copied to a temporary folder (sources, configuration and the course package,
which the builds import from the copy, so that nothing edited meanwhile changes what is measured).
There `thbcourse build --clean` builds everything; then, three times, a sentence is appended to
book/05-expansion-fraud.md and `thbcourse build` runs again. Each figure is the wall time of the
command and the CPU time of it and its worker processes. Target: a rebuild after an edit at most
15 s (the best of the three, wall time; the CPU time shows what it costs on a busy machine).
"""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHAPTER = Path("book") / "05-expansion-fraud.md"
TARGET = 15.0
EDITS = 3


def timed(copy: Path, *options: str) -> tuple[float, float, str]:
    """Wall and CPU seconds of `thbcourse build` in the copy, and its output."""
    env = {**os.environ, "PYTHONPATH": str(copy / "src")}
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "thbcourse", "build", "--out", "_build", *options], cwd=copy,
                          env=env, capture_output=True, text=True)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"thbcourse build failed in {copy}:\n{done.stdout}{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def bench_build() -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "course"
        shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(
            ".git", ".venv", "_build", "__pycache__", ".pytest_cache", "*.egg-info", "node_modules"))
        clean_wall, clean_cpu, _ = timed(copy, "--clean")
        edits = []
        for n in range(1, EDITS + 1):
            with (copy / CHAPTER).open("a", encoding="utf-8") as page:
                page.write(f"\nA sentence added for benchmark rebuild {n}.\n")
            wall, cpu, output = timed(copy)
            assert output.count("(incremental)") == 3, output  # both editions and the decks
            built = (copy / "_build" / "student" / "html" / CHAPTER.with_suffix(".html")).read_text(encoding="utf-8")
            assert f"benchmark rebuild {n}" in built
            edits.append((wall, cpu))
    wall, cpu = min(edits)
    ok = wall <= TARGET
    print(f"(e) rebuild after editing one chapter: {wall:.1f} s wall, {cpu:.1f} s CPU (best of {EDITS}); "
          f"clean build {clean_wall:.1f} s wall, {clean_cpu:.1f} s CPU; ratio {wall / clean_wall:.2f}x wall, "
          f"{cpu / clean_cpu:.2f}x CPU (target <= {TARGET:.0f} s) {'OK' if ok else 'MISSED'}")
    return ok


if __name__ == "__main__":
    sys.exit(0 if bench_build() else 1)
