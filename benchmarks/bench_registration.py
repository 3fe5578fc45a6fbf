"""Registration per 5 mm case against one plain resample, and what the multi-start costs.

Cases: a phantom (the project's anatomy) and a posed scct head with a headrest and a far
origin, both at 5 mm slices (from :mod:`model.registration_set`). Baseline: one linear
``sitk.Resample`` of the same scan onto its own grid through an affine transform. The
multi-start line compares the full registration with one started from a single pose (pitch
0, no offset, best start only), so its ratio is what the extra starts cost. Target on the
2-core build machine: <= 5 s per case, multi-start < 2x a single start.
"""

from __future__ import annotations

import os

import SimpleITK as sitk

from benchmarks.harness import compare


def run() -> None:
    from model import register
    from model.phantom import generate_phantom
    from model.registration_set import scct_case

    scct = next(c for c in map(scct_case, range(20)) if c.image.GetSpacing()[2] == 5.0)
    scans = {"phantom": generate_phantom(7).image, "scct": scct.image}
    affine = sitk.AffineTransform(3)
    affine.SetTranslation((1.5, -2.0, 0.5))
    load = os.getloadavg()
    print(f"load average (1, 5, 15 min) before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    register.register_to_scan(scans["phantom"])  # template and atlas prepared once
    for name, scan in scans.items():
        result = compare(
            f"registration_{name}_vs_resample",
            lambda scan=scan: register.register_to_scan(scan),
            lambda scan=scan: sitk.Resample(scan, scan, affine, sitk.sitkLinear, -1000.0),
            repeats=3,
        )
        verdict = "met" if result.candidate_s <= 5.0 else "MISSED"
        print(f"{name}: {result.candidate_s:.2f} s per 5 mm case, target <= 5 s: {verdict}")

    full = (register.PITCH_STARTS_DEG, register.DZ_STARTS_MM, register.KEEP_STARTS)

    def single_start() -> None:
        register.PITCH_STARTS_DEG, register.DZ_STARTS_MM, register.KEEP_STARTS = (0.0,), (0.0,), 1
        try:
            register.register_to_scan(scans["phantom"])
        finally:
            register.PITCH_STARTS_DEG, register.DZ_STARTS_MM, register.KEEP_STARTS = full

    result = compare(
        "registration_multistart_vs_single_start",
        lambda: register.register_to_scan(scans["phantom"]),
        single_start,
        repeats=3,
    )
    verdict = "met" if result.ratio < 2.0 else "MISSED"
    print(f"multi-start costs {result.ratio:.2f}x a single start, target < 2x: {verdict}")
    load = os.getloadavg()
    print(f"load average (1, 5, 15 min) after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
