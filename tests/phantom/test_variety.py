"""Phantoms from a second, real-CT anatomy and with varied heads and fields of view."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from analysis.units import UNITS, mirror_unit
from model.anatomy import LABELS, load_atlas
from model.errors import PhantomError
from model.phantom import (
    VARIED,
    PhantomConfig,
    _anatomy,
    _varied_tissue,
    generate_phantom,
    phantom_truth,
    varied_config,
)
from model.phantom_anatomy import SCCT_FROM_ATLAS, atlas_to_scct, source_anatomy
from model.phantom_difficulty import asymmetry_scores

SCCT = PhantomConfig(anatomy="scct")
# Picked once for its lesion (7 units on the left, deep and cortical), then fixed.
LESION_SEED = 79


def _ml(mask: np.ndarray, spacing=(1.5, 1.5, 1.5)) -> float:
    return float(mask.sum()) * float(np.prod(spacing)) / 1000.0


def test_the_scct_head_is_a_plausible_head_with_every_unit():
    tissue, atlas_labels, labels = source_anatomy("scct")
    carried = sitk.Resample(load_atlas(), atlas_to_scct(), sitk.sitkNearestNeighbor, 0)
    np.testing.assert_array_equal(atlas_labels, sitk.GetArrayFromImage(carried))
    # Carried the right way round: the atlas volume scales with the alignment's determinant.
    ratio = (atlas_labels > 0).sum() / (sitk.GetArrayFromImage(load_atlas()) > 0).sum()
    assert ratio == pytest.approx(np.linalg.det(SCCT_FROM_ATLAS[:3, :3]), abs=0.01)
    brain = tissue["gm"] + tissue["wm"]
    assert 1000 < _ml(brain) < 2000  # ml of brain (older adults: smaller than MNI152's 1680)
    assert 100 < _ml(tissue["csf"]) < 600
    assert 150 < _ml(tissue["bone"] + tissue["diploe"]) < 900
    assert float(np.max(sum(tissue.values()))) <= 1.05
    for unit, value in LABELS.items():
        kept = (labels == value).sum() / (atlas_labels == value).sum()
        # Each unit keeps the atlas voxels that are brain tissue in this head.
        assert kept > (0.1 if unit.startswith("C_") else 0.6), unit
        assert (brain[labels == value] >= 0.5).all()


def test_truth_follows_the_lesion_on_the_other_anatomy_too():
    mni, scct = phantom_truth(LESION_SEED), phantom_truth(LESION_SEED, SCCT)
    assert sum(scct.values()) >= 5
    # The same plan lands in the same units; coverage is measured on each head's own units.
    assert {u for u in UNITS if scct[u]} <= {u for u in UNITS if mni[u]}
    phantom = generate_phantom(LESION_SEED, SCCT)
    assert phantom.meta.anatomy == "scct"
    assert phantom.truth == scct
    assert all(phantom.unit_coverage[u] >= 0.2 for u in UNITS if scct[u])
    # The lesion is darker than the mirror unit where the truth says so (oracle reader).
    scores = asymmetry_scores(phantom.image, phantom.regions)
    positives = [scores[u] for u in UNITS if scct[u]]
    mirrors = [scores[mirror_unit(u)] for u in UNITS if scct[u]]
    assert np.mean(positives) > np.mean(mirrors) + 1.0
    lesion = sitk.GetArrayViewFromImage(phantom.lesion_mask).astype(bool)
    regions = sitk.GetArrayViewFromImage(phantom.regions)
    assert np.mean(regions[lesion] > 0) > 0.8
    values = sitk.GetArrayViewFromImage(phantom.image)[lesion]
    assert np.median(values) > 10  # brain tissue, not the wider CSF spaces of this head


def test_variety_has_its_own_random_stream():
    """The variety knobs never move the calibrated lesions and truth of a seed."""
    for seed in (3, 78, 79):
        assert phantom_truth(seed, varied_config(anatomy="mni152")) == phantom_truth(seed)


def test_each_tissue_knob_does_what_it_says():
    base = _anatomy("mni152")
    zero = {"skull_offset_mm": 0.0, "scalp_offset_mm": 0.0, "atrophy_mm": 0.0}
    assert _varied_tissue(base, zero) is base

    def volume(anatomy, *names):
        return _ml(sum(anatomy.tissue[n] for n in names) >= 0.5)

    thick = _varied_tissue(base, {**zero, "skull_offset_mm": 3.0})
    thin = _varied_tissue(base, {**zero, "skull_offset_mm": -2.0})
    assert volume(thick, "bone", "diploe") > 1.3 * volume(base, "bone", "diploe")
    assert volume(thin, "bone", "diploe") < 0.85 * volume(base, "bone", "diploe")
    assert volume(thin, "gm", "wm", "csf") == volume(base, "gm", "wm", "csf")  # inner table kept
    fat = _varied_tissue(base, {**zero, "scalp_offset_mm": 5.0})
    assert volume(fat, "scalp") > 1.5 * volume(base, "scalp")
    atrophic = _varied_tissue(base, {**zero, "atrophy_mm": 2.0})
    assert volume(atrophic, "csf") > 1.5 * volume(base, "csf")
    assert volume(atrophic, "gm", "wm") < 0.9 * volume(base, "gm", "wm")
    assert np.array_equal(atrophic.labels, base.labels)


@pytest.mark.slow
def test_size_fov_table_and_origin_knobs():
    seed = 12
    base = generate_phantom(seed)
    knobs = PhantomConfig(
        head_scale=(1.15, 1.15),
        vertex_cut_mm=(20.0, 20.0),
        fossa_cut_mm=(15.0, 15.0),
        headrest_probability=1.0,
        origin_offset_mm=(-250.0, -250.0),
    )
    varied = generate_phantom(seed, knobs)
    assert varied.truth == base.truth
    head = lambda p: _ml(sitk.GetArrayViewFromImage(p.regions) > 0, p.image.GetSpacing())  # noqa: E731
    assert head(varied) == pytest.approx(1.15**3 * head(base), rel=0.12)
    # 35 mm less head height, 15 % more head: fewer slices than 35 mm would take.
    assert varied.image.GetSize()[2] < base.image.GetSize()[2]
    np.testing.assert_allclose(
        np.subtract(varied.image.GetOrigin()[:2], base.image.GetOrigin()[:2]), -250.0, atol=1e-6
    )
    values = sitk.GetArrayViewFromImage(varied.image)
    centre = varied.midsagittal[0]
    behind = values[:, values.shape[1] // 2 + 90 :, :]  # rows far behind the head centre
    assert (behind > 50).mean() > 0.01  # the cradle and the table
    level = varied.levels["ganglionic"]
    assert 0 <= level < values.shape[0]
    assert abs(centre[2] - base.midsagittal[0][2]) > 200  # table coordinates


def test_variety_knobs_are_validated():
    with pytest.raises(PhantomError, match="anatomy must be one of mni152, scct, mixed"):
        PhantomConfig(anatomy="ct")
    with pytest.raises(PhantomError, match="head_scale"):
        PhantomConfig(head_scale=(0.5, 1.0))
    with pytest.raises(PhantomError, match="atrophy_mm"):
        PhantomConfig(atrophy_mm=(2.0, 1.0))
    with pytest.raises(PhantomError, match="headrest_probability"):
        PhantomConfig(headrest_probability=1.5)
    assert varied_config().anatomy == VARIED["anatomy"] == "mixed"


@pytest.mark.slow
def test_the_frozen_atlas_alignment_is_the_registrations():
    """The scct phantoms' truth and the registration agree on where the atlas lies (1.5 mm)."""
    from model.register import _atlas

    live = _atlas().to_template
    points = np.array([[0, -18, 10], [60, -18, 10], [0, 60, 10], [0, -90, 10], [0, -18, 70]])
    moved = [(m[:3, :3] @ points.T).T + m[:3, 3] for m in (live, SCCT_FROM_ATLAS)]
    assert np.abs(moved[0] - moved[1]).max() < 1.5
