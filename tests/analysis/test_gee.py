"""GEE of clustered sensitivity/specificity against independent computations and known truth.

- Independence working correlation: the estimates and the robust covariance against a
  hand-coded logistic regression (Newton-Raphson) with the Liang-Zeger sandwich summed over
  cases, written here in numpy; the delta-method SE of the standardised difference against
  a numerical gradient.
- Exchangeable: coverage of the odds-ratio and difference intervals in a simulation whose
  marginal model is known exactly (a Gaussian copula within each case makes every read's
  marginal probability expit(b0 + b_test + b_reader) while reads of a case are correlated).
  The larger run is ``python -m tests.analysis.coverage_gee``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

from analysis.errors import AnalysisInputError
from analysis.gee import design, gee_binary


def simulate(
    seed: int,
    *,
    cases: int = 40,
    readers: int = 3,
    units: int = 5,
    rho: float = 0.4,
    b0: float = 0.2,
    b_test: float = 0.7,
) -> tuple[pd.DataFrame, float, float]:
    """Reads of positive units with a known marginal logistic model; returns the table, the
    true log odds ratio and the true standardised difference in sensitivity."""
    rng = np.random.default_rng(seed)
    b_reader = np.linspace(-0.5, 0.5, readers)
    rows = []
    for c in range(cases):
        shared = rng.normal()
        for m, is_test in (("unaided", 0), ("aided", 1)):
            for r in range(readers):
                p = expit(b0 + b_test * is_test + b_reader[r])
                latent = math.sqrt(rho) * shared + math.sqrt(1 - rho) * rng.normal(size=units)
                calls = latent < stats.norm.ppf(p)
                for u in range(units):
                    rows.append((f"R{r}", m, f"c{c:03d}", f"u{u}", 1, int(calls[u])))
    table = pd.DataFrame(rows, columns=["reader", "modality", "case", "unit", "truth", "call"])
    difference = float(np.mean(expit(b0 + b_test + b_reader) - expit(b0 + b_reader)))
    return table, b_test, difference


def _logistic_sandwich(y: np.ndarray, x: np.ndarray, groups: np.ndarray):
    beta = np.zeros(x.shape[1])
    for _ in range(50):
        p = expit(x @ beta)
        step = np.linalg.solve((x * (p * (1 - p))[:, None]).T @ x, x.T @ (y - p))
        beta += step
        if np.abs(step).max() < 1e-12:
            break
    p = expit(x @ beta)
    bread = np.linalg.inv((x * (p * (1 - p))[:, None]).T @ x)
    scores = np.zeros((groups.max() + 1, x.shape[1]))
    np.add.at(scores, groups, x * (y - p)[:, None])
    return beta, bread @ (scores.T @ scores) @ bread


def test_independence_gee_equals_hand_coded_sandwich():
    data, _, _ = simulate(11, cases=25)
    res = gee_binary(
        data, metric="sensitivity", reference="unaided", test="aided", working="independence"
    )
    y, x, groups, _ = design(data, "sensitivity", reference="unaided", test="aided")
    beta, cov = _logistic_sandwich(y, x, groups)
    assert res.log_or == pytest.approx(beta[1], rel=1e-8)
    assert res.log_or_se == pytest.approx(math.sqrt(cov[1, 1]), rel=1e-6)
    assert res.odds_ratio == pytest.approx(math.exp(beta[1]), rel=1e-8)

    # The standardised difference and its delta-method SE from a numerical gradient.
    def difference(b: np.ndarray) -> float:
        x1, x0 = x.copy(), x.copy()
        x1[:, 1], x0[:, 1] = 1.0, 0.0
        return float(expit(x1 @ b).mean() - expit(x0 @ b).mean())

    h = 1e-6
    grad = np.array(
        [(difference(beta + h * e) - difference(beta - h * e)) / (2 * h) for e in np.eye(len(beta))]
    )
    assert res.difference == pytest.approx(difference(beta), rel=1e-8)
    assert res.se == pytest.approx(math.sqrt(grad @ cov @ grad), rel=1e-5)
    # Balanced design, independence: the standardised difference is the pooled one.
    pooled = data.groupby("modality")["call"].mean()
    assert res.difference == pytest.approx(pooled["aided"] - pooled["unaided"], rel=1e-8)


def test_specificity_uses_negative_units_and_correct_calls():
    data, _, _ = simulate(2, cases=20)
    negatives = data.assign(truth=0, call=1 - data["call"])
    res = gee_binary(negatives, metric="specificity", reference="unaided", test="aided")
    sens = gee_binary(data, metric="sensitivity", reference="unaided", test="aided")
    assert res.log_or == pytest.approx(sens.log_or, rel=1e-8)
    assert res.clusters == 20
    assert res.observations == len(data)


@pytest.mark.slow
def test_exchangeable_gee_covers_the_known_marginal_truth():
    hits_or = hits_diff = 0
    estimates, rhos = [], []
    sims = 80
    for seed in range(sims):
        data, log_or, diff = simulate(100 + seed)
        res = gee_binary(data, metric="sensitivity", reference="unaided", test="aided")
        hits_or += res.or_ci_low < math.exp(log_or) < res.or_ci_high
        hits_diff += res.ci_low < diff < res.ci_high
        estimates.append(res.log_or)
        rhos.append(res.working_correlation)
    # 95% intervals over 80 simulations: a binomial count below 68 has probability < 0.2%.
    assert hits_or >= 68
    assert hits_diff >= 68
    assert np.mean(estimates) == pytest.approx(0.7, abs=0.05)
    assert np.mean(rhos) > 0.1  # the reads of a case are correlated, and the fit sees it


def test_refusals():
    data, _, _ = simulate(3, cases=5)
    with pytest.raises(AnalysisInputError, match="metric must be one of"):
        gee_binary(data, metric="accuracy", reference="unaided", test="aided")
    with pytest.raises(AnalysisInputError, match="has no negative units"):
        gee_binary(data, metric="specificity", reference="unaided", test="aided")
    perfect = data.assign(call=np.where(data["modality"] == "aided", 1, data["call"]))
    with pytest.raises(AnalysisInputError, match=r"every read in modality .aided. is correct"):
        gee_binary(perfect, metric="sensitivity", reference="unaided", test="aided")
    with pytest.raises(AnalysisInputError, match="working must be one of"):
        gee_binary(data, metric="sensitivity", reference="unaided", test="aided", working="ar1")
