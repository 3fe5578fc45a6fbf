"""Which method runs: ``auto`` picks the dual-path network when its weights are present."""

from __future__ import annotations

import pandas as pd
import pytest
import SimpleITK as sitk

from analysis.units import UNITS
from model import dualpath, infer
from model.errors import MethodError
from model.infer import Prediction, default_method, resolve_method
from model.scoring import WEIGHTS_PATH


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """An empty stand-in for model/weights/dualpath-lite/."""
    folder = tmp_path / "dualpath-lite"
    folder.mkdir()
    monkeypatch.setattr(dualpath, "WEIGHTS_DIR", folder)
    infer.clear_method_cache()
    yield folder
    infer.clear_method_cache()


def test_auto_is_dualpath_only_when_its_weights_are_complete(shipped):
    assert default_method() == "asymmetry"
    for name in ("model.json", "weights.pt"):
        (shipped / name).write_text("{}")
    assert default_method() == "asymmetry"  # no thresholds.json: it could not predict
    (shipped / "thresholds.json").write_text("{}")
    assert default_method() == "dualpath"
    assert resolve_method("auto") == "dualpath"
    assert resolve_method("asymmetry") == "asymmetry"


def test_weights_given_decide_the_method(shipped, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    assert default_method(site) == "dualpath"
    assert default_method(site / "weights.pt") == "dualpath"
    calibration = tmp_path / "asymmetry.json"
    calibration.write_bytes(WEIGHTS_PATH.read_bytes())
    assert default_method(calibration) == "asymmetry"
    assert infer.get_method("auto", weights=calibration).name == "asymmetry"


def test_incomplete_weights_folders_are_refused_by_name(shipped, tmp_path):
    with pytest.raises(MethodError, match=r"weights file or folder .*nowhere does not exist"):
        infer.get_method("dualpath", weights=tmp_path / "nowhere")
    with pytest.raises(MethodError, match=r"dualpath-lite lacks model\.json, weights\.pt"):
        infer.get_method("dualpath")
    for name in ("model.json", "weights.pt"):
        (shipped / name).write_text("{}")
    with pytest.raises(MethodError, match=r"has no thresholds\.json \(write it with"):
        infer.get_method("dualpath")


def test_a_prediction_names_a_real_device():
    regions = pd.DataFrame({"unit": list(UNITS), "probability": 0.1, "call": 0})
    likelihood = sitk.Image([4, 4, 4], sitk.sitkFloat32)
    aspects = {"left": 10, "right": 10}
    made = Prediction(regions, likelihood, aspects, "m", "h", {}, None, device="cuda:1")
    assert (made.device, made.model) == ("cuda:1", {})
    for device in ("auto", "gpu"):
        with pytest.raises(MethodError, match=f"device '{device}'"):
            Prediction(regions, likelihood, aspects, "m", "h", {}, None, device=device)
