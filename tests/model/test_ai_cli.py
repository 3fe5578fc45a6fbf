"""``readerstudy model predict`` / ``predict-many`` and readerstudy.workflows.ai's orchestration."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from typer.testing import CliRunner

from analysis.units import UNITS
from model.register import MIN_QUALITY
from readerstudy.cli import app
from readerstudy.errors import ReaderStudyError
from readerstudy.workflows.ai import BatchError, predict_case, predict_many

runner = CliRunner()


@pytest.fixture(scope="module")
def lesion_scan(anatomy, helpers) -> sitk.Image:
    template, atlas, labels = anatomy
    scan = helpers.posed_scan(template, atlas, yaw=6.0, roll=4.0, pitch=-8.0, seed=31)
    return helpers.with_lesion(scan, ["M1_left", "M2_left", "I_left"], labels, 7.0)


def test_predict_writes_every_output(tmp_path, lesion_scan, use_test_method):
    case = tmp_path / "case07.nii.gz"
    sitk.WriteImage(lesion_scan, str(case))
    out = tmp_path / "out"
    result = runner.invoke(app, ["model", "predict", str(case), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "case case07:" in result.output

    table = pd.read_csv(out / "ai_regions.csv")
    assert list(table.columns) == ["case", "unit", "probability", "call"]
    assert list(table["unit"]) == list(UNITS)
    assert (table["case"] == "case07").all()
    mask = sitk.ReadImage(str(out / "masks" / "case07.nii.gz"))
    assert mask.GetSize() == lesion_scan.GetSize()
    np.testing.assert_allclose(mask.GetOrigin(), lesion_scan.GetOrigin(), atol=1e-3)
    assert (out / "quicklook" / "case07.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    record = json.loads((out / "predictions" / "case07.json").read_text())
    assert record["method"] == "asymmetry"
    assert record["method_hash"] == use_test_method.version_hash
    assert record["registration"]["quality"] >= MIN_QUALITY
    assert set(record["timings"]) >= {"registration", "total", "writing"}
    called = set(table.loc[table["call"] == 1, "unit"])
    assert record["aspects"]["left"] == 10 - len({u for u in called if u.endswith("_left")})


def test_predict_many_reads_dicom_and_nifti_and_caches(tmp_path, lesion_scan, use_test_method):
    from readerstudy.imaging import write_dicom_series

    cases = tmp_path / "cases"
    write_dicom_series(lesion_scan, cases / "A01", vendor="siemens", seed=1)
    (cases / "B02").mkdir()
    sitk.WriteImage(lesion_scan, str(cases / "B02" / "scan.nii.gz"))
    (cases / "masks").mkdir()  # a phantom set keeps its lesion masks beside the cases
    sitk.WriteImage(sitk.Image([4, 4, 4], sitk.sitkUInt8), str(cases / "masks" / "A01.nii.gz"))
    out = tmp_path / "ai"
    seen = []
    table = predict_many(cases, out, progress=lambda case, done, total: seen.append((case, done)))
    assert seen == [("A01", 1), ("B02", 2)]
    assert sorted(table["case"].unique()) == ["A01", "B02"]
    assert len(table) == 40
    # DICOM round trip and NIfTI give the same calls.
    a, b = (table[table["case"] == c].reset_index(drop=True) for c in ("A01", "B02"))
    assert (a["call"] == b["call"]).all()
    # The warped atlas is written beside the mask, on the scan grid (the workstation outlines).
    atlas = sitk.ReadImage(str(out / "atlas" / "B02.nii.gz"))
    assert atlas.GetSize() == lesion_scan.GetSize()
    assert atlas.GetPixelID() == sitk.sitkUInt8
    assert set(np.unique(sitk.GetArrayViewFromImage(atlas))) > {0, 1}

    def must_not_run(scan):
        raise AssertionError("a cached case was recomputed")

    use_test_method.predict, original = must_not_run, use_test_method.predict
    try:
        again = runner.invoke(app, ["model", "predict-many", str(cases), "--out", str(out)])
    finally:
        use_test_method.predict = original
    assert again.exit_code == 0, again.output
    assert "2 case(s) scored" in again.output
    pd.testing.assert_frame_equal(pd.read_csv(out / "ai_regions.csv"), table)


def test_a_scan_without_a_head_names_the_case(tmp_path, use_test_method):
    noise = sitk.GetImageFromArray(
        np.random.default_rng(2).normal(0.0, 50.0, (20, 128, 128)).astype(np.float32)
    )
    sitk.WriteImage(noise, str(tmp_path / "noise17.nii.gz"))
    result = runner.invoke(
        app, ["model", "predict", str(tmp_path / "noise17.nii.gz"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "case noise17: no head found" in result.output


def test_bad_inputs_exit_2_with_one_line(tmp_path, use_test_method):
    (tmp_path / "broken.nii.gz").write_bytes(b"not a nifti")
    result = runner.invoke(
        app, ["model", "predict", str(tmp_path / "broken.nii.gz"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "case broken" in result.output
    missing = runner.invoke(
        app, ["model", "predict", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]
    )
    assert missing.exit_code == 2
    assert "case nope:" in missing.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["model", "predict-many", str(empty), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "holds no case folders" in result.output
    unknown = runner.invoke(
        app, ["model", "predict", str(tmp_path / "broken.nii.gz"), "--out", "o", "--method", "x"]
    )
    assert unknown.exit_code == 2
    assert "unknown method 'x'" in unknown.output


def test_python_api_names_the_case(tmp_path, use_test_method):
    with pytest.raises(ReaderStudyError, match="case c9: "):
        predict_case(tmp_path / "missing.nii.gz", tmp_path / "o", case_id="c9")


def test_cases_reach_the_model_as_float32_hu(tmp_path):
    """load_volume gives Int16 for whole-HU DICOM; model methods are handed Float32 HU."""
    from readerstudy.imaging import load_volume, write_dicom_series
    from readerstudy.workflows.ai import load_scan

    hu = np.resize(np.arange(-1024, 1200, 7, dtype=np.float32), (6, 16, 16))
    write_dicom_series(sitk.GetImageFromArray(hu), tmp_path / "case", vendor="philips")
    assert load_volume(tmp_path / "case").pixel_type == "int16"
    scan = load_scan(tmp_path / "case", "c1")
    assert scan.GetPixelID() == sitk.sitkFloat32
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(scan), hu)


def _blank_prediction(scan: sitk.Image):
    from model.infer import Prediction

    likelihood = sitk.Image(scan.GetSize(), sitk.sitkFloat32)
    likelihood.CopyInformation(scan)
    regions = pd.DataFrame({"unit": list(UNITS), "probability": 0.1, "call": 0})
    return Prediction(regions, likelihood, {"left": 10, "right": 10}, "plain", "1" * 16, {}, None)


class _PlainMethod:
    """A method that registers nothing (as a network without an atlas might)."""

    name = "plain"
    version_hash = "1" * 16

    def __init__(self, *, device="auto", weights=None) -> None:
        pass

    def predict(self, scan: sitk.Image):
        return _blank_prediction(scan)


@pytest.fixture
def plain_method(monkeypatch):
    from model import infer

    monkeypatch.setitem(infer.METHODS, "plain", _PlainMethod)
    infer.clear_method_cache()
    yield
    infer.clear_method_cache()


def test_quicklook_and_outputs_of_a_method_without_registration(tmp_path, plain_method):
    from readerstudy.workflows.ai import write_quicklook

    scan = sitk.GetImageFromArray(np.full((12, 32, 32), 30.0, np.float32))
    write_quicklook(scan, _blank_prediction(scan), tmp_path / "q.png", "case x")
    assert (tmp_path / "q.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    sitk.WriteImage(scan, str(tmp_path / "p1.nii.gz"))
    table = predict_case(tmp_path / "p1.nii.gz", tmp_path / "out", method="plain")
    assert list(table["unit"]) == list(UNITS)
    record = json.loads((tmp_path / "out" / "predictions" / "p1.json").read_text())
    assert record["registration"] is None
    assert (tmp_path / "out" / "quicklook" / "p1.png").is_file()
    assert not (tmp_path / "out" / "atlas").exists()


def _cylinder() -> sitk.Image:
    """A uniform water-density cylinder in air: head-sized, but no skull."""
    _, y, x = np.mgrid[:24, :200, :200]
    values = np.where((y - 100) ** 2 + (x - 100) ** 2 < 80**2, 30.0, -1000.0).astype(np.float32)
    image = sitk.GetImageFromArray(values)
    image.SetSpacing((0.9, 0.9, 5.0))
    return image


@pytest.mark.slow
def test_predict_many_goes_on_past_a_non_head_and_exits_2(tmp_path, lesion_scan, use_test_method):
    cases = tmp_path / "cases"
    cases.mkdir()
    sitk.WriteImage(lesion_scan, str(cases / "A01.nii.gz"))
    sitk.WriteImage(_cylinder(), str(cases / "B02.nii.gz"))
    (cases / "C03").mkdir()
    sitk.WriteImage(lesion_scan, str(cases / "C03" / "scan.nii.gz"))
    out = tmp_path / "ai"
    result = runner.invoke(app, ["model", "predict-many", str(cases), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "1 failed case(s)" in result.stderr
    assert "B02" in result.stderr
    assert "no skull" in result.stderr
    assert "1 of 3 case(s) failed (B02); 2 other case(s) written to" in result.stderr
    table = pd.read_csv(out / "ai_regions.csv")
    assert sorted(table["case"].unique()) == ["A01", "C03"]
    failed = pd.read_csv(out / "failed.csv")
    assert list(failed["case"]) == ["B02"]
    assert failed["reason"].iloc[0].startswith("no head found: no skull")
    for case in ("A01", "C03"):
        assert (out / "masks" / f"{case}.nii.gz").is_file()
        atlas = sitk.ReadImage(str(out / "atlas" / f"{case}.nii.gz"))
        assert atlas.GetPixelID() == sitk.sitkUInt8
        assert atlas.GetSize() == lesion_scan.GetSize()
        values = set(np.unique(sitk.GetArrayViewFromImage(atlas)))
        from model.anatomy import LABELS

        assert values <= {0, *LABELS.values()}
        assert len(values) == 21
    assert not (out / "masks" / "B02.nii.gz").exists()

    # The failed case fixed: the rerun takes the others from the cache and clears failed.csv.
    sitk.WriteImage(lesion_scan, str(cases / "B02.nii.gz"))
    again = runner.invoke(app, ["model", "predict-many", str(cases), "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert not (out / "failed.csv").exists()
    assert sorted(pd.read_csv(out / "ai_regions.csv")["case"].unique()) == ["A01", "B02", "C03"]


def test_a_failed_registration_leaves_its_quicklook(tmp_path, monkeypatch, use_test_method):
    import model.register
    from model.errors import RegistrationError

    picture = np.zeros((40, 60, 3), np.uint8)
    picture[:, :30, 0] = 255

    def refuse(scan):
        raise RegistrationError("no head found: test refusal", quicklook=picture)

    monkeypatch.setattr(model.register, "register_to_scan", refuse)
    cases = tmp_path / "cases"
    cases.mkdir()
    sitk.WriteImage(_cylinder(), str(cases / "B02.nii.gz"))
    out = tmp_path / "ai"
    with pytest.raises(BatchError, match=r"1 of 1 case\(s\) failed \(B02\)") as caught:
        predict_many(cases, out)
    (failure,) = caught.value.failures
    assert failure.quicklook == out / "failed" / "B02.png"
    import matplotlib.image

    written = matplotlib.image.imread(out / "failed" / "B02.png")
    assert written.shape[:2] == (40, 60)
    assert written[0, 0, 0] == 1.0
    assert written[0, 59, 0] == 0.0
    single = tmp_path / "single"
    result = runner.invoke(
        app, ["model", "predict", str(cases / "B02.nii.gz"), "--out", str(single)]
    )
    assert result.exit_code == 2
    assert (single / "failed" / "B02.png").is_file()
    assert "case B02: no head found: test refusal (quick-look:" in result.stderr


@pytest.mark.slow
def test_a_phantom_clipped_at_0_hu_is_restored_with_a_warning(tmp_path, use_test_method):
    from model.phantom import generate_phantom
    from readerstudy.workflows.ai import case_warnings

    phantom = generate_phantom(11)
    clipped = sitk.Clamp(phantom.image, sitk.sitkFloat32, 0.0, 4000.0)
    path = tmp_path / "clipped17.nii.gz"
    sitk.WriteImage(clipped, str(path))
    table = predict_case(path, tmp_path / "out")
    lines = case_warnings(tmp_path / "out", ["clipped17"])
    assert lines[0].startswith(f"case clipped17 ({path}): HU look clipped at 0")
    assert len(table) == 20
    record = json.loads((tmp_path / "out" / "predictions" / "clipped17.json").read_text())
    assert record["warnings"][0].startswith("HU look clipped at 0")
    assert record["registration"]["quality"] >= MIN_QUALITY
    assert abs(record["registration"]["levels"]["ganglionic"] - phantom.levels["ganglionic"]) <= 1
    result = runner.invoke(app, ["model", "predict", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert f"warning: case clipped17 ({path}): HU look clipped at 0" in result.stderr.replace(
        "\n", " "
    )
