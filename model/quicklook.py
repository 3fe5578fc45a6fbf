"""RGB quick-look of an alignment: the scan's mid-slices with the template's outline on them.

Attached to a refused registration (:class:`model.errors.RegistrationError` ``quicklook``) so a
coordinator can see what went wrong, and drawn for a successful one by
:func:`model.register.alignment_quicklook`: axial, coronal and sagittal slices through the
centre of the warped template's brain, the scan in a brain window, the template's brain
outline in red and its skull in yellow.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

DISPLAY_MM = 1.5
PANEL_PX = 220
GREY_HU = (-20.0, 100.0)


def _outline(mask: np.ndarray) -> np.ndarray:
    outline: np.ndarray = mask & ~ndimage.binary_erosion(mask)
    return outline


def _panel(grey: np.ndarray, overlays: list[tuple[np.ndarray, tuple[int, int, int]]]) -> np.ndarray:
    """One RGB panel, the image's first row on top, scaled to fit PANEL_PX square."""
    rgb = np.repeat(grey[..., None], 3, axis=2)
    for mask, colour in overlays:
        rgb[_outline(mask)] = colour
    factor = max(1, PANEL_PX // max(rgb.shape[:2]))
    return np.kron(rgb, np.ones((factor, factor, 1), dtype=np.uint8))


def _pad_to(panel: np.ndarray, height: int) -> np.ndarray:
    out = np.zeros((height, panel.shape[1], 3), dtype=np.uint8)
    out[: panel.shape[0]] = panel
    return out


def registration_quicklook(
    scan: sitk.Image, template: sitk.Image, transform: sitk.Transform
) -> np.ndarray:
    """``(H, W, 3)`` uint8: axial, coronal and sagittal panels of ``scan`` (HU) with the outline
    of ``template`` (its brain window: brain red, bone yellow) moved by ``transform``
    (scan point -> template point)."""
    spacing = np.array(scan.GetSpacing())
    extent = np.array(scan.GetSize()) * spacing
    size = [max(2, int(e // DISPLAY_MM)) for e in extent]
    direction = np.array(scan.GetDirection()).reshape(3, 3)
    origin = np.array(scan.GetOrigin()) + direction @ ((DISPLAY_MM - spacing) / 2.0)
    grid = sitk.Image(size, sitk.sitkUInt8)
    grid.SetSpacing((DISPLAY_MM,) * 3)
    grid.SetOrigin(origin.tolist())
    grid.SetDirection(scan.GetDirection())
    hu = sitk.GetArrayFromImage(sitk.Resample(scan, grid, sitk.Transform(), sitk.sitkLinear, -1e3))
    warped = sitk.GetArrayFromImage(
        sitk.Resample(template, grid, transform, sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    )
    top = float(np.max(warped)) if warped.size else 0.0
    bone = warped >= 0.9 * top if top > 0 else np.zeros_like(warped, bool)
    brain = (warped > 15.0) & ~bone
    grey = (np.clip((hu - GREY_HU[0]) / (GREY_HU[1] - GREY_HU[0]), 0, 1) * 255).astype(np.uint8)
    # Cut through the warped template's brain, not the scan's middle: the scan's middle may
    # miss the brain (a large field of view, a cut one) and the point is to show the fit.
    inside = np.argwhere(brain)
    centre = inside.mean(axis=0) if len(inside) else np.array(hu.shape) / 2
    k, j, i = (int(min(max(round(c), 0), n - 1)) for c, n in zip(centre, hu.shape, strict=True))
    red, yellow = (255, 40, 40), (255, 220, 0)
    cuts = [
        (grey[k], brain[k], bone[k]),  # axial: anterior at the top
        (grey[::-1, j], brain[::-1, j], bone[::-1, j]),  # coronal: superior at the top
        (grey[::-1, :, i], brain[::-1, :, i], bone[::-1, :, i]),  # sagittal
    ]
    panels = [_panel(g, [(b, red), (s, yellow)]) for g, b, s in cuts]
    height = max(p.shape[0] for p in panels)
    return np.concatenate([_pad_to(p, height) for p in panels], axis=1)
