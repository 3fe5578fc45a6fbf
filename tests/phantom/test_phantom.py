"""Synthetic NCCT phantoms: densities, noise, pose, lesion truth and case mix as requested."""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk

from analysis.units import UNITS, aspects_score, mirror_unit, split_unit
from model.anatomy import LABELS, level_points, load_atlas, load_tissue_maps
from model.phantom import Phantom, PhantomConfig, generate_phantom, phantom_truth

DEFAULT = PhantomConfig()
THIN = PhantomConfig(thin=True)
# Seeds picked once for their content (lesion-free; large, strong lesion), then fixed.
THIN_SEEDS = (3, 4)


@pytest.fixture(scope="module")
def thick() -> list[Phantom]:
    return [generate_phantom(seed) for seed in (0, 1, 2)]


@pytest.fixture(scope="module")
def thin() -> dict[int, Phantom]:
    return {seed: generate_phantom(seed, THIN) for seed in THIN_SEEDS}


def _array(image: sitk.Image) -> np.ndarray:
    return sitk.GetArrayFromImage(image)


def _tissue_on(phantom: Phantom, name: str) -> np.ndarray:
    """A tissue fraction of the anatomy moved onto the phantom's grid by its true pose."""
    fraction = sitk.GetImageFromArray(load_tissue_maps()[name])
    fraction.CopyInformation(load_atlas())
    return _array(
        sitk.Resample(fraction, phantom.image, phantom.pose.GetInverse(), sitk.sitkLinear, 0.0)
    )


def test_same_seed_same_phantom_other_seed_other_phantom(thick):
    again = generate_phantom(0)
    np.testing.assert_array_equal(_array(again.image), _array(thick[0].image))
    np.testing.assert_array_equal(_array(again.lesion_mask), _array(thick[0].lesion_mask))
    assert again.truth == thick[0].truth
    assert again.meta == thick[0].meta
    assert not np.array_equal(_array(thick[1].image)[10], _array(thick[0].image)[10])


def test_images_are_axial_float32_hu_with_matching_masks(thick):
    for phantom in thick:
        image = phantom.image
        assert image.GetPixelID() == sitk.sitkFloat32
        assert image.GetDirection() == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
        assert image.GetSpacing()[2] == pytest.approx(5.0)
        for mask in (phantom.lesion_mask, phantom.regions):
            assert mask.GetPixelID() == sitk.sitkUInt8
            assert mask.GetSize() == image.GetSize()
            assert mask.GetOrigin() == image.GetOrigin()
        assert set(phantom.truth) == set(UNITS)
        assert set(np.unique(_array(phantom.regions))) <= {0, *LABELS.values()}


def test_tissue_densities_follow_the_drawn_values_within_published_ranges(thin):
    phantom = thin[THIN_SEEDS[0]]
    hu = _array(phantom.image)
    meta = phantom.meta
    gm, wm, csf = (_tissue_on(phantom, t) for t in ("gm", "wm", "csf"))
    regions = _array(phantom.regions)
    for name, mask, drawn, (lo, hi) in (
        ("grey matter", gm > 0.95, meta.gm_hu, (37, 45)),
        ("white matter", (wm > 0.97) & (regions == 0), meta.wm_hu, (20, 30)),
        ("CSF", csf > 0.97, meta.csf_hu, (0, 15)),
    ):
        assert lo <= drawn <= hi, name
        # Beam hardening brightens tissue near the skull by a few HU; partial volume and
        # noise blur the rest. The tissue's mean stays within 3 HU of the drawn density.
        assert mask.sum() > 500, name
        assert abs(float(hu[mask].mean()) - drawn) < 3.0, name
    assert hu[(gm > 0.95)].mean() - hu[(wm > 0.97)].mean() > 5.0


def test_noise_sd_and_spatial_correlation(thick):
    for phantom in thick:
        hu = _array(phantom.image)
        air = hu[:, :24, :24]  # a corner of the field of view: air plus noise only
        assert 3.0 <= phantom.meta.noise_sd <= 5.0
        assert float(air.std()) == pytest.approx(phantom.meta.noise_sd, rel=0.1)
        centred = air - air.mean()
        in_plane = (centred[:, :, 1:] * centred[:, :, :-1]).mean() / centred.var()
        across = (centred[1:] * centred[:-1]).mean() / centred.var()
        assert in_plane > 0.3  # filtered, not white, noise
        assert abs(across) < 0.1  # slices are reconstructed independently


