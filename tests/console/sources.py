"""A small source set as a coordinator brings it: cases in NIfTI and DICOM, a truth table and
``cases.csv``, keyed by the site's own case names."""

from __future__ import annotations

from pathlib import Path

from analysis.units import UNITS
from tests.files import noise_volume, write_table

CASES = ("anna", "bert", "carl", "dora")
"""anna and bert: NIfTI files; carl: a DICOM series (GE); dora: a tilted DICOM series."""


def truth_rows(cases=CASES) -> list[tuple[str, str, int]]:
    """Lesions on the left in anna and carl, on the right in dora; bert is normal."""
    positive = {"anna": {"M2_left", "I_left"}, "carl": {"M5_left"}, "dora": {"L_right"}}
    return [(c, u, int(u in positive.get(c, ()))) for c in cases for u in UNITS]


def write_source(folder: Path) -> Path:
    """The cases, ``truth.csv`` and ``cases.csv`` in ``folder``."""
    import SimpleITK as sitk

    from readerstudy.imaging import write_dicom_series

    folder.mkdir(parents=True)
    for i, name in enumerate(CASES[:2]):
        sitk.WriteImage(noise_volume(i), str(folder / f"{name}.nii.gz"))
    write_dicom_series(noise_volume(2), folder / "carl" / "series", seed=2, patient_id="MRN-C")
    write_dicom_series(
        noise_volume(3, slices=10),
        folder / "dora",
        seed=3,
        tilt_deg=12.0,
        vendor="siemens",
        patient_id="MRN-D",
    )
    write_table(folder / "truth.csv", ("case", "unit", "truth"), truth_rows())
    sides = {"anna": "left", "bert": "none", "carl": "left", "dora": "right"}
    write_table(
        folder / "cases.csv",
        ("case", "side", "vendor"),
        [(c, sides[c], "ge" if c != "dora" else "siemens") for c in CASES],
    )
    return folder


def write_ai(folder: Path) -> Path:
    """Another product's ``ai_regions.csv`` for the source cases (the truth, blurred)."""
    rows = [(case, unit, 0.8 if truth else 0.1, truth) for case, unit, truth in truth_rows()]
    return write_table(folder / "ai_regions.csv", ("case", "unit", "probability", "call"), rows)
