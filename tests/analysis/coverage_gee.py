"""Coverage of the GEE intervals on data with a known marginal model (a larger run than the
unit test): ``python -m tests.analysis.coverage_gee [--sims 1000] [--cases 40] [--rho 0.4]``.

Prints the share of 95% intervals covering the true odds ratio and the true standardised
difference in sensitivity, with their binomial standard errors, and the mean estimates.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from analysis.gee import gee_binary
from tests.analysis.test_gee import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=1000)
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--readers", type=int, default=3)
    parser.add_argument("--rho", type=float, default=0.4)
    args = parser.parse_args()
    hits_or, hits_diff, log_ors, diffs = [], [], [], []
    for seed in range(args.sims):
        data, log_or, diff = simulate(
            10_000 + seed, cases=args.cases, readers=args.readers, rho=args.rho
        )
        res = gee_binary(data, metric="sensitivity", reference="unaided", test="aided")
        hits_or.append(res.or_ci_low < math.exp(log_or) < res.or_ci_high)
        hits_diff.append(res.ci_low < diff < res.ci_high)
        log_ors.append(res.log_or - log_or)
        diffs.append(res.difference - diff)
    for name, hits in (("odds ratio", hits_or), ("difference", hits_diff)):
        share = float(np.mean(hits))
        se = math.sqrt(share * (1 - share) / len(hits))
        print(f"{name}: coverage {share:.3f} (binomial SE {se:.3f}) over {len(hits)} simulations")
    print(f"mean bias: log OR {np.mean(log_ors):+.4f}, difference {np.mean(diffs):+.4f}")


if __name__ == "__main__":
    main()