def test_skull_and_scalp_have_ct_densities(thick):
    for phantom in thick:
        hu = _array(phantom.image)
        assert hu.max() > 1000  # cortical bone, even after 5 mm partial volume
        assert 600 < np.median(hu[hu > 300]) < phantom.meta.bone_hu  # tables and diploe
        assert (hu < -900).mean() > 0.2  # air around the head


def test_thin_slices_average_into_thick_slices():
    thin = generate_phantom(5, THIN)
    thick = generate_phantom(5)
    thin_hu, thick_hu = _array(thin.image), _array(thick.image)
    assert thin.image.GetSpacing()[2] == pytest.approx(1.25)
    assert thin_hu.shape[0] == 4 * thick_hu.shape[0]
    # Same draws: averaging 4 thin slices gives the thick slice up to the noise.
    averaged = thin_hu.reshape(-1, 4, *thin_hu.shape[1:]).mean(axis=1)
    difference = averaged - thick_hu
    assert abs(float(np.median(difference))) < 0.5
    assert float(difference.std()) < 2.0 * thick.meta.noise_sd


def test_pose_is_the_true_template_to_scanner_transform(thick):
    atlas = load_atlas()
    labels = _array(atlas)
    for phantom in thick:
        meta = phantom.meta
        assert abs(meta.yaw_deg) <= 10
        assert abs(meta.roll_deg) <= 10
        assert abs(meta.pitch_deg) <= 15
        assert all(abs(s) <= 10 for s in meta.shift_mm)
        angles = phantom.pose.GetAngleX(), phantom.pose.GetAngleY(), phantom.pose.GetAngleZ()
        expected = (meta.pitch_deg, meta.roll_deg, meta.yaw_deg)
        np.testing.assert_allclose(np.degrees(angles), expected, atol=1e-3)
        regions = _array(phantom.regions)
        for unit in ("L_left", "M5_right", "M3_left"):
            index = np.argwhere(regions == LABELS[unit]).mean(axis=0)[::-1]
            scan = phantom.regions.TransformContinuousIndexToPhysicalPoint(index.tolist())
            back = np.array(phantom.pose.GetInverse().TransformPoint(scan))
            atlas_index = np.argwhere(labels == LABELS[unit]).mean(axis=0)[::-1]
            truth = np.array(atlas.TransformContinuousIndexToPhysicalPoint(atlas_index.tolist()))
            assert np.linalg.norm(back - truth) < 3.0, unit


def test_midsagittal_plane_and_levels_follow_the_pose(thick):
    for phantom in thick:
        point, normal = phantom.midsagittal
        assert np.linalg.norm(normal) == pytest.approx(1.0)
        # Yaw and roll tilt the plane, pitch turns it in itself: at most ~14 degrees here.
        assert math.degrees(math.acos(abs(normal[0]))) <= math.hypot(10.0, 10.0) + 0.1
        # Points of the template's mid-sagittal plane (x = 0) land on the phantom's plane.
        for template_point in [(0.0, -60.0, 30.0), (0.0, 40.0, -10.0), *level_points().values()]:
            moved = phantom.pose.TransformPoint(template_point)
            assert abs(np.dot(np.subtract(moved, point), normal)) < 1e-6
        # The plane separates the hemispheres: left units on its +x side (LPS).
        regions = _array(phantom.regions)
        for unit in ("M2_left", "M2_right"):
            index = np.argwhere(regions == LABELS[unit]).mean(axis=0)[::-1]
            centre = phantom.regions.TransformContinuousIndexToPhysicalPoint(index.tolist())
            side = np.dot(np.subtract(centre, point), normal)
            assert (side > 0) == unit.endswith("left")
        for level, slice_index in phantom.levels.items():
            scan = phantom.pose.TransformPoint(level_points()[level])
            expected = phantom.image.TransformPhysicalPointToContinuousIndex(scan)[2]
            assert abs(slice_index - expected) <= 0.5
        at_level = set(np.unique(regions[phantom.levels["ganglionic"]]))
        assert {LABELS["M2_left"], LABELS["M2_right"]} <= at_level
        above = set(np.unique(regions[phantom.levels["supraganglionic"]]))
        assert {LABELS["M5_left"], LABELS["M5_right"]} <= above


