"""Store fixtures: the same tests run on SQLite (a study folder) and PostgreSQL (own schema)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from readerstudy.store import Store, open_store

# The worker module is imported by name here and in spawned processes (which inherit sys.path).
sys.path.insert(0, str(Path(__file__).parent))


@dataclass(frozen=True)
class Location:
    """Where a test's store lives: a target for open_store, and a PostgreSQL schema or None."""

    target: str
    schema: str | None
    backend: str

    def open(self, study_id: str = "study-a") -> Store:
        return open_store(self.target, study_id=study_id, schema=self.schema)

    def raw_engine(self) -> sa.Engine:
        """An engine outside the store (the attacker's view), on the same tables."""
        if self.schema is None:
            return sa.create_engine(self.target)
        return sa.create_engine(
            self.target, connect_args={"options": f"-csearch_path={self.schema}"}
        )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.requires_postgres)])
def location(
    request: pytest.FixtureRequest, study_dir: Path, postgres_url: str
) -> Iterator[Location]:
    """A fresh store location on each backend; PostgreSQL gets a schema dropped afterwards."""
    if request.param == "sqlite":
        yield Location(f"sqlite:///{study_dir / 'results.sqlite'}", None, "sqlite")
        return
    schema = f"rs_test_{uuid.uuid4().hex[:12]}"
    yield Location(postgres_url, schema, "postgresql")
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


@pytest.fixture
def store(location: Location) -> Iterator[Store]:
    with location.open() as opened:
        yield opened


@pytest.fixture
def exact_rechecks(monkeypatch) -> list:
    """Records every read or event verify_audit had to recompute the exact (slow) way."""
    calls: list = []
    for name in ("_exact_digest", "_exact_event_hash"):
        exact = getattr(Store, name)

        def recorded(self, conn, key, _exact=exact, _name=name):
            calls.append((_name, key))
            return _exact(self, conn, key)

        monkeypatch.setattr(Store, name, recorded)
    return calls
