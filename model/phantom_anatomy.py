"""The source anatomies phantoms are built from, as tissue fractions and unit labels on the
anatomy grid (:mod:`model.anatomy.grid`).

- ``mni152``: the committed tissue maps and atlas of :mod:`model.anatomy` (nilearn's MNI152
  2009, a young adult's MR-derived head), unchanged.
- ``scct``: the real-CT head of :func:`model.anatomy.ct_template.ct_template_hu` (Rorden's
  mean CT of older adults: its own skull, scalp, face and sinuses, larger ventricles and
  sulci), split into tissues by its HU. Both templates are in MNI space, but not the same one:
  the ASPECTS atlas is carried onto this head by :data:`SCCT_FROM_ATLAS`. Lesions are placed,
  and the truth measured, in the
  part of each unit that is brain tissue in this head (the atlas caudate, for one, partly lies
  in its wider ventricles); the phantom's region map is the whole mapped atlas.

The rules for ``scct`` (HU of the template resampled linearly onto the anatomy grid):

1. **Skull**: above 150 HU, closed by 3 mm. **Intracranial**: soft tissue (-15 to 110 HU)
   outside the skull, opened by 4.5 mm, the component at the atlas centre, grown back by
   4.5 mm within soft tissue, holes filled, and kept within 6 mm of the MNI152 intracranial
   space carried onto this head (the template's thin skull base does not close in every
   slice).
2. **Inside**: CSF fraction ``(24 - HU) / (24 - 8)`` clipped to [0, 1] (the template's
   ventricles are 8-16 HU after averaging, its white matter 23, grey matter 32); of the rest,
   grey matter ``(HU - 24) / (34 - 24)`` clipped, white matter the remainder.
3. **Outside**: cortical bone ``(HU - 100) / (500 - 100)`` clipped, its part more than 3 mm
   deep inside the bone is diploe; the remaining soft tissue (``(HU + 1000) / 1040``) is
   scalp (face and neck included), the rest air.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import SimpleITK as sitk
from scipy import ndimage as ndi

from model.anatomy import TISSUES, level_points, load_atlas, load_tissue_maps
from model.anatomy.grid import SPACING_MM, reference_image, with_grid
from model.errors import PhantomError

ANATOMIES = ("mni152", "scct")
"""Source anatomies a phantom can be built from."""

CSF_HU, WM_HU, GM_HU = 8.0, 24.0, 34.0
"""Anchors of the scct template's intracranial HU (after averaging over subjects)."""

SCCT_FROM_ATLAS = np.array(
    [
        [0.96643, -0.000667, 0.00322, 0.084723],
        [0.000666, 0.992902, 0.000402, -0.880804],
        [-0.00322, -0.0004, 1.005347, -1.689972],
        [0.0, 0.0, 0.0, 1.0],
    ]
)
"""Atlas (MNI152 2009) LPS point -> scct template LPS point, homogeneous.

The two MNI spaces differ by a few per cent (here the scct head is 3.4 % narrower, 0.7 %
shorter). This is the alignment :mod:`model.register` measured (1 Dec 2026, its Mattes MI
version) by registering the atlas's own CT template to the scct template
(``model.register._atlas().to_template``), frozen here so that a phantom does not change with
the registration code; a test says when the two drift apart. Other fits disagree by 3-5 mm at
the cortex (the registration's earlier correlation version: 3.5 % smaller overall and pitched
2 degrees; a grey- and white-matter similarity fit: 2.3 % smaller): how the atlas lies in
this head is known to a few millimetres.
"""


def _ball(radius_mm: float) -> np.ndarray:
    r = round(radius_mm / SPACING_MM)
    grid = np.mgrid[(slice(-r, r + 1),) * 3]
    inside: np.ndarray = np.sum(grid**2, axis=0) <= r * r
    return inside


@lru_cache(maxsize=1)
def _scct_hu() -> np.ndarray:
    from model.anatomy.ct_template import ct_template_hu

    template = sitk.Cast(ct_template_hu(), sitk.sitkFloat32)
    grid = reference_image(sitk.sitkFloat32)
    resampled = sitk.Resample(template, grid, sitk.Transform(), sitk.sitkLinear, -1024.0)
    return sitk.GetArrayFromImage(resampled)