def test_truth_follows_the_overlap_rule(thick, thin):
    for phantom in [*thick, *thin.values()]:
        rule = DEFAULT.truth_min_coverage
        assert phantom.truth == {u: int(phantom.unit_coverage[u] >= rule) for u in UNITS}
        # On the scan grid the coverage agrees wherever it is not close to the threshold.
        regions, lesion = _array(phantom.regions), _array(phantom.lesion_mask) > 0
        for unit in UNITS:
            in_unit = regions == LABELS[unit]
            coverage = lesion[in_unit].mean() if in_unit.any() else 0.0
            if abs(coverage - rule) > 0.1:
                assert phantom.truth[unit] == int(coverage >= rule), unit
        positives = [u for u in UNITS if phantom.truth[u]]
        assert phantom.meta.n_positive_units == len(positives)
        assert {split_unit(u)[1] for u in positives} <= {phantom.meta.side}
        if positives:
            assert phantom.meta.aspects == aspects_score(positives, phantom.meta.side)
        else:
            assert phantom.meta.aspects == 10


def test_acute_lesion_is_darker_than_the_mirror_region(thin):
    phantom = thin[THIN_SEEDS[1]]
    assert phantom.meta.n_positive_units >= 1
    assert phantom.meta.hu_drop >= 4.0
    hu, lesion = _array(phantom.image), _array(phantom.lesion_mask) > 0
    regions = _array(phantom.regions)
    differences = []
    for unit in (u for u in UNITS if phantom.truth[u]):
        affected = (regions == LABELS[unit]) & lesion
        mirror = regions == LABELS[mirror_unit(unit)]
        differences.append(hu[affected].mean() - hu[mirror].mean())
    # GM drops by hu_drop, WM by half of it and the soft edge by less; the natural asymmetry
    # (SD asymmetry_hu) adds or hides a little in each unit.
    assert max(differences) < 0
    assert np.mean(differences) < -phantom.meta.hu_drop / 4


def test_case_mix_resembles_the_external_set():
    """Chen et al. 2022 external set: ~8% of 1700 units positive, median ASPECTS 9."""
    truths = [phantom_truth(seed) for seed in range(100, 300)]
    positives = [[u for u in UNITS if t[u]] for t in truths]
    fraction = sum(map(len, positives)) / (20 * len(truths))
    assert 0.06 <= fraction <= 0.10
    scores = [aspects_score(p, split_unit(p[0])[1]) if p else 10 for p in positives]
    assert np.median(scores) == 9
    assert max(map(len, positives)) <= 8
    # Every lesion is in one hemisphere.
    assert all(len({split_unit(u)[1] for u in p}) <= 1 for p in positives)


def test_fast_truth_matches_the_full_phantom(thick):
    for seed, phantom in enumerate(thick):
        assert phantom_truth(seed) == phantom.truth


def test_vendor_mix_and_confounders_over_seeds():
    meta = [generate_phantom(seed, PhantomConfig(matrix=64)).meta for seed in range(10, 40)]
    vendors = {m.vendor for m in meta}
    assert vendors <= {"philips", "ge", "siemens"}
    assert "philips" in vendors
    confounders = ";".join(m.confounders for m in meta)
    assert "leukoaraiosis" in confounders
    assert "old_infarct" in confounders


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lesion_hu_drop": (8.0, 2.0)}, "lesion_hu_drop"),
        ({"noise_sd": (-1.0, 2.0)}, "noise_sd"),
        ({"positive_case_fraction": 1.5}, "positive_case_fraction"),
        ({"units_per_lesion_weights": ()}, "units_per_lesion_weights"),
        ({"slice_thickness_mm": 5.0, "thin_slice_mm": 2.0}, "whole multiple"),
        ({"pitch_deg": (-40.0, 0.0)}, "pitch_deg"),
    ],
)
def test_bad_settings_are_rejected_with_the_field_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PhantomConfig(**kwargs)


def test_bad_arguments_raise_type_errors():
    with pytest.raises(TypeError, match="seed"):
        generate_phantom("1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="config"):
        generate_phantom(1, {"thin": True})  # type: ignore[arg-type]
