"""Mirror assembly: original, mirror about the mid-sagittal plane and difference as channels."""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from model.mirror import CHANNELS, mirror_assemble
from model.preprocess import preprocess_slices
from model.register import MidsagittalPlane

MIDLINE = MidsagittalPlane((0.0, 0.0, 0.0), (1.0, 0.0, 0.0))


@pytest.fixture(scope="module")
def symmetric() -> tuple[sitk.Image, np.ndarray]:
    """A lesion-free phantom in the neutral pose made exactly left-right symmetric (its grid
    is centred on x = 0, the template's mid-sagittal plane), and its brain mask."""
    from model.phantom import PhantomConfig, generate_phantom

    config = PhantomConfig(
        positive_case_fraction=0.0,
        old_infarct_probability=0.0,
        asymmetry_hu=0.0,
        yaw_deg=(0.0, 0.0),
        pitch_deg=(0.0, 0.0),
        roll_deg=(0.0, 0.0),
        shift_mm=(0.0, 0.0),
    )
    phantom = generate_phantom(11, config)
    hu = sitk.GetArrayFromImage(phantom.image)
    hu = 0.5 * (hu + hu[:, :, ::-1])
    image = sitk.GetImageFromArray(hu.astype(np.float32))
    image.CopyInformation(phantom.image)
    assert image.TransformContinuousIndexToPhysicalPoint((127.5, 0.0, 0.0))[0] == pytest.approx(
        0.0, abs=1e-6
    )
    return image, (hu > 15.0) & (hu < 55.0)


def _assemble(image: sitk.Image, plane: MidsagittalPlane) -> np.ndarray:
    return mirror_assemble(image, preprocess_slices(sitk.GetArrayFromImage(image)), plane)


def test_difference_is_zero_on_a_symmetric_phantom(symmetric) -> None:
    image, _ = symmetric
    stacked = _assemble(image, MIDLINE)
    assert CHANNELS == ("original", "mirror", "difference")
    assert stacked.shape == (image.GetSize()[2], 3, *reversed(image.GetSize()[:2]))
    assert stacked.dtype == np.float32
    np.testing.assert_allclose(stacked[:, 1], stacked[:, 0], atol=1e-4)
    assert np.abs(stacked[:, 2]).max() < 1e-4
    np.testing.assert_array_equal(stacked[:, 2], stacked[:, 0] - stacked[:, 1])


def test_a_lesion_shows_in_the_difference_on_both_sides(symmetric) -> None:
    image, brain = symmetric
    hu = sitk.GetArrayFromImage(image)
    k, x0 = hu.shape[0] // 2, 80  # left of the image centre (column 127.5)
    lesion = np.zeros_like(brain)
    lesion[k, 110:130, x0 : x0 + 20] = True
    lesion &= brain
    hu = hu - 6.0 * lesion
    lesioned = sitk.GetImageFromArray(hu)
    lesioned.CopyInformation(image)
    difference = _assemble(lesioned, MIDLINE)[:, 2]
    mirrored_lesion = lesion[:, :, ::-1]
    assert difference[lesion].mean() < -0.04
    assert difference[mirrored_lesion].mean() > 0.04
    # Beyond the filters' reach (the median's and the dark channel's half patches) nothing.
    reach = ndimage.binary_dilation(lesion | mirrored_lesion, np.ones((1, 9, 9), bool))
    assert np.abs(difference[~reach]).max() < 1e-4


def test_the_mirror_follows_the_plane_not_the_image_centre(symmetric) -> None:
    # The symmetric head turned by 8 degrees (yaw) and moved 9 mm to the side: mirrored about
    # the moved plane the difference stays at interpolation level; flipped about the image
    # centre it is large.
    image, _ = symmetric
    pose = sitk.Euler3DTransform()
    pose.SetRotation(0.0, 0.0, math.radians(8.0))
    pose.SetTranslation((9.0, -4.0, 0.0))
    moved = sitk.Resample(image, image, pose.GetInverse(), sitk.sitkLinear, -1000.0)
    hu = sitk.GetArrayFromImage(moved)
    brain = (hu > 15.0) & (hu < 55.0)
    normal = np.array(pose.GetMatrix()).reshape(3, 3) @ np.array([1.0, 0.0, 0.0])
    plane = MidsagittalPlane(pose.TransformPoint((0.0, 0.0, 0.0)), tuple(normal))
    stacked = _assemble(moved, plane)
    about_plane = np.abs(stacked[:, 2][brain])
    flipped = stacked[:, 0] - stacked[:, 0][:, :, ::-1]
    about_centre = np.abs(flipped[brain])
    assert np.median(about_plane) < 0.02
    assert np.median(about_centre) > 4 * np.median(about_plane)


def test_outside_the_field_of_view_reads_as_air(symmetric) -> None:
    image, _ = symmetric
    off_centre = MidsagittalPlane((60.0, 0.0, 0.0), (1.0, 0.0, 0.0))
    stacked = _assemble(image, off_centre)
    # Columns whose reflection about x = 60 mm lies beyond the grid's right edge.
    assert stacked[:, 1, :, :30].max() == 0.0
    assert stacked[:, 1].min() >= 0.0


def test_bad_input_is_refused(symmetric) -> None:
    image, _ = symmetric
    with pytest.raises(ValueError, match=r"shape \(2, 4, 4\), but the scan's grid is"):
        mirror_assemble(image, np.zeros((2, 4, 4)), MIDLINE)
    with pytest.raises(TypeError, match="MidsagittalPlane"):
        mirror_assemble(image, np.zeros((1, 1, 1)), ((0, 0, 0), (1, 0, 0)))
