"""JSON Schemas of the bank, blueprint and rubric formats, generated from the model so they cannot drift."""
from __future__ import annotations

import json
from pathlib import Path

import msgspec

from thbcourse.bank.blueprint import Blueprint
from thbcourse.bank.model import Bank
from thbcourse.bank.rubric import Rubric

SCHEMA_DIR = Path("quizzes/schema")
_MODELS = {"bank": Bank, "blueprint": Blueprint, "rubric": Rubric}


def schema_text(kind: str) -> str:
    schema = msgspec.json.schema(_MODELS[kind])
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$id": f"thbcourse/{kind}.schema.json", **schema}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in _MODELS:
        target = directory / f"{kind}.schema.json"
        target.write_text(schema_text(kind), encoding="utf-8")
        written.append(target)
    return written


def stale_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Schema files that differ from what the model generates."""
    return [directory / f"{k}.schema.json" for k in _MODELS
            if not (directory / f"{k}.schema.json").is_file()
            or (directory / f"{k}.schema.json").read_text(encoding="utf-8") != schema_text(k)]
