"""Registration of the CT template to scans with a known pose."""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk

from model.register import MIN_QUALITY, RegistrationError, register_to_scan

POSES = [
    {"yaw": 8.0, "roll": -6.0, "pitch": 12.0, "shift": (6.0, -8.0, 5.0)},
    {"yaw": -9.0, "roll": 9.0, "pitch": -14.0, "shift": (-7.0, 5.0, -6.0)},
]


def _plane_angle_deg(normal_a, normal_b) -> float:
    cosine = abs(float(np.dot(normal_a, normal_b)))
    return math.degrees(math.acos(min(1.0, cosine)))


@pytest.mark.parametrize("pose", POSES)
def test_known_pose_is_recovered(anatomy, helpers, pose):
    template, atlas, labels = anatomy
    scan = helpers.posed_scan(template, atlas, **pose, seed=3)
    result = register_to_scan(scan.image)

    dice = helpers.dice_per_label(result.atlas, scan.regions, labels)
    assert np.mean(list(dice.values())) >= 0.85, dice
    # The template's mid-sagittal plane is x = 0; the pose rotates its normal (1, 0, 0).
    true_normal = np.array(scan.pose.GetMatrix()).reshape(3, 3) @ [1.0, 0.0, 0.0]
    assert _plane_angle_deg(true_normal, result.midsagittal.normal) <= 2.0
    true_point = np.array(scan.pose.TransformPoint((0.0, -18.0, 10.0)))
    assert abs(result.midsagittal.signed_distance(true_point[None])[0]) <= 2.0
    assert result.quality >= MIN_QUALITY
    assert result.atlas.GetSize() == scan.image.GetSize()
    assert set(result.levels) == {"ganglionic", "supraganglionic"}
    assert result.levels["supraganglionic"] > result.levels["ganglionic"]


def test_levels_follow_the_atlas_regions(anatomy, helpers):
    """Each level index is within one slice of the slice where its regions' centroid lies."""
    template, atlas, labels = anatomy
    scan = helpers.posed_scan(template, atlas, **POSES[0], seed=4)
    result = register_to_scan(scan.image)
    regions = sitk.GetArrayViewFromImage(scan.regions)
    for level, names in (("ganglionic", "M1 M2 M3"), ("supraganglionic", "M4 M5 M6")):
        values = [labels[f"{r}_{s}"] for r in names.split() for s in ("left", "right")]
        k = np.argwhere(np.isin(regions, values))[:, 0].mean()
        assert abs(result.levels[level] - k) <= 1.0, (level, result.levels[level], k)


def _image(arr: np.ndarray, spacing=(0.8, 0.8, 5.0)) -> sitk.Image:
    image = sitk.GetImageFromArray(arr.astype(np.float32))
    image.SetSpacing(spacing)
    return image


def test_noise_has_no_head():
    noise = np.random.default_rng(0).normal(0.0, 200.0, (30, 200, 200))
    with pytest.raises(RegistrationError, match="no head found"):
        register_to_scan(_image(noise))


def test_water_cylinder_has_no_head():
    z, y, x = np.mgrid[0:30, 0:240, 0:240]
    inside = (x - 120) ** 2 + (y - 120) ** 2 < 100**2
    cylinder = np.where(inside, 0.0, -1000.0) + np.random.default_rng(1).normal(0, 4, z.shape)
    with pytest.raises(RegistrationError, match="no head found: no skull"):
        register_to_scan(_image(cylinder))


def test_empty_air_has_no_head():
    air = np.full((30, 100, 100), -1000.0)
    with pytest.raises(RegistrationError, match="no head found"):
        register_to_scan(_image(air))


def test_bad_arguments_are_rejected():
    with pytest.raises(TypeError, match=r"SimpleITK\.Image"):
        register_to_scan(np.zeros((4, 4, 4)))
    flat = sitk.Image([10, 10], sitk.sitkFloat32)
    with pytest.raises(ValueError, match="3-D scalar"):
        register_to_scan(flat)


