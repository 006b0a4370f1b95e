"""Marking sheets for rubric-marked tasks: a CSV a trainer fills in and `thbcourse rubric import` reads."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from thbcourse.store.db import open_gradebook
from thbcourse.store.exports import write_csv
from thbcourse.store.gradebook import cohort_id
from thbcourse.store.tables import learners, memberships


def write_sheet(rubric, out: Path, *, cohort: str | None = None, db: str | None = None) -> int:
    """Header `learner,<criterion ids...>,comment`; one empty row per cohort member (by learner id)."""
    codes: list[str] = []
    if cohort:
        with open_gradebook(db).connect() as conn:
            cid = cohort_id(conn, cohort)
            codes = list(conn.execute(select(learners.c.code).join(memberships, memberships.c.learner_id == learners.c.id)
                                      .where(memberships.c.cohort_id == cid).order_by(learners.c.code)).scalars())
    header = ["learner", *(c.id for c in rubric.criteria), "comment"]
    return write_csv(out, header, iter([[code] + [""] * (len(header) - 1) for code in codes]))
