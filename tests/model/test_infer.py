"""The method registry and ``predict``."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from analysis.units import UNITS
from model import infer
from model.infer import Method, Prediction, predict, register_method


def test_asymmetry_prediction_has_every_unit(anatomy, helpers, use_test_method):
    template, atlas, labels = anatomy
    scan = helpers.posed_scan(template, atlas, yaw=-5.0, pitch=9.0, seed=21)
    image = helpers.with_lesion(scan, ["M3_right", "I_right"], labels, 8.0)
    prediction = predict(image)
    assert isinstance(prediction, Prediction)
    assert list(prediction.regions.columns) == ["unit", "probability", "call"]
    assert list(prediction.regions["unit"]) == list(UNITS)
    assert prediction.regions["probability"].between(0, 1).all()
    by_unit = prediction.regions.set_index("unit")
    assert by_unit.loc["M3_right", "probability"] > by_unit.loc["M3_left", "probability"]
    assert by_unit.loc["I_right", "probability"] > by_unit.loc["I_left", "probability"]
    assert prediction.aspects["left"] == 10 - by_unit.loc[list(UNITS[:10]), "call"].sum()
    assert prediction.likelihood.GetSize() == image.GetSize()
    assert prediction.method == "asymmetry"
    assert len(prediction.method_hash) == 16
    assert prediction.method_hash == use_test_method.version_hash
    assert {"registration", "scoring", "likelihood", "total"} <= set(prediction.timings)


class _ConstantMethod:
    """A stand-in for another model (e.g. the dual-path network) in the registry."""

    name = "constant"
    version_hash = "0" * 16

    def predict(self, scan: sitk.Image) -> Prediction:
        regions = pd.DataFrame({"unit": list(UNITS), "probability": 0.1, "call": 0})
        return Prediction(regions, scan, {"left": 10, "right": 10}, self.name, "0" * 16, {}, None)


def test_another_method_plugs_in_beside_asymmetry(monkeypatch):
    monkeypatch.setattr(infer, "METHODS", dict(infer.METHODS))
    register_method("constant", _ConstantMethod)
    assert isinstance(_ConstantMethod(), Method)
    image = sitk.Image([4, 4, 4], sitk.sitkFloat32)
    assert predict(image, method="constant").method == "constant"
    infer.get_method.cache_clear()


def test_methods_see_an_int16_scan_as_float32_with_the_same_hu(monkeypatch):
    """load_volume returns Int16 for most CT; every method is written for Float32 HU."""
    monkeypatch.setattr(infer, "METHODS", dict(infer.METHODS))
    register_method("constant", _ConstantMethod)
    values = np.arange(-1024, 3072, 16, dtype=np.int16).reshape(4, 16, 4)
    scan = sitk.GetImageFromArray(values)
    seen = predict(scan, method="constant").likelihood  # the constant method echoes its input
    assert seen.GetPixelID() == sitk.sitkFloat32
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(seen), values)
    infer.get_method.cache_clear()


def test_unknown_method_and_bad_scan_are_rejected():
    with pytest.raises(ValueError, match=r"unknown method 'dual'; available: .*asymmetry"):
        predict(sitk.Image([4, 4, 4], sitk.sitkFloat32), method="dual")
    with pytest.raises(TypeError, match=r"SimpleITK\.Image"):
        predict("scan.nii.gz")
    with pytest.raises(ValueError, match="identifiers"):
        register_method("two words", _ConstantMethod)


def test_asymmetry_path_never_imports_torch(tmp_path):
    calibration = tmp_path / "asymmetry.json"
    calibration.write_text(json.dumps({"intercept": -4, "coef": [-1, 0], "threshold": 0.5}))
    code = f"""
import sys, numpy as np, SimpleITK as sitk
from model.infer import AsymmetryMethod
from model.register import RegistrationError
method = AsymmetryMethod({str(calibration)!r})
method.version_hash
image = sitk.GetImageFromArray(np.full((20, 64, 64), -1000.0, np.float32))
try:
    method.predict(image)
except RegistrationError:
    pass
print("torch" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
