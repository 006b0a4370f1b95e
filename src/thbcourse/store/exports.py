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

from sqlalchemy import Connection, Engine, Float, Numeric, and_, case, cast, exists, func, insert, literal, select

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


def _ranked(conn: Connection, *, policy: str, cohort: str | None, quizzes: tuple[str, ...],
            with_names: bool, csv_safe: bool):
    """The export as one query whose columns are the finished cells (id first, for the breakdowns)."""
    order = {
        "first": (attempts.c.finished_at, attempts.c.id),
        "last": (attempts.c.finished_at.desc(), attempts.c.id.desc()),
        "best": (attempts.c.percent.desc(), attempts.c.finished_at, attempts.c.id),
        "all": (attempts.c.finished_at, attempts.c.id),
    }[policy]
    partition = (attempts.c.learner_id, attempts.c.blueprint)
    conditions = [attempts.c.status == "complete"]
    if quizzes:
        conditions.append(attempts.c.blueprint.in_(quizzes))
    if cohort:
        cid = cohort_id(conn, cohort)
        conditions.append(exists().where(memberships.c.learner_id == attempts.c.learner_id,
                                         memberships.c.cohort_id == cid))
    text = _csv_text if csv_safe else (lambda column: column)
    cells = [text(learners.c.code).label("learner")]
    if with_names:
        cells += [text(func.coalesce(learners.c.name, "")).label("name"),
                  text(func.coalesce(learners.c.email, "")).label("email")]
    cells += [text(attempts.c.blueprint).label("quiz"),
              func.row_number().over(partition_by=partition, order_by=(attempts.c.finished_at, attempts.c.id))
              .label("attempt"),
              _round(conn, attempts.c.score, 4).label("score"), _round(conn, attempts.c.max_score, 4).label("max"),
              _round(conn, attempts.c.percent, 2).label("percent"),
              case((attempts.c.passed, "pass"), else_="fail").label("result"),
              _utc_text(conn, attempts.c.finished_at).label("date")]
    hidden = [attempts.c.id.label("attempt_id"), learners.c.code.label("sort_code"),
              attempts.c.blueprint.label("sort_quiz")]
    if policy != "all":  # 'all' keeps every attempt: no second ranking needed
        hidden.append(func.row_number().over(partition_by=partition, order_by=order).label("rank"))
    inner = (select(*hidden, *cells).join(learners, learners.c.id == attempts.c.learner_id)
             .where(and_(*conditions))).subquery()
    query = select(inner.c.attempt_id, *(inner.c[c.name] for c in cells))
    if policy != "all":
        query = query.where(inner.c.rank == 1)
    return query.order_by(inner.c.sort_code, inner.c.sort_quiz, inner.c.attempt)


def _csv_text(column):
    """Formula-like text gets an apostrophe in front, in SQL (cheaper than per cell in Python)."""
    return case((func.substr(column, 1, 1).in_(FORMULA_START), literal("'") + column), else_=column)


def _round(conn: Connection, column, digits: int):
    if conn.dialect.name == "postgresql":  # round(double precision, int) does not exist there
        return cast(func.round(cast(column, Numeric), digits), Float)
    return func.round(column, digits)


def _utc_text(conn: Connection, column):
    """The timestamp as 'YYYY-MM-DD HH:MM:SS' UTC, formatted by the database (no per-row parsing)."""
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24:MI:SS")
    return func.strftime("%Y-%m-%d %H:%M:%S", column)


def _breakdowns(conn: Connection, ranked, column) -> tuple[list[str], dict[int, dict[str, float]]]:
    """Percent per topic / objective / question for the exported attempts (one grouped query)."""
    ids = select(ranked.subquery().c.attempt_id)
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
                per_objective: bool = False, per_question: bool = False,
                csv_safe: bool = True) -> tuple[list[str], Iterator[list]]:
    """Header and rows. csv_safe neutralises formula-like text (XLSX stores text as text instead)."""
    if policy not in POLICIES:
        raise ValueError(f"attempt policy must be one of {', '.join(POLICIES)}")
    ranked = _ranked(conn, policy=policy, cohort=cohort, quizzes=quizzes, with_names=with_names, csv_safe=csv_safe)
    header = [c.name for c in ranked.selected_columns][1:]
    header[header.index("date")] = "date (UTC)"
    extras = []
    for wanted, column, prefix in ((per_topic, responses.c.topic, "topic % "),
                                   (per_objective, responses.c.objective, "objective % "),
                                   (per_question, responses.c.question_id, "question ")):
        if wanted:
            keys, values = _breakdowns(conn, ranked, column)
            header += [prefix + k for k in keys]
            extras.append((keys, values))

    def rows() -> Iterator:
        result = conn.execution_options(stream_results=True, yield_per=5000).execute(ranked)
        if not extras:  # the common case: the database made every cell already
            for row in result:
                yield row[1:]
            return
        for row in result:
            cells = list(row[1:])
            for keys, values in extras:
                got = values.get(row[0], {})
                cells += [got.get(k, "") for k in keys]
            yield cells

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
            out.writerow([neutralise(h) for h in header])
            for row in rows:
                out.writerow(row)
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
        header, rows = score_table(conn, csv_safe=fmt == "csv", **options)
        count = write(path, header, rows)
    log_export(engine, who=who, what=f"scores {fmt}", details={"file": str(path), **options}, rows=count)
    return count


def log_export(engine: Engine, *, who: str, what: str, details: dict, rows: int) -> None:
    with writer(engine).begin() as conn:
        conn.execute(insert(export_log).values(at=now(), who=who, what=what, rows=rows,
                                               details=json.dumps(details, default=str, sort_keys=True)))
