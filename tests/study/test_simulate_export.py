"""Simulated readers end to end, and the exported tables against DATA_CONTRACTS."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.units import UNITS
from readerstudy.study.clock import SimulatedTime
from readerstudy.study.protocol import Study
from readerstudy.workflows.export import export_study, tables_from_study
from readerstudy.workflows.simulate import (
    PAPER_READERS,
    ReaderProfile,
    SimulationConfig,
    simulate_study,
)

from .conftest import write_study_folder

N_CASES = 24


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """One simulated 4-reader, 24-case sequential study shared by this module's tests."""
    folder = tmp_path_factory.mktemp("sim") / "study"
    write_study_folder(folder, n_cases=N_CASES, readers=("r1", "r2", "r3", "r4"), seed=5)
    study = Study.open(folder, time=SimulatedTime(), create=True)
    study.lock()
    summary = simulate_study(study, config=SimulationConfig(seed=2))
    yield study, summary
    study.close()


def test_every_scheduled_read_is_submitted_through_the_session(simulated):
    study, summary = simulated
    assert summary.reads == len(study.schedule.reads) == 4 * 2 * N_CASES
    assert summary.sessions_completed == 8
    assert summary.simulated_days >= 14
    assert all(s.complete for s in study.status())
    assert study.store.verify_audit().ok
    # washout respected by every reader: session 2 starts >= 14 days after session 1 ends
    for reader in study.definition.reader_ids:
        s1 = study.store.reads(reader=reader, session=1)
        s2 = study.store.reads(reader=reader, session=2)
        gap = min(r.started_at for r in s2) - max(r.submitted_at for r in s1)
        assert gap.total_seconds() >= 14 * 86400


def test_simulated_aided_reads_are_faster_and_more_sensitive_on_average(simulated):
    study, _ = simulated
    tables = tables_from_study(study)
    times = tables["times"].groupby("modality").active_s.mean()
    assert times["aided"] < times["unaided"]
    merged = tables["ratings"].merge(tables["truth"], on=["case", "unit"])
    positives = merged[merged.truth == 1].groupby("modality").call.mean()
    negatives = merged[merged.truth == 0].groupby("modality").call.mean()
    assert positives["aided"] > positives["unaided"]
    assert 0.8 < 1 - negatives["unaided"] < 0.97


def test_exported_tables_follow_the_data_contracts(simulated, tmp_path):
    study, _ = simulated
    written = export_study(study, tmp_path / "out")
    ratings = pd.read_csv(written["ratings"])
    assert list(ratings.columns) == [
        "reader",
        "modality",
        "case",
        "unit",
        "call",
        "rating",
        "session",
        "order",
    ]
    assert set(ratings.reader) == {"r1", "r2", "r3", "r4"}
    assert set(ratings.case) == set(study.case_codes())  # study codes, not S1-001 codes
    assert set(ratings.unit) == set(UNITS)
    assert set(ratings.call) == {0, 1}
    assert ratings.rating.between(1, 5).all()
    assert len(ratings) == 4 * 2 * N_CASES * 20
    times = pd.read_csv(written["times"])
    assert list(times.columns)[:5] == ["reader", "modality", "case", "active_s", "wall_s"]
    assert (times.active_s <= times.wall_s).all()
    truth = pd.read_csv(written["truth"])
    assert list(truth.columns) == ["case", "unit", "truth"]
    assert list(pd.read_csv(written["cases"]).columns)[:2] == ["case", "side"]
    ai = pd.read_csv(written["ai"])
    assert list(ai.columns) == ["case", "unit", "probability", "call"]


def test_workbook_has_one_sheet_per_reader_and_session(simulated, tmp_path):
    from openpyxl import load_workbook

    study, _ = simulated
    written = export_study(study, tmp_path / "out")
    book = load_workbook(written["xlsx"], read_only=True)
    assert sorted(book.sheetnames) == sorted(
        f"{r} S{s} {m}" for r in ("r1", "r2", "r3", "r4") for s, m in ((1, "unaided"), (2, "aided"))
    )
    sheet = pd.read_excel(written["xlsx"], sheet_name="r1 S1 unaided")
    assert len(sheet) == N_CASES
    assert {"ASPECTS_left", "ASPECTS_right", "active_s", *UNITS} <= set(sheet.columns)
    assert sheet.ASPECTS_left.between(0, 10).all()


def test_imrmc_file_has_truth_once_per_unit_and_a_score_per_read(simulated, tmp_path):
    study, _ = simulated
    written = export_study(study, tmp_path / "out")
    lines = written["imrmc"].read_text().splitlines()
    begin = lines.index("BEGIN DATA:")
    header = dict(line.split(": ") for line in lines[1:begin] if ": " in line)
    assert int(header["N0"]) + int(header["N1"]) == N_CASES * 20
    assert header["NR"] == "4"
    assert header["NM"] == "2"
    rows = [line.split(",") for line in lines[begin + 1 :]]
    truth_rows = [r for r in rows if r[0] == "-1"]
    assert len(truth_rows) == N_CASES * 20
    assert len({r[1] for r in truth_rows}) == N_CASES * 20
    assert len(rows) - len(truth_rows) == 4 * 2 * N_CASES * 20
    ids = pd.read_csv(written["imrmc_ids"])
    assert set(ids.loc[ids.kind == "reader", "label"]) == {"r1", "r2", "r3", "r4"}


def test_profiles_validate_and_default_to_the_papers_raters():
    assert PAPER_READERS[0].sensitivity == 0.163
    assert PAPER_READERS[1].mean_s == 250.1
    with pytest.raises(ValueError, match="sensitivity must be strictly between"):
        ReaderProfile(sensitivity=1.0)
    d_prime, threshold = ReaderProfile().operating_point(aided=False)
    assert d_prime > 0
    assert threshold == pytest.approx(1.2816, abs=1e-3)


def test_crossover_study_reads_every_case_once_per_modality_with_ai_only_when_aided(make_study):
    study = make_study(design="crossover", n_cases=8, readers=("r1", "r2", "r3", "r4"))
    summary = simulate_study(study, config=SimulationConfig(seed=3), pin="2468")
    assert summary.reads == 4 * 2 * 8
    reads = study.store.reads()
    pairs = {(r.reader, r.case, r.modality) for r in reads}
    assert len(pairs) == len(reads) == 4 * 8 * 2
    for reader in ("r1", "r2", "r3", "r4"):
        for session in (1, 2):
            mine = [r for r in reads if r.reader == reader and r.session == session]
            assert {r.modality for r in mine} == {"unaided", "aided"}
    assert all(r.extra["overlay_exposure_s"] > 0 for r in reads if r.modality == "aided")
    assert all(r.extra["overlay_exposure_s"] == 0 for r in reads if r.modality == "unaided")
    unaided_cases = {(r.reader, r.session, r.case) for r in reads if r.modality == "unaided"}
    for event in study.store.events(kind="overlay_toggle"):
        assert (event.reader, event.session, event.case) not in unaided_cases
