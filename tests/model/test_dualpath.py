"""The dual-path method end to end with a real (tiny, briefly trained) lite network.

Plumbing only: shapes, validity, determinism, hashes, outputs, calibration and the evaluation
report. What the shipped weights achieve is measured on held-out phantoms (docs, model card),
never asserted here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from typer.testing import CliRunner

from analysis.units import UNITS
from model import infer
from model.errors import MethodError
from model.infer import Prediction, predict
from readerstudy.cli import app

runner = CliRunner()

SEEDS = {"case001": 22, "case002": 25, "case003": 3}
"""Two default phantoms with a lesion over two or more units and one without."""

TRAIN = [
    "--config",
    "lite",
    "--device",
    "cpu",
    "--epochs",
    "2",
    "--samples-per-epoch",
    "8",
    "--batch-size",
    "4",
    "--val-fraction",
    "0.34",
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """Three phantoms in the layout ``readerstudy phantom generate`` writes (NIfTI)."""
    from model.phantom import generate_phantom

    folder = tmp_path_factory.mktemp("phantoms")
    (folder / "masks").mkdir()
    rows = ["case,unit,truth"]
    for case, seed in SEEDS.items():
        phantom = generate_phantom(seed)
        (folder / case).mkdir()
        sitk.WriteImage(phantom.image, str(folder / case / "image.nii.gz"))
        sitk.WriteImage(phantom.lesion_mask, str(folder / "masks" / f"{case}.nii.gz"))
        rows += [f"{case},{unit},{phantom.truth[unit]}" for unit in UNITS]
    (folder / "truth.csv").write_text("\n".join(rows) + "\n")
    return folder


@pytest.fixture(scope="module")
def weights(data_dir, tmp_path_factory) -> Path:
    """``readerstudy model train`` for two short epochs: weights, thresholds and card."""
    out = tmp_path_factory.mktemp("weights")
    result = runner.invoke(
        app, ["model", "train", "--data", str(data_dir), "--out", str(out), *TRAIN]
    )
    assert result.exit_code == 0, result.output
    assert "trained lite for 2 epoch(s)" in result.output
    return out


@pytest.fixture
def fresh():
    infer.clear_method_cache()
    yield
    infer.clear_method_cache()


@pytest.mark.slow
def test_train_writes_a_folder_that_describes_itself(weights, data_dir):
    card = json.loads((weights / "model.json").read_text())
    assert card["network"]["name"] == "lite"
    assert card["training"]["command"].startswith(
        f"readerstudy model train --data {data_dir} --config lite"
    )
    thresholds = json.loads((weights / "thresholds.json").read_text())
    assert set(thresholds["thresholds"]) == set(UNITS)
    assert thresholds["provenance"]["validation_cases"] == card["training"]["data"]["val_cases"]
    assert thresholds["provenance"]["weights_sha256"] == card["sha256"]
    text = (weights / "MODEL_CARD.md").read_text()
    assert "Synthetic training data, not for clinical use" in text
    assert card["sha256"] in text
    assert "GPU: not measured: no GPU lent." in text
    assert "Not measured: no evaluation report in this folder." in text


@pytest.mark.slow
def test_a_dualpath_prediction_is_valid_and_deterministic_on_the_cpu(weights, fresh):
    from model.phantom import generate_phantom

    scan = generate_phantom(22).image
    first = predict(scan, "dualpath", device="cpu", weights=weights)
    assert isinstance(first, Prediction)
    assert list(first.regions["unit"]) == list(UNITS)
    assert first.regions["probability"].between(0, 1).all()
    assert first.likelihood.GetSize() == scan.GetSize()
    assert (first.method, first.device) == ("dualpath", "cpu")
    card = json.loads((weights / "model.json").read_text())
    assert first.model == {
        "weights_sha256": card["sha256"],
        "weights": str(weights),
        "config": "lite",
    }
    assert len(first.method_hash) == 16
    stages = {"registration", "preprocess", "mirror", "network", "scoring", "total"}
    assert set(first.timings) == stages
    assert first.timings["total"] >= first.timings["registration"] + first.timings["network"]
    # The network sees the slices the warped atlas covers (+1 each side); elsewhere 0.
    likelihood = sitk.GetArrayFromImage(first.likelihood)
    atlas = sitk.GetArrayViewFromImage(first.registration.atlas)
    covered = np.flatnonzero(atlas.reshape(len(atlas), -1).any(axis=1))
    outside = np.ones(len(atlas), bool)
    outside[max(covered[0] - 1, 0) : covered[-1] + 2] = False
    assert likelihood[outside].max(initial=0.0) == 0.0
    assert likelihood[~outside].max() > 0.0
    # Each unit's probability is its overlap proportion with the warped atlas.
    from model.anatomy import LABELS

    for unit in ("M2_left", "C_right"):
        expected = likelihood[atlas == LABELS[unit]].mean()
        got = first.regions.set_index("unit").loc[unit, "probability"]
        assert got == pytest.approx(expected, rel=1e-5)
    # CPU determinism: the network gives the same bits for the same registration ...
    method = infer.get_method("dualpath", device="cpu", weights=weights)
    np.testing.assert_array_equal(method.segment(scan, first.registration)[0], likelihood)
    # ... and the registration maps the scan the same way again (its metric on one thread,
    # whatever SimpleITK's default), so the whole prediction repeats to the bit.
    again = predict(scan, "dualpath", device="cpu", weights=weights)
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(again.likelihood), likelihood)
    np.testing.assert_array_equal(again.regions["probability"], first.regions["probability"])
    assert again.regions["call"].tolist() == first.regions["call"].tolist()
    assert again.aspects == first.aspects


@pytest.mark.slow
def test_the_version_hash_follows_weights_and_thresholds(weights, tmp_path, fresh):
    copy = tmp_path / "copy"
    shutil.copytree(weights, copy)
    base = infer.get_method("dualpath", weights=weights, device="cpu").version_hash
    assert infer.get_method("dualpath", weights=copy, device="cpu").version_hash == base
    data = json.loads((copy / "thresholds.json").read_text())
    data["thresholds"]["M1_left"] = 0.99
    (copy / "thresholds.json").write_text(json.dumps(data))
    infer.clear_method_cache()
    assert infer.get_method("dualpath", weights=copy, device="cpu").version_hash != base
    (copy / "weights.pt").write_bytes((copy / "weights.pt").read_bytes() + b"\0")
    infer.clear_method_cache()
    with pytest.raises(MethodError, match="does not match the sha256"):
        infer.get_method("dualpath", weights=copy, device="cpu")
    assert infer.get_method("auto", weights=weights, device="cpu").name == "dualpath"


@pytest.mark.slow
def test_predict_cli_writes_device_model_and_stage_timings(weights, data_dir, tmp_path, fresh):
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "model",
            "predict",
            str(data_dir / "case002"),
            "--out",
            str(out),
            "--method",
            "dualpath",
            "--device",
            "cpu",
            "--weights",
            str(weights),
        ],
    )
    assert result.exit_code == 0, result.output
    record = json.loads((out / "predictions" / "case002.json").read_text())
    assert (record["method"], record["device"]) == ("dualpath", "cpu")
    assert (
        record["model"]["weights_sha256"]
        == json.loads((weights / "model.json").read_text())["sha256"]
    )
    assert {"registration", "network", "scoring", "total", "writing"} <= set(record["timings"])
    assert (out / "masks" / "case002.nii.gz").is_file()
    assert (out / "atlas" / "case002.nii.gz").is_file()


@pytest.mark.slow
def test_evaluate_sets_the_network_beside_the_baseline(weights, data_dir, tmp_path, fresh):
    result = runner.invoke(
        app,
        [
            "model",
            "evaluate",
            "--data",
            str(data_dir),
            "--weights",
            str(weights),
            "--device",
            "cpu",
            "--out",
            str(weights / "evaluation"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "region AUC (95% CI, clustered)" in result.output
    assert "AUC difference dualpath - asymmetry" in result.output
    report = json.loads((weights / "evaluation" / f"{data_dir.name}.json").read_text())
    assert report["n_cases"] == 3
    for method in ("dualpath", "asymmetry"):
        summary = report["methods"][method]
        assert summary["units"]["units"] == 60
        assert summary["units"]["positives"] == sum(
            int(line.rsplit(",", 1)[1]) for line in (data_dir / "truth.csv").read_text().split()[1:]
        )
        assert summary["lesion_free_cases"] == 1
        assert summary["segmentation"]["lesion_cases"] == 2
        assert summary["units"]["auc"]["method"].startswith("Obuchowski 1997")
    difference = report["difference_auc_dualpath_minus_asymmetry"]
    net = report["methods"]["dualpath"]["units"]["auc"]["estimate"]
    base = report["methods"]["asymmetry"]["units"]["auc"]["estimate"]
    assert difference["estimate"] == pytest.approx(net - base)
    assert {row["case"] for row in report["cases"]} == set(SEEDS)
    card = runner.invoke(app, ["model", "card", "--weights", str(weights)])
    assert card.exit_code == 0, card.output
    text = (weights / "MODEL_CARD.md").read_text()
    assert f"| {data_dir.name} | 3 |" in text
    assert "AUC >= 0.8:" in text


@pytest.mark.slow
def test_calibrate_rewrites_the_thresholds_from_other_cases(weights, data_dir, tmp_path, fresh):
    copy = tmp_path / "copy"
    shutil.copytree(weights, copy)
    result = runner.invoke(
        app,
        ["model", "calibrate", "--data", str(data_dir), "--weights", str(copy), "--device", "cpu"],
    )
    assert result.exit_code == 0, result.output
    assert "thresholds for 20 units from 3 case(s)" in result.output
    provenance = json.loads((copy / "thresholds.json").read_text())["provenance"]
    assert provenance["validation_cases"] == list(SEEDS)
    assert provenance["data"] == [str(data_dir)]


def test_a_gpu_that_is_not_there_is_a_one_line_error(monkeypatch):
    import torch

    from model.dualpath import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(MethodError, match="torch sees no CUDA GPU here; use --device cpu"):
        resolve_device("cuda")


def test_making_the_method_and_its_hash_import_no_torch():
    code = """
