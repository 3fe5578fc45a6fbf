"""OR/Hillis MRMC analysis against published outputs of OR-DBM MRMC, RJafroc and MRMCaov.

Sources of the reference numbers (each quoted as printed):
- Van Dyke, jackknife, random readers and cases: Iowa OR-DBM MRMC 2.51 output archived in
  RJafroc, as transcribed in ``refdata/README.md``.
- Van Dyke, every other block: Smith & Hillis, "MRMCaov: Multi-Reader Multi-Case ANOVA
  Software for R" (brian-j-smith/MRMCaov, docs/jss/MRMCaov.tex), the outputs of
  ``summary(mrmc(empirical_auc(truth, rating), treatment, reader, case, data = VanDyke))``
  with ``fixed(reader)``, ``fixed(case)`` and ``cov = DeLong``, and of
  ``mrmc(binary_sens(truth, rating >= 3), ...)``.
- Franken (RJafroc ``dataset03``): ``St(dataset03, FOM = "Wilcoxon", method = "OR")``,
  RJafroc Quick Start book, chapter "OR analysis text output"
  (dpc10ster/RJafrocQuickStart, 07-or-analysis-text.md).

The published differences are treatment 1 - 2; ours are test - reference with reference =
treatment 1, so signs flip and CI bounds swap.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from analysis.columns import Columns
from analysis.mrmc import or_analysis


@pytest.fixture(scope="module")
def vandyke(refdata) -> pd.DataFrame:
    return pd.read_csv(refdata / "vandyke.csv")


@pytest.fixture(scope="module")
def franken(refdata) -> pd.DataFrame:
    return pd.read_csv(refdata / "franken.csv")


@pytest.fixture(scope="module")
def vd(vandyke):
    return or_analysis(vandyke, columns=Columns(modality="treatment"))


def _printed(digits: int) -> float:
    """Half a unit in the last printed decimal place."""
    return 0.5 * 10.0**-digits


def test_vandyke_aucs_to_1e6(vd):
    assert_allclose(
        vd.foms[1], [0.91964573, 0.85877617, 0.90386473, 0.97310789, 0.82979066], atol=1e-6
    )
    assert_allclose(
        vd.foms[2], [0.94782609, 0.90531401, 0.92173913, 0.99935588, 0.92995169], atol=1e-6
    )
    assert_allclose(vd.per_modality["estimate"], [0.89703704, 0.94083736], atol=1e-8)


def test_vandyke_random_readers_random_cases_readme(vd):
    d = vd.difference
    assert (d.test, d.reference) == (2, 1)
    assert d.estimate == pytest.approx(0.04380032, abs=_printed(8))
    assert d.se == pytest.approx(0.02075, abs=_printed(5))
    assert d.ci_low == pytest.approx(-0.00036, abs=_printed(5))
    assert d.ci_high == pytest.approx(0.08796, abs=_printed(5))
    f_stat = d.F
    assert f_stat == pytest.approx(4.46, abs=_printed(2))
    assert d.df2 == pytest.approx(15.26, abs=_printed(2))
    assert d.p == pytest.approx(0.0517, abs=_printed(4))


def test_vandyke_random_readers_random_cases_mrmcaov(vd):
    d = vd.difference
    assert_allclose([d.F, d.df2, d.p], [4.456319, 15.25967, 0.05166569], rtol=2e-6)
    vc = vd.variance_components
    assert_allclose(
        [vc["var_r"], vc["var_tr"], vc["var_error"], vc["cov1"], vc["cov2"], vc["cov3"]],
        [0.0015349993, 0.0002004025, 0.0008022883, 0.0003466137, 0.0003440748, 0.0002390284],
        rtol=5e-7,
    )
    assert_allclose([vc["mst"], vc["mstr"]], [0.004796171, 0.0005510306], rtol=1e-6)


def test_vandyke_fixed_readers_mrmcaov(vd):
    d = vd.fixed_readers
    assert np.isinf(d.df2)
    assert_allclose([d.F, d.p, d.se], [5.475953, 0.01927984, 0.01871748], rtol=1e-6)
    assert_allclose([-d.ci_high, -d.ci_low], [-0.08048591, -0.00711473], rtol=1e-6)
    fixed = vd.per_modality_all.query("analysis == 'fixed readers, random cases'")
    assert_allclose(fixed["se"], [0.02428971, 0.01677632], rtol=1e-6)
    assert_allclose(fixed["ci_low"], [0.8494301, 0.9079564], rtol=5e-7)
    per = vd.per_reader
    assert_allclose(
        per["se"], [0.02551213, 0.02630183, 0.03120965, 0.01729129, 0.04405746], rtol=1e-6
    )
    assert_allclose(
        per["p"], [0.26933885, 0.07683102, 0.56683414, 0.12901715, 0.02300099], rtol=1e-6
    )
    # Single-reader CIs, clipped at 1 for reader 4 in treatment 1 as MRMCaov prints.
    assert_allclose(
        per["se_reference"],
        [0.0301255164, 0.0363753335, 0.0282594118, 0.0173388332, 0.0417201720],
        rtol=5e-8,
    )
    assert per["ci_high_reference"].iloc[3] == 1.0
    assert per["ci_high_test"].iloc[3] == 1.0


def test_vandyke_fixed_cases_mrmcaov(vd):
    d = vd.fixed_cases
    assert_allclose([d.F, d.df2, d.p, d.se], [8.704, 4, 0.04195875, 0.01484629], rtol=1e-6)
    assert_allclose([-d.ci_high, -d.ci_low], [-0.08502022, -0.00258042], rtol=1e-6)
    fixed = vd.per_modality_all.query("analysis == 'random readers, fixed cases'")
    assert_allclose(fixed["se"], [0.02482994, 0.01615303], rtol=1e-6)
    assert_allclose(fixed["ci_high"], [0.9659760, 0.9856854], rtol=5e-7)


@pytest.mark.parametrize("covariance", ["delong", "obuchowski"])
def test_vandyke_delong_mrmcaov(vandyke, covariance):
    # One unit per case: Obuchowski's clustered covariance is DeLong's.
    res = or_analysis(vandyke, columns=Columns(modality="treatment"), covariance=covariance)
    d = res.difference
    assert_allclose([d.F, d.df2, d.p, d.se], [4.484854, 15.06611, 0.05123303, 0.0206825], rtol=1e-6)
    assert_allclose([-d.ci_high, -d.ci_low], [-0.0878671960, 0.0002665519], rtol=1e-6)
    vc = res.variance_components
    assert_allclose(
        [vc["var_r"], vc["var_tr"], vc["var_error"], vc["cov1"], vc["cov2"], vc["cov3"]],
        [0.0015364254, 0.0002045840, 0.0007921325, 0.0003420090, 0.0003395265, 0.0002358497],
        rtol=1e-6,
    )
    per = res.per_modality
    assert_allclose(per["se"], [0.03307642, 0.02150464], rtol=1e-6)
    assert_allclose(per["df"], [12.59597, 12.56530], rtol=1e-6)
    assert_allclose(per["ci_low"], [0.8253461, 0.8942155], rtol=5e-7)


def test_vandyke_binary_sensitivity_mrmcaov(vandyke):
    data = vandyke.assign(call=(vandyke["rating"] >= 3).astype(int))
    res = or_analysis(data, columns=Columns(modality="treatment"), fom="sensitivity")
    assert res.n_jackknife_cases == 45
    assert_allclose(res.foms[1], [0.889, 0.778, 0.822, 0.933, 0.689], atol=5e-4)
    d = res.difference
    assert_allclose(
        [d.estimate, d.se, d.F, d.df2, d.p],
        [0.09777778, 0.03780451, 6.689493, 15.71732, 0.02008822],
        rtol=1e-6,
    )
    assert_allclose([-d.ci_high, -d.ci_low], [-0.1780371, -0.0175185], rtol=1e-6)
    vc = res.variance_components
    assert_allclose(
        [vc["var_error"], vc["cov1"], vc["cov2"], vc["cov3"]],
        [0.0023681257, 0.0009943883, 0.0010145903, 0.0006604938],
        rtol=5e-7,
    )
    assert_allclose([vc["var_r"], vc["var_tr"]], [0.0049747475, 0.0007828283], rtol=5e-7)
    per = res.per_modality
    assert_allclose(per["se"], [0.05893747, 0.03741657], rtol=1e-6)
    assert_allclose(per["df"], [14.456811, 7.575855], rtol=1e-6)
    # Treatment 2's upper limit is clipped to 1, as MRMCaov prints it.
    assert_allclose(per["ci_low"], [0.6961876, 0.8328691], rtol=1e-6)
    assert per["ci_high"].iloc[1] == 1.0


def test_franken_rjafroc_cov2_below_cov3_and_negative_var_tr(franken):
    res = or_analysis(franken, columns=Columns(modality="treatment"))
    vc = res.variance_components
    assert_allclose(
        [vc["var_r"], vc["var_tr"], vc["cov1"], vc["cov2"], vc["cov3"], vc["var_error"]],
        [2.331994e-05, -6.838915e-04, 7.916821e-04, 4.836377e-04, 5.125091e-04, 1.525776e-03],
        rtol=1e-6,
    )
    assert_allclose(
        [vc["mst"], vc["msr"], vc["mstr"]], [2.356541e-04, 6.840600e-04, 5.020264e-05], rtol=1e-6
    )
    # Cov2 < Cov3: max(Cov2 - Cov3, 0) = 0, so the denominator is MS(TR) on 3 df.
    d = res.difference
    assert_allclose([d.F, d.df2, d.p], [4.694058, 3, 0.1188379], rtol=1e-6)
    assert_allclose([-d.estimate, d.se], [0.01085482, 0.005010122], rtol=1e-6)
    assert_allclose([-d.ci_high, -d.ci_low], [-0.005089627, 0.02679926], rtol=1e-6)
    per = res.per_modality
    assert_allclose(per["estimate"], [0.8477499, 0.8368951], rtol=5e-7)
    assert_allclose(per["se"], [0.02440215, 0.02356642], rtol=1e-6)
    assert_allclose(per["df"], [70.12179, 253.64403], rtol=1e-6)
    assert_allclose(per["ci_high"], [0.8964170, 0.8833058], rtol=5e-7)
    assert any("Cov2" in n and "Cov3" in n for n in res.notes)
    assert any("var_tr" in n and "negative" in n for n in res.notes)


def test_to_dict_matches_contract(vd):
    out = json.loads(json.dumps(vd.to_dict(), allow_nan=False))
    assert (out["method"], out["covariance"], out["df"]) == ("OR", "jackknife", "Hillis")
    assert set(out["auc"]) == {"1", "2"}
    assert out["auc"]["1"]["estimate"] == pytest.approx(0.89703704, abs=1e-8)
    assert len(out["auc"]["2"]["ci"]) == 2
    assert out["auc"]["2"]["per_reader"]["4"] == pytest.approx(0.99935588, abs=1e-8)
    diff = out["difference"]
    assert {"estimate", "se", "ci", "F", "df2", "p"} <= set(diff)
    assert diff["estimate"] == pytest.approx(0.04380032, abs=1e-8)
    assert out["fixed_readers"]["df2"] is None  # infinite df as JSON null
    assert out["n_cases"] == 114
    assert (out["n_positive_cases"], out["n_negative_cases"]) == (45, 69)
