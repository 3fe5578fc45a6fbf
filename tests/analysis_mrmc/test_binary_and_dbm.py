"""Binary FOMs on clustered unit-level data, and the DBM = OR (jackknife) identity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from analysis.columns import Columns
from analysis.dbm import dbm_analysis, pseudovalues
from analysis.mrmc import jackknife_foms, or_analysis, prepare_mrmc


@pytest.fixture(scope="module")
def study(unit_study) -> pd.DataFrame:
    return unit_study(seed=7, readers=4, cases=36, units=20)


def _pooled(data: pd.DataFrame, truth_value: int) -> pd.DataFrame:
    sub = data[data["truth"] == truth_value]
    correct = sub["call"] if truth_value == 1 else 1 - sub["call"]
    return correct.groupby([sub["reader"], sub["modality"]]).mean().unstack("modality")


def _loop_jackknife_cov(data: pd.DataFrame, truth_value: int) -> np.ndarray:
    """Leave one case out (all its units), recompute the pooled proportions, plain loop."""
    cases = sorted(data.loc[data["truth"] == truth_value, "case"].unique())
    loo = np.array(
        [_pooled(data[data["case"] != c], truth_value).to_numpy().T.ravel() for c in cases]
    ).T
    m = len(cases)
    dev = loo - loo.mean(axis=1, keepdims=True)
    return (m - 1) / m * dev @ dev.T


@pytest.mark.parametrize(("fom", "truth_value"), [("sensitivity", 1), ("specificity", 0)])
def test_binary_fom_is_pooled_proportion_with_case_jackknife(study, fom, truth_value):
    res = or_analysis(study, fom=fom)
    expected = _pooled(study, truth_value)
    assert_allclose(res.foms.loc[expected.index, expected.columns], expected, rtol=1e-12)
    holding = study.loc[study["truth"] == truth_value, "case"].nunique()
    assert res.n_jackknife_cases == holding
    assert res.n_jackknife_cases < res.n_cases or fom == "specificity"
    # Jackknife over cases, not units: covariance components equal a plain loop over cases.
    cov = _loop_jackknife_cov(study, truth_value)
    t, r = 2, 4
    c4 = cov.reshape(t, r, t, r)
    var = np.mean([c4[i, j, i, j] for i in range(t) for j in range(r)])
    cov1 = np.mean([c4[0, j, 1, j] for j in range(r)])
    cov2 = np.mean([c4[i, j, i, k] for i in range(t) for j in range(r) for k in range(r) if j != k])
    vc = res.variance_components
    assert_allclose([vc["var_error"], vc["cov1"], vc["cov2"]], [var, cov1, cov2], rtol=1e-10)


def test_binary_row_order_does_not_matter(study):
    shuffled = study.sample(frac=1.0, random_state=1)
    a = or_analysis(study, fom="sensitivity").difference
    b = or_analysis(shuffled, fom="sensitivity").difference
    assert_allclose([a.estimate, a.se, a.p], [b.estimate, b.se, b.p], rtol=1e-12)


def test_clustering_widens_the_sensitivity_interval(study):
    # Treating every unit as its own case ignores the within-case correlation of this design.
    naive = study.assign(case=study["case"] + "/" + study["unit"], unit="case")
    clustered = or_analysis(study, fom="sensitivity")
    independent = or_analysis(naive, fom="sensitivity")
    assert independent.n_jackknife_cases == int(
        study.query("truth == 1")[["case", "unit"]].drop_duplicates().shape[0]
    )
    assert clustered.difference.estimate == pytest.approx(independent.difference.estimate)
    assert clustered.variance_components["var_error"] > independent.variance_components["var_error"]


def test_unit_level_auc_jackknife_close_to_obuchowski(study):
    jack = or_analysis(study)
    clus = or_analysis(study, covariance="obuchowski")
    assert jack.n_jackknife_cases == jack.n_cases == 36
    assert jack.n_units == 36 * 20
    assert jack.difference.estimate == clus.difference.estimate
    assert clus.difference.se == pytest.approx(jack.difference.se, rel=0.15)


@pytest.mark.parametrize("fom", ["auc", "sensitivity", "specificity"])
def test_dbm_with_jackknife_pseudovalues_equals_or(study, fom):
    dbm = dbm_analysis(study, fom=fom)
    ora = or_analysis(study, fom=fom)
    d, o = dbm.differences["aided"], ora.difference
    assert_allclose([dbm.F, dbm.df2, dbm.p], [o.F, o.df2, o.p], rtol=1e-9)
    assert_allclose(
        [d.estimate, d.se, d.ci_low, d.ci_high], [o.estimate, o.se, o.ci_low, o.ci_high], rtol=1e-9
    )
    assert dbm.n_cases == ora.n_jackknife_cases


@pytest.mark.parametrize("name", ["vandyke", "franken"])
def test_dbm_equals_or_on_published_datasets(refdata, name):
    data = pd.read_csv(refdata / f"{name}.csv")
    dbm = dbm_analysis(data, columns=Columns(modality="treatment"))
    o = or_analysis(data, columns=Columns(modality="treatment")).difference
    assert_allclose([dbm.F, dbm.df2, dbm.p], [o.F, o.df2, o.p], rtol=1e-9)
    # The identity's pieces: MS_Y(T) = c MS(T), MS_Y(TR) = c MS(TR).
    vc = or_analysis(data, columns=Columns(modality="treatment")).variance_components
    c = dbm.n_cases
    assert dbm.anova.at["T", "ms"] == pytest.approx(c * vc["mst"], rel=1e-9)
    assert dbm.anova.at["TR", "ms"] == pytest.approx(c * vc["mstr"], rel=1e-9)


def test_dbm_franken_matches_rjafroc(refdata):
    # RJafroc Quick Start, "DBM analysis text output": St(dataset03, FOM = "Wilcoxon",
    # method = "DBM"), ret$ANOVA$TRCanova and ret$ANOVA$VarCom.
    dbm = dbm_analysis(pd.read_csv(refdata / "franken.csv"), columns=Columns(modality="treatment"))
    assert_allclose(
        dbm.anova["ss"],
        [0.02356541, 0.20521800, 52.52839868, 0.01506079, 6.41004881, 39.24295381, 22.66007764],
        atol=5e-9,  # printed to 8 decimals
    )
    assert dbm.anova["df"].tolist() == [1, 3, 99, 3, 99, 297, 297]
    vc = dbm.variance_components
    assert_allclose(
        [vc[k] for k in ("var_r", "var_c", "var_tr", "var_tc", "var_rc", "var_error")],
        [3.775568e-05, 5.125091e-02, -7.127629e-04, -2.887147e-03, 2.791730e-02, 7.629656e-02],
        rtol=5e-7,
    )


def test_normalised_pseudovalues_average_to_the_fom(study):
    prepared = prepare_mrmc(study, rating="call", binary=True)
    theta, loo = jackknife_foms(prepared, "sensitivity")
    assert_allclose(pseudovalues(theta, loo).mean(axis=2), theta, rtol=1e-12)
    raw = pseudovalues(theta, loo, normalize=False).mean(axis=2)
    assert not np.allclose(raw, theta, rtol=1e-12)  # a pooled ratio: the shift is needed
