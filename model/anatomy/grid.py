"""The anatomy grid: 1.5 mm isotropic, MNI152 2009 world coordinates, LPS as SimpleITK uses.

Every committed anatomy asset (atlas labels, CT template, tissue fractions) lies on this one
grid, so a voxel index means the same point in all of them.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

SPACING_MM = 1.5
SIZE_XYZ = (129, 153, 125)
"""Voxels along LPS x (right to left), y (anterior to posterior), z (inferior to superior)."""
ORIGIN_LPS = (-96.0, -96.0, -72.0)
"""Centre of voxel (0, 0, 0): 96 mm right, 96 mm anterior, 72 mm below the AC (MNI)."""


def reference_image(pixel_type: int = sitk.sitkUInt8) -> sitk.Image:
    """An empty image on the anatomy grid (identity direction: axes are L, P, S)."""
    image = sitk.Image(list(SIZE_XYZ), pixel_type)
    image.SetSpacing((SPACING_MM,) * 3)
    image.SetOrigin(ORIGIN_LPS)
    return image


def with_grid(array_zyx: np.ndarray, pixel_type: int | None = None) -> sitk.Image:
    """Wrap an array indexed ``[z, y, x]`` as an image on the anatomy grid."""
    if array_zyx.shape != SIZE_XYZ[::-1]:
        raise ValueError(f"array shape {array_zyx.shape} is not the anatomy grid {SIZE_XYZ[::-1]}")
    image = sitk.GetImageFromArray(array_zyx)
    if pixel_type is not None and image.GetPixelID() != pixel_type:
        image = sitk.Cast(image, pixel_type)
    image.CopyInformation(reference_image())
    return image


def ras_coordinates() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MNI RAS coordinates ``(x, y, z)`` in mm, each broadcastable to the ``[z, y, x]`` array.

    RAS is the convention of MNI papers: x > 0 is the patient's right, y > 0 anterior.
    """
    nx, ny, nz = SIZE_XYZ
    x_lps = ORIGIN_LPS[0] + SPACING_MM * np.arange(nx)
    y_lps = ORIGIN_LPS[1] + SPACING_MM * np.arange(ny)
    z = ORIGIN_LPS[2] + SPACING_MM * np.arange(nz)
    return -x_lps[None, None, :], -y_lps[None, :, None], z[:, None, None]
