"""Reading CSV files that people prepare (rosters, collected answers), with line-numbered problems.

The whole file is checked before anything is written: a caller gets every row or an AuthoringError
listing every bad line, never a half-import.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from thbcourse.problems import AuthoringError, Problem, display_path

MAX_BYTES = 50 * 2**20


def read_rows(path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[tuple[int, dict]]:
    """(line number, row) for every data row; header names are compared case-insensitively."""
    shown = display_path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise AuthoringError([Problem(shown, 1, 1, f"file is larger than {MAX_BYTES // 2**20} MB")])
        raw = path.read_bytes()
    except OSError as err:
        raise AuthoringError([Problem(shown, 1, 1, f"cannot read file: {err.strerror or err}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise AuthoringError([Problem(shown, line, 1, "not valid UTF-8: save the file as 'CSV UTF-8' "
                                                      "in your spreadsheet program")]) from None
    if "\x00" in text:
        raise AuthoringError([Problem(shown, text.count("\n", 0, text.index("\x00")) + 1, 1,
                                      "file contains a NUL byte: not a CSV file")])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise AuthoringError([Problem(shown, 1, 1, "file is empty; the first line must be the header: "
                                                   + ",".join(required + optional))]) from None
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in required + optional]
    if missing or unknown or len(set(header)) != len(header):
        parts = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
            [f"unknown column(s) {', '.join(unknown)}"] if unknown else []) + (
            ["a column is repeated"] if len(set(header)) != len(header) else [])
        raise AuthoringError([Problem(shown, 1, 1, "wrong header: " + "; ".join(parts)
                                      + f" (expected: {','.join(required + optional)})")])
    rows, problems = [], []
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                problems.append(Problem(shown, line, 1, f"{len(values)} fields, the header has {len(header)}"))
                continue
            rows.append((line, {k: v.strip() for k, v in zip(header, values)}))
    except csv.Error as err:
        problems.append(Problem(shown, reader.line_num, 1, f"CSV syntax error: {err}"))
    if problems:
        raise AuthoringError(problems)
    return rows
