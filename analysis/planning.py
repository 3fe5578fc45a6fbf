"""Power and number of cases for a future MRMC study, from a pilot study's OR variance components.

Hillis, Obuchowski & Berbaum (2011): under the alternative, the OR-Hillis F statistic of a
two-modality comparison with effect ``d`` follows a non-central F with non-centrality

    lambda = r* d^2 / 2 / (max(var_tr, 0) + (c / c*) (Var - Cov1 + (r* - 1) max(Cov2 - Cov3, 0)))

on 1 and ``ddf* = den^2 / ((max(var_tr, 0) + (c / c*) (Var - Cov1 - max(Cov2 - Cov3, 0)))^2 /
(r* - 1))`` df, for ``r*`` readers and ``c*`` cases, where ``c`` is the pilot's number of cases:
the error (co)variances come from case sampling and shrink as ``c / c*``, while the
modality-by-reader variance does not. The fixed-reader analysis drops ``var_tr`` (chi-square,
infinite df) and the fixed-case analysis uses ``max(var_tr, 0) + (c / c*) (Var - Cov1 -
max(Cov2 - Cov3, 0))`` on ``r* - 1`` df. The future study is assumed to keep the pilot's case
mix (share of positive cases, units per case).

References
----------
Hillis SL, Obuchowski NA, Berbaum KS (2011). Power estimation for multireader ROC methods: an
updated and unified approach. Acad Radiol 18:129-142.

Hillis SL, Berbaum KS (2004). Power estimation for the Dorfman-Berbaum-Metz method. Acad
Radiol 11:1260-1273.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisInputError, check_alpha
from analysis.mrmc import FIXED_CASES, FIXED_READERS, RANDOM, ORResult

__all__ = ["ANALYSES", "PowerResult", "cases_needed", "plan_study", "study_power"]

ANALYSES = {"random": RANDOM, "fixed_readers": FIXED_READERS, "fixed_cases": FIXED_CASES}
DEFAULT_GRID = (25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000)


@dataclass(frozen=True)
class PowerResult:
    """Power of one design (arrays when ``n_cases`` is an array)."""

    power: np.ndarray
    ncp: np.ndarray
    df2: np.ndarray
    f_crit: np.ndarray


def _components(source: ORResult | Mapping[str, float]) -> Mapping[str, float]:
    vc = source.variance_components if isinstance(source, ORResult) else source
    missing = {"var_tr", "var_error", "cov1", "cov2", "cov3"} - set(vc)
    if missing:
        raise AnalysisInputError(f"variance components lack {sorted(missing)}")
    if not all(np.isfinite(vc[k]) for k in ("var_tr", "var_error", "cov1", "cov2", "cov3")):
        raise AnalysisInputError(
            "the pilot's variance components are not all finite (a one-reader pilot has no "
            "var_tr); planning needs an OR analysis with at least 2 readers"
        )
    return vc


def study_power(
    components: ORResult | Mapping[str, float],
    *,
    n_readers: int,
    n_cases: int | np.ndarray,
    pilot_cases: int,
    effect: float,
    alpha: float = 0.05,
    analysis: str = "random",
) -> PowerResult:
    """Power of the two-modality OR-Hillis test for ``n_readers`` x ``n_cases``.

    Parameters
    ----------
    components : ORResult or mapping
        OR variance components of the pilot: var_tr, var_error (Var), cov1, cov2, cov3.
    n_readers, n_cases : int (n_cases may be an array)
        The future study.
    pilot_cases : int
        Cases of the pilot the components were estimated on.
    effect : float
        Anticipated difference of reader-averaged FOMs (e.g. 0.05 AUC); its sign is ignored.
    alpha : float
        Two-sided significance level.
    analysis : {"random", "fixed_readers", "fixed_cases"}
    """
    if analysis not in ANALYSES:
        raise AnalysisInputError(f"analysis must be one of {sorted(ANALYSES)}, got {analysis!r}")
    check_alpha(alpha)
    if n_readers < (1 if analysis == "fixed_readers" else 2):
        raise AnalysisInputError(f"{ANALYSES[analysis]} needs at least 2 readers, got {n_readers}")
    vc = _components(components)
    cases = np.asarray(n_cases, dtype=float)
    if (cases < 2).any():
        raise AnalysisInputError("n_cases must be at least 2")
    ratio = pilot_cases / cases
    var_tr = max(vc["var_tr"], 0.0)
    cov23 = max(vc["cov2"] - vc["cov3"], 0.0)
    within = vc["var_error"] - vc["cov1"]
    if analysis == "random":
        den = var_tr + ratio * (within + (n_readers - 1) * cov23)
        ms_tr = var_tr + ratio * (within - cov23)
        df2 = np.where(ms_tr > 0, den**2 / (ms_tr**2 / (n_readers - 1)), np.inf)
    elif analysis == "fixed_readers":
        den = ratio * (within + (n_readers - 1) * cov23)
        df2 = np.full_like(cases, np.inf)
    else:
        den = var_tr + ratio * (within - cov23)
        df2 = np.full_like(cases, float(n_readers - 1))
    with np.errstate(divide="ignore"):
        ncp = np.where(den > 0, n_readers * effect**2 / 2.0 / den, np.inf)
    finite = np.isfinite(df2)
    f_crit = np.where(
        finite,
        stats.f.ppf(1 - alpha, 1, np.where(finite, df2, 1.0)),
        stats.chi2.ppf(1 - alpha, 1),
    )
    pw = np.where(
        finite,
        stats.ncf.sf(f_crit, 1, np.where(finite, df2, 1.0), ncp),
        stats.ncx2.sf(f_crit, 1, ncp),
    )
    return PowerResult(power=pw, ncp=ncp, df2=df2, f_crit=f_crit)


def cases_needed(
    components: ORResult | Mapping[str, float],
    *,
    n_readers: int,
    pilot_cases: int,
    effect: float,
    alpha: float = 0.05,
    target: float = 0.8,
    analysis: str = "random",
    max_cases: int = 20000,
) -> int | None:
    """Smallest number of cases reaching ``target`` power, or None when none up to max_cases.

    With random readers power levels off as cases grow (the modality-by-reader variance does
    not shrink with cases), so a target may be out of reach for a given number of readers.
    """
    if not 0 < target < 1:
        raise AnalysisInputError(f"target power must lie in (0, 1), got {target}")
    grid = np.arange(2, max_cases + 1)
    pw = study_power(
        components,
        n_readers=n_readers,
        n_cases=grid,
        pilot_cases=pilot_cases,
        effect=effect,
        alpha=alpha,
        analysis=analysis,
    ).power
    reached = np.flatnonzero(pw >= target)
    return int(grid[reached[0]]) if reached.size else None


def plan_study(
    or_result: ORResult,
    n_readers: int | Sequence[int],
    effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
    *,
    n_cases: Sequence[int] | None = None,
    analysis: str = "random",
    max_cases: int = 20000,
) -> pd.DataFrame:
    """Power of a future two-modality study over a grid of case counts, and the cases needed.

    Parameters
    ----------
    or_result : ORResult
        The pilot's :func:`~analysis.mrmc.or_analysis`; its variance components and case
        count (``n_cases``) are used.
    n_readers : int or sequence of int
        Readers of the future study (one block of rows per value).
    effect : float
        Anticipated difference of reader-averaged FOMs (e.g. 0.05 AUC).
    alpha : float
        Two-sided significance level.
    power : float
        Target power.
    n_cases : sequence of int, optional
        Case counts to tabulate (default 25 ... 2000). The minimal number of cases reaching
        the target is added as a row.
    analysis : {"random", "fixed_readers", "fixed_cases"}
        Random readers and cases (default), fixed readers, or fixed cases.
    max_cases : int
        Search limit for the minimal number of cases.

    Returns
    -------
    DataFrame
        One row per readers x cases: n_readers, n_cases, effect, alpha, analysis, ncp, df2,
        f_crit, power, reaches_target, minimal (True on the row of the smallest case count
        reaching the target power for those readers). ``attrs["n_cases_needed"]`` maps each
        number of readers to that count (None when out of reach up to max_cases).
    """
    target = power
    readers = [n_readers] if isinstance(n_readers, int) else list(n_readers)
    grid = sorted(set(DEFAULT_GRID if n_cases is None else n_cases))
    pilot = or_result.n_cases
    frames, needed = [], {}
    for r in readers:
        need = cases_needed(
            or_result,
            n_readers=r,
            pilot_cases=pilot,
            effect=effect,
            alpha=alpha,
            target=target,
            analysis=analysis,
            max_cases=max_cases,
        )
        needed[r] = need
        counts = np.array(sorted(set(grid) | ({need} if need is not None else set())))
        res = study_power(
            or_result,
            n_readers=r,
            n_cases=counts,
            pilot_cases=pilot,
            effect=effect,
            alpha=alpha,
            analysis=analysis,
        )
        frames.append(
            pd.DataFrame(
                {
                    "n_readers": r,
                    "n_cases": counts,
                    "effect": effect,
                    "alpha": alpha,
                    "analysis": ANALYSES[analysis],
                    "ncp": res.ncp,
                    "df2": res.df2,
                    "f_crit": res.f_crit,
                    "power": res.power,
                    "reaches_target": res.power >= target,
                    "minimal": counts == (need if need is not None else -1),
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    table.attrs["n_cases_needed"] = needed
    table.attrs["target_power"] = target
    table.attrs["pilot_cases"] = pilot
    return table
