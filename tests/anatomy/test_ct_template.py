"""The HU head-CT template derived from Rorden's scct.nii: conversion, tissue values, rebuild."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from model.anatomy.ct_template import (
    ASSET,
    build_ct_template,
    cormack_to_hu,
    ct_template_hu,
    hu_to_cormack,
    write_ct_template,
)

# Break points of clinical_c2h.m / clinical_h2c_old.m worked out by hand from their constants
# (900 dark units, 200 mid units, ratio 10, air floor -1024): HU -> Cormack.
ANCHORS = [(-1024.0, 0.0), (-1000.0, 24.0), (-124.0, 900.0), (0.0, 2264.0), (40.0, 2704.0)]
ANCHORS += [(76.0, 3100.0), (1000.0, 4024.0)]


@pytest.mark.parametrize(("hu", "cormack"), ANCHORS)
def test_conversion_matches_the_clinical_toolbox(hu, cormack):
    assert hu_to_cormack(np.array([hu]))[0] == pytest.approx(cormack)
    assert cormack_to_hu(np.array([cormack]))[0] == pytest.approx(hu)


def test_conversion_round_trips():
    hu = np.linspace(-1024.0, 3000.0, 40_241)
    np.testing.assert_allclose(cormack_to_hu(hu_to_cormack(hu)), hu, atol=1e-9)
    cormack = np.linspace(0.0, 6000.0, 60_001)
    np.testing.assert_allclose(hu_to_cormack(cormack_to_hu(cormack)), cormack, atol=1e-9)
    # The soft-tissue range is stretched eleven-fold, the rest kept.
    assert np.all(np.diff(hu_to_cormack(hu)) > 0)
    # Below the 12-bit floor (GE padding) values clamp to air.
    assert hu_to_cormack(np.array([-1500.0]))[0] == 0.0


def test_negative_cormack_is_refused():
    with pytest.raises(ValueError, match="never negative"):
        cormack_to_hu(np.array([100.0, -5.0]))


def test_template_geometry_and_tissue_values(refdata):
    template = ct_template_hu()
    assert template.GetPixelID() == sitk.sitkFloat32
    assert template.GetSize() == (91, 109, 91)
    assert template.GetSpacing() == (2.0, 2.0, 2.0)
    assert template.GetDirection() == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    # The SPM MNI grid: voxel (45, 45, 36) is the MNI origin (the anterior commissure).
    assert template.TransformIndexToPhysicalPoint((45, 45, 36)) == (0.0, 0.0, 0.0)
    hu = sitk.GetArrayFromImage(template)
    # Brain: the upstream skull-stripped template (not used by the build) marks it; its
    # eroded core is brain parenchyma, whose median must be grey/white-matter density.
    stripped = sitk.DICOMOrient(
        sitk.ReadImage(str(refdata / "ncct_template" / "scct_stripped.nii")), "LPS"
    )
    brain = sitk.GetArrayFromImage(sitk.BinaryErode(stripped > 0, [4, 4, 4])).astype(bool)
    assert brain.sum() > 100_000 // 8  # > 100 ml of 2 mm voxels
    assert 20.0 <= float(np.median(hu[brain])) <= 45.0
    # Skull: a shell above 300 HU around the brain, and nothing in the brain core.
    assert np.count_nonzero(hu > 300.0) * 8 / 1000 > 100.0  # ml
    assert np.count_nonzero(hu[brain] > 300.0) == 0
    # Air: the corners of the grid.
    assert np.all(hu[[0, -1]][:, [0, -1]][:, :, [0, -1]] <= -1000.0)
    assert hu.min() == -1024.0


def test_rebuild_is_byte_identical(refdata, tmp_path):
    source = refdata / "ncct_template" / "scct.nii"
    out = write_ct_template(source, tmp_path / "scct_hu.nii.gz")
    assert out.read_bytes() == ASSET.read_bytes()
    # The asset is derived (HU, Int16), never a copy of the upstream bytes.
    assert sitk.ReadImage(str(out)).GetPixelID() == sitk.sitkInt16


def test_another_source_file_is_refused(tmp_path):
    other = tmp_path / "scct.nii"
    sitk.WriteImage(sitk.Image([4, 4, 4], sitk.sitkFloat32), str(other))
    with pytest.raises(ValueError, match=r"not the scct\.nii"):
        build_ct_template(other)
