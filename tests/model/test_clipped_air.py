"""Scans exported with HU clipped at 0: air restored outside the head, or a clear refusal."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage as ndi

from model.clipped_air import AIR_HU, restore_clipped_air
from model.errors import ScanError


@pytest.fixture(scope="module")
def phantom():
    from model.phantom import generate_phantom

    return generate_phantom(7)


def _clip(image: sitk.Image) -> sitk.Image:
    return sitk.Clamp(image, sitk.sitkFloat32, 0.0, 5000.0)


def test_a_normal_scan_is_untouched(phantom):
    image, warning = restore_clipped_air(phantom.image)
    assert image is phantom.image
    assert warning == ""


def test_air_outside_the_head_comes_back_and_the_head_is_untouched(phantom):
    original = sitk.GetArrayFromImage(phantom.image)
    image, warning = restore_clipped_air(_clip(phantom.image))
    assert warning.startswith("HU look clipped at 0 (no voxel below 0 HU,")
    restored = sitk.GetArrayFromImage(image)
    air, tissue = original < -300, original > 0
    assert np.mean(restored[air] == AIR_HU) > 0.98
    np.testing.assert_array_equal(restored[tissue], original[tissue])
    assert image.GetOrigin() == phantom.image.GetOrigin()


def test_a_head_cut_through_the_brain_keeps_its_brain(phantom):
    """The top slice cuts through the brain: holes are filled per slice, so CSF below 0 HU
    there (clipped to 0) stays 0 and does not become air."""
    top = round(0.6 * phantom.image.GetSize()[2])
    values = sitk.GetArrayFromImage(phantom.image)[:top]
    inside_skull = ndi.binary_fill_holes(values[-1] > 300) & (values[-1] < 300)
    assert inside_skull.sum() > 10_000  # the slice crosses the brain
    ys, xs = np.nonzero(inside_skull)
    cy, cx = int(ys.mean()), int(xs.mean())
    values[-1, cy - 10 : cy + 10, cx - 10 : cx + 10] = -3.0  # CSF noise below 0 HU
    cut = sitk.GetImageFromArray(values)
    cut.CopyInformation(phantom.image[:, :, :top])
    restored = sitk.GetArrayViewFromImage(restore_clipped_air(_clip(cut))[0])[-1]
    assert (restored[cy - 10 : cy + 10, cx - 10 : cx + 10] == 0).all()
    assert not (restored[inside_skull] == AIR_HU).any()


def test_clipped_without_a_separable_head_is_refused():
    values = np.zeros((20, 64, 64), np.float32)
    values[8:12, 30:34, 30:34] = 40.0  # a few ml of tissue in a clipped blank volume
    with pytest.raises(ScanError, match=r"HU look clipped at 0 .* not a head; .*original HU"):
        restore_clipped_air(sitk.GetImageFromArray(values))
    _, y, x = np.mgrid[:20, :64, :64]
    values = np.where((y - 32) ** 2 + (x - 32) ** 2 < 20**2, 30.0, 0.0).astype(np.float32)
    values[:, :8, :] = 5.0  # a wide slab of tissue (a headrest) apart from the head
    scan = sitk.GetImageFromArray(values)
    scan.SetSpacing((3.0, 3.0, 5.0))
    with pytest.raises(ScanError, match=r"only \d+% of the voxels outside the head are 0"):
        restore_clipped_air(scan)
