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
from model.errors import MethodError, ModelError, ScanError
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

    def __init__(self, *, device: str = "auto", weights=None) -> None:
        self.device, self.weights, self.seen = device, weights, None

    def predict(self, scan: sitk.Image) -> Prediction:
        self.seen = scan
        regions = pd.DataFrame({"unit": list(UNITS), "probability": 0.1, "call": 0})
        likelihood = sitk.Image(scan.GetSize(), sitk.sitkFloat32)
        likelihood.CopyInformation(scan)
        return Prediction(
            regions, likelihood, {"left": 10, "right": 10}, self.name, "0" * 16, {}, None
        )


@pytest.fixture
def constant(monkeypatch):
    monkeypatch.setattr(infer, "METHODS", dict(infer.METHODS))
    register_method("constant", _ConstantMethod)
    yield
    infer.clear_method_cache()


def test_another_method_plugs_in_beside_asymmetry(constant):
    assert isinstance(_ConstantMethod(), Method)
    image = sitk.Image([4, 4, 4], sitk.sitkFloat32)
    assert predict(image, method="constant").method == "constant"


def test_factories_get_device_and_weights(constant, tmp_path):
    weights = tmp_path / "net.pt"
    weights.write_bytes(b"weights")
    method = infer.get_method("constant", device="cuda:1", weights=weights)
    assert (method.device, method.weights) == ("cuda:1", weights)
    assert infer.get_method("constant", device="cuda:1", weights=weights) is method
    assert infer.get_method("constant").device == "auto"
    with pytest.raises(MethodError, match="unknown device 'gpu'"):
        infer.get_method("constant", device="gpu")
    with pytest.raises(MethodError, match=r"weights file .*missing\.pt does not exist"):
        predict(
            sitk.Image([4, 4, 4], sitk.sitkFloat32), "constant", weights=tmp_path / "missing.pt"
        )


@pytest.fixture
def method_cache():
    """Methods built in a test leave the cache, also when the test fails."""
    yield
    infer.clear_method_cache()


def test_asymmetry_weights_are_its_calibration_and_move_its_hash(tmp_path, method_cache):
    from model.scoring import WEIGHTS_PATH

    default = infer.AsymmetryMethod()
    data = json.loads(WEIGHTS_PATH.read_text())
    data["threshold"] = 0.5
    other = tmp_path / "asymmetry.json"
    other.write_text(json.dumps(data))
    method = infer.get_method("asymmetry", device="cuda", weights=other)
    assert method.calibration.threshold == 0.5
    assert method.version_hash != default.version_hash
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    with pytest.raises(ModelError, match=r"cannot read the asymmetry calibration .*broken\.json"):
        infer.get_method("asymmetry", weights=broken)


def test_methods_see_an_int16_scan_as_float32_with_the_same_hu(constant):
    """load_volume returns Int16 for most CT; every method is written for Float32 HU."""
    values = np.arange(-1024, 3072, 16, dtype=np.int16).reshape(4, 16, 4)
    predict(sitk.GetImageFromArray(values), method="constant")
    seen = infer.get_method("constant").seen
    assert seen.GetPixelID() == sitk.sitkFloat32
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(seen), values)


class _BrokenMethod(_ConstantMethod):
    name = "broken"

    def predict(self, scan: sitk.Image) -> Prediction:
        return sitk.SmoothingRecursiveGaussian(sitk.Image([2, 2, 2], sitk.sitkFloat32), 1.0)


def test_a_simpleitk_failure_inside_a_method_is_a_model_error(constant):
    register_method("broken", _BrokenMethod)
    with pytest.raises(MethodError, match=r"method 'broken' failed on this scan: .*four") as caught:
        predict(sitk.Image([8, 8, 8], sitk.sitkFloat32), method="broken")
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_unknown_method_and_bad_scan_are_rejected():
    with pytest.raises(MethodError, match=r"unknown method 'dual'; available: .*asymmetry"):
        predict(sitk.Image([4, 4, 4], sitk.sitkFloat32), method="dual")
    with pytest.raises(TypeError, match=r"SimpleITK\.Image"):
        predict("scan.nii.gz")
    with pytest.raises(ScanError, match="3-D scalar volume, got 2-D"):
        predict(sitk.Image([4, 4], sitk.sitkFloat32))
    with pytest.raises(ScanError, match=r"\(256, 256, 3\) voxels .* at least 4 along each axis"):
        predict(sitk.Image([256, 256, 3], sitk.sitkFloat32))
    with pytest.raises(ValueError, match="identifiers"):
        register_method("two words", _ConstantMethod)


