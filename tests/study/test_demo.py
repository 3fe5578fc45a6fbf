"""The demo pipeline: wiring and caching on rerun.

Phantom generation and the model are swapped for small stand-ins here (the expensive calls,
patched as the style guide says); everything else runs for real: init, lock, simulated
readers through ReaderSession, export and the analysis report.
"""

from __future__ import annotations

import csv
import re

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from typer.testing import CliRunner

import readerstudy.workflows.ai
import readerstudy.workflows.demo as demo
from analysis.units import UNITS
from readerstudy.cli import app
from readerstudy.study.definition import Design
from readerstudy.study.protocol import Study

runner = CliRunner()


def _tiny_phantoms(out, n_cases, seed, echo):
    """Stand-in for the DICOM phantom set: tiny NIfTI cases with truth, written once."""
    folder = out / "phantoms"
    if (folder / "truth.csv").is_file():
        echo(f"  phantoms: reusing {n_cases} cached cases in {folder}")
        return folder
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    truth, cases = [], []
    for i in range(n_cases):
        case = f"P{i:03d}"
        (folder / case).mkdir()
        image = sitk.GetImageFromArray(rng.normal(30, 4, (4, 16, 16)).astype(np.float32))
        sitk.WriteImage(image, str(folder / case / "image.nii.gz"))
        side = ("left", "right", "none")[i % 3]
        for unit in UNITS:
            truth.append((case, unit, int(side != "none" and unit.endswith(side) and i % 2 == 0)))
        cases.append((case, side))
    for name, header, rows in (
        ("truth.csv", ("case", "unit", "truth"), truth),
        ("cases.csv", ("case", "side"), cases),
    ):
        with (folder / name).open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    return folder


@pytest.fixture
def model_calls(monkeypatch, asymmetry_by_default):
    calls = []

    def predict_many(cases_dir, out_dir, *, method, progress=None):
        calls.append(method.name)
        rows = [
            {"case": p.name, "unit": u, "probability": 0.3, "call": int(u.startswith("M"))}
            for p in sorted(cases_dir.iterdir())
            for u in UNITS
        ]
        frame = pd.DataFrame(rows)
        frame.to_csv(out_dir / "ai_regions.csv", index=False)
        return frame

    monkeypatch.setattr(readerstudy.workflows.ai, "predict_many", predict_many)
    monkeypatch.setattr(demo, "_phantoms", _tiny_phantoms)
    return calls


def test_demo_runs_end_to_end_and_reuses_its_cache(tmp_path, model_calls):
    lines = []
    result = demo.run_demo(tmp_path / "demo", n_cases=6, echo=lines.append)
    assert result.steps == ["phantoms", "init", "ai", "simulate", "analysis"]
    assert result.report.is_file()
    assert any(line.startswith("sensitivity: unaided") for line in result.summary)
    assert any("48 reads by 4 readers" in line for line in lines)
    assert (tmp_path / "demo" / "export" / "ratings.csv").is_file()
    assert model_calls == ["asymmetry"]

    again = []
    rerun = demo.run_demo(tmp_path / "demo", n_cases=6, echo=again.append)
    assert rerun.steps == result.steps
    assert any("reusing 6 cached cases" in line for line in again)
    assert any("reused cached outputs" in line for line in again)
    assert model_calls == ["asymmetry"]


def test_demo_command_runs_the_crossover_design_end_to_end(tmp_path, model_calls):
    out = tmp_path / "demo"
    args = ["demo", "--headless", "--design", "crossover", "--cases", "8", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "(4 readers, crossover design, 14-day washout)" in result.output
    with Study.open(out / "study") as study:
        assert study.definition.design is Design.CROSSOVER
        assert study.store.verify_audit().ok
        reads = study.store.reads()
    assert len(reads) == len(demo.DEMO_READERS) * 2 * 8
    for reader in demo.DEMO_READERS:
        for session in (1, 2):
            mine = {r.modality for r in reads if r.reader == reader and r.session == session}
            assert mine == {"unaided", "aided"}
    # the console summary keeps the design's order although a crossover's reads come mixed
    assert re.search(r"time per case: unaided [\d.]+ ± [\d.]+ s, aided", result.output)
    assert "region ICC(A,1): unaided" in result.output
    assert (out / "analysis" / "report.html").is_file()


def test_demo_command_passes_design_and_reliance(monkeypatch, tmp_path):
    calls = []

    def fake_run_demo(out, **kwargs):
        calls.append(kwargs)
        return demo.DemoResult(study=out / "study", summary=["region ICC(A,1): unaided 0.6"])

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)
    args = ["demo", "--headless", "--out", str(tmp_path), "--reliance", "0", "--reliance", "r2=1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    (kwargs,) = calls
    assert (kwargs["design"], kwargs["reliance"], kwargs["reader_reliance"]) == (
        "sequential",
        0.0,
        {"r2": 1.0},
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--design", "parallel"], "--design must be sequential or crossover, got 'parallel'"),
        (["--reliance", "r9=0.5"], "--reliance for reader(s) not in the demo: r9"),
        (["--reliance", "2"], "give a probability in [0, 1]"),
    ],
)
def test_demo_command_refuses_bad_options_before_any_work(tmp_path, args, message):
    result = runner.invoke(app, ["demo", "--headless", "--out", str(tmp_path / "d"), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "d").exists()


@pytest.mark.slow
def test_the_real_demo_runs_end_to_end_on_phantoms_and_the_embedded_model(tmp_path):
    """No stand-ins: DICOM phantoms, de-identified import, predict_many, readers, analysis."""
    lines = []
    result = demo.run_demo(tmp_path / "demo", n_cases=4, echo=lines.append)
    assert result.steps == ["phantoms", "init", "ai", "simulate", "analysis"], lines
    assert result.report.is_file()
    with Study.open(result.study) as study:
        assert study.store.verify_audit().ok
        assert len(study.store.reads()) == 4 * 2 * 4
        assert {r["format"] for r in _manifest(study)} == {"dicom"}
        ai = pd.read_csv(study.ai_dir / "ai_regions.csv")
        assert set(ai.case) == set(study.case_codes())
        assert ai.probability.between(0, 1).all()


def _manifest(study):
    with (study.path / "manifest.csv").open() as handle:
        return list(csv.DictReader(handle))
