"""Score exports for spreadsheets and the academy's platform: CSV (UTF-8) and XLSX.

One row per learner x quiz (or per attempt with the policy 'all'), read with one SQL query that
ranks attempts with window functions; nothing is queried per learner. Text cells that a spreadsheet
would run as a formula (starting with =, +, -, @, tab or carriage return) are neutralised.
"""
from __future__ import annotations

import csv
import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, and_, exists, func, insert, select

from thbcourse.store.db import writer
from thbcourse.store.gradebook import cohort_id, now
from thbcourse.store.tables import attempts, export_log, learners, memberships, responses

POLICIES = ("first", "best", "last", "all")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A text cell can never run as a formula: prefix an apostrophe (the usual CSV defence)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _ranked(conn: Connection, *, policy: str, cohort: str | None, quizzes: tuple[str, ...]):
    order = {
        "first": (attempts.c.finished_at, attempts.c.id),
        "last": (attempts.c.finished_at.desc(), attempts.c.id.desc()),
        "best": (attempts.c.percent.desc(), attempts.c.finished_at, attempts.c.id),
        "all": (attempts.c.finished_at, attempts.c.id),
    }[policy]
    window = {"partition_by": (attempts.c.learner_id, attempts.c.blueprint), "order_by": order}
    conditions = [attempts.c.status == "complete"]
    if quizzes:
        conditions.append(attempts.c.blueprint.in_(quizzes))
    if cohort:
        cid = cohort_id(conn, cohort)
        conditions.append(exists().where(memberships.c.learner_id == attempts.c.learner_id,
                                         memberships.c.cohort_id == cid))
    inner = (select(attempts.c.id, learners.c.code, learners.c.name, learners.c.email, attempts.c.blueprint,
                    attempts.c.score, attempts.c.max_score, attempts.c.percent, attempts.c.passed,
                    attempts.c.finished_at, func.row_number().over(**window).label("rank"),
                    func.row_number().over(partition_by=window["partition_by"],
                                           order_by=(attempts.c.finished_at, attempts.c.id)).label("number"))
             .join(learners, learners.c.id == attempts.c.learner_id).where(and_(*conditions))).subquery()
    query = select(inner)
    if policy != "all":
        query = query.where(inner.c.rank == 1)
    return query.order_by(inner.c.code, inner.c.blueprint, inner.c.number)


def _breakdowns(conn: Connection, ranked, column) -> tuple[list[str], dict[int, dict[str, float]]]:
    """Percent per topic / objective / question for the exported attempts (one grouped query)."""
    ids = select(ranked.subquery().c.id)
    rows = conn.execute(select(responses.c.attempt_id, column, func.sum(responses.c.score),
                               func.sum(responses.c.max_score))
                        .where(responses.c.attempt_id.in_(ids)).group_by(responses.c.attempt_id, column))
    values: dict[int, dict[str, float]] = defaultdict(dict)
    keys = set()
    for attempt, key, score, mx in rows:
        keys.add(key)
        if column is responses.c.question_id:
            values[attempt][key] = round(score, 4)
        else:
            values[attempt][key] = round(100.0 * score / mx, 2) if mx else 0.0
    return sorted(keys), values


def score_table(conn: Connection, *, policy: str = "best", cohort: str | None = None,
                quizzes: tuple[str, ...] = (), with_names: bool = False, per_topic: bool = False,
                per_objective: bool = False, per_question: bool = False) -> tuple[list[str], Iterator[list]]:
    if policy not in POLICIES:
        raise ValueError(f"attempt policy must be one of {', '.join(POLICIES)}")
    ranked = _ranked(conn, policy=policy, cohort=cohort, quizzes=quizzes)
    header = ["learner"] + (["name", "email"] if with_names else []) + ["quiz", "attempt", "score", "max",
                                                                       "percent", "result", "date (UTC)"]
    extras = []
    for wanted, column, prefix in ((per_topic, responses.c.topic, "topic % "),
                                   (per_objective, responses.c.objective, "objective % "),
                                   (per_question, responses.c.question_id, "question ")):
        if wanted:
            keys, values = _breakdowns(conn, ranked, column)
            header += [prefix + k for k in keys]
            extras.append((keys, values))

    def rows() -> Iterator[list]:
        result = conn.execution_options(stream_results=True, yield_per=5000).execute(ranked)
        for r in result:
            row = [r.code] + ([r.name or "", r.email or ""] if with_names else []) + [
                r.blueprint, r.number, round(r.score, 4), round(r.max_score, 4), round(r.percent, 2),
                "pass" if r.passed else "fail", r.finished_at.strftime("%Y-%m-%d %H:%M:%S")]
            for keys, values in extras:
                got = values.get(r.id, {})
                row += [got.get(k, "") for k in keys]
            yield row

    return header, rows()


def _atomic_target(path: Path):
    """A temporary file beside `path`, with the permissions a new file would get (mkstemp makes 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    return Path(tmp)


def write_csv(path: Path, header: list[str], rows: Iterator[list]) -> int:
    tmp, count = _atomic_target(path), 0
    try:
        with tmp.open("w", newline="", encoding="utf-8-sig") as f:  # the BOM makes Excel read UTF-8
            out = csv.writer(f)
            out.writerow(header)
            for row in rows:
                out.writerow([neutralise(v) for v in row])
                count += 1
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def write_xlsx(path: Path, header: list[str], rows: Iterator[list]) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("scores")
    sheet.append(header)
    count = 0
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # stored as text: never a formula, whatever it starts with
            cells.append(cell)
        sheet.append(cells)
        count += 1
    tmp = _atomic_target(path)
    try:
        book.save(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def export_scores(engine: Engine, path: Path, *, who: str, fmt: str | None = None, **options) -> int:
    """Write the export file whole (or not at all), then log who exported what."""
    fmt = fmt or path.suffix.lstrip(".").lower()
    write = {"csv": write_csv, "xlsx": write_xlsx}.get(fmt)
    if write is None:
        raise ValueError(f"unknown export format {fmt!r}: use .csv or .xlsx")
    with engine.connect() as conn:
        header, rows = score_table(conn, **options)
        count = write(path, header, rows)
    log_export(engine, who=who, what=f"scores {fmt}", details={"file": str(path), **options}, rows=count)
    return count


def log_export(engine: Engine, *, who: str, what: str, details: dict, rows: int) -> None:
    with writer(engine).begin() as conn:
        conn.execute(insert(export_log).values(at=now(), who=who, what=what, rows=rows,
                                               details=json.dumps(details, default=str, sort_keys=True)))
