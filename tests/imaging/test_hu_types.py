"""HU pixel types: Int16 when every voxel is a whole HU value, Float32 otherwise, never rounded.

The reference HU come from pydicom's own modality LUT (``apply_modality_lut``), independent of
the loader's arithmetic.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pydicom.pixels import apply_modality_lut

from readerstudy.imaging import load_volume, write_dicom_series, write_nifti
from readerstudy.imaging.headers import FrameRef
from readerstudy.imaging.volume import AIR_HU, MAX_WHOLE_HU, _rescale_whole

INT16 = "16-bit signed integer"
FLOAT32 = "32-bit float"


def _reference_hu(files: list[Path]) -> np.ndarray:
    """pydicom's HU for each file, stacked by position along z and clamped at air."""
    datasets = sorted(
        (pydicom.dcmread(f) for f in files), key=lambda ds: float(ds.ImagePositionPatient[2])
    )
    hu = np.stack([apply_modality_lut(ds.pixel_array, ds) for ds in datasets])
    return np.maximum(hu, AIR_HU)


def _rewrite(files: list[Path], change) -> None:
    for i, f in enumerate(files):
        ds = pydicom.dcmread(f)
        change(i, ds)
        ds.save_as(f)


@pytest.mark.parametrize("vendor", ["ge", "ge-hu", "philips", "siemens"])
def test_integral_rescale_loads_as_int16(tmp_path: Path, phantom: sitk.Image, vendor: str):
    files = write_dicom_series(phantom, tmp_path, vendor=vendor, shuffle_names=True, seed=4)
    volume = load_volume(tmp_path)
    assert volume.image.GetPixelIDTypeAsString() == INT16
    assert volume.hu.dtype == np.float32
    np.testing.assert_array_equal(volume.hu, _reference_hu(files))


def test_per_slice_intercepts_are_applied_per_slice(tmp_path: Path, phantom: sitk.Image):
    files = write_dicom_series(phantom, tmp_path, vendor="philips", seed=4)

    def shift(i: int, ds: pydicom.Dataset) -> None:
        # Same HU, stored differently on odd slices: stored + 24, intercept - 24.
        if i % 2:
            ds.PixelData = (ds.pixel_array + 24).astype(np.uint16).tobytes()
            ds.RescaleIntercept = str(int(float(ds.RescaleIntercept)) - 24)

    _rewrite(files, shift)
    volume = load_volume(tmp_path)
    assert volume.image.GetPixelIDTypeAsString() == INT16
    np.testing.assert_array_equal(volume.hu, _reference_hu(files))
    np.testing.assert_allclose(volume.hu, sitk.GetArrayFromImage(phantom), atol=0.5)


def test_fractional_rescale_loads_as_float32_unrounded(tmp_path: Path, phantom: sitk.Image):
    files = write_dicom_series(phantom, tmp_path, vendor="siemens", seed=4)

    def halve(i: int, ds: pydicom.Dataset) -> None:
        ds.RescaleSlope = "0.5"
        ds.RescaleIntercept = "-512.25"

    _rewrite(files, halve)
    volume = load_volume(tmp_path)
    assert volume.image.GetPixelIDTypeAsString() == FLOAT32
    reference = _reference_hu(files)
    assert not np.all(reference == np.round(reference))  # quarter-HU values survive
    np.testing.assert_allclose(volume.hu, reference, atol=1e-4)


def test_tilt_correction_yields_float32(tmp_path: Path, phantom: sitk.Image) -> None:
    write_dicom_series(phantom, tmp_path, vendor="ge", tilt_deg=15.0, seed=5)
    assert load_volume(tmp_path).image.GetPixelIDTypeAsString() == FLOAT32


def test_values_beyond_int16_are_kept_at_the_ceiling_with_a_warning(
    tmp_path: Path, phantom: sitk.Image
) -> None:
    files = write_dicom_series(phantom, tmp_path, vendor="philips", seed=4)

    def metal(i: int, ds: pydicom.Dataset) -> None:
        ds.BitsStored, ds.HighBit = 16, 15
        if i == 3:
            stored = ds.pixel_array.copy()
            stored[10, 10:13] = 40000  # 38976 HU: beyond Int16
            ds.PixelData = stored.tobytes()

    _rewrite(files, metal)
    volume = load_volume(tmp_path)
    assert volume.image.GetPixelIDTypeAsString() == INT16
    assert any(f"3 voxel(s) above {MAX_WHOLE_HU} HU" in w for w in volume.warnings)
    expected = np.minimum(_reference_hu(files), MAX_WHOLE_HU)
    np.testing.assert_array_equal(volume.hu, expected)
    assert (volume.hu == MAX_WHOLE_HU).sum() == 3


@settings(max_examples=300, deadline=None)
@given(
    stored=st.sampled_from([np.int16, np.uint16]).flatmap(
        lambda dtype: arrays(dtype, (3, 7), elements=st.integers(*_limits(dtype)))
    ),
    slope=st.sampled_from([1, 1, 1, 2, -1]),
    intercept=st.integers(-70000, 70000) | st.sampled_from([-1024, 0, -32768, 32767, -33791]),
)
def test_whole_rescale_matches_wide_arithmetic(stored: np.ndarray, slope: int, intercept: int):
    """The 16-bit modular shortcut equals int64 arithmetic clamped to [-1024, 32767]."""
    frame = FrameRef(Path("x"), None, (0, 0, 0), (1, 0, 0, 0, 1, 0), 3, 7, (1, 1), slope, intercept)
    out = np.full(stored.shape, 12345, dtype=np.int16)
    wide = stored.astype(np.int64) * slope + intercept
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _rescale_whole(stored, frame, out)
    np.testing.assert_array_equal(out, np.clip(wide, AIR_HU, MAX_WHOLE_HU))
    assert bool(caught) == bool((wide > MAX_WHOLE_HU).any())


def _limits(dtype: type) -> tuple[int, int]:
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


@pytest.mark.parametrize(
    ("values", "pixel_type", "expected"),
    [
        (np.array([-1024, 35, 3071], dtype=np.int16), sitk.sitkInt16, INT16),
        (np.array([0, 1059, 40000], dtype=np.uint16), sitk.sitkUInt16, FLOAT32),
        (np.array([-1024.0, 35.5, 80.25], dtype=np.float32), sitk.sitkFloat32, FLOAT32),
    ],
)
def test_nifti_pixel_type_keeps_every_value(
    tmp_path: Path, values: np.ndarray, pixel_type: int, expected: str
) -> None:
    array = np.resize(values, (6, 8, 8)).astype(values.dtype)
    image = sitk.GetImageFromArray(array)
    assert image.GetPixelID() == pixel_type
    volume = load_volume(write_nifti(image, tmp_path / "case.nii.gz"))
    assert volume.image.GetPixelIDTypeAsString() == expected
    np.testing.assert_array_equal(volume.hu, array.astype(np.float32))
