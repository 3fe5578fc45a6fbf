"""The coordinator commands through Typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from readerstudy.cli import build_app
from readerstudy.study.clock import SimulatedTime
from readerstudy.study.protocol import Study
from readerstudy.workflows.simulate import SimulationConfig, simulate_study

from .conftest import PIN, all_negative, write_study_folder

runner = CliRunner()


@pytest.fixture
def app():
    return build_app()


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "study"
    write_study_folder(path, n_cases=4, readers=("r1", "r2"))
    return path


def test_lock_writes_the_schedule_and_refuses_once_reading_started(app, folder):
    result = runner.invoke(app, ["study", "lock", str(folder)])
    assert result.exit_code == 0, result.output
    assert "locked: 16 reads, design sequential, seed 3" in result.output
    assert (folder / "schedule.csv").read_text().startswith("reader,session,order,code,case")
    result = runner.invoke(app, ["study", "pin", str(folder), "--reader", "r1", "--pin", PIN])
    assert result.exit_code == 0, result.output
    with Study.open(folder) as study:
        study.login("r1", PIN)
    result = runner.invoke(app, ["study", "lock", str(folder)])
    assert result.exit_code == 2
    assert "reading has started" in result.output


def test_lock_without_ai_outputs_says_to_precompute(app, folder):
    (folder / "ai" / "ai_regions.csv").unlink()
    result = runner.invoke(app, ["study", "lock", str(folder)])
    assert result.exit_code == 2
    assert "readerstudy study precompute" in result.output


def test_definition_errors_are_one_line_with_key_and_line(app, folder):
    toml = folder / "study.toml"
    toml.write_text(toml.read_text().replace('design = "sequential"', 'design = "latin"'))
    result = runner.invoke(app, ["study", "lock", str(folder)])
    assert result.exit_code == 2
    assert "design (line 5): Input should be 'sequential' or 'crossover'" in result.output


def test_status_json_and_table(app, folder):
    runner.invoke(app, ["study", "lock", str(folder)])
    time = SimulatedTime()
    with Study.open(folder, time=time) as study:
        simulate_study(study, config=SimulationConfig(seed=1))
    result = runner.invoke(app, ["study", "status", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["reader"], r["session"]) for r in rows] == [
        ("r1", 1),
        ("r1", 2),
        ("r2", 1),
        ("r2", 2),
    ]
    assert all(r["done"] == r["total"] == 4 for r in rows)
    assert rows[1]["opens_at"] is not None
    assert rows[0]["active_s"] > 0
    table = runner.invoke(app, ["study", "status", str(folder)])
    assert table.exit_code == 0
    assert "4/4" in table.output


def test_unlock_is_audited_and_audit_verify_detects_tampering(app, folder, tmp_path):
    runner.invoke(app, ["study", "lock", str(folder)])
    runner.invoke(app, ["study", "pin", str(folder), "--reader", "r1", "--pin", PIN])
    with Study.open(folder) as study:
        session = study.login("r1", PIN)
        while session.current is not None:
            session.submit(all_negative(session.current))
            session.advance()
    result = runner.invoke(
        app, ["study", "unlock", str(folder), "--reader", "r1", "--session", "2", "--reason", "x"]
    )
    assert result.exit_code == 0, result.output
    with Study.open(folder) as study:
        assert study.login("r1", PIN).session == 2
    ok = runner.invoke(app, ["study", "audit", str(folder), "--verify"])
    assert ok.exit_code == 0, ok.output
    assert "audit chain OK" in ok.output
    import sqlite3

    with sqlite3.connect(folder / "results.sqlite") as conn:
        triggers = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
        ]
        for name in triggers:
            conn.execute(f"DROP TRIGGER {name}")
        # One answer flipped in the first read's stored JSON.
        conn.execute(
            "UPDATE reads SET units = replace(units, '\"call\":0', '\"call\":1') WHERE id = 1"
        )
    broken = runner.invoke(app, ["study", "audit", str(folder), "--verify"])
    assert broken.exit_code == 1
    assert "audit chain BROKEN at" in broken.output


def test_export_writes_every_file(app, folder, tmp_path):
    runner.invoke(app, ["study", "lock", str(folder)])
    runner.invoke(app, ["simulate", str(folder), "--seed", "4"])
    out = tmp_path / "export"
    result = runner.invoke(app, ["study", "export", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert {"ratings.csv", "times.csv", "truth.csv", "cases.csv", "ai_regions.csv"} <= names
    assert "teststudy_readings.xlsx" in names
    assert "imrmc_input.imrmc" in names


def test_simulate_command_reads_the_whole_study(app, folder):
    runner.invoke(app, ["study", "lock", str(folder)])
    result = runner.invoke(app, ["simulate", str(folder), "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert "simulated 16 reads by 2 readers (4 sessions" in result.output
    again = runner.invoke(app, ["simulate", str(folder)])
    assert again.exit_code == 0
    assert "simulated 0 reads" in again.output


def test_simulate_passes_reliance_for_every_reader_and_one(app, folder, monkeypatch):
    import readerstudy.workflows.simulate as simulate

    runner.invoke(app, ["study", "lock", str(folder)])
    configs = []

    def fake_simulate_study(study, *, config, pin):
        configs.append(config)
        return simulate.SimulationSummary(0, 2, 0, 0.0)

    monkeypatch.setattr(simulate, "simulate_study", fake_simulate_study)
    args = ["simulate", str(folder), "--reliance", "0.3", "--reliance", "r2=0.9"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    (config,) = configs
    assert (config.reliance, dict(config.reader_reliance), config.seed) == (0.3, {"r2": 0.9}, 3)
    assert config.profile(1, "r2").reliance == 0.9


@pytest.mark.parametrize(
    ("value", "message"),
    [("1.5", "--reliance '1.5': give a probability in [0, 1]"), ("r9=0.5", "not in the study: r9")],
)
def test_simulate_refuses_a_bad_reliance_in_one_line(app, folder, value, message):
    runner.invoke(app, ["study", "lock", str(folder)])
    result = runner.invoke(app, ["simulate", str(folder), "--reliance", value])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    with Study.open(folder) as study:
        assert study.store.reads() == []


def test_precompute_calls_predict_many_and_caches(app, folder, monkeypatch, asymmetry_by_default):
    import pandas as pd

    calls = []

    def fake_predict_many(cases_dir, out_dir, *, method, progress=None):
        calls.append((cases_dir, out_dir, method.name))
        rows = [
            {"case": c, "unit": "C_left", "probability": 0.2, "call": 0}
            for c in ("C01", "C02", "C03", "C04")
        ]
        frame = pd.DataFrame(rows)
        frame.to_csv(out_dir / "ai_regions.csv", index=False)
        return frame

    import readerstudy.workflows.ai

    monkeypatch.setattr(readerstudy.workflows.ai, "predict_many", fake_predict_many)
    (folder / "ai" / "ai_regions.csv").unlink()
    first = runner.invoke(app, ["study", "precompute", str(folder)])
    assert first.exit_code == 0, first.output
    assert "computed for 4 cases (asymmetry)" in first.output
    assert calls == [(folder / "cases", folder / "ai", "asymmetry")]
    second = runner.invoke(app, ["study", "precompute", str(folder)])
    assert "cached" in second.output
    assert len(calls) == 1
