"""`readerstudy dicom` commands, import lightness, and a header fuzz test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from readerstudy.cli import build_app
from readerstudy.imaging import ImagingError, load_volume, write_dicom_series

runner = CliRunner()


def test_importing_imaging_costs_no_simpleitk_or_pydicom() -> None:
    code = (
        "import sys, readerstudy.imaging, readerstudy.commands.dicom; "
        "print(sorted(m for m in ('SimpleITK', 'pydicom') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_inspect_json_lists_series_and_choice(tmp_path: Path, phantom: sitk.Image) -> None:
    write_dicom_series(phantom, tmp_path / "a", seed=1, tilt_deg=10)
    result = runner.invoke(build_app(), ["dicom", "inspect", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    (series,) = payload["series"]
    assert payload["chosen"] == series["uid"]
    assert series["n_slices"] > 20
    assert series["tilt_deg"] == pytest.approx(10.0, abs=0.01)
    assert series["kernel"] == "STANDARD"
    table = runner.invoke(build_app(), ["dicom", "inspect", str(tmp_path)])
    assert table.exit_code == 0
    assert "default choice for reading" in table.stdout


def test_convert_writes_hu_nifti_with_geometry(tmp_path: Path, phantom: sitk.Image) -> None:
    write_dicom_series(phantom, tmp_path / "in", vendor="philips", compression="j2k", seed=1)
    out = tmp_path / "case.nii.gz"
    result = runner.invoke(build_app(), ["dicom", "convert", str(tmp_path / "in"), str(out)])
    assert result.exit_code == 0, result.output
    assert "64x64x20 voxels" in result.stdout
    assert "int16 HU" in result.stdout
    image = sitk.ReadImage(str(out))
    assert image.GetPixelID() == sitk.sitkInt16  # half the size of a Float32 NIfTI
    np.testing.assert_allclose(image.GetOrigin(), phantom.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(phantom))


def test_deidentify_command_writes_report_beside_output(tmp_path: Path, phantom: sitk.Image):
    write_dicom_series(phantom, tmp_path / "src", seed=1)
    result = runner.invoke(
        build_app(),
        ["dicom", "deidentify", str(tmp_path / "src"), str(tmp_path / "out"), "--salt", "secret"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out_deid_report.json").read_text())
    assert report["n_files"] == 20
    first = next((tmp_path / "out").rglob("*.dcm"))
    assert pydicom.dcmread(first).PatientIdentityRemoved == "YES"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dicom", "inspect", "{tmp}/missing"], "no such file or folder"),
        (["dicom", "convert", "{tmp}/missing", "{tmp}/o.nii.gz"], "no such file or folder"),
        (["dicom", "convert", "{tmp}", "{tmp}/o.png"], "must end in .nii or .nii.gz"),
        (["dicom", "convert", "{tmp}", "{tmp}/o.nii"], "no DICOM image series found"),
        (["dicom", "deidentify", "{tmp}", "{tmp}/x", "--salt", "s"], "outside the source"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(build_app(), [a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert message in lines[0]
    debug = runner.invoke(build_app(), ["--debug", *[a.format(tmp=tmp_path) for a in args]])
    assert isinstance(debug.exception, ImagingError)


_FIELDS = [
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PixelSpacing",
    "Rows",
    "Columns",
    "RescaleSlope",
    "RescaleIntercept",
    "BitsAllocated",
    "PixelRepresentation",
    "PixelPaddingValue",
    "SeriesInstanceUID",
    "Modality",
    "NumberOfFrames",
    "SliceThickness",
    "PixelData",
    "ImageType",
]
_VALUES = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(-(2**31), 2**31),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=7),
    st.binary(max_size=64),
)


@pytest.fixture(scope="module")
def clean_series(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ...]:
    image = sitk.Image([32, 32, 6], sitk.sitkFloat32) + 35.0
    folder = tmp_path_factory.mktemp("clean")
    return tuple(write_dicom_series(image, folder, seed=1))


_FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
"""Fuzz tests share a module-scoped clean series and run the same examples every time."""


def _copy_series(tmp_path_factory: pytest.TempPathFactory, series: tuple[Path, ...]) -> Path:
    """A fresh folder holding the files of ``series`` as IM0, IM1, ..."""
    folder = tmp_path_factory.mktemp("fuzz")
    for i, f in enumerate(series):
        (folder / f"IM{i}").write_bytes(f.read_bytes())
    return folder


@settings(_FUZZ, max_examples=40)
@given(
    index=st.integers(0, 5),
    field=st.sampled_from(_FIELDS),
    value=_VALUES,
    cut=st.one_of(st.none(), st.integers(0, 20000)),
)
def test_mutated_headers_raise_only_domain_errors(
    tmp_path_factory: pytest.TempPathFactory,
    clean_series: tuple[Path, ...],
    index: int,
    field: str,
    value: object,
    cut: int | None,
) -> None:
    folder = _copy_series(tmp_path_factory, clean_series)
    target = folder / f"IM{index}"
    ds = pydicom.dcmread(target)
    try:
        if value is None:
            if field in ds:
                delattr(ds, field)
        else:
            setattr(ds, field, value)
        ds.save_as(target)
    except Exception:  # pydicom refuses to write this value: mutate raw bytes instead
        target.write_bytes(clean_series[index].read_bytes()[: cut or 300])
    if cut is not None:
        target.write_bytes(target.read_bytes()[:cut])
    try:
        volume = load_volume(folder, min_slices=1)
    except ImagingError:
        return
    assert volume.image.GetDimension() == 3


@settings(_FUZZ, max_examples=60)
@given(
    index=st.integers(0, 5),
    slope=st.sampled_from([1.0, 0.5, 2.0, -1.0, 1e-9]) | st.floats(-1e40, 1e40),
    intercept=st.sampled_from([-1024.0, 0.0, -8192.0, 3e4]) | st.floats(-1e40, 1e40),
)
def test_any_rescale_gives_finite_hu_or_a_domain_error(
    tmp_path_factory: pytest.TempPathFactory,
    clean_series: tuple[Path, ...],
    index: int,
    slope: float,
    intercept: float,
) -> None:
    folder = _copy_series(tmp_path_factory, clean_series)
    ds = pydicom.dcmread(folder / f"IM{index}")
    ds.RescaleSlope, ds.RescaleIntercept = f"{slope:.6g}", f"{intercept:.6g}"
    ds.save_as(folder / f"IM{index}")
    slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
    if not (0 < slope <= 1e3 and abs(intercept) <= 1e6):
        with pytest.raises(ImagingError, match=rf"IM{index}: RescaleSlope"):
            load_volume(folder)
        return
    hu = load_volume(folder).hu
    assert np.isfinite(hu).all()
    assert hu.min() >= -1024