def _scct_intracranial(hu: np.ndarray, labels: np.ndarray) -> np.ndarray:
    skull = ndi.binary_closing(hu > 150.0, _ball(3.0))
    soft = (hu > -15.0) & (hu < 110.0) & ~skull
    components, _ = ndi.label(ndi.binary_erosion(soft, _ball(4.5)))
    centre = tuple(int(v) for v in np.argwhere(labels > 0).mean(axis=0))
    if components[centre] == 0:
        raise RuntimeError("the scct template has no soft tissue at the atlas centre")
    inside = ndi.binary_dilation(components == components[centre], _ball(4.5)) & soft
    mni = load_tissue_maps()
    space = with_grid(((mni["gm"] + mni["wm"] + mni["csf"]) > 0.5).astype(np.uint8))
    carried = sitk.Resample(space, atlas_to_scct(), sitk.sitkNearestNeighbor, 0)
    prior = ndi.binary_dilation(sitk.GetArrayViewFromImage(carried).astype(bool), _ball(6.0))
    filled: np.ndarray = ndi.binary_fill_holes(inside) & prior
    return filled


def atlas_to_scct() -> sitk.AffineTransform:
    """The transform that resamples atlas-grid images onto the scct head: scct point -> atlas
    point (the inverse of :data:`SCCT_FROM_ATLAS`)."""
    inverse = np.linalg.inv(SCCT_FROM_ATLAS)
    transform = sitk.AffineTransform(3)
    transform.SetMatrix(inverse[:3, :3].ravel().tolist())
    transform.SetTranslation(inverse[:3, 3].tolist())
    return transform


def _point(v: np.ndarray) -> tuple[float, float, float]:
    x, y, z = (float(c) for c in v)
    return x, y, z


def scct_level_points() -> dict[str, tuple[float, float, float]]:
    """:func:`model.anatomy.level_points` carried onto the scct head."""
    return {
        level: _point(SCCT_FROM_ATLAS[:3, :3] @ p + SCCT_FROM_ATLAS[:3, 3])
        for level, p in ((k, np.asarray(v)) for k, v in level_points().items())
    }


@lru_cache(maxsize=1)
def _scct() -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    hu = _scct_hu()
    mapped = sitk.Resample(load_atlas(), atlas_to_scct(), sitk.sitkNearestNeighbor, 0)
    atlas = sitk.GetArrayFromImage(mapped)
    inside = ndi.gaussian_filter(_scct_intracranial(hu, atlas).astype(np.float32), 0.5)
    csf = np.clip((WM_HU - hu) / (WM_HU - CSF_HU), 0.0, 1.0)
    grey = np.clip((hu - WM_HU) / (GM_HU - WM_HU), 0.0, 1.0)
    brain = inside * (1.0 - csf)
    bone = (1.0 - inside) * np.clip((hu - 100.0) / 400.0, 0.0, 1.0)
    deep = ndi.distance_transform_edt(bone > 0.5, sampling=SPACING_MM) > 3.0
    soft = np.clip((hu + 1000.0) / 1040.0, 0.0, 1.0)
    fractions = {
        "gm": brain * grey,
        "wm": brain * (1.0 - grey),
        "csf": inside * csf,
        "bone": np.where(deep, 0.0, bone),
        "diploe": np.where(deep, bone, 0.0),
        "scalp": (1.0 - inside) * (1.0 - bone) * soft,
    }
    fractions = {name: fractions[name].astype(np.float32) for name in TISSUES}
    tissue = (fractions["gm"] + fractions["wm"]) >= 0.5
    units = np.where(tissue, atlas, 0).astype(np.uint8)
    for array in (*fractions.values(), atlas, units):
        array.flags.writeable = False
    return fractions, atlas, units


def source_anatomy(name: str) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """``(tissue fractions, atlas labels, unit labels)`` of a source anatomy, ``[z, y, x]`` on
    the anatomy grid (read-only; fractions of :data:`model.anatomy.TISSUES` in [0, 1], labels
    of :data:`model.anatomy.LABELS`).

    The atlas labels are where the ASPECTS atlas lies in this head (what a registration should
    find); the unit labels are the part of each unit that is brain tissue in it (where lesions
    are placed and the truth is measured). For ``mni152`` both are the atlas.
    """
    if name == "mni152":
        atlas = sitk.GetArrayFromImage(load_atlas())
        return load_tissue_maps(), atlas, atlas
    if name == "scct":
        fractions, atlas, units = _scct()
        return dict(fractions), atlas, units
    raise PhantomError(f"unknown anatomy {name!r}; available: {', '.join(ANATOMIES)}")
