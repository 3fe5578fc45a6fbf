"""Scans exported with HU clipped at 0: detect them and put the air outside the head back.

Some pipelines write NIfTI with every value below 0 HU set to 0, so air reads as water and
no voxel of a head CT is below 0. Head detection and registration expect air near -1000 HU.
Such a scan is recognised by its minimum (0) and a large share of voxels at exactly 0; the
head is the largest object above 0 HU with its holes filled slice by slice (a cut vertex or
posterior fossa still closes in plane), and the zeros outside it are set to -1000 HU.
Zeros inside the head (fat, CSF noise) cannot be told apart and stay 0.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy import ndimage as ndi

from model.errors import ScanError

AIR_HU = -1000.0

MIN_ZERO_SHARE = 0.10
"""Share of voxels at exactly 0 HU (with none below) from which air is taken to be clipped."""

MIN_HEAD_ML = 500.0
"""Smallest head (object above 0 HU) worth restoring; a head is 2000-6000 ml."""

MIN_OUTSIDE_ZERO_SHARE = 0.9
"""Share of the voxels outside the head that must be exactly 0 (clipped air, not a table)."""


def restore_clipped_air(scan: sitk.Image) -> tuple[sitk.Image, str]:
    """``(scan, "")`` for a scan with air below 0 HU; for one clipped at 0, a copy with air
    outside the head at -1000 HU and a warning saying so.

    Raises :class:`~model.errors.ScanError` when the scan is clipped but no head can be
    separated from the air safely.
    """
    values = sitk.GetArrayViewFromImage(scan)
    if values.size == 0 or float(values.min()) < 0.0:
        return scan, ""
    zero = values <= 0.0
    zero_share = float(zero.mean())
    if zero_share < MIN_ZERO_SHARE:
        return scan, ""
    components, count = ndi.label(~zero)
    if count == 0:
        return scan, ""  # a blank volume: nothing to restore, the method refuses it
    sizes = np.bincount(components.ravel())
    sizes[0] = 0
    largest = components == int(np.argmax(sizes))
    head = np.stack([ndi.binary_fill_holes(axial) for axial in largest])
    voxel_ml = float(np.prod(scan.GetSpacing())) / 1000.0
    head_ml = float(head.sum()) * voxel_ml
    clipped = (
        f"HU look clipped at 0 (no voxel below 0 HU, {100 * zero_share:.0f}% of voxels exactly 0)"
    )
    if head_ml < MIN_HEAD_ML:
        raise ScanError(
            f"{clipped}, but the largest object above 0 HU is {head_ml:.0f} ml, not a head; "
            "air cannot be restored safely: export the scan with its original HU"
        )
    outside = ~head
    outside_zero = float(zero[outside].mean()) if outside.any() else 0.0
    if outside_zero < MIN_OUTSIDE_ZERO_SHARE:
        raise ScanError(
            f"{clipped}, but only {100 * outside_zero:.0f}% of the voxels outside the head are "
            "0; air cannot be told from tissue safely: export the scan with its original HU"
        )
    restored = np.array(values, dtype=np.float32)
    restored[outside & zero] = AIR_HU
    image = sitk.GetImageFromArray(restored)
    image.CopyInformation(scan)
    return image, (
        f"{clipped}: air outside the head set back to {AIR_HU:.0f} HU; values below 0 HU "
        "inside the head (fat, CSF) stay 0"
    )
