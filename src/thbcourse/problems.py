"""Problems found in authored files, reported as `path:line:column: message`.

One exception type carries them to the command line, which prints them without a traceback.
"""
from __future__ import annotations

from pathlib import Path

import msgspec


class Problem(msgspec.Struct, frozen=True, order=True):
    path: str
    line: int  # 1-based
    column: int  # 1-based
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class AuthoringError(Exception):
    """One or more problems in files that course authors write."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(map(str, self.problems)))


def display_path(path: Path) -> str:
    """The path as an author would type it: relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class NotFound(LookupError):
    """A name on the command line (a blueprint, a file) that does not exist."""
