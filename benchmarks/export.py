"""(c) Score exports against the sqlite3 shell writing the same CSV from the same file.

The gradebook is benchmarks.generate.write_gradebook: the real course's quizzes and rubric, papers
drawn and graded by the engine, classroom sessions of 25 (one attempt's answers spread through the
table), retakes, blank answers, open attempts. For each export (plain, per topic, per objective, per
question; the default policy, best attempt) the shell runs one SQL statement that writes the same
CSV: the same ranking of attempts, the same grouped sums, the same rounding, the breakdown columns
pivoted in SQL. Every baseline file is compared row by row with ours (also under the policies first,
last and all for the plain export, and the XLSX files cell by cell at the smaller size), so the two
sides do the same work.

Our side is the real command, `thbcourse scores export`, process start included, writing CSV and
XLSX. Times are CPU seconds (user + system) of each process, the best of REPEAT runs, so that other
work on the machine does not count; wall-clock times are printed beside them. Peak memory is the
export process's maximum resident set at two sizes of gradebook. Targets: every export at most 2x
the shell, XLSX at most 2x our CSV, peak memory flat in the number of rows (the larger gradebook at
most 10 % or 10 MB above the smaller).
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.generate import write_gradebook

SIZES = (2_500, 10_000)  # learners; about 12 rows each in the default export
REPEAT = 3
KINDS = {  # export -> (command line option, breakdown column, header prefix, cell value from sums s and m)
    "plain": (None, None, None, None),
    "per-topic": ("--per-topic", "topic", "topic % ", "CASE WHEN m = 0 THEN 0.0 ELSE round(100.0 * s / m, 2) END"),
    "per-objective": ("--per-objective", "objective", "objective % ",
                      "CASE WHEN m = 0 THEN 0.0 ELSE round(100.0 * s / m, 2) END"),
    "per-question": ("--per-question", "question_id", "question ", "round(s, 4)"),
}
ORDER = {"first": "a.finished_at, a.id", "last": "a.finished_at DESC, a.id DESC",
         "best": "a.percent DESC, a.finished_at, a.id", "all": "a.finished_at, a.id"}
HEADER = "learner,quiz,attempt,score,max,percent,result,date (UTC)"


def _safe(column: str) -> str:  # the export's formula neutralising
    return (f"CASE WHEN substr({column}, 1, 1) IN ('=', '+', '-', '@', char(9), char(13)) "
            f"THEN '''' || {column} ELSE {column} END")


def _commas(count: str) -> str:
    return f"replace(printf('%*s', {count}, ''), ' ', ',')"


def baseline_sql(kind: str, policy: str = "best") -> str:
    """One statement for the sqlite3 shell (list mode, one column) that prints our CSV export."""
    _, column, prefix, value = KINDS[kind]
    picked = f"""
ranked AS (
  SELECT a.id, l.code, a.blueprint, a.score, a.max_score, a.percent, a.passed, a.finished_at,
         row_number() OVER (PARTITION BY a.learner_id, a.blueprint ORDER BY a.finished_at, a.id) AS attempt,
         row_number() OVER (PARTITION BY a.learner_id, a.blueprint ORDER BY {ORDER[policy]}) AS pick
  FROM attempts a JOIN learners l ON l.id = a.learner_id WHERE a.status = 'complete'),
picked AS MATERIALIZED (SELECT * FROM ranked {'' if policy == 'all' else 'WHERE pick = 1'})"""
    line = (f"{_safe('p.code')} || ',' || {_safe('p.blueprint')} || ',' || p.attempt || ',' || round(p.score, 4) "
            "|| ',' || round(p.max_score, 4) || ',' || round(p.percent, 2) || ',' || "
            "CASE WHEN p.passed THEN 'pass' ELSE 'fail' END || ',' || strftime('%Y-%m-%d %H:%M:%S', p.finished_at)")
    if column is None:
        return f"""WITH {picked}
SELECT line FROM (
  SELECT 0 AS part, '' AS code, '' AS blueprint, 0 AS attempt, '{HEADER}' AS line
  UNION ALL SELECT 1, p.code, p.blueprint, p.attempt, {line} FROM picked p)
