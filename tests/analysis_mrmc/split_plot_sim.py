"""Split-plot MRMC studies with a known truth (a Roe-Metz style binormal model), and the
rejection rate of the split-plot OR test on them: ``python -m
tests.analysis_mrmc.split_plot_sim [--sims 2000] [--groups 2] [--per-group 3] [--cases 40]
[--shift 0]``.

The latent score of reader j, modality i, case k (truth D_k) is ``(mu + R_j + TR_ij) D_k +
C_k + TC_ik + RC_jk + E_ijk``: reader skill R and its modality interaction TR, and case,
modality x case, reader x case and pure error terms, all normal. ``shift`` adds to mu in the
second modality; with ``shift = 0`` both modalities have the same expected AUC (H0). Readers
are split into G groups that each read their own cases (half positive).
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd

from analysis.mrmc import split_plot_analysis

SIGMA = {"R": 0.25, "TR": 0.15, "C": 0.5, "TC": 0.3, "RC": 0.3, "E": 0.5}


def simulate(
    seed: int, *, groups: int, per_group: int, cases: int, shift: float = 0.0, mu: float = 1.2
) -> pd.DataFrame:
    """A long ratings table: ``groups`` x ``per_group`` readers, each group ``cases`` cases."""
    rng = np.random.default_rng(seed)
    r, t = groups * per_group, 2
    skill = mu + rng.normal(0, SIGMA["R"], r)[None, :] + rng.normal(0, SIGMA["TR"], (t, r))
    skill[1] += shift
    frames = []
    for g in range(groups):
        truth = (np.arange(cases) < cases // 2).astype(int)
        readers = np.arange(g * per_group, (g + 1) * per_group)
        latent = (
            skill[:, readers, None] * truth
            + rng.normal(0, SIGMA["C"], cases)
            + rng.normal(0, SIGMA["TC"], (t, 1, cases))
            + rng.normal(0, SIGMA["RC"], (1, per_group, cases))
            + rng.normal(0, SIGMA["E"], (t, per_group, cases))
        )
        m, j, k = np.meshgrid(range(t), readers, range(cases), indexing="ij")
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
    sims: int, *, groups: int, per_group: int, cases: int, shift: float = 0.0, alpha: float = 0.05
) -> tuple[float, float]:
    """Share of simulations where the random-reader split-plot test rejects at ``alpha``, and
    the share of intervals covering the true difference (0 under H0; not known otherwise)."""
    rejected, covered = 0, 0
    for seed in range(sims):
        data = simulate(seed, groups=groups, per_group=per_group, cases=cases, shift=shift)
        d = split_plot_analysis(data, reference="unaided", alpha=alpha).difference
        rejected += d.p < alpha
        covered += d.ci_low <= 0.0 <= d.ci_high
    return rejected / sims, covered / sims


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=2)
    parser.add_argument("--per-group", type=int, default=3)
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--shift", type=float, default=0.0)
    args = parser.parse_args()
    rate, cover = rejection_rate(
        args.sims,
        groups=args.groups,
        per_group=args.per_group,
        cases=args.cases,
        shift=args.shift,
    )
    se = math.sqrt(0.05 * 0.95 / args.sims)
    print(
        f"G={args.groups} x {args.per_group} readers, {args.cases} cases per group, shift "
        f"{args.shift}: rejection rate {rate:.4f} (binomial SE at 0.05: {se:.4f}), interval "
        f"covering 0: {cover:.4f}, over {args.sims} simulations"
    )


if __name__ == "__main__":
    main()
