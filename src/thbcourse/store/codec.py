"""Canonical responses <-> the JSON text kept in the gradebook."""
from __future__ import annotations

import json
from typing import Any


def dump_response(response: Any) -> str:
    if isinstance(response, (set, frozenset)):
        response = sorted(response)
    elif isinstance(response, dict):
        response = {str(k): v for k, v in sorted(response.items())}
    return json.dumps(response, ensure_ascii=False)


def load_response(question_type: str, text: str) -> Any:
    value = json.loads(text)
    if question_type == "multiple":
        return frozenset(value)
    if question_type == "matching":
        return {int(k): v for k, v in value.items()}
    return value
