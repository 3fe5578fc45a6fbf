"""Registration on a representative subset of the varied registration test set.

The full set (``python -m model.registration_set ../shared/refdata``, > 100 cases) is too slow
for the unit suite; this runs its quick subset: phantoms and scct heads under large poses with
scanner variations, a miplab (different source) head, and every kind of input that must be
refused.
"""

from __future__ import annotations

import numpy as np
import pytest

from model.registration_set import build_cases, run_case

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rows(refdata) -> list[dict]:
    return [(case, run_case(case)) for case in build_cases(refdata, quick=True)]


def test_refusals_are_exactly_the_true_failures(rows):
    wrong = [(c.name, r["reason"]) for c, r in rows if r["refused"] != bool(c.refuse)]
    assert not wrong
    reasons = {c.refuse for c, _ in rows if c.refuse}
    assert reasons == {"no head", "no skull", "one slice", "level missing"}


@pytest.mark.parametrize(
    ("group", "min_dice", "max_level_error"),
    # The scct-anatomy phantoms of varied_config take the atlas by MNI world coordinates,
    # which the measured atlas-to-template alignment moves by about 2 mm (docs/model.md).
    [("phantom", 0.85, 1), ("scct", 0.85, 1), ("varied", 0.7, 2)],
)
def test_registered_heads_meet_the_targets(rows, group, min_dice, max_level_error):
    registered = [r for c, r in rows if c.group == group]
    assert registered
    for row in registered:
        assert not row["refused"], row
        assert row["dice"] >= min_dice, row
        assert row["level_error"] <= max_level_error, row
        assert row["angle_error_deg"] <= 2.0, row


def test_phantoms_agree_with_the_independent_atlas(rows):
    dice = [r["dice_independent"] for c, r in rows if c.group == "phantom"]
    assert np.mean(dice) >= 0.6


def test_a_head_of_another_source_registers(rows):
    """The miplab elderly brain: registered, its plane and levels found, and its Dice against
    the independent atlas within 10 % of what the two atlases agree on when perfectly aligned."""
    registered = [r for c, r in rows if c.group == "miplab"]
    assert registered
    for row in registered:
        assert not row["refused"], row
        assert row["angle_error_deg"] <= 2.0, row
        assert row["level_error"] <= 1, row
        assert row["dice"] >= 0.75, row
        assert 0.6 <= row["dice_ceiling"] < 0.75, row
        assert row["dice_independent"] >= 0.9 * row["dice_ceiling"], row


def test_the_miplab_alignment_is_the_measured_one(refdata):
    """MIPLAB_TO_MNI is what measure_miplab_to_mni gives (within 1 mm over the brain), and it
    fits the miplab brain better than identity does."""
    from model.registration_set import MIPLAB_TO_MNI, measure_miplab_to_mni

    live, before, after = measure_miplab_to_mni(
        refdata / "ncct_template" / "miplab-ncct_sym_brain.nii.gz"
    )
    points = np.array([[0, 20, 10], [60, 20, 10], [0, 90, 10], [0, -60, 10], [0, 20, 70]])
    moved = [(m[:3, :3] @ points.T).T + m[:3, 3] for m in (live, MIPLAB_TO_MNI)]
    assert np.abs(moved[0] - moved[1]).max() < 1.0
    assert after > before + 0.05
