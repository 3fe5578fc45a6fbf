"""Writer -> loader round trips: every vendor flavour, shuffled names, compression, tilt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from readerstudy.imaging import load_volume, write_dicom_series


def _resampled_at_source(volume_image: sitk.Image, source: sitk.Image) -> np.ndarray:
    """Loaded HU sampled at the source's physical voxel centres (world geometry check)."""
    out = sitk.Resample(volume_image, source, sitk.Transform(), sitk.sitkLinear, np.nan)
    return sitk.GetArrayFromImage(out)


def _interior(source: sitk.Image, margin: int) -> np.ndarray:
    """Voxels whose neighbourhood of ``margin`` voxels holds a single HU value."""
    hu = sitk.GetArrayFromImage(source)
    footprint = np.ones((2 * margin + 1,) * 3, dtype=bool)
    lo = ndimage.minimum_filter(hu, footprint=footprint, mode="nearest")
    hi = ndimage.maximum_filter(hu, footprint=footprint, mode="nearest")
    return lo == hi


@pytest.mark.parametrize("vendor", ["ge", "ge-hu", "philips", "siemens"])
@pytest.mark.parametrize("compression", [None, "rle", "j2k"])
def test_untilted_round_trip_is_exact(
    tmp_path: Path, phantom: sitk.Image, vendor: str, compression: str | None
) -> None:
    write_dicom_series(
        phantom, tmp_path, vendor=vendor, compression=compression, shuffle_names=True, seed=3
    )
    volume = load_volume(tmp_path)
    assert volume.tilt_deg == 0.0
    assert volume.image.GetSize() == phantom.GetSize()
    np.testing.assert_allclose(volume.image.GetOrigin(), phantom.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(volume.image.GetSpacing(), phantom.GetSpacing(), atol=1e-4)
    np.testing.assert_allclose(volume.image.GetDirection(), phantom.GetDirection(), atol=1e-6)
    np.testing.assert_allclose(volume.hu, sitk.GetArrayFromImage(phantom), atol=0.5)
