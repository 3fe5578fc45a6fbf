"""The shape every refusal of bad input takes on the command line, and what it must leave."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from readerstudy.cli import build_app

STORE = "results.sqlite"


def assert_one_line(result, *needles: str) -> str:
    """Exit 2 and one line (so no traceback) holding every needle; returns that line."""
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (SQLite's -wal/-shm sidecars left out: they
    come and go with every connection)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(folder).rglob("*"))
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


def store_rows(folder: Path) -> dict[str, int]:
    """Rows per table of the study's SQLite store, read without writing; empty without one."""
    path = Path(folder) / STORE
    if not path.is_file() or path.stat().st_size == 0:
        return {}
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}


def audit(folder: Path) -> tuple[int, str]:
    """Exit status and output of ``readerstudy study audit --verify`` on the study."""
    result = CliRunner().invoke(build_app(), ["study", "audit", str(folder), "--verify"])
    return result.exit_code, result.output.strip()


def snapshot(folder: Path) -> dict:
    """What a refused command must leave as it was: the files, the store's row counts and
    the audit verdict (a study without a store has no audit to run)."""
    folder = Path(folder)
    state: dict = {"files": digests(folder), "rows": store_rows(folder)}
    if state["rows"]:
        state["audit"] = audit(folder)
    return state
