"""A content hash of a case: its HU voxels and world geometry, nothing else.

File names, file order, compression, vendor storage habits and de-identified header fields
do not change it; a different voxel value, spacing or position does. Other parts use it as
the cache key for precomputed AI outputs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import SimpleITK as sitk

HASH_VERSION = b"readerstudy.content/1"
GEOMETRY_DECIMALS = 3  # mm and direction cosines: below DICOM's printed precision


def image_hash(image: sitk.Image) -> str:
    """SHA-256 over size, rounded geometry and the Float32 HU voxels of a SimpleITK image."""
    import SimpleITK as sitk

    digest = hashlib.sha256(HASH_VERSION)
    geometry = (
        np.concatenate([image.GetSpacing(), image.GetOrigin(), image.GetDirection()]).round(
            GEOMETRY_DECIMALS
        )
        + 0.0
    )  # + 0.0 turns -0.0 into 0.0
    digest.update(np.asarray(image.GetSize(), dtype="<i8").tobytes())
    digest.update(geometry.astype("<f8").tobytes())
    as_float = sitk.Cast(image, sitk.sitkFloat32)  # keep a reference: the view borrows it
    voxels = sitk.GetArrayViewFromImage(as_float) + np.float32(0.0)  # -0.0 -> 0.0, a copy
    digest.update(np.ascontiguousarray(voxels, dtype="<f4").tobytes())
    return digest.hexdigest()


def content_hash(path: Path, *, series_uid: str | None = None) -> str:
    """Hex SHA-256 of the case at ``path`` as :func:`load_volume` reads it (HU + geometry)."""
    from readerstudy.imaging.volume import load_volume

    return image_hash(load_volume(Path(path), series_uid=series_uid).image)