import sys
from model.dualpath import WEIGHTS_DIR
from model.infer import get_method
method = get_method("dualpath", weights=WEIGHTS_DIR)
print(method.version_hash, method.weights_sha256, "torch" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == "False"


def test_a_missing_gpu_comes_at_the_first_prediction_or_when_asked_ready(monkeypatch, fresh):
    import torch

    from model.dualpath import WEIGHTS_DIR

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    method = infer.get_method("dualpath", device="cuda", weights=WEIGHTS_DIR)
    assert method.name == "dualpath"
    with pytest.raises(MethodError, match="torch sees no CUDA GPU here"):
        infer.get_method("dualpath", device="cuda", weights=WEIGHTS_DIR, ready=True)
    with pytest.raises(MethodError, match="torch sees no CUDA GPU here"):
        predict(
            sitk.Image([40, 40, 40], sitk.sitkFloat32),
            "dualpath",
            device="cuda",
            weights=WEIGHTS_DIR,
        )


def test_a_batch_on_a_missing_gpu_fails_at_once(tmp_path, monkeypatch, fresh):
    import torch

    from model.dualpath import WEIGHTS_DIR
    from readerstudy.errors import ReaderStudyError
    from readerstudy.workflows.ai import MethodChoice, predict_many

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cases = tmp_path / "cases"
    cases.mkdir()
    sitk.WriteImage(sitk.Image([40, 40, 40], sitk.sitkFloat32), str(cases / "A01.nii.gz"))
    out = tmp_path / "out"
    with pytest.raises(ReaderStudyError, match="torch sees no CUDA GPU here") as caught:
        predict_many(cases, out, method=MethodChoice("dualpath", "cuda", WEIGHTS_DIR))
    assert type(caught.value) is ReaderStudyError  # not a BatchError of failed cases
    assert not (out / "failed.csv").exists()
