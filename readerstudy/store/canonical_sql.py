"""Canonical JSON written by the database server: one SQL expression per stored read and
event that builds the exact text its hash covers (the forms of :mod:`.chain`).

A whole-study verification then streams one text per read and per event and hashes it with
hashlib, instead of fetching a million unit rows into Python objects.

Each expression is *lossless*: two different stored values never give the same text (SQL
JSON string quoting, integers, PostgreSQL's shortest round-trip float output, SQLite floats
through :func:`float.__repr__`, times to the microsecond). Where the database cannot write a
value the way :func:`~readerstudy.store.canonical.canonical_json` does (a type the store never
writes, a float PostgreSQL prints in another notation, a SQLite time in another form) the
piece is NULL, which makes the whole text NULL (``||`` propagates it; a child row's piece
becomes a bare ``?`` instead, see :data:`_UNKNOWN`), and the scan asks for the exact, slow
recomputation instead. So a fast text can only confirm a hash, never excuse a changed value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from readerstudy.store.canonical import CanonicalTemplate
from readerstudy.store.chain import EVENT_FORM, INTERVAL_FORM, READ_FORM, UNIT_FORM

SQLITE_FLOAT = "readerstudy_float"
"""SQLite function (registered per scan) writing a float the way ``canonical_json`` does."""


def sqlite_float(value: Any) -> str | None:
    """``canonical_json`` of a stored float; None (unknown) for anything else."""
    if value.__class__ is float and math.isfinite(value):
        return float.__repr__(value)
    return None


_UNKNOWN = "'?'"
"""A child row's piece the database cannot write: a bare ``?`` where JSON has a value, so
the text is no JSON at all and matches no hash (aggregates would drop a NULL silently)."""


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
    def json(x: str) -> str:
        return f"CASE typeof({x}) WHEN 'text' THEN {x} END"

    @staticmethod
    def joined(piece: str, table: str, order: str, brackets: str) -> str:
        """The pieces of a read's child rows joined in ``order``, each unknown one as
        :data:`_UNKNOWN`."""
        return (
            f"SELECT '{brackets[0]}' || coalesce(group_concat(piece, ','), '') || "
            f"'{brackets[1]}' FROM (SELECT coalesce({piece}, {_UNKNOWN}) AS piece "
            f"FROM {table} c WHERE c.read_id = r.id ORDER BY {order})"
        )

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
    def json(x: str) -> str:
        return x

    @staticmethod
    def joined(piece: str, table: str, order: str, brackets: str) -> str:
        return (
            f"SELECT '{brackets[0]}' || coalesce(string_agg(coalesce({piece}, {_UNKNOWN}), "
            f"',' ORDER BY {order}), '') || '{brackets[1]}' FROM {table} c "
            "WHERE c.read_id = r.id"
        )

    @staticmethod
    def utf8(text: str) -> str:
        return f"convert_to({text}, 'UTF8')"


def _dialect(name: str) -> type[_SQLite] | type[_PostgreSQL]:
    return _PostgreSQL if name == "postgresql" else _SQLite


def read_texts(dialect: str) -> str:
    """SQL of every read version of the study ``:study`` in id order: ``id, version, reader,
    session, case`` and the UTF-8 canonical text its digest covers (NULL: unknown).
    ``:study_json`` is the study id as JSON text."""
    d = _dialect(dialect)
    unit = _filled(UNIT_FORM, {"call": d.integer('c."call"'), "rating": d.real('c."rating"')})
    units = d.joined(
        f"({d.text('c.unit')}) || ':' || {unit}",
        "read_units",
        'c.unit COLLATE "C"' if dialect == "postgresql" else "c.unit",
        "{}",
    )
    interval = _filled(
        INTERVAL_FORM,
        {"kind": d.text("c.kind"), "start": d.time("c.start"), "end": d.time('c."end"')},
    )
    intervals = d.joined(interval, "read_intervals", "c.idx", "[]")
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
            "units": units,
            "active_s": d.real("r.active_s"),
            "wall_s": d.real("r.wall_s"),
            "started_at": d.time("r.started_at"),
            "submitted_at": d.time("r.submitted_at"),
            "intervals": intervals,
            "flags": d.json("r.flags"),
            "extra": d.json("r.extra"),
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
    body = _filled(
        EVENT_FORM,
        {
            "study": ":study_json",
            "seq": d.integer("e.seq"),
            "kind": d.text("e.kind"),
            "reader": d.text("e.reader"),
            "session": d.integer("e.session"),
            "case": d.text('e."case"'),
            "payload": d.json("e.payload"),
            "at": d.time("e.at"),
        },
    )
    kinds = ", ".join(map(_quoted, sorted(parsed_kinds)))
    hashed = d.utf8(f"({d.json('e.prev_hash')}) || {body}")
    return (
        f"SELECT e.seq, e.kind, e.prev_hash, e.hash, "
        f"CASE WHEN e.kind IN ({kinds}) THEN e.payload END, {hashed} "
        "FROM audit_events e WHERE e.study_id = :study ORDER BY e.seq"
    )
