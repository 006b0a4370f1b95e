"""Score exports for spreadsheets and the academy's platform: CSV (UTF-8) and XLSX.

One row per learner x quiz (or per attempt with the policy 'all'), read with one SQL query that
ranks attempts with window functions; nothing is queried per learner. Text cells that a spreadsheet
would run as a formula (starting with =, +, -, @, tab or carriage return) are neutralised.

The per-topic, per-objective and per-question columns are grouped sums computed by the database for
CHUNK exported attempts at a time, as their rows stream past: memory does not grow with the rows.
Only the header needs the keys of the whole export first (one DISTINCT query). The header's keys and
the rows come from one read transaction (on PostgreSQL one snapshot: REPEATABLE READ).
"""
from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path

from sqlalchemy import Connection, Engine, Float, Numeric, and_, case, cast, exists, func, insert, literal, select

from thbcourse.store.db import writer
from thbcourse.store.gradebook import cohort_id, now
from thbcourse.store.tables import attempts, export_log, learners, memberships, responses

POLICIES = ("first", "best", "last", "all")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ORDER = {  # which attempt comes first under each policy
    "first": (attempts.c.finished_at, attempts.c.id),
    "last": (attempts.c.finished_at.desc(), attempts.c.id.desc()),
    "best": (attempts.c.percent.desc(), attempts.c.finished_at, attempts.c.id),
    "all": (attempts.c.finished_at, attempts.c.id),
}
PARTITION = (attempts.c.learner_id, attempts.c.blueprint)
BREAKDOWNS = (("per_topic", responses.c.topic, "topic % "), ("per_objective", responses.c.objective, "objective % "),
              ("per_question", responses.c.question_id, "question "))
MASTERY_PREFIX = "mastery % "
CHUNK = 2000  # exported attempts read (and their breakdowns summed) at a time

Row = tuple[Sequence, list[tuple[int, float]]]


def neutralise(value):
    """A text cell can never run as a formula: prefix an apostrophe (the usual CSV defence)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _conditions(conn: Connection, cohort: str | None, quizzes: tuple[str, ...]) -> list:
    conditions = [attempts.c.status == "complete"]
    if quizzes:
        conditions.append(attempts.c.blueprint.in_(quizzes))
    if cohort:
        cid = cohort_id(conn, cohort)
        conditions.append(exists().where(memberships.c.learner_id == attempts.c.learner_id,
                                         memberships.c.cohort_id == cid))
    return conditions


def _exported(policy: str, conditions: list):
    """The ids of the exported attempts and nothing else (what the breakdowns' keys need)."""
    if policy == "all":
        return select(attempts.c.id).where(*conditions)
    ranked = select(attempts.c.id, func.row_number().over(partition_by=PARTITION, order_by=ORDER[policy])
                    .label("rank")).where(*conditions).subquery()
    return select(ranked.c.id).where(ranked.c.rank == 1)


def _ranked(conn: Connection, *, policy: str, conditions: list, with_names: bool, csv_safe: bool):
    """The export as one query whose columns are the finished cells (id first, for the breakdowns).

    The attempts are ranked first and only the exported ones are made into cells.
    """
    columns = [attempts.c.id, learners.c.code, attempts.c.blueprint, attempts.c.score, attempts.c.max_score,
               attempts.c.percent, attempts.c.passed, attempts.c.finished_at,
               func.row_number().over(partition_by=PARTITION, order_by=ORDER["all"]).label("attempt")]
    if with_names:
        columns += [learners.c.name, learners.c.email]
    if policy != "all":  # 'all' keeps every attempt: no second ranking needed
        columns.append(func.row_number().over(partition_by=PARTITION, order_by=ORDER[policy]).label("rank"))
    ranked = (select(*columns).join(learners, learners.c.id == attempts.c.learner_id)
              .where(and_(*conditions))).subquery()
    r = ranked.c
    text = _csv_text if csv_safe else (lambda column: column)
    cells = [text(r.code).label("learner")]
    if with_names:  # no name or e-mail: None, an empty CSV field and an empty XLSX cell
        cells += [text(r.name).label("name"), text(r.email).label("email")]
    cells += [text(r.blueprint).label("quiz"), r.attempt,
              _round(conn, r.score, 4).label("score"), _round(conn, r.max_score, 4).label("max"),
              _round(conn, r.percent, 2).label("percent"), case((r.passed, "pass"), else_="fail").label("result"),
              _utc_text(conn, r.finished_at).label("date")]
    query = select(r.id.label("attempt_id"), *cells)
    if policy != "all":
        query = query.where(r.rank == 1)
    return query.order_by(r.code, r.blueprint, r.attempt)


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


def _breakdown(conn: Connection, column, ids: list[int]) -> list[tuple[int, str, float]]:
    """(attempt id, key, value) for these attempts, from one query.

    Per question the score; per topic and per objective the percentage (0 where nothing was at
    stake). Rounded by the database, as the score and percent columns are.
    """
    if column is responses.c.question_id:  # one response per question and attempt: nothing to add up
        query = select(responses.c.attempt_id, column, _round(conn, responses.c.score, 4))
    else:
        score, most = func.sum(responses.c.score), func.sum(responses.c.max_score)
        query = (select(responses.c.attempt_id, column, case((most == 0, 0.0),
                                                             else_=_round(conn, 100.0 * score / most, 2)))
                 .group_by(responses.c.attempt_id, column))
    with closing(_cursor(conn, query.where(responses.c.attempt_id.in_(ids)))) as cursor:
        return cursor.fetchall()


def _cursor(conn: Connection, statement, *, server_side: bool = False):
    """The driver's own cursor, executing `statement` in the connection's transaction.

    A row object of SQLAlchemy costs about half a microsecond, and an export reads a row per
    attempt and one per answered question. server_side: rows stream from PostgreSQL in batches.
    """
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup)
    named = server_side and conn.dialect.name == "postgresql"
    cursor = conn.connection.cursor(name=f"scores_{id(statement):x}") if named else conn.connection.cursor()
    cursor.execute(str(compiled), params)
    return cursor


