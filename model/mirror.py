"""The seed paper's "Mirror Assembly Module": original, mirror and difference as channels.

Early ischaemic change shows as a slight left-right density difference, so the network sees
each preprocessed slice (:mod:`model.preprocess`), its mirror image about the brain's midline
and their difference (original - mirror). The mirror is a reflection about the registration's
mid-sagittal plane (:class:`model.register.MidsagittalPlane`), not about the image centre: a
head off the centre of the field of view, or turned (yaw, roll), would otherwise be compared
with the wrong side. The reflection is :func:`model.scoring.mirror_image` (linear
interpolation on the scan's own grid, so a plane that tilts out of the axial plane mixes
neighbouring slices, as the anatomy does).
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from model.register import MidsagittalPlane
from model.scoring import mirror_image

CHANNELS = ("original", "mirror", "difference")
"""The network's input channels, in order."""


def mirror_assemble(
    scan: sitk.Image, preprocessed: np.ndarray, plane: MidsagittalPlane
) -> np.ndarray:
    """Stack ``preprocessed[z, y, x]`` (in [0, 1], on ``scan``'s grid) with its mirror about
    ``plane`` and their difference: float32 ``[z, 3, y, x]`` (:data:`CHANNELS`).

    Points the reflection takes outside the field of view read 0, the preprocessed value of
    air.
    """
    if not isinstance(scan, sitk.Image):
        raise TypeError(f"scan must be a SimpleITK.Image, got {type(scan).__name__}")
    if not isinstance(plane, MidsagittalPlane):
        raise TypeError(f"plane must be a MidsagittalPlane, got {type(plane).__name__}")
    values = np.asarray(preprocessed, dtype=np.float32)
    expected = tuple(reversed(scan.GetSize()))
    if values.shape != expected:
        raise ValueError(
            f"preprocessed slices have shape {values.shape}, but the scan's grid is "
            f"{expected} (z, y, x)"
        )
    image = sitk.GetImageFromArray(values)
    image.CopyInformation(scan)
    # mirror_image fills outside the grid with air in HU (-1000): clipped to 0, air here.
    mirrored = np.clip(sitk.GetArrayFromImage(mirror_image(image, plane)), 0.0, None)
    return np.stack([values, mirrored, values - mirrored], axis=1)
