"""Canonical JSON: the one text form hashed by the audit chain and stored in JSON columns.

:func:`canonical_json` is the definition. :func:`json_fragment` and :class:`CanonicalTemplate`
produce the same text from values that are already scalars or canonical JSON text (as the
store keeps them); a template's literals and field order are also what
:mod:`readerstudy.store.canonical_sql` has the database server fill in.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: the store keeps UTC times")
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    raise TypeError(f"{type(value).__name__} {value!r} cannot be stored as JSON")


# One encoder, made once: json.dumps with these options builds a new encoder per call,
# which costs more than encoding a small value.
_ENCODER = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    default=_jsonable,
)


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 text, datetimes as UTC ISO 8601.

    Raises TypeError for values JSON cannot hold and ValueError for NaN or infinity.
    """
    return _ENCODER.encode(value)


def json_roundtrip(value: Any) -> Any:
    """``value`` as it will read back from the store (tuples become lists, times strings)."""
    return json.loads(canonical_json(value))


# The decoder's C scanner, set by JSONDecoder.__init__ (typeshed does not list it).
_SCAN_JSON: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def fast_loads(text: str) -> Any:
    """``json.loads`` of a stored JSON column: the store's own canonical text goes straight to
    the C scanner, skipping the per-call wrapper (a third of a whole-study load's decoding);
    anything else (whitespace, trailing text, no text at all) goes the general way."""
    try:
        value, end = _SCAN_JSON(text, 0)
    except (StopIteration, TypeError, ValueError):
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def _finite_float(value: float) -> str:
    return float.__repr__(value) if math.isfinite(value) else canonical_json(value)


# What json.dumps writes for each scalar type (its C encoder uses these same functions);
# dispatch on the exact type, so a bool is never written as an int nor a subclass missed.
_SCALARS: dict[type, Callable[[Any], str]] = {
    type(None): lambda _: "null",
    bool: lambda value: "true" if value else "false",
    int: int.__repr__,
    float: _finite_float,
    str: encode_basestring,
}


def json_fragment(value: Any) -> str:
    """``canonical_json(value)``, fast for scalars (None, bool, int, float, str); the same
    errors for NaN, infinity and values JSON cannot hold."""
    encode = _SCALARS.get(type(value))
    return canonical_json(value) if encode is None else encode(value)


_MARK = "\ue000"  # a private-use character: never in a key, kept as is by ensure_ascii=False
_SLOT = re.compile(f'"{_MARK}(\\w+){_MARK}"')


class CanonicalTemplate:
    """``canonical_json`` of a dict with fixed keys, filled in from JSON fragments.

    ``shape`` maps each key to the name of its fragment, or to a nested shape; the key order
    and punctuation come from :func:`canonical_json` itself, so the filled text is exactly
    ``canonical_json`` of the dict the fragments encode.
    """

    def __init__(self, shape: Mapping[str, Any]) -> None:
        def marked(node: Mapping[str, Any]) -> dict[str, Any]:
            return {
                key: marked(value) if isinstance(value, Mapping) else f"{_MARK}{value}{_MARK}"
                for key, value in node.items()
            }

        pieces = _SLOT.split(canonical_json(marked(shape)))
        self.literals: tuple[str, ...] = tuple(pieces[0::2])
        """The text around the fragments, in order (one more than :attr:`fields`)."""
        self.fields: tuple[str, ...] = tuple(pieces[1::2])
        """The fragment names in the order they appear in the text."""
        escaped = [literal.replace("%", "%%") for literal in self.literals]
        self._format = "".join(
            literal + (f"%({name})s" if name else "")
            for literal, name in zip(escaped, (*self.fields, ""), strict=True)
        )

    def fill(self, fragments: Mapping[str, str]) -> str:
        """The canonical text with each field replaced by its fragment (JSON text)."""
        return self._format % fragments