def score_rows(conn: Connection, *, policy: str = "best", cohort: str | None = None,
               quizzes: tuple[str, ...] = (), with_names: bool = False, per_topic: bool = False,
               per_objective: bool = False, per_question: bool = False, mastery: bool = False,
               csv_safe: bool = True) -> tuple[list[str], Iterator[Row]]:
    """Header and rows, each row as (its cells up to the date, its breakdown cells).

    mastery adds a 'mastery % <objective>' column per objective: the learner's mastery from every
    complete attempt, the newest weighing most (thbcourse.analysis.mastery), the same on each of the
    learner's rows.

    Breakdown cells are (column index, value) pairs in column order, only where there is a value:
    a per-question export of a whole course is mostly empty cells. csv_safe neutralises formula-like
    text (XLSX stores text as text instead).
    """
    if policy not in POLICIES:
        raise ValueError(f"attempt policy must be one of {', '.join(POLICIES)}")
    if not conn.in_transaction():
        conn.begin()  # the keys of the header and the rows from one read transaction
    conditions = _conditions(conn, cohort, quizzes)
    ranked = _ranked(conn, policy=policy, conditions=conditions, with_names=with_names, csv_safe=csv_safe)
    header = [c.name for c in ranked.selected_columns][1:]
    header[header.index("date")] = "date (UTC)"
    chosen = {"per_topic": per_topic, "per_objective": per_objective, "per_question": per_question}
    kinds = []  # (column, {key: its column index})
    for option, column, prefix in BREAKDOWNS:
        if chosen[option]:
            exported = _exported(policy, conditions)
            keys = sorted(conn.execute(select(column).where(responses.c.attempt_id.in_(exported)).distinct())
                          .scalars())
            kinds.append((column, {key: len(header) + n for n, key in enumerate(keys)}))
            header += [prefix + key for key in keys]
    mastery_index: dict[str, int] = {}
    if mastery:
        from thbcourse.analysis.mastery import mastery_keys, mastery_of_attempts

        keys = mastery_keys(conn, _exported(policy, conditions))
        mastery_index = {key: len(header) + n for n, key in enumerate(keys)}
        header += [MASTERY_PREFIX + key for key in keys]

    def rows() -> Iterator[Row]:
        with closing(_cursor(conn, ranked, server_side=True)) as cursor:
            while chunk := cursor.fetchmany(CHUNK):
                if not kinds and not mastery:
                    for row in chunk:
                        yield row[1:], []
                    continue
                further: dict[int, list] = {row[0]: [] for row in chunk}
                for column, index in kinds:
                    for attempt, key, value in _breakdown(conn, column, list(further)):
                        at = index.get(key)  # None: a key that came after the header was made
                        if at is not None:
                            further[attempt].append((at, value))
                if mastery:
                    for attempt, values in mastery_of_attempts(conn, list(further)).items():
                        for key, value in values.items():
                            at = mastery_index.get(key)
                            if at is not None and value is not None:
                                further[attempt].append((at, round(value, 2)))
                for row in chunk:
                    cells = further[row[0]]
                    cells.sort()
                    yield row[1:], cells

    return header, rows()


def score_table(conn: Connection, **options) -> tuple[list[str], Iterator[list]]:
    """Header and rows as lists, None where there is no value (options as for score_rows)."""
    header, rows = score_rows(conn, **options)
    return header, _dense(len(header), rows)


def _dense(width: int, rows: Iterator[Row]) -> Iterator[list]:
    blank = [None] * width
    for cells, further in rows:
        if not further and len(cells) == width:
            yield list(cells)
            continue
        row = list(cells) + blank[len(cells):]
        for at, value in further:
            row[at] = value
        yield row


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


def write_xlsx(path: Path, header: list[str], rows: Iterator[Row]) -> int:
    """Rows as score_rows makes them; text stays text (never a formula), a missing value an empty cell."""
    from thbcourse.store.xlsx import write_sheet

    tmp = _atomic_target(path)
    try:
        count = write_sheet(tmp, header, rows, sheet="scores")
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
        if conn.dialect.name == "postgresql":  # one snapshot for the header's keys and every row
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            header, rows = score_rows(conn, csv_safe=fmt == "csv", **options)
            count = write(path, header, _dense(len(header), rows) if fmt == "csv" else rows)
    log_export(engine, who=who, what=f"scores {fmt}", details={"file": str(path), **options}, rows=count)
    return count


def log_export(engine: Engine, *, who: str, what: str, details: dict, rows: int) -> None:
    with writer(engine).begin() as conn:
        conn.execute(insert(export_log).values(at=now(), who=who, what=what, rows=rows,
                                               details=json.dumps(details, default=str, sort_keys=True)))
