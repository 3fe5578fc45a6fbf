"""Canonical JSON written by the database server: one SQL expression per stored read and
event that builds the exact text its hash covers (the forms of :mod:`.chain`).

A whole-study verification then streams one text per read and per event and hashes it with
hashlib, instead of decoding every read and event into Python objects.

Each expression is *lossless*: two different stored values never give the same text (SQL
JSON string quoting, integers, PostgreSQL's shortest round-trip float output, SQLite floats
through :func:`float.__repr__`, times to the microsecond). Where the database cannot write a
value the way :func:`~readerstudy.store.canonical.canonical_json` does (a type the store never
writes, a float PostgreSQL prints in another notation, a SQLite time in another form) the
piece is NULL, which makes the whole text NULL (``||`` propagates it), and the scan asks for
the exact, slow recomputation instead. JSON columns (a read's units, intervals, flags and
extra, an event's payload and prev_hash) hold canonical text and go in as they are; one
edited into other but equal JSON mismatches here and is judged by the exact recomputation,
and one containing a literal that follows such a piece in the form is unknown (see
:func:`_guards`: otherwise two garbled columns could make up the hashed text between them).
So a fast text can only confirm a hash, never excuse a changed value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from readerstudy.store.canonical import CanonicalTemplate
from readerstudy.store.chain import EVENT_FORM, JSON_FIELDS, READ_FORM

SQLITE_FLOAT = "readerstudy_float"
"""SQLite function (registered per scan) writing a float the way ``canonical_json`` does."""


def sqlite_float(value: Any) -> str | None:
    """``canonical_json`` of a stored float; None (unknown) for anything else."""
    if value.__class__ is float and math.isfinite(value):
        return float.__repr__(value)
    return None


def _quoted(literal: str) -> str:
    return "'" + literal.replace("'", "''") + "'"


def _filled(form: CanonicalTemplate, pieces: Mapping[str, str]) -> str:
    """SQL concatenating ``form``'s literal text and the SQL of each field."""
    parts = []
    for literal, name in zip(form.literals, (*form.fields, None), strict=True):
        if literal:
            parts.append(_quoted(literal))
        if name is not None:
            parts.append(f"({pieces[name]})")
    return " || ".join(parts)


class _SQLite:
    """Pieces for SQLite, which keeps any type in any column: each piece checks it."""

    @staticmethod
    def text(x: str) -> str:
        return f"CASE typeof({x}) WHEN 'text' THEN json_quote({x}) WHEN 'null' THEN 'null' END"

    @staticmethod
    def integer(x: str) -> str:
        return f"CASE typeof({x}) WHEN 'integer' THEN CAST({x} AS TEXT) WHEN 'null' THEN 'null' END"

    @staticmethod
    def real(x: str) -> str:
        # Whole numbers (all 1-5 ratings) in SQL; the rest through float.__repr__. Zero goes
        # to Python too, which tells -0.0 from 0.0.
        return (
            f"CASE typeof({x}) WHEN 'real' THEN CASE WHEN {x} <> 0 AND abs({x}) < 1e15 "
            f"AND {x} = CAST({x} AS INTEGER) THEN CAST(CAST({x} AS INTEGER) AS TEXT) || '.0' "
            f"ELSE {SQLITE_FLOAT}({x}) END WHEN 'null' THEN 'null' END"
        )

    @staticmethod
    def time(x: str) -> str:
        # The store's own form, naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'.
        return (
            f"CASE WHEN typeof({x}) = 'text' AND length({x}) = 26 AND substr({x}, 11, 1) = ' ' "
            f"THEN '\"' || substr({x}, 1, 10) || 'T' || substr({x}, 12) || '+00:00\"' "
            f"WHEN {x} IS NULL THEN 'null' END"
        )

    @staticmethod
    def json(x: str, guards: tuple[str, ...]) -> str:
        absent = "".join(f" AND instr({x}, {_quoted(g)}) = 0" for g in guards)
        return f"CASE WHEN typeof({x}) = 'text'{absent} THEN {x} END"

    @staticmethod
    def utf8(text: str) -> str:
        return f"CAST({text} AS BLOB)"


