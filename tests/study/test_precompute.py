"""``study precompute``: cached on the method's version hash, past failed cases, levels.csv."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from typer.testing import CliRunner

from analysis.units import UNITS
from readerstudy.cli import build_app

from .conftest import write_study_folder

runner = CliRunner()


@pytest.fixture
def fresh_methods():
    from model import infer

    infer.clear_method_cache()
    yield
    infer.clear_method_cache()


def test_new_weights_recompute_without_force(
    tmp_path, monkeypatch, fresh_methods, asymmetry_by_default
):
    import model.scoring
    import readerstudy.workflows.ai
    from model import infer

    folder = tmp_path / "study"
    write_study_folder(folder, n_cases=2)
    calls = []

    def fake_predict_many(cases_dir, out_dir, *, method, progress=None):
        calls.append(method)
        rows = [
            {"case": c, "unit": u, "probability": 0.2, "call": 0}
            for c in ("C01", "C02")
            for u in UNITS
        ]
        frame = pd.DataFrame(rows)
        frame.to_csv(out_dir / "ai_regions.csv", index=False)
        return frame

    monkeypatch.setattr(readerstudy.workflows.ai, "predict_many", fake_predict_many)
    app = build_app()
    assert "computed" in runner.invoke(app, ["study", "precompute", str(folder)]).output
    assert "cached" in runner.invoke(app, ["study", "precompute", str(folder)]).output
    assert len(calls) == 1

    weights = json.loads(model.scoring.WEIGHTS_PATH.read_text())
    weights["threshold"] = 0.42
    refit = tmp_path / "asymmetry.json"
    refit.write_text(json.dumps(weights))
    monkeypatch.setattr(model.scoring, "WEIGHTS_PATH", refit)
    infer.clear_method_cache()
    result = runner.invoke(app, ["study", "precompute", str(folder)])
    assert result.exit_code == 0, result.output
    assert "computed for 2 cases" in result.output
    assert len(calls) == 2
    key = json.loads((folder / "ai" / "cache.json").read_text())
    assert key["method_hash"] == infer.get_method("asymmetry").version_hash


@pytest.mark.slow
def test_precompute_goes_on_past_a_non_head_and_writes_atlas_and_levels(
    tmp_path, fresh_methods, asymmetry_by_default
):
    from model.anatomy import LABELS
    from model.phantom import generate_phantom

    folder = tmp_path / "study"
    write_study_folder(folder, n_cases=2)
    phantom = generate_phantom(5)
    sitk.WriteImage(phantom.image, str(folder / "cases" / "C01" / "image.nii.gz"))
    # C02: a uniform water cylinder in air, head-sized but without a skull: a true refusal.
    _, y, x = np.mgrid[:24, :200, :200]
    inside = (y - 100) ** 2 + (x - 100) ** 2 < 80**2
    cylinder = sitk.GetImageFromArray(np.where(inside, 30.0, -1000.0).astype(np.float32))
    cylinder.SetSpacing((0.9, 0.9, 5.0))
    sitk.WriteImage(cylinder, str(folder / "cases" / "C02" / "image.nii.gz"))

    result = runner.invoke(build_app(), ["study", "precompute", str(folder)])
    assert result.exit_code == 2, result.output
    assert "1 of 2 case(s) failed (C02)" in result.stderr
    assert "no skull" in result.stderr
    assert list(pd.read_csv(folder / "ai" / "failed.csv")["case"]) == ["C02"]
    # C01 is written; the study table waits for every case, so the study cannot be locked.
    record = json.loads((folder / "ai" / "predictions" / "C01.json").read_text())
    assert [r["unit"] for r in record["regions"]] == list(UNITS)
    assert (folder / "ai" / "masks" / "C01.nii.gz").is_file()
    assert not (folder / "ai" / "ai_regions.csv").exists()
    assert not (folder / "ai" / "cache.json").exists()
    locked = runner.invoke(build_app(), ["study", "lock", str(folder)])
    assert locked.exit_code == 2
    assert "no AI outputs" in locked.output

    atlas = sitk.ReadImage(str(folder / "ai" / "atlas" / "C01.nii.gz"))
    assert atlas.GetPixelID() == sitk.sitkUInt8
    assert atlas.GetSize() == phantom.image.GetSize()
    np.testing.assert_allclose(atlas.GetOrigin(), phantom.image.GetOrigin(), atol=1e-3)
    labels = sitk.GetArrayViewFromImage(atlas)
    truth = sitk.GetArrayViewFromImage(phantom.regions)
    for value in (LABELS["L_left"], LABELS["M2_right"]):
        overlap = np.logical_and(labels == value, truth == value).sum()
        assert 2 * overlap / ((labels == value).sum() + (truth == value).sum()) > 0.8

    levels = pd.read_csv(folder / "levels.csv")
    assert list(levels.columns) == ["case", "ganglionic", "supraganglionic"]
    assert list(levels["case"]) == ["C01"]
    for level in ("ganglionic", "supraganglionic"):
        assert abs(int(levels[level].iloc[0]) - phantom.levels[level]) <= 1


def test_study_weights_come_from_the_study_folder(tmp_path, monkeypatch, fresh_methods):
    import model.scoring
    import readerstudy.workflows.ai
    from model import infer
    from readerstudy.workflows.ai import MethodChoice

    folder = tmp_path / "study"
    write_study_folder(folder, n_cases=2, ai={"method": "asymmetry", "weights": "site/cal.json"})
    site = folder / "site" / "cal.json"
    site.parent.mkdir()
    weights = json.loads(model.scoring.WEIGHTS_PATH.read_text())
    weights["threshold"] = 0.37
    site.write_text(json.dumps(weights))
    calls = []

    def fake_predict_many(cases_dir, out_dir, *, method, progress=None):
        calls.append(method)
        frame = pd.DataFrame(
            [
                {"case": c, "unit": u, "probability": 0.2, "call": 0}
                for c in ("C01", "C02")
                for u in UNITS
            ]
        )
        frame.to_csv(out_dir / "ai_regions.csv", index=False)
        return frame

    monkeypatch.setattr(readerstudy.workflows.ai, "predict_many", fake_predict_many)
    result = runner.invoke(build_app(), ["study", "precompute", str(folder)])
    assert result.exit_code == 0, result.output
    assert calls == [MethodChoice("asymmetry", "auto", site)]
    key = json.loads((folder / "ai" / "cache.json").read_text())
    assert key["method_hash"] == infer.get_method("asymmetry", weights=site).version_hash
    assert key["method_hash"] != infer.get_method("asymmetry").version_hash

    site.unlink()
    missing = runner.invoke(build_app(), ["study", "precompute", str(folder), "--force"])
    assert missing.exit_code == 2
    assert "[ai] weights 'site/cal.json' does not exist" in missing.output
    assert len(missing.output.strip().splitlines()) == 1


def test_a_study_without_site_weights_keeps_its_content_hash():
    """Studies locked before ``[ai] weights`` existed must still match their lock."""
    from readerstudy.study.definition import StudyDefinition

    plain = StudyDefinition.model_validate({"name": "s", "readers": [{"id": "r1"}]})
    assert "weights" not in plain.to_toml()
    assert "weights" not in json.dumps(plain._dump())
    with_weights = StudyDefinition.model_validate(
        {"name": "s", "readers": [{"id": "r1"}], "ai": {"weights": "site/w"}}
    )
    assert 'weights = "site/w"' in with_weights.to_toml()
    assert with_weights.content_hash() != plain.content_hash()
    assert plain.ai.method == "auto"
