"""Compare our atlas with an independent ASPECTS atlas: Dice and centroid distance per unit.

``python -m model.anatomy.validate REF_DIR`` prints the table. ``REF_DIR`` holds one binary
mask per unit named ``MNI152_<region>_<L|R>.nii.gz`` (the AnotherMak/aspects-on-cta masks, FSL
MNI152 1 mm, MIT). Their region names differ from ours: ``IC`` there is the insular cortex,
``InCa`` the internal capsule and ``LN`` the lentiform; ``_L``/``_R`` are the patient's sides.
Our label map is resampled onto each reference mask's grid by world coordinates (nearest
neighbour); centroids are compared in world millimetres.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from analysis.units import UNITS, split_unit

REFERENCE_NAMES = {
    "C": "C",
    "L": "LN",
    "IC": "InCa",
    "I": "IC",
    **{f"M{i}": f"M{i}" for i in range(1, 7)},
}
"""Our region code -> the reference atlas's file name part."""


@dataclass(frozen=True)
class RegionAgreement:
    """Agreement of one unit with the reference atlas."""

    unit: str
    dice: float
    centroid_mm: float
    ours_ml: float
    reference_ml: float


def reference_path(ref_dir: Path, unit: str) -> Path:
    region, side = split_unit(unit)
    return ref_dir / f"MNI152_{REFERENCE_NAMES[region]}_{'L' if side == 'left' else 'R'}.nii.gz"


def _centroid(mask: np.ndarray, image: sitk.Image) -> np.ndarray:
    index = np.argwhere(mask).mean(axis=0)[::-1]
    return np.array(image.TransformContinuousIndexToPhysicalPoint([float(i) for i in index]))


def compare_with_reference(
    atlas: sitk.Image, labels: dict[str, int], ref_dir: Path
) -> list[RegionAgreement]:
    """Dice and centroid distance of every unit of ``atlas`` against the reference masks."""
    rows = []
    for unit in UNITS:
        path = reference_path(ref_dir, unit)
        if not path.is_file():
            raise FileNotFoundError(f"reference mask for {unit} not found: {path}")
        ref_image = sitk.ReadImage(str(path))
        ref = sitk.GetArrayFromImage(ref_image) > 0.5
        ours_image = sitk.Resample(
            atlas, ref_image, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8
        )
        ours = sitk.GetArrayFromImage(ours_image) == labels[unit]
        voxel_ml = float(np.prod(ref_image.GetSpacing())) / 1000.0
        overlap = 2.0 * np.count_nonzero(ours & ref)
        total = np.count_nonzero(ours) + np.count_nonzero(ref)
        distance = (
            float(np.linalg.norm(_centroid(ours, ref_image) - _centroid(ref, ref_image)))
            if ours.any()
            else float("inf")
        )
        rows.append(
            RegionAgreement(
                unit=unit,
                dice=overlap / total if total else 0.0,
                centroid_mm=distance,
                ours_ml=np.count_nonzero(ours) * voxel_ml,
                reference_ml=np.count_nonzero(ref) * voxel_ml,
            )
        )
    return rows


def format_table(rows: list[RegionAgreement]) -> str:
    lines = [f"{'unit':<10}{'Dice':>7}{'centroid mm':>13}{'ours ml':>10}{'ref ml':>9}"]
    lines += [
        f"{r.unit:<10}{r.dice:>7.3f}{r.centroid_mm:>13.1f}{r.ours_ml:>10.1f}{r.reference_ml:>9.1f}"
        for r in rows
    ]
    dice = [r.dice for r in rows]
    lines.append(
        f"{'mean':<10}{np.mean(dice):>7.3f}{np.mean([r.centroid_mm for r in rows]):>13.1f}"
        f"   (min Dice {min(dice):.3f}, max centroid "
        f"{max(r.centroid_mm for r in rows):.1f} mm)"
    )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    from model.anatomy import LABELS, load_atlas

    if len(argv) != 1:
        raise SystemExit("usage: python -m model.anatomy.validate REF_DIR")
    print(format_table(compare_with_reference(load_atlas(), LABELS, Path(argv[0]))))


if __name__ == "__main__":
    main(sys.argv[1:])