def _valid(**changes):
    likelihood = sitk.Image([8, 6, 4], sitk.sitkFloat32)
    fields = {
        "regions": pd.DataFrame({"unit": list(UNITS), "probability": 0.2, "call": 0}),
        "likelihood": likelihood,
        "aspects": {"left": 10, "right": 10},
        "method": "m",
        "method_hash": "ab" * 8,
        "timings": {},
        "registration": None,
    }
    return {**fields, **changes}


def _regions(**columns):
    frame = pd.DataFrame({"unit": list(UNITS), "probability": 0.2, "call": 0})
    for name, (unit, value) in columns.items():
        frame[name] = frame[name].astype(object)
        frame.loc[frame["unit"] == unit, name] = value
    return frame


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"regions": _regions().iloc[:19]}, r"19 unit rows.*missing: M6_right"),
        (
            {"regions": pd.concat([_regions(), _regions().iloc[:1]], ignore_index=True)},
            r"21 unit rows.*repeated: C_left",
        ),
        ({"regions": _regions().rename(columns={"call": "calls"})}, r"columns .*'calls'"),
        ({"regions": _regions(probability=("I_left", 1.2))}, r"outside \[0, 1\].* I_left"),
        ({"regions": _regions(probability=("M2_left", float("nan")))}, r"outside.* M2_left"),
        ({"regions": _regions(call=("L_right", 2))}, r"calls other than 0 or 1 for L_right"),
        ({"aspects": {"left": 9, "right": 10}}, r"ASPECTS .*but its calls give"),
        ({"likelihood": sitk.Image([8, 6], sitk.sitkFloat32)}, "not a 3-D SimpleITK image"),
        ({"likelihood": sitk.Image([8, 6, 4], sitk.sitkUInt8)}, "8-bit unsigned integer"),
        ({"likelihood": sitk.Image([8, 6, 4], sitk.sitkFloat32) + 1.5}, r"values 1.5..1.5"),
        ({"method_hash": ""}, "empty method name or version hash"),
        ({"registration": "atlas"}, "registration of type str"),
    ],
)
def test_a_prediction_that_breaks_the_contract_is_refused(changes, message):
    with pytest.raises(MethodError, match=message):
        Prediction(**_valid(**changes))


def test_a_prediction_is_ordered_by_unit_and_checked_against_the_scan_grid():
    shuffled = _regions(call=("M4_right", 1)).sample(frac=1.0, random_state=3)
    prediction = Prediction(**_valid(regions=shuffled, aspects={"left": 10, "right": 9}))
    assert list(prediction.regions["unit"]) == list(UNITS)
    assert prediction.regions.set_index("unit").loc["M4_right", "call"] == 1
    scan = sitk.Image([8, 6, 4], sitk.sitkFloat32)
    prediction.check_grid(scan)
    scan.SetSpacing((1.0, 1.0, 5.0))
    with pytest.raises(MethodError, match=r"likelihood off the scan grid: spacing"):
        prediction.check_grid(scan)
    with pytest.raises(MethodError, match=r"size \(8, 6, 4\), scan \(8, 6, 5\)"):
        prediction.check_grid(sitk.Image([8, 6, 5], sitk.sitkFloat32))


def test_asymmetry_path_never_imports_torch(tmp_path):
    calibration = tmp_path / "asymmetry.json"
    calibration.write_text(json.dumps({"intercept": -4, "coef": [-1, 0], "threshold": 0.5}))
    code = f"""
import sys, numpy as np, SimpleITK as sitk
from model.infer import AsymmetryMethod
from model.errors import RegistrationError
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
