"""The network's ASPECTS scoring: overlap proportions, per-unit thresholds, calls, ASPECTS."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.units import UNITS
from model.anatomy import LABELS
from model.errors import CalibrationError
from model.overlap_scoring import (
    MIN_SPECIFICITY,
    UnitThresholds,
    fit_thresholds,
    score_overlap,
    unit_overlap,
)


@pytest.fixture
def hand_made():
    """A 1 x 21 x 4 grid: row r holds unit UNITS[r] (4 voxels each), row 20 is background."""
    atlas = np.zeros((1, 21, 4), np.uint8)
    for row, unit in enumerate(UNITS):
        atlas[0, row] = LABELS[unit]
    probability = np.zeros(atlas.shape, np.float32)
    probability[0, UNITS.index("M2_left")] = [1.0, 1.0, 0.0, 0.0]
    probability[0, UNITS.index("L_left")] = [1.0, 1.0, 1.0, 0.5]
    probability[0, UNITS.index("C_right")] = [0.25, 0.0, 0.0, 0.0]
    probability[0, 20] = 1.0  # lesion outside every unit counts for none
    return atlas, probability


def test_overlap_is_the_mean_probability_over_each_unit(hand_made):
    atlas, probability = hand_made
    table = unit_overlap(probability, atlas, LABELS).set_index("unit")
    assert list(table.index) == list(UNITS)
    assert table.loc["M2_left", "overlap"] == 0.5
    assert table.loc["L_left", "overlap"] == 0.875
    assert table.loc["C_right", "overlap"] == 0.0625
    assert table["overlap"].drop(["M2_left", "L_left", "C_right"]).eq(0.0).all()
    assert table["n_voxels"].eq(4).all()


def test_a_unit_outside_the_scan_has_overlap_zero(hand_made):
    atlas, probability = hand_made
    atlas[atlas == LABELS["M2_left"]] = 0
    table = unit_overlap(probability, atlas, LABELS).set_index("unit")
    assert (table.loc["M2_left", "overlap"], table.loc["M2_left", "n_voxels"]) == (0.0, 0)


def test_calls_and_hemisphere_aspects_follow_each_units_threshold(hand_made):
    atlas, probability = hand_made
    thresholds = UnitThresholds({**dict.fromkeys(UNITS, 0.3), "C_right": 0.05})
    scored, aspects = score_overlap(probability, atlas, LABELS, thresholds)
    assert list(scored.columns) == ["unit", "probability", "call"]
    called = scored.loc[scored["call"] == 1, "unit"].tolist()
    assert called == ["L_left", "M2_left", "C_right"]
    assert aspects == {"left": 8, "right": 9}
    # At 0.9 for L_left (0.875) and 0.5 exactly for M2_left: calls are overlap >= threshold.
    strict = UnitThresholds({**dict.fromkeys(UNITS, 0.5), "L_left": 0.9})
    scored, aspects = score_overlap(probability, atlas, LABELS, strict)
    assert scored.loc[scored["call"] == 1, "unit"].tolist() == ["M2_left"]
    assert aspects == {"left": 9, "right": 10}


def test_bad_grids_and_labels_are_refused(hand_made):
    atlas, probability = hand_made
    with pytest.raises(CalibrationError, match=r"\(1, 21, 4\) and atlas \(1, 21, 3\)"):
        unit_overlap(probability, atlas[..., :3], LABELS)
    with pytest.raises(CalibrationError, match="float32 values, not integer labels"):
        unit_overlap(probability, atlas.astype(np.float32), LABELS)
    labels = {u: v for u, v in LABELS.items() if u != "M6_right"}
    with pytest.raises(CalibrationError, match="lack units M6_right"):
        unit_overlap(probability, atlas, labels)


def _validation_units() -> pd.DataFrame:
    """12 cases x 20 units, overlap 0 and truth 0 except the hand-placed values below."""
    rows = {(case, unit): (0.0, 0) for case in range(12) for unit in UNITS}
    for case, value in enumerate([0.3, 0.4, 0.5, 0.6, 0.7, 0.8]):
        rows[case, "M1_left"] = (value, 1)
    for case, value in zip(range(6, 12), [0.05, 0.1, 0.2, 0.35, 0.0, 0.0], strict=True):
        rows[case, "M1_left"] = (value, 0)
    rows[0, "C_left"] = (0.9, 1)
    for case, value in enumerate([0.5, 0.6, 0.7, 0.8]):
        rows[case, "C_right"] = (value, 1)
    rows[4, "C_right"] = (0.55, 0)
    return pd.DataFrame(
        [{"case": c, "unit": u, "probability": p, "truth": t} for (c, u), (p, t) in rows.items()]
    )


def test_thresholds_come_from_the_unit_its_region_or_all_units():
    thresholds = fit_thresholds(_validation_units())
    assert MIN_SPECIFICITY == 0.975
    # M1_left: 6 positives and 6 negatives of its own; no false call allowed among 6
    # negatives (1/6 > 0.025), so the cut-off must clear 0.35: 0.4 (sensitivity 5/6).
    assert (thresholds.thresholds["M1_left"], thresholds.basis["M1_left"]) == (0.4, "unit")
    # M1_right has no positive: region M1 (6 positives, 18 negatives) gives the same 0.4.
    assert (thresholds.thresholds["M1_right"], thresholds.basis["M1_right"]) == (0.4, "region")
    # C_left (1 positive) and C_right (4) pool as region C: 5 positives, 19 negatives, one at
    # 0.55 that must stay uncalled: 0.6 (sensitivity 4/5).
    for unit in ("C_left", "C_right"):
        assert (thresholds.thresholds[unit], thresholds.basis[unit]) == (0.6, "region")
    # Every other unit: all 240 units, 11 positives; 0.3 calls all of them with 2 false calls
    # among 229 negatives (specificity 0.991).
    others = [u for u in UNITS if u[:2] not in ("M1", "C_")]
    assert {thresholds.thresholds[u] for u in others} == {0.3}
    assert {thresholds.basis[u] for u in others} == {"pooled"}
    assert thresholds.provenance["validation_positive_units"] == 11
    assert thresholds.provenance["pooled_threshold"] == 0.3


def test_without_a_specificity_floor_youden_alone_decides():
    units = _validation_units()
    thresholds = fit_thresholds(units, min_specificity=0.0)
    # M1_left: at 0.3 sensitivity 1 and specificity 5/6 tie with 0.4 (5/6, 1): first wins.
    assert thresholds.thresholds["M1_left"] == 0.3


def test_thresholds_round_trip_and_bad_files_name_the_file(tmp_path):
    thresholds = fit_thresholds(_validation_units(), provenance={"seeds": [0, 11]})
    path = tmp_path / "w" / "thresholds.json"
    thresholds.save(path)
    again = UnitThresholds.load(path)
    assert again == thresholds
    assert again.provenance["seeds"] == [0, 11]
    data = json.loads(path.read_text())
    del data["thresholds"]["M3_left"]
    path.write_text(json.dumps(data))
    with pytest.raises(CalibrationError, match=r"thresholds\.json.*missing: M3_left"):
        UnitThresholds.load(path)
    path.write_text("not json")
    with pytest.raises(CalibrationError, match=r"cannot read the unit thresholds .*thresholds"):
        UnitThresholds.load(path)
    with pytest.raises(CalibrationError, match=r"threshold of C_left is -0\.1"):
        UnitThresholds({**dict.fromkeys(UNITS, 0.3), "C_left": -0.1})
    with pytest.raises(CalibrationError, match="threshold of C_left is 'high'"):
        UnitThresholds({**dict.fromkeys(UNITS, 0.3), "C_left": "high"})


def test_fitting_needs_both_classes_and_every_unit():
    units = _validation_units()
    with pytest.raises(CalibrationError, match="all negative"):
        fit_thresholds(units.assign(truth=0))
    with pytest.raises(CalibrationError, match="lack M6_right"):
        fit_thresholds(units[units["unit"] != "M6_right"])
    with pytest.raises(CalibrationError, match=r"lack columns \['truth'\]"):
        fit_thresholds(units.drop(columns="truth"))
