"""Write the atlas as one binary mask per ASPECTS unit, with a legend, for other tools."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from analysis.units import REGION_NAMES, UNITS, split_unit
from model.anatomy import LABELS, load_atlas


def export_unit_masks(out_dir: Path) -> list[Path]:
    """Write ``<unit>.nii.gz`` (UInt8 0/1, MNI world coordinates) per unit and a legend.

    The legend comes twice, ``legend.json`` and ``legend.csv``, one row per unit: unit,
    atlas label value, region, side, region name, voxel count and volume in ml.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    atlas = load_atlas()
    labels = sitk.GetArrayFromImage(atlas)
    voxel_ml = float(np.prod(atlas.GetSpacing())) / 1000.0
    rows, written = [], []
    for unit in UNITS:
        mask = (labels == LABELS[unit]).astype(np.uint8)
        image = sitk.GetImageFromArray(mask)
        image.CopyInformation(atlas)
        path = out_dir / f"{unit}.nii.gz"
        sitk.WriteImage(image, str(path), True)
        written.append(path)
        region, side = split_unit(unit)
        voxels = int(mask.sum())
        rows.append(
            {
                "unit": unit,
                "label": LABELS[unit],
                "region": region,
                "side": side,
                "name": REGION_NAMES[region],
                "voxels": voxels,
                "volume_ml": round(voxels * voxel_ml, 3),
            }
        )
    (out_dir / "legend.json").write_text(
        json.dumps(
            {
                "space": "MNI152 2009 (nilearn), world coordinates LPS; sides are the patient's",
                "spacing_mm": list(atlas.GetSpacing()),
                "units": rows,
            },
            indent=2,
        )
        + "\n"
    )
    with (out_dir / "legend.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return written
