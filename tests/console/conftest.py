"""The console's studies: a site's source set, and studies made from it with ``study init``."""

from __future__ import annotations

from pathlib import Path

import pytest

from readerstudy.study.clock import SimulatedTime
from readerstudy.workflows.coordinator import ConfidenceScale, Coordinator, StudySpec
from tests.console.sources import write_ai, write_source

PIN = "2468"


@pytest.fixture
def source(tmp_path) -> Path:
    """Four cases (two NIfTI, two DICOM, one tilted) with truth.csv and cases.csv."""
    return write_source(tmp_path / "source")


@pytest.fixture
def sim_time() -> SimulatedTime:
    return SimulatedTime()


@pytest.fixture
def locked_study(tmp_path, source, sim_time):
    """``locked_study(amendments=False, db=None, **spec) -> Path``: a study of the source set
    with imported AI outputs (nothing to precompute), locked (in the store at ``db`` when
    given), PIN 2468 for every reader."""

    def make(*, amendments: bool = False, db: str | None = None, **options) -> Path:
        spec = StudySpec(
            folder=tmp_path / f"study-{len(list(tmp_path.glob('study-*')))}",
            cases=source,
            truth=source / "truth.csv",
            meta=source / "cases.csv",
            readers=("r1", "r2", "r3"),
            ai=write_ai(source),
            confidence=ConfidenceScale.FIVE_POINT,
            **options,
        )
        spec.create()
        if amendments:  # edited in study.toml before the lock, as a coordinator does
            toml = spec.folder / "study.toml"
            text = toml.read_text()
            toml.write_text(text.replace("allow_amendments = false", "allow_amendments = true"))
        coordinator = Coordinator(spec.folder, db=db, time=sim_time)
        coordinator.lock(create=True)
        for reader in spec.readers:
            coordinator.set_pin(reader, PIN)
        return spec.folder

    return make


@pytest.fixture
def console(qtbot, sim_time):
    """``console(study=None) -> ConsoleWindow`` shown offscreen on the simulated clock; its
    work is finished and its stores closed at the end."""
    from readerstudy.gui.console.app import open_console

    windows = []

    def make(study: Path | None = None, **kw):
        window = open_console(study, time=sim_time, **kw)
        qtbot.addWidget(window)
        window.resize(1600, 1000)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()


@pytest.fixture
def postgres_store(postgres_url):
    """A store URL on the local PostgreSQL server whose tables live in a fresh schema (a
    search_path in the URL, as a site would give one), dropped afterwards."""
    import uuid

    import sqlalchemy

    schema = f"rs_console_{uuid.uuid4().hex[:10]}"
    engine = sqlalchemy.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    yield f"{postgres_url}?options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()
