"""Split-plot MRMC studies with a known truth (a Roe-Metz style binormal model), and the
rejection rate of the split-plot OR test on them: ``python -m
tests.analysis_mrmc.split_plot_sim [--sims 2000] [--readers 3 3] [--cases 40 40]
[--shift 0]`` (readers and cases per group; one number of cases serves every group).

The latent score of reader j, modality i, case k (truth D_k) is ``(mu + R_j + TR_ij) D_k +
C_k + TC_ik + RC_jk + E_ijk``: reader skill R and its modality interaction TR, and case,
modality x case, reader x case and pure error terms, all normal. ``shift`` adds to mu in the
second modality; with ``shift = 0`` both modalities have the same expected AUC (H0). Readers
are split into groups that each read their own cases (half positive); groups may differ in
size and in number of cases.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd

from analysis.mrmc import split_plot_analysis

SIGMA = {"R": 0.25, "TR": 0.15, "C": 0.5, "TC": 0.3, "RC": 0.3, "E": 0.5}


def simulate(
    seed: int,
    *,
    readers: tuple[int, ...],
    cases: tuple[int, ...] | int,
    shift: float = 0.0,
    mu: float = 1.2,
) -> pd.DataFrame:
    """A long ratings table: ``readers[g]`` readers in group g, reading ``cases[g]`` cases."""
    rng = np.random.default_rng(seed)
    counts = (cases,) * len(readers) if isinstance(cases, int) else cases
    r, t = sum(readers), 2
    skill = mu + rng.normal(0, SIGMA["R"], r)[None, :] + rng.normal(0, SIGMA["TR"], (t, r))
    skill[1] += shift
    starts = np.cumsum((0, *readers))
    frames = []
    for g, (per_group, cases) in enumerate(zip(readers, counts, strict=True)):
        truth = (np.arange(cases) < cases // 2).astype(int)
        ids = np.arange(starts[g], starts[g + 1])
        latent = (
            skill[:, ids, None] * truth
            + rng.normal(0, SIGMA["C"], cases)
            + rng.normal(0, SIGMA["TC"], (t, 1, cases))
            + rng.normal(0, SIGMA["RC"], (1, per_group, cases))
            + rng.normal(0, SIGMA["E"], (t, per_group, cases))
        )
        m, j, k = np.meshgrid(range(t), ids, range(cases), indexing="ij")
        frames.append(
            pd.DataFrame(
                {
                    "reader": [f"R{x}" for x in j.ravel()],
                    "modality": np.array(["unaided", "aided"])[m.ravel()],
                    "case": [f"g{g}c{x}" for x in k.ravel()],
                    "truth": truth[k.ravel()],
                    "rating": latent.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def rejection_rate(
    sims: int,
    *,
    readers: tuple[int, ...],
    cases: tuple[int, ...] | int,
    shift: float = 0.0,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Share of simulations where the random-reader split-plot test rejects at ``alpha``, and
    the share of intervals covering 0 (the true difference under H0)."""
    rejected, covered = 0, 0
    for seed in range(sims):
        data = simulate(seed, readers=readers, cases=cases, shift=shift)
        d = split_plot_analysis(data, reference="unaided", alpha=alpha).difference
        rejected += d.p < alpha
        covered += d.ci_low <= 0.0 <= d.ci_high
    return rejected / sims, covered / sims


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=2000)
    parser.add_argument("--readers", type=int, nargs="+", default=[3, 3])
    parser.add_argument("--cases", type=int, nargs="+", default=[40])
    parser.add_argument("--shift", type=float, default=0.0)
    args = parser.parse_args()
    cases = args.cases[0] if len(args.cases) == 1 else tuple(args.cases)
    readers = tuple(args.readers)
    rate, cover = rejection_rate(args.sims, readers=readers, cases=cases, shift=args.shift)
    se = math.sqrt(0.05 * 0.95 / args.sims)
    print(
        f"readers per group {readers}, cases per group {cases}, shift {args.shift}: rejection "
        f"rate {rate:.4f} (binomial SE at 0.05: {se:.4f}), interval covering 0: {cover:.4f}, "
        f"over {args.sims} simulations"
    )


if __name__ == "__main__":
    main()