ORDER BY part, code, blueprint, attempt;
"""
    if column == "question_id":  # one response per attempt and question: no sums needed
        sums = (f"SELECT r.attempt_id AS id, r.{column} AS key, r.score AS s FROM responses r "
                "WHERE r.attempt_id IN (SELECT id FROM picked)")
    else:
        sums = (f"SELECT r.attempt_id AS id, r.{column} AS key, sum(r.score) AS s, sum(r.max_score) AS m "
                f"FROM responses r WHERE r.attempt_id IN (SELECT id FROM picked) GROUP BY r.attempt_id, r.{column}")
    return f"""WITH {picked},
sums AS MATERIALIZED ({sums}),
keys AS MATERIALIZED (SELECT key, row_number() OVER (ORDER BY key) AS pos FROM (SELECT DISTINCT key FROM sums)),
width AS (SELECT count(*) AS n FROM keys),
cells AS (SELECT s.id, k.pos, {value} AS value,
                 k.pos - lag(k.pos, 1, 0) OVER (PARTITION BY s.id ORDER BY k.pos) AS gap
          FROM sums s JOIN keys k ON k.key = s.key ORDER BY s.id, k.pos),
tails AS (SELECT id, group_concat({_commas('gap')} || value, '') || {_commas('(SELECT n FROM width) - max(pos)')}
                 AS tail FROM cells GROUP BY id)
SELECT line FROM (
  SELECT 0 AS part, '' AS code, '' AS blueprint, 0 AS attempt,
         '{HEADER}' || coalesce((SELECT group_concat(',{prefix}' || key, '')
                                 FROM (SELECT key FROM keys ORDER BY pos)), '') AS line
  UNION ALL
  SELECT 1, p.code, p.blueprint, p.attempt, {line} || coalesce(t.tail, {_commas('(SELECT n FROM width)')})
  FROM picked p LEFT JOIN tails t ON t.id = p.id)
ORDER BY part, code, blueprint, attempt;
"""


# Runs the command line in a Python process that reports its own peak resident set (VmHWM) on exit:
# ru_maxrss would also count the memory of this benchmark process, which a child starts with.
PEAK = """
import atexit, runpy, sys
peak_file = sys.argv.pop(1)
def report():
    with open("/proc/self/status") as status, open(peak_file, "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
atexit.register(report)
runpy.run_module("thbcourse", run_name="__main__", alter_sys=True)
"""


def run(command: list[str], **kwargs) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, peak resident set in MB, 0 if unknown) of one process."""
    with tempfile.NamedTemporaryFile("r") as peak:
        if command[1:3] == ["-m", "thbcourse"]:
            command = [command[0], "-c", PEAK, peak.name, *command[3:]]
        start = time.perf_counter()
        process = subprocess.Popen(command, **kwargs)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status):
            raise subprocess.CalledProcessError(os.waitstatus_to_exitcode(status), command)
        kilobytes = peak.read()
    return usage.ru_utime + usage.ru_stime, wall, int(kilobytes or 0) // 1024


def best(command: list[str], repeat: int = REPEAT, **kwargs) -> tuple[float, float, int]:
    runs = [run(command, **kwargs) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs), max(r[2] for r in runs)


def ours(db: Path, out: Path, kind: str, policy: str = "best") -> list[str]:
    option = KINDS[kind][0]
    return [sys.executable, "-m", "thbcourse", "scores", "export", str(out), "--db", str(db), "--by", "bench",
            "--policy", policy, *([option] if option else [])]


def shell(shell_path: str, db: Path, kind: str, policy: str, out: Path, repeat: int) -> tuple[float, float, int]:
    """The baseline, written to `out` (afresh on every run)."""
    command = [shell_path, "-list", "-separator", ",", str(db), baseline_sql(kind, policy)]
    runs = []
    for _ in range(repeat):
        with out.open("w") as f:
            runs.append(run(command, stdout=f))
    return min(r[0] for r in runs), min(r[1] for r in runs), max(r[2] for r in runs)


def csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def xlsx_rows(path: Path) -> list[list[str]]:
    """The sheet as CSV text would show it (numbers as Python writes them, empty cells as "")."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    rows = [["" if v is None else str(v) for v in row] for row in book.active.iter_rows(values_only=True)]
    book.close()
    width = len(rows[0]) if rows else 0
    return [row + [""] * (width - len(row)) for row in rows]


def _same(ours_rows: list[list[str]], theirs: list[list[str]], what: str) -> bool:
    if ours_rows == theirs:
        return True
    first = next((n for n, (a, b) in enumerate(zip(ours_rows, theirs)) if a != b), min(len(ours_rows), len(theirs)))
    print(f"    {what}: NOT the same rows ({len(ours_rows):,} vs {len(theirs):,}; "
          f"first difference on line {first + 1})")
    return False


def sqlite3_shell(benchmark: str) -> str | None:
    """The sqlite3 shell that the exports and the gain report are compared with, or None after saying
    that `benchmark` is skipped."""
    found = shutil.which("sqlite3")
    if found is None:
        print(f"{benchmark}: skipped, the sqlite3 shell is missing (Debian package sqlite3)")
    return found


def bench_export() -> bool:
    shell_path = sqlite3_shell("(c) score exports")
    if shell_path is None:
        return False
    ok = True
    peaks: dict[tuple[str, str], list[int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            db = Path(tmp) / f"gradebook-{size}.sqlite"
            start = time.perf_counter()
            counts = write_gradebook(db, size)
            print(f"    gradebook of {counts['learners']:,} learners: {counts['attempts']:,} attempts "
                  f"({counts['open']:,} open), {counts['responses']:,} responses, "
                  f"{db.stat().st_size / 1e6:.0f} MB, made in {time.perf_counter() - start:.0f} s")
            large = size == SIZES[-1]
            repeat = REPEAT if large else 1
            for kind in KINDS:
                base_file = Path(tmp) / f"baseline-{kind}.csv"
                base = shell(shell_path, db, kind, "best", base_file, repeat)
                expected = csv_rows(base_file)
                figures = {}
                for fmt in ("csv", "xlsx"):
                    out = Path(tmp) / f"scores-{kind}.{fmt}"
                    figures[fmt] = best(ours(db, out, kind), repeat, stdout=subprocess.DEVNULL)
                    peaks.setdefault((kind, fmt), []).append(figures[fmt][2])
                    if fmt == "csv":
                        ok &= _same(csv_rows(out), expected, f"{kind} CSV")
                    elif not large:
                        ok &= _same(xlsx_rows(out), expected, f"{kind} XLSX")
                if large:
                    (csv_cpu, csv_wall, _), (xlsx_cpu, xlsx_wall, _) = figures["csv"], figures["xlsx"]
                    worst = max(csv_cpu, xlsx_cpu) / base[0]
                    ok &= worst <= 2 and xlsx_cpu / csv_cpu <= 2
                    print(f"(c) export {kind} ({len(expected) - 1:,} rows x {len(expected[0])} columns): "
                          f"sqlite3 shell {base[0]:.2f} s; CSV {csv_cpu:.2f} s = {csv_cpu / base[0]:.2f}x, "
                          f"XLSX {xlsx_cpu:.2f} s = {xlsx_cpu / base[0]:.2f}x (target <= 2.00x) "
                          f"{'OK' if worst <= 2 else 'MISSED'}; XLSX/CSV {xlsx_cpu / csv_cpu:.2f}x (target <= 2.00x) "
                          f"{'OK' if xlsx_cpu / csv_cpu <= 2 else 'MISSED'}; wall clock {base[1]:.2f} / "
                          f"{csv_wall:.2f} / {xlsx_wall:.2f} s")
            if large:  # the same rows under the other policies too
                for policy in ("first", "last", "all"):
                    base_file, out = Path(tmp) / f"baseline-{policy}.csv", Path(tmp) / f"scores-{policy}.csv"
                    shell(shell_path, db, "plain", policy, base_file, 1)
                    run(ours(db, out, "plain", policy), stdout=subprocess.DEVNULL)
                    ok &= _same(csv_rows(out)[1:], csv_rows(base_file)[1:], f"plain CSV, policy {policy}")
            db.unlink()
    flat = True
    for (kind, fmt), (small, large) in peaks.items():
        flat &= large <= max(small * 1.1, small + 10)
    print(f"(c) peak memory of the export process, {SIZES[0]:,} -> {SIZES[1]:,} learners (about 4x the rows): "
          + "; ".join(f"{kind} {fmt} {small} -> {large} MB" for (kind, fmt), (small, large) in peaks.items())
          + f" (target: flat) {'OK' if flat else 'MISSED'}")
    return ok and flat


if __name__ == "__main__":
    sys.exit(0 if bench_export() else 1)
