"""Small input files the tests write: CSV tables and noise head volumes."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def write_table(path: Path, header, rows) -> Path:
    """A CSV file with ``header`` and ``rows``, as a coordinator's spreadsheet saves it."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def noise_volume(seed: int, slices: int = 8):
    """An int16 volume of soft-tissue noise (30 +- 5 HU), 32 x 32, 0.8 x 0.8 x 5 mm."""
    import SimpleITK as sitk

    rng = np.random.default_rng(seed)
    values = rng.normal(30, 5, (slices, 32, 32)).round().astype(np.int16)
    image = sitk.GetImageFromArray(values)
    image.SetSpacing((0.8, 0.8, 5.0))
    return image