class _PostgreSQL:
    """Pieces for PostgreSQL: typed columns, pg_catalog functions (the scan puts pg_catalog
    first on the search path so no other schema's function can stand in for them)."""

    @staticmethod
    def text(x: str) -> str:
        return f"CASE WHEN {x} IS NULL THEN 'null' ELSE to_json({x})::text END"

    @staticmethod
    def integer(x: str) -> str:
        return f"coalesce({x}::text, 'null')"

    @staticmethod
    def real(x: str) -> str:
        # Shortest round-trip output (extra_float_digits >= 1) has repr's digits; repr adds
        # '.0' to whole numbers and writes 1e15 <= |x| < 1e16 without an exponent, where
        # PostgreSQL writes 'd.ddde+15': those digits are shifted into place here.
        digits = f"replace(replace(split_part({x}::text, 'e', 1), '-', ''), '.', '')"
        shifted = (
            f"CASE WHEN {x} < 0 THEN '-' ELSE '' END || left(rpad({digits}, 16, '0'), 16) "
            f"|| '.' || coalesce(nullif(substr({digits}, 17), ''), '0')"
        )
        return (
            f"CASE WHEN {x} IS NULL THEN 'null' WHEN abs({x}) < 1e15 AND {x} = trunc({x}) "
            f"THEN {x}::text || '.0' WHEN abs({x}) >= 1e15 AND abs({x}) < 1e16 THEN {shifted} "
            f"ELSE {x}::text END"
        )

    @staticmethod
    def time(x: str) -> str:
        return (
            f"CASE WHEN {x} IS NULL THEN 'null' WHEN {x} >= '0001-01-01 00:00:00+00' "
            f"AND {x} < '10000-01-01 00:00:00+00' THEN '\"' || to_char({x} AT TIME ZONE 'UTC', "
            """'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') || '"' END"""
        )

    @staticmethod
    def json(x: str, guards: tuple[str, ...]) -> str:
        absent = " AND ".join(f"strpos({x}, {_quoted(g)}) = 0" for g in guards)
        return f"CASE WHEN {absent} THEN {x} END"

    @staticmethod
    def utf8(text: str) -> str:
        return f"convert_to({text}, 'UTF8')"


def _dialect(name: str) -> type[_SQLite] | type[_PostgreSQL]:
    return _PostgreSQL if name == "postgresql" else _SQLite


def _guards(form: CanonicalTemplate, raw: set[str], *, raw_prefix: bool = False) -> tuple[str, ...]:
    """The literal texts right after each raw JSON piece of ``form`` (``raw_prefix``: another
    raw piece comes before the form's text). A raw piece is written as stored, so one column
    cut short and the next made longer by the same text would give the very text that was
    hashed; a cut or an overrun carries one of these literals, so a raw piece containing none
    of them is the stored column's own (containing one, it is unknown: the exact path)."""
    after = [form.literals[k + 1] for k, name in enumerate(form.fields) if name in raw]
    return (form.literals[0], *after) if raw_prefix else tuple(after)


def read_texts(dialect: str) -> str:
    """SQL of every read version of the study ``:study`` in id order: ``id, version, reader,
    session, case`` and the UTF-8 canonical text its digest covers (NULL: unknown).
    ``:study_json`` is the study id as JSON text."""
    d = _dialect(dialect)
    guards = _guards(READ_FORM, set(JSON_FIELDS))
    body = _filled(
        READ_FORM,
        {
            "study": ":study_json",
            "id": d.integer("r.id"),
            "version": d.integer("r.version"),
            "reader": d.text("r.reader"),
            "session": d.integer("r.session"),
            "modality": d.text("r.modality"),
            "case": d.text('r."case"'),
            "order": d.integer("r.ord"),
            "units": d.json("r.units", guards),
            "active_s": d.real("r.active_s"),
            "wall_s": d.real("r.wall_s"),
            "started_at": d.time("r.started_at"),
            "submitted_at": d.time("r.submitted_at"),
            "intervals": d.json("r.intervals", guards),
            "flags": d.json("r.flags", guards),
            "extra": d.json("r.extra", guards),
        },
    )
    return (
        f'SELECT r.id, r.version, r.reader, r.session, r."case", {d.utf8(body)} '
        "FROM reads r WHERE r.study_id = :study ORDER BY r.id"
    )


def event_texts(dialect: str, parsed_kinds: frozenset[str]) -> str:
    """SQL of the study's events in sequence order: ``seq, kind, prev_hash, hash``, the
    payload text of the ``parsed_kinds`` (else NULL) and the UTF-8 text hashed into the
    event's hash (prev_hash + canonical JSON; NULL: unknown)."""
    d = _dialect(dialect)
    guards = _guards(EVENT_FORM, {"payload"}, raw_prefix=True)
    body = _filled(
        EVENT_FORM,
        {
            "study": ":study_json",
            "seq": d.integer("e.seq"),
            "kind": d.text("e.kind"),
            "reader": d.text("e.reader"),
            "session": d.integer("e.session"),
            "case": d.text('e."case"'),
            "payload": d.json("e.payload", guards),
            "at": d.time("e.at"),
        },
    )
    kinds = ", ".join(map(_quoted, sorted(parsed_kinds)))
    hashed = d.utf8(f"({d.json('e.prev_hash', guards)}) || {body}")
    return (
        f"SELECT e.seq, e.kind, e.prev_hash, e.hash, "
        f"CASE WHEN e.kind IN ({kinds}) THEN e.payload END, {hashed} "
        "FROM audit_events e WHERE e.study_id = :study ORDER BY e.seq"
    )
