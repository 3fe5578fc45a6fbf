"""Phantom generation time per 5 mm case against a plain SimpleITK resample of the same volume.

The baseline resamples the CT template (linear) onto the phantom's thin-slice scanner grid
with its pose: the one unavoidable step of any posed phantom. Target: one phantom <= 3 s on
the project's 2-core machine (printed as absolute seconds beside the ratio).
"""

from __future__ import annotations

import itertools
import time

import SimpleITK as sitk

from benchmarks.harness import compare


def run() -> None:
    from model.anatomy import load_ct_template
    from model.phantom import PhantomConfig, generate_phantom

    seeds = itertools.count(1000)
    generate_phantom(next(seeds))  # loads and caches the anatomy
    template = load_ct_template()
    thin = generate_phantom(next(seeds), PhantomConfig(thin=True))

    def phantom() -> None:
        generate_phantom(next(seeds))

    def resample() -> None:
        sitk.Resample(
            template,
            thin.image,
            thin.pose.GetInverse(),
            sitk.sitkLinear,
            -1000.0,
            sitk.sitkFloat32,
        )

    result = compare("phantom_vs_plain_resample", phantom, resample, repeats=5)
    verdict = "met" if result.candidate_s <= 3.0 else "MISSED"
    print(f"phantom_seconds_per_case: {result.candidate_s:.2f} s (target <= 3 s: {verdict})")
    start = time.perf_counter()
    for _ in range(3):
        generate_phantom(next(seeds), PhantomConfig(thin=True))
    print(f"thin_phantom_seconds_per_case: {(time.perf_counter() - start) / 3:.2f} s")
