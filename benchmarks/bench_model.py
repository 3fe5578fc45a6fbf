"""Registration and ``predict`` (asymmetry) per 5 mm phantom, against a plain resample.

Baseline: one linear ``sitk.Resample`` of the same volume onto its own grid through an
affine transform, the cheapest thing any registration has to do at least once. Targets on
the 2-core build machine: registration <= 5 s and predict <= 8 s per case (absolute medians
are printed beside each ratio).
"""

from __future__ import annotations

import SimpleITK as sitk

from benchmarks.harness import compare


def run() -> None:
    from model.infer import predict
    from model.phantom import generate_phantom
    from model.register import register_to_scan

    scan = generate_phantom(7).image
    affine = sitk.AffineTransform(3)
    affine.SetTranslation((1.5, -2.0, 0.5))

    def resample() -> None:
        sitk.Resample(scan, scan, affine, sitk.sitkLinear, -1000.0)

    register_to_scan(scan)  # loads and prepares the template once, as a long-lived process does
    registration = compare(
        "model_registration_vs_resample",
        lambda: register_to_scan(scan),
        resample,
        repeats=3,
    )
    prediction = compare(
        "model_predict_asymmetry_vs_resample",
        lambda: predict(scan, method="asymmetry"),
        resample,
        repeats=3,
    )
    for name, result, target in (
        ("registration", registration, 5.0),
        ("predict (asymmetry)", prediction, 8.0),
    ):
        verdict = "met" if result.candidate_s <= target else "MISSED"
        print(f"{name}: {result.candidate_s:.2f} s per 5 mm case, target <= {target} s: {verdict}")
