"""Question banks exported for the platforms that academies use.

    notes = export_banks(course, "moodle-xml", Path("_build/platforms/banks.xml"))

writes one file, whole or not at all, and returns what the format could not carry: one line per
finding, "question-id: what was dropped or approximated and why". Nothing is dropped silently.

==========  ===================================================================================
format      file
==========  ===================================================================================
moodle-xml  Moodle XML (question bank import), one category per bank            (moodle_xml.py)
gift        GIFT, Moodle's text format, one category per bank                          (gift.py)
qti12       QTI 1.2 zip as Canvas classic quizzes import it, one assessment per bank  (qti12.py)
qti21       QTI 2.1 content package: an assessmentItem per question, one assessmentTest (qti21.py)
==========  ===================================================================================

Scores follow the engine's partial-credit policy (see thbcourse.engine.grade), written as the
per-answer weights each platform takes; stems and feedback go through the safe Markdown renderer.
"""
from __future__ import annotations

import difflib
import importlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from thbcourse.bank.course import Course
from thbcourse.deliveries.platforms.content import BankQuestions, Notes
from thbcourse.problems import NotFound

FORMATS = {"moodle-xml": "moodle_xml", "gift": "gift", "qti12": "qti12", "qti21": "qti21"}


def export_banks(course: Course, fmt: str, out: Path, bank_ids: Iterable[str] = (), *,
                 negative_marking: bool = True) -> list[str]:
    """Write the banks (all of them when `bank_ids` is empty) to `out` in format `fmt`.

    `negative_marking` is the blueprint setting of the same name: whether a wrong option chosen in
    a multiple-response question takes away 1/(number of wrong options).
    """
    if fmt not in FORMATS:
        raise NotFound(f"no export format {fmt!r}; use one of: {', '.join(FORMATS)}")
    module = importlib.import_module(f"{__name__}.{FORMATS[fmt]}")
    notes = Notes()
    data = module.export(selected_banks(course, bank_ids), notes, negative_marking=negative_marking)
    write_atomically(Path(out), data)
    return list(notes)


def selected_banks(course: Course, bank_ids: Iterable[str] = ()) -> list[BankQuestions]:
    """The banks in the order they were loaded, each with its questions (topic filled in)."""
    wanted = list(dict.fromkeys(bank_ids)) or list(course.banks)
    for bank_id in wanted:
        if bank_id not in course.banks:
            close = difflib.get_close_matches(bank_id, list(course.banks), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(course.banks))}"
            raise NotFound(f"no bank {bank_id!r}{hint}")
    return [(course.banks[b], [course.questions[q.id] for q in course.banks[b].questions]) for b in wanted]


def write_atomically(path: Path, data: bytes) -> None:
    """A temporary file beside `path`, renamed over it: a reader never sees half an export."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; give what a new file would get
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
