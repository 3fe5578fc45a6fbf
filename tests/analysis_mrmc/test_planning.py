"""Power and sample size from OR variance components (Hillis, Obuchowski & Berbaum 2011).

Published reference: RJafroc Quick Start book, chapter "Sample size estimation for ROC
studies, OR method" (dpc10ster/RJafrocQuickStart, 11b-roc-sample-size-or.md), Van Dyke as the
pilot, effect size -0.043800322 (the observed difference): non-centrality 8.1269825 for
J = 10, K = 163 (random readers and cases), 7.9873835 for J = 10, K = 133 (fixed readers) and
10.048716 for J = 10, K = 53 (fixed cases), with fixed-case power 0.80496663 on 9 df. (Their
random-reader ddf and fixed-reader df use DBM-specific shortcuts, so those powers are not
compared; ours use the OR forms of Hillis et al. 2011.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.columns import Columns
from analysis.mrmc import or_analysis
from analysis.planning import cases_needed, plan_study, study_power

EFFECT = -0.043800322


@pytest.fixture(scope="module")
def pilot(refdata):
    return or_analysis(pd.read_csv(refdata / "vandyke.csv"), columns=Columns(modality="treatment"))


@pytest.mark.parametrize(
    ("analysis", "cases", "ncp"),
    [("random", 163, 8.1269825), ("fixed_readers", 133, 7.9873835), ("fixed_cases", 53, 10.048716)],
)
def test_noncentrality_matches_rjafroc(pilot, analysis, cases, ncp):
    res = study_power(
        pilot, n_readers=10, n_cases=cases, pilot_cases=114, effect=EFFECT, analysis=analysis
    )
    assert float(res.ncp) == pytest.approx(ncp, rel=5e-8)


def test_fixed_case_power_matches_rjafroc(pilot):
    res = study_power(
        pilot, n_readers=10, n_cases=53, pilot_cases=114, effect=EFFECT, analysis="fixed_cases"
    )
    assert float(res.df2) == 9.0
    assert float(res.power) == pytest.approx(0.80496663, abs=5e-9)


def test_random_power_closed_form(pilot):
    # Re-derivation from the OR model: E[MS(T)] - E[den] = r d^2 / 2 and E[MS(TR)] with the
    # pilot's error terms scaled by c / c*.
    vc = pilot.variance_components
    r, c_star, c = 7, 240, 114
    cov23 = max(vc["cov2"] - vc["cov3"], 0)
    den = max(vc["var_tr"], 0) + c / c_star * (vc["var_error"] - vc["cov1"] + (r - 1) * cov23)
    ms_tr = max(vc["var_tr"], 0) + c / c_star * (vc["var_error"] - vc["cov1"] - cov23)
    ddf = den**2 / (ms_tr**2 / (r - 1))
    lam = r * 0.05**2 / 2 / den
    expected = stats.ncf.sf(stats.f.ppf(0.95, 1, ddf), 1, ddf, lam)
    res = study_power(pilot, n_readers=r, n_cases=c_star, pilot_cases=c, effect=0.05)
    assert float(res.power) == pytest.approx(expected, rel=1e-12)
    assert float(res.df2) == pytest.approx(ddf, rel=1e-12)


def test_power_increases_with_cases_and_target_is_met(pilot):
    table = plan_study(pilot, n_readers=[5, 8], effect=0.05, power=0.8)
    for r, block in table.groupby("n_readers"):
        assert np.all(np.diff(block["power"]) > 0)
        need = table.attrs["n_cases_needed"][r]
        assert block.loc[block["minimal"], "n_cases"].tolist() == [need]
        at = study_power(pilot, n_readers=r, n_cases=need, pilot_cases=114, effect=0.05)
        below = study_power(pilot, n_readers=r, n_cases=need - 1, pilot_cases=114, effect=0.05)
        assert float(at.power) >= 0.8 > float(below.power)
    # More readers need fewer cases.
    assert table.attrs["n_cases_needed"][8] < table.attrs["n_cases_needed"][5]
    assert table.attrs["pilot_cases"] == 114


def test_power_at_pilot_size_is_consistent_with_observed_test(pilot):
    # With the pilot's own design and effect, the non-centrality is the observed F.
    res = study_power(pilot, n_readers=5, n_cases=114, pilot_cases=114, effect=EFFECT)
    assert float(res.ncp) == pytest.approx(pilot.difference.F, rel=1e-6)


def test_unreachable_target_returns_none():
    # Reader-by-modality variance dominates: two readers cannot reach 80% for a tiny effect.
    components = {
        "var_tr": 0.01,
        "var_error": 0.001,
        "cov1": 0.0005,
        "cov2": 0.0004,
        "cov3": 0.0003,
    }
    assert (
        cases_needed(components, n_readers=2, pilot_cases=100, effect=0.01, max_cases=3000) is None
    )


def test_rejections(pilot):
    with pytest.raises(ValueError, match="analysis must be one of"):
        study_power(pilot, n_readers=5, n_cases=100, pilot_cases=114, effect=0.05, analysis="mixed")
    with pytest.raises(ValueError, match="at least 2 readers"):
        study_power(pilot, n_readers=1, n_cases=100, pilot_cases=114, effect=0.05)
    with pytest.raises(ValueError, match="target power"):
        cases_needed(pilot, n_readers=5, pilot_cases=114, effect=0.05, target=1.2)
    with pytest.raises(ValueError, match="at least 2 readers"):
        study_power(
            {"var_tr": float("nan"), "var_error": 1e-3, "cov1": 0, "cov2": 0, "cov3": 0},
            n_readers=5,
            n_cases=100,
            pilot_cases=114,
            effect=0.05,
        )
    with pytest.raises(ValueError, match="lack"):
        study_power({"var_tr": 0.1}, n_readers=5, n_cases=100, pilot_cases=114, effect=0.05)
