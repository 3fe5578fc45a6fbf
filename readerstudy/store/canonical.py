"""Canonical JSON: the one text form hashed by the audit chain and stored in JSON columns."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: the store keeps UTC times")
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    raise TypeError(f"{type(value).__name__} {value!r} cannot be stored as JSON")


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 text, datetimes as UTC ISO 8601.

    Raises TypeError for values JSON cannot hold and ValueError for NaN or infinity.
    """
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_jsonable,
    )


def json_roundtrip(value: Any) -> Any:
    """``value`` as it will read back from the store (tuples become lists, times strings)."""
    return json.loads(canonical_json(value))
