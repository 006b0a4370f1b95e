"""What the commands keep between runs under `_build/.cache`: JSON files, each result under a digest of
everything it was worked out from (the inputs, and the code that read them), written whole or not at
all. Used by the book's facts (thbcourse.book.facts) and the near-duplicate pairs
(thbcourse.bank.duplicates). Deleting `_build/.cache` is always safe."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path


def digest(*parts: bytes) -> str:
    """A BLAKE2 digest of the parts, each prefixed by its length (so no two lists of parts collide)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


@lru_cache(maxsize=None)
def code_digest(*modules: str) -> str:
    """A digest naming the installed version of each module (its file, size and modification time),
    without importing it: kept results name the code that worked them out. Worked out once a process
    (the code does not change while it runs)."""
    found = []
    for name in modules:
        spec = find_spec(name)
        origin = Path(spec.origin) if spec and spec.origin else None
        stat = origin.stat() if origin else None
        found.append(f"{name}:{origin}:{stat.st_size if stat else ''}:{stat.st_mtime_ns if stat else ''}".encode())
    return digest(*found)


def read_kept(file: Path) -> dict:
    """What a command kept in `file` (JSON), or {} when there is nothing usable."""
    try:
        kept = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return kept if isinstance(kept, dict) else {}


def write_kept(file: Path, data: dict) -> None:
    """Write `data` to `file` whole or not at all, whoever else writes it at the same time; a folder that
    cannot be written to is no error (the next run works it out again)."""
    part = file.with_name(f"{file.name}.{os.getpid()}")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        part.write_text(json.dumps(data), encoding="utf-8")
        os.replace(part, file)
    except OSError:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