def test_a_missing_level_is_refused_with_a_quicklook(anatomy, helpers):
    template, atlas, _ = anatomy
    scan = helpers.posed_scan(template, atlas, **POSES[0], seed=5)
    levels = register_to_scan(scan.image).levels
    # Keep only the slices from two above the ganglionic level: that level is gone.
    top = scan.image[:, :, levels["ganglionic"] + 2 :]
    with pytest.raises(
        RegistrationError, match="ganglionic level lies below the first slice"
    ) as caught:
        register_to_scan(top)
    quicklook = caught.value.quicklook
    assert quicklook.dtype == np.uint8
    assert quicklook.ndim == 3
    assert quicklook.shape[2] == 3
    # The template's outline is drawn in colour over the grey scan.
    colour = (quicklook[..., 0] > 200) & (quicklook[..., 2] < 80)
    assert colour.sum() > 100


def test_a_head_turned_past_15_degrees_and_cut_at_the_vertex_keeps_its_plane(anatomy, helpers):
    """Yaw and roll of 17 degrees, the field of view cut 2 slices above the supraganglionic
    level (brain whose mirror is not in the image): the plane stays within 2 degrees, and the
    quick-look of the success shows the template's outline in each of its three panels."""
    from model.register import alignment_quicklook

    template, atlas, _ = anatomy
    pose = {"yaw": 17.0, "roll": -17.0, "pitch": 20.0, "shift": (5.0, 4.0, -3.0)}
    scan = helpers.posed_scan(template, atlas, **pose, seed=6)
    regions = sitk.GetArrayViewFromImage(scan.regions)
    top = int(np.argwhere(regions > 0)[:, 0].max())
    cut = scan.image[:, :, : top + 3]
    result = register_to_scan(cut)
    true_normal = np.array(scan.pose.GetMatrix()).reshape(3, 3) @ [1.0, 0.0, 0.0]
    assert _plane_angle_deg(true_normal, result.midsagittal.normal) <= 2.0
    picture = alignment_quicklook(cut, result)
    red = (picture[..., 0] > 200) & (picture[..., 1] < 80)
    thirds = np.array_split(np.arange(picture.shape[1]), 3)
    assert all(red[:, cols].sum() > 50 for cols in thirds)


def test_a_level_placed_just_beyond_the_last_slice_is_taken_to_be_on_it(anatomy, helpers):
    """A field of view ending half a slice (0-5 mm) below the supraganglionic level: registered,
    with that level on the last slice and a warning; ending 10-15 mm below it is refused."""
    template, atlas, _ = anatomy
    scan = helpers.posed_scan(template, atlas, **POSES[1], seed=7)
    supra = register_to_scan(scan.image).levels["supraganglionic"]
    edge = register_to_scan(scan.image[:, :, :supra])
    assert edge.levels["supraganglionic"] == supra - 1
    assert any("supraganglionic level was placed" in w for w in edge.warnings), edge.warnings
    with pytest.raises(RegistrationError, match="supraganglionic level lies above the last"):
        register_to_scan(scan.image[:, :, : supra - 2])


def test_the_same_scan_maps_the_same_way_whatever_the_thread_count(anatomy, helpers):
    # Before, two runs on 2 threads differed by up to 0.02 in the affine matrix and in
    # hundreds of atlas voxels: ITK adds the metric's per-thread parts in varying order.
    template, atlas, _ = anatomy
    scan = helpers.posed_scan(template, atlas, **POSES[0], seed=5).image
    default = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    results = []
    try:
        for threads in (4, 4, 1):
            sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
            results.append(register_to_scan(scan))
            assert sitk.ProcessObject.GetGlobalDefaultNumberOfThreads() == threads
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(default)
    first = results[0]
    for other in results[1:]:
        assert other.transform.GetParameters() == first.transform.GetParameters()
        np.testing.assert_array_equal(
            sitk.GetArrayViewFromImage(other.atlas), sitk.GetArrayViewFromImage(first.atlas)
        )
        assert other.levels == first.levels
