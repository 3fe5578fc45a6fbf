"""OR MRMC analysis: the vectorised case jackknife against a plain loop, and end-to-end timings.

- 20 readers x 2 modalities x 1000 cases x 20 units (800,000 reads): the rank-update jackknife
  of all 40 AUCs against recomputing them once per left-out case. The plain loop costs the
  same for every left-out case (same data size), so it is timed on 25 of the 1000 cases and
  scaled by 40; the printed ratio says so.
- The same comparison in full (no scaling) on 200 cases.
- ``or_analysis`` end to end (validation, pivot, jackknife, OR statistics) on the big study
  and on a paper-size study (4 readers x 2 modalities x 85 cases x 20 units), in seconds.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from analysis.mrmc import or_analysis
from analysis.roc import jackknife_auc, placements
from analysis.units import UNITS
from benchmarks.harness import compare


def _study(readers: int, cases: int, units: int = 20, seed: int = 0) -> pd.DataFrame:
    """Long table with clustered units: case effects on truth and ratings, ratings 1-5."""
    rng = np.random.default_rng(seed)
    share = np.where(rng.random(cases) < 0.66, rng.uniform(0.1, 0.6, cases), 0.0)
    truth = (rng.random((cases, units)) < share[:, None]).ravel()
    case_effect = np.repeat(rng.normal(0, 0.7, cases), units)
    n = cases * units
    frames = []
    for m, shift in (("unaided", 0.0), ("aided", 0.5)):
        for r in range(readers):
            latent = truth * (1.2 + shift) + case_effect + rng.normal(0, 1, n)
            frames.append(
                pd.DataFrame(
                    {
                        "reader": f"R{r + 1}",
                        "modality": m,
                        "case": np.repeat(np.arange(cases), units),
                        "unit": np.tile(np.array(UNITS[:units]), cases),
                        "truth": truth.astype(int),
                        "rating": np.clip(np.round(latent + 2.5), 1, 5),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def _arrays(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ratings (modality-reader rows x units), truth and case per unit, units by case."""
    wide = data.pivot_table(index=["modality", "reader"], columns=["case", "unit"], values="rating")
    truth = data.groupby(["case", "unit"])["truth"].first().loc[wide.columns].to_numpy()
    cases = wide.columns.get_level_values("case").to_numpy()
    return wide.to_numpy(dtype=float), truth, cases


def _seconds(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def run() -> None:
    big = _study(readers=20, cases=1000)
    scores, truth, cases = _arrays(big)
    sample = np.unique(cases)[:25]

    def loop_sample() -> None:
        for case in sample:
            keep = cases != case
            placements(truth[keep], scores[:, keep])

    part = compare(
        "jackknife_20r_1000c_20u_vectorised_vs_loop_on_25_of_1000_cases",
        lambda: jackknife_auc(truth, scores, cases),
        loop_sample,
        repeats=3,
    )
    scale = np.unique(cases).size / sample.size
    print(
        f"jackknife_20r_1000c_20u_vectorised_vs_full_loop: {part.ratio / scale:.5f} "
        f"(candidate median {part.candidate_s:.3f} s / baseline {part.baseline_s * scale:.1f} s, "
        f"loop timed on {sample.size} left-out cases and scaled by {scale:g}) target <= 0.01: "
        f"{'met' if part.ratio / scale <= 0.01 else 'MISSED'}",
        flush=True,
    )

    mid = _study(readers=20, cases=200, seed=1)
    m_scores, m_truth, m_cases = _arrays(mid)
    compare(
        "jackknife_20r_200c_20u_vectorised_vs_full_loop",
        lambda: jackknife_auc(m_truth, m_scores, m_cases),
        lambda: jackknife_auc(m_truth, m_scores, m_cases, vectorised=False),
        repeats=1,
        target=0.05,
    )

    seconds = _seconds(lambda: or_analysis(big), repeats=1)
    print(f"or_analysis_20r_2m_1000c_20u_seconds: {seconds:.2f} s (target <= 30 s)", flush=True)
    paper = _study(readers=4, cases=85, seed=2)
    seconds = _seconds(lambda: or_analysis(paper), repeats=5)
    print(f"or_analysis_4r_2m_85c_20u_seconds: {seconds:.3f} s (target <= 1 s)", flush=True)
