"""Asymmetry scoring: unit features, mirroring, calibration fit, likelihood map."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from analysis.units import UNITS
from model.register import MidsagittalPlane
from model.scoring import (
    Calibration,
    CalibrationError,
    fit_calibration,
    hemisphere_aspects,
    likelihood_map,
    mirror_image,
    score_units,
    unit_features,
    youden_threshold,
)


@pytest.fixture(scope="module")
def lesioned(anatomy, helpers):
    """A posed scan with M2_left and L_left 6 HU darker, and its true region map."""
    template, atlas, labels = anatomy
    scan = helpers.posed_scan(template, atlas, yaw=4.0, roll=-3.0, pitch=6.0, seed=11)
    return helpers.with_lesion(scan, ["M2_left", "L_left"], labels, 6.0), scan


def test_unit_features_measure_the_lesion_drop(anatomy, lesioned):
    image, scan = lesioned
    features = unit_features(image, scan.regions, anatomy[2]).set_index("unit")
    assert list(features.index) == list(UNITS)
    for unit in ("M2_left", "L_left"):
        assert features.loc[unit, "difference"] == pytest.approx(-6.0, abs=1.0)
        assert features.loc[unit, "ratio"] < 0.9
    assert features.loc["M2_right", "difference"] == pytest.approx(6.0, abs=1.0)
    others = features.drop(index=["M2_left", "L_left", "M2_right", "L_right"])
    assert others["difference"].abs().max() < 1.5


def test_mirror_image_reflects_about_the_plane():
    arr = np.zeros((4, 20, 30), np.float32)
    arr[:, 5:8, 3:6] = 100.0  # a block right of the plane x = 14.5 (voxel centres 0..29)
    image = sitk.GetImageFromArray(arr)
    plane = MidsagittalPlane((14.5, 0.0, 0.0), (1.0, 0.0, 0.0))
    mirrored = sitk.GetArrayFromImage(mirror_image(image, plane))
    np.testing.assert_allclose(mirrored[:, 5:8, 24:27], 100.0)
    np.testing.assert_allclose(mirrored[:, :, :20], 0.0)
    twice = sitk.GetArrayFromImage(mirror_image(mirror_image(image, plane), plane))
    np.testing.assert_allclose(twice, arr)


def test_calibration_fit_matches_statsmodels():
    """Unpenalised fit (ridge 0) equals statsmodels' maximum-likelihood Logit."""
    import statsmodels.api as sm

    rng = np.random.default_rng(5)
    n = 600
    difference = rng.normal(0.0, 3.0, n)
    ratio = 1.0 + difference / 30.0 + rng.normal(0.0, 0.02, n)
    logit = -2.0 - 0.9 * difference + 5.0 * (ratio - 1.0)
    truth = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    table = pd.DataFrame({"difference": difference, "ratio": ratio, "truth": truth})
    fitted = fit_calibration(table, ridge=0.0)
    reference = sm.Logit(truth, sm.add_constant(np.column_stack([difference, ratio - 1]))).fit(
        disp=0
    )
    np.testing.assert_allclose(
        [fitted.intercept, *fitted.coef], reference.params, rtol=1e-6, atol=1e-8
    )
    probability = fitted.probability(difference, ratio)
    np.testing.assert_allclose(probability, reference.predict(), rtol=1e-6)
    assert fitted.threshold == youden_threshold(probability, truth, min_specificity=0.9)


def test_youden_threshold_on_a_hand_checked_example():
    # Cut-offs: 0.35 -> sens 1, spec 2/3 (J 0.67); 0.4 -> sens 2/3, spec 2/3 (J 0.33);
    # 0.6 -> sens 2/3, spec 1 (J 0.67); 0.9 -> sens 1/3, spec 1. The first maximum wins.
    probability = np.array([0.1, 0.2, 0.35, 0.4, 0.6, 0.9])
    truth = np.array([0, 0, 1, 0, 1, 1])
    assert youden_threshold(probability, truth) == 0.35
    # With a specificity floor of 0.9 only 0.6 and 0.9 qualify.
    assert youden_threshold(probability, truth, min_specificity=0.9) == 0.6


def test_calibration_rejects_one_class_and_missing_columns():
    with pytest.raises(CalibrationError, match="all negative"):
        fit_calibration(pd.DataFrame({"difference": [0.0, 1.0], "ratio": [1, 1], "truth": 0}))
    with pytest.raises(CalibrationError, match="truth"):
        fit_calibration(pd.DataFrame({"difference": [0.0], "ratio": [1.0]}))


def test_calibration_round_trips_and_reports_bad_files(tmp_path):
    calibration = Calibration(-3.0, (-0.8, 2.0), 0.4, {"seeds": [0, 59]})
    calibration.save(tmp_path / "c.json")
    assert Calibration.load(tmp_path / "c.json") == calibration
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(CalibrationError, match=r"bad\.json"):
        Calibration.load(tmp_path / "bad.json")


def test_scores_calls_and_aspects(anatomy, lesioned):
    image, scan = lesioned
    calibration = Calibration(-4.0, (-1.0, 0.0), 0.5)
    scored = score_units(unit_features(image, scan.regions, anatomy[2]), calibration)
    called = set(scored.loc[scored["call"] == 1, "unit"])
    assert called == {"M2_left", "L_left"}
    assert hemisphere_aspects(scored) == {"left": 8, "right": 10}


def test_likelihood_map_is_high_in_the_lesion_only(anatomy, lesioned):
    image, scan = lesioned
    labels = anatomy[2]
    matrix = np.array(scan.pose.GetMatrix()).reshape(3, 3)
    plane = MidsagittalPlane(
        tuple(scan.pose.TransformPoint((0.0, -18.0, 10.0))), tuple(matrix @ [1.0, 0.0, 0.0])
    )
    likelihood = likelihood_map(image, plane, Calibration(-4.0, (-1.0, 0.0), 0.5))
    assert likelihood.GetSize() == image.GetSize()
    values = sitk.GetArrayViewFromImage(likelihood)
    regions = sitk.GetArrayViewFromImage(scan.regions)
    assert values.min() >= 0.0
    assert values.max() <= 1.0
    assert np.median(values[regions == labels["M2_left"]]) > 0.5
    assert np.median(values[regions == labels["M2_right"]]) < 0.1
    assert np.median(values[regions == labels["M5_left"]]) < 0.1
