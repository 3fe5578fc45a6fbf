"""Head and brain masks of a head CT: the parts registration may look at.

The head is the largest object above ``BODY_HU`` once thin bridges (headrest pads, the table,
blankets) are cut by an opening; the brain is the soft tissue enclosed by the skull.
Registration compares scans with the template only inside the brain (and the inner table of the
skull around it), so scalp, skull thickness, headrest, table and the field-of-view edge do not
drive it.

Both masks are computed on a working grid (a few mm, see :mod:`model.register`) with the same
function for the scan and for the template, so they mean the same thing on both.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

BODY_HU = -400.0
"""Above this: tissue (skin, fat, brain, bone); below: air, foam pads."""

BONE_HU = 300.0
"""Above this: bone (cortical bone is 1000-2000 HU, diploe 400-800)."""

SKULL_HU = 150.0
"""Above this the skull closes around the brain, also where it is thin or blurred (a mean
template, thick slices); brain and fresh blood stay below 100 HU."""

SOFT_HU = (-20.0, 120.0)
"""Soft tissue inside the skull: CSF, brain, blood; fat and bone excluded."""

CORE_MM = 8.0
"""Erosion radius that cuts the brain from the scalp, orbits and neck (gaps up to 12 mm)."""

DETACH_MM = 6.0
"""Opening radius that cuts the head from a headrest or table touching it."""


def _ball(radius_mm: float, spacing: tuple[float, ...]) -> np.ndarray:
    """Ellipsoidal structuring element of ``radius_mm`` on a (z, y, x) grid with ``spacing``."""
    r = [max(int(radius_mm // s), 0) for s in spacing[::-1]]
    grids = np.ogrid[tuple(slice(-n, n + 1) for n in r)]
    dist = sum(
        ((g * s) ** 2 for g, s in zip(grids, spacing[::-1], strict=True)), start=np.zeros(())
    )
    return dist <= radius_mm**2 + 1e-6


def _largest(mask: np.ndarray) -> np.ndarray:
    labels, n = ndimage.label(mask)
    if n <= 1:
        brain: np.ndarray = labels > 0
        return brain
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    largest: np.ndarray = labels == int(np.argmax(sizes))
    return largest


def head_mask(values: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """The head (z, y, x bool): largest object above BODY_HU, detached, holes filled."""
    body = values > BODY_HU
    ball = _ball(DETACH_MM, spacing)
    if ball.shape[0] > values.shape[0]:  # a slab thinner than the ball: open in plane only
        ball = ball[ball.shape[0] // 2][None]
    opened = ndimage.binary_opening(body, structure=ball)
    core = _largest(opened) if opened.any() else _largest(body)
    # Grow back into the body only near the kept core (undo the opening's erosion).
    head = ndimage.binary_dilation(core, structure=ball) & body
    return _fill_slices(head)


def _fill_slices(mask: np.ndarray) -> np.ndarray:
    """Holes filled in each axial slice."""
    out = np.empty_like(mask)
    for k in range(mask.shape[0]):
        out[k] = ndimage.binary_fill_holes(mask[k])
    return out


def brain_mask(
    values: np.ndarray, spacing: tuple[float, float, float], bone: np.ndarray | None = None
) -> np.ndarray:
    """The brain (z, y, x bool): the largest soft-tissue body behind the skull.

    Soft tissue (``SOFT_HU``) minus the skull is one large body inside the cranium, joined to
    the scalp, orbits and neck only through narrow gaps (sutures, foramina, the optic canal,
    the spinal canal below the foramen magnum) and thin shells (the scalp is 4-8 mm thick).
    An erosion by ``CORE_MM`` cuts those, the largest remaining part is the brain, and a
    dilation by the same radius, kept inside the soft tissue, restores its edge. Holes
    (calcifications, dense vessels) are filled per axial slice.

    ``bone`` may be given from a finer grid (thin skulls blur when downsampled); it is added to
    the voxels above ``SKULL_HU``.
    """
    bone = values > SKULL_HU if bone is None else bone | (values > SKULL_HU)
    skull = ndimage.binary_dilation(bone, structure=_ball(1.0, spacing) | _cross())
    soft = (values > SOFT_HU[0]) & (values < SOFT_HU[1]) & ~skull
    ball = _ball(CORE_MM, spacing)
    core: np.ndarray = ndimage.binary_erosion(soft, structure=ball)
    if not core.any():
        return core
    brain = ndimage.binary_dilation(_largest(core), structure=ball) & soft
    return _fill_slices(brain) & ~bone


def _cross() -> np.ndarray:
    """The in-plane 4-neighbourhood (one voxel, whatever the spacing)."""
    cross = np.zeros((3, 3, 3), bool)
    cross[1] = ndimage.generate_binary_structure(2, 1)
    return cross


def as_image(mask: np.ndarray, like: sitk.Image) -> sitk.Image:
    """A (z, y, x) mask as a UInt8 image on ``like``'s grid."""
    image = sitk.GetImageFromArray(mask.astype(np.uint8))
    image.CopyInformation(like)
    return image
