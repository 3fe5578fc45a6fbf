"""Shared fixtures: Qt offscreen, temporary study folders, reference data, PostgreSQL."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

# Must be set before any Qt import, including pytest-qt's own.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REFDATA = Path(__file__).resolve().parents[1].parent / "shared" / "refdata"
"""Read-only public reference data beside the project (never copied into it)."""

POSTGRES_HOST, POSTGRES_PORT = "127.0.0.1", 5432
POSTGRES_URL = f"postgresql+psycopg://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/test"


def _postgres_answers() -> bool:
    try:
        with socket.create_connection((POSTGRES_HOST, POSTGRES_PORT), timeout=1.0):
            return True
    except OSError:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if any(item.get_closest_marker("requires_postgres") for item in items) and (
        not _postgres_answers()
    ):
        skip = pytest.mark.skip(
            reason=f"PostgreSQL does not answer on {POSTGRES_HOST}:{POSTGRES_PORT}"
        )
        for item in items:
            if item.get_closest_marker("requires_postgres"):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def refdata() -> Path:
    """The shared reference-data folder; skips with a reason where it is absent."""
    if not REFDATA.is_dir():
        pytest.skip(f"reference data not found at {REFDATA} (outside this checkout)")
    return REFDATA


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """SQLAlchemy URL of the local PostgreSQL test database (tests also mark requires_postgres)."""
    return POSTGRES_URL


@pytest.fixture
def asymmetry_by_default(monkeypatch):
    """Method ``auto`` stands for the asymmetry method whatever weights are shipped, for tests
    of the app's plumbing that pin the method's outputs or must not load the network."""
    from model import infer

    monkeypatch.setattr(infer, "default_method", lambda weights=None: "asymmetry")
    infer.clear_method_cache()
    yield
    infer.clear_method_cache()


@pytest.fixture
def study_dir(tmp_path: Path) -> Path:
    """An empty temporary study folder."""
    path = tmp_path / "study"
    path.mkdir()
    return path
