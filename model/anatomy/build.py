"""Build the ASPECTS atlas, tissue fractions and CT template from nilearn's MNI152 maps.

Run ``python -m model.anatomy.build [OUT_DIR]`` (default: the committed ``assets/`` folder).
The build is deterministic: the same nilearn maps give byte-identical arrays (a test checks
it against the committed assets). Nothing is downloaded: nilearn ships the MNI152 2009
template, its grey/white-matter probability maps and brain mask in its wheel.

Sources
-------
- MNI152 2009 template and tissue maps: Fonov et al., NeuroImage 2011;54:313 and
  NeuroImage 2009;47:S102 (as shipped by nilearn, ``load_mni152_*``).
- ASPECTS regions: Barber et al., Lancet 2000;355:1670 (ten MCA regions on two axial levels);
  Pexman et al., AJNR 2001;22:1534 (scoring guide: the ganglionic level through thalamus and
  basal ganglia, the supraganglionic level above the basal ganglia, M1-M3 and M4-M6 the
  anterior, lateral and posterior thirds of the MCA cortex); aspectsinstroke.com (atlas
  figures: caudate head beside the frontal horn, lentiform lateral to the internal capsule,
  insular ribbon deep to the lateral sulcus).
- CT densities: grey matter 37-45 HU, white matter 20-30 HU, CSF 0-15 HU (e.g. Hounsfield
  1973; Lev et al., Radiology 1999;213:150 on grey-white contrast in acute stroke).
- Vascular territories: Tatu et al., Neurology 1998;50:1699 (MCA, ACA, PCA boundaries).

Rules (coordinates are MNI RAS mm, y > 0 anterior; a hemisphere is one side of x = 0)
------------------------------------------------------------------------------------
Tissue. Nilearn's GM and WM probabilities are resampled linearly to the 1.5 mm grid.
Intracranial space = the brain mask closed (4.5 mm ball) and hole-filled, dilated by 1.5 mm
(subarachnoid space); CSF fraction = intracranial space minus GM and WM. Depth = distance
to the outer surface of the intracranial space. Outside it lie the inner table (2.5 mm),
diploe (2.5 mm), outer table (2.5 mm) and scalp (4.5 mm), as soft shells of that distance.

Ventricles. CSF fraction >= 0.5 at depth >= 15 mm within 30 mm of the midline and between
z = -20 and +40 mm: the lateral (and third) ventricles.

Caudate (C). Deep grey matter (GM >= 0.15, depth >= 12 mm, not ventricle: nilearn's GM map
underestimates the weakly contrasted deep nuclei) within 9 mm of the lateral ventricle and
lateral to it (10-26 mm from the midline), from the interventricular foramen (y = -8 mm) to
30 mm in front of it or the tip of the frontal horn, z -4..+24 mm: the caudate head beside
the frontal horn and the start of its body.

Thalamus (a boundary, not a unit). Deep grey matter (GM >= 0.30) within 20 mm of the
midline between y = -36 and -2 mm and z = -8 and +20 mm.

Lentiform (L). Deep grey matter (GM >= 0.50, depth >= 14 mm) 13-33 mm from the midline,
y -22..+20 mm, z -10..+16 mm (above the ventral striatum), not caudate or thalamus: its
largest connected part per hemisphere is the putamen. The lentiform adds the globus pallidus
as the tissue inside the putamen's convex outline on each axial slice (the lens shape).

Internal capsule (IC). White matter (WM >= 0.5) within 7.5 mm of both the lentiform and the
thalamus (the genu and posterior limb between them), at least 12 mm from the midline and
above z = -4 mm (below it the fibres leave the ganglionic level as the cerebral peduncle).

Insular ribbon (I). Grey matter (GM >= 0.35) lateral to the lentiform and 1.5-11 mm from it
(claustrum, extreme capsule and insular cortex, up to the lateral sulcus), within the
lentiform's antero-posterior extent widened by 8 mm and z -14..+20 mm.

Cortical MCA regions. The MCA territory of one hemisphere is the brain tissue (GM + WM >=
0.5) more than 24 mm from the midline (medial to it lie the ACA territory and the deep
structures), within 22 mm of the surface (at the ganglionic level also all tissue lateral to
the insula), in front of the occipital pole by 16 mm (PCA territory), behind the frontal pole
by 10 mm at the ganglionic level and by 25 mm above it (the ACA supplies the anterior
superior frontal lobe), and not a deep unit or insula. The ganglionic level spans z from the
lentiform's bottom to 4 mm above its top; the supraganglionic level the next 50 mm. At each
level the territory's antero-posterior extent is split into thirds: M1/M4 anterior, M2/M5
lateral (middle), M3/M6 posterior.

Validation. ``python -m model.anatomy.validate REF_DIR`` compares the result with an
independent atlas (Dice and centroid distance per unit); docs/model.md gives the table. The
numeric thresholds above were chosen by anatomy and by comparing region extents with that
atlas; no reference voxel enters the build.

Patient sides: MNI RAS x > 0 is the patient's right, so ``*_right`` units have x > 0.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import SimpleITK as sitk
from scipy import ndimage as ndi

if TYPE_CHECKING:
    from nibabel.spatialimages import SpatialImage

from analysis.units import REGIONS, SIDES
from model.anatomy.grid import SPACING_MM, ras_coordinates, reference_image, with_grid
from model.anatomy.labels import ASSETS, FRACTION_SCALE, LABELS, TISSUES

TEMPLATE_HU: dict[str, float] = {
    "gm": 40.0,
    "wm": 25.0,
    "csf": 7.0,
    "bone": 1600.0,
    "diploe": 600.0,
    "scalp": 40.0,
    "air": -1000.0,
}
"""Mid-range densities of the CT template (the phantoms draw theirs per case)."""

SKULL_MM = {"inner_table": 2.5, "diploe": 2.5, "outer_table": 2.5, "scalp": 4.5}
"""Layer thicknesses outside the intracranial space (adult calvarium 6-10 mm)."""


def _nifti_to_sitk(nifti: SpatialImage) -> sitk.Image:
    """A nibabel image with an axis-aligned RAS affine as a SimpleITK image (LPS)."""
    affine = np.asarray(nifti.affine, dtype=float)
    spacing = np.abs(np.diag(affine)[:3])
    if not np.allclose(affine[:3, :3], np.diag(np.diag(affine)[:3])):
        raise ValueError("nilearn's MNI152 maps were expected to have a diagonal affine")
    data = np.asarray(nifti.get_fdata(dtype=np.float32))
    image = sitk.GetImageFromArray(np.ascontiguousarray(data.transpose(2, 1, 0)))
    image.SetSpacing(tuple(float(s) for s in spacing))
    ras_to_lps = np.array([-1.0, -1.0, 1.0])
    image.SetOrigin(tuple(float(v) for v in ras_to_lps * affine[:3, 3]))
    direction = np.diag(ras_to_lps * np.sign(np.diag(affine)[:3]))
    image.SetDirection(tuple(float(v) for v in direction.ravel()))
    return image


def load_mni152_maps() -> dict[str, np.ndarray]:
    """Nilearn's 1 mm MNI152 2009 T1, GM, WM and brain mask, resampled to the anatomy grid."""
    from nilearn import datasets

    sources = {
        "t1": datasets.load_mni152_template(resolution=1),
        "gm": datasets.load_mni152_gm_template(resolution=1),
        "wm": datasets.load_mni152_wm_template(resolution=1),
        "mask": datasets.load_mni152_brain_mask(resolution=1),
    }
    grid = reference_image(sitk.sitkFloat32)
    maps = {}
    for name, nifti in sources.items():
        resampled = sitk.Resample(
            _nifti_to_sitk(nifti), grid, sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat32
        )
        maps[name] = np.clip(sitk.GetArrayFromImage(resampled), 0.0, 1.0)
    return maps


def _ball(radius_mm: float) -> np.ndarray:
    r = int(np.floor(radius_mm / SPACING_MM))
    zz, yy, xx = np.mgrid[-r : r + 1, -r : r + 1, -r : r + 1] * SPACING_MM
    ball: np.ndarray = (zz**2 + yy**2 + xx**2) <= radius_mm**2 + 1e-6
    return ball


def _distance_to(mask: np.ndarray) -> np.ndarray:
    """Distance in mm from every voxel to the nearest voxel of ``mask`` (0 inside it)."""
    if not mask.any():
        return np.full(mask.shape, np.inf, dtype=np.float32)
    distance: np.ndarray = ndi.distance_transform_edt(~mask, sampling=SPACING_MM).astype(np.float32)
    return distance


def _largest_component(mask: np.ndarray) -> np.ndarray:
    labels, n = ndi.label(mask)
    if n == 0:
        return mask
    sizes = ndi.sum(mask, labels, index=np.arange(1, n + 1))
    largest: np.ndarray = labels == (1 + int(np.argmax(sizes)))
    return largest


def _axial_convex_fill(mask: np.ndarray) -> np.ndarray:
    """Fill each axial slice of ``mask`` to its convex outline (scan-line convexity)."""
    from scipy.spatial import ConvexHull, Delaunay

    out = mask.copy()
    for k in np.flatnonzero(mask.any(axis=(1, 2))):
        pts = np.argwhere(mask[k])
        if len(pts) < 4 or np.linalg.matrix_rank(pts - pts[0]) < 2:
            continue
        hull = Delaunay(pts[ConvexHull(pts).vertices])
        lo, hi = pts.min(0), pts.max(0) + 1
        yy, xx = np.mgrid[lo[0] : hi[0], lo[1] : hi[1]]
        inside = hull.find_simplex(np.stack([yy.ravel(), xx.ravel()], 1)) >= 0
        out[k, lo[0] : hi[0], lo[1] : hi[1]] |= inside.reshape(yy.shape)
    return out


def tissue_fractions(maps: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """GM, WM, CSF, skull (cortical bone, diploe) and scalp fractions on the grid (float32)."""
    brain = maps["mask"] >= 0.5
    closed = ndi.binary_fill_holes(ndi.binary_closing(brain, structure=_ball(4.5)))
    intracranial = ndi.binary_dilation(closed, structure=_ball(1.5))
    gm = np.where(intracranial, maps["gm"], 0.0).astype(np.float32)
    wm = np.where(intracranial, maps["wm"], 0.0).astype(np.float32)
    csf = np.where(intracranial, np.clip(1.0 - gm - wm, 0.0, 1.0), 0.0).astype(np.float32)
    outside = ndi.distance_transform_edt(~intracranial, sampling=SPACING_MM)
    # Soft shells: each layer is a ramp of the distance, so layer edges carry partial volume.
    edges = np.cumsum([0.0, *SKULL_MM.values()])

    def shell(lo: float, hi: float) -> np.ndarray:
        inner = np.clip(outside - lo + SPACING_MM / 2, 0.0, SPACING_MM) / SPACING_MM
        outer = np.clip(outside - hi + SPACING_MM / 2, 0.0, SPACING_MM) / SPACING_MM
        return np.where(intracranial, 0.0, inner - outer).astype(np.float32)

    bone = shell(edges[0], edges[1]) + shell(edges[2], edges[3])
    return {
        "gm": gm,
        "wm": wm,
        "csf": csf,
        "bone": bone,
        "diploe": shell(edges[1], edges[2]),
        "scalp": shell(edges[3], edges[4]),
    }


def quantise(fractions: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Fractions as stored: uint8 steps of 1/FRACTION_SCALE."""
    return {
        name: np.round(np.clip(fractions[name], 0.0, 1.0) * FRACTION_SCALE).astype(np.uint8)
        for name in TISSUES
    }


def ct_template_hu(stored: dict[str, np.ndarray]) -> np.ndarray:
    """CT densities (HU, int16) as the fraction-weighted mix of mid-range tissue densities."""
    hu = np.zeros(stored["gm"].shape, dtype=np.float32)
    total = np.zeros_like(hu)
    for name in TISSUES:
        f = stored[name].astype(np.float32) / FRACTION_SCALE
        hu += f * TEMPLATE_HU[name]
        total += f
    hu += np.clip(1.0 - total, 0.0, 1.0) * TEMPLATE_HU["air"]
    return np.round(hu).astype(np.int16)


def intracranial_depth(fractions: dict[str, np.ndarray]) -> np.ndarray:
    """Distance (mm) from each intracranial voxel to the inner table; 0 outside."""
    intracranial = (fractions["gm"] + fractions["wm"] + fractions["csf"]) > 0.5
    depth: np.ndarray = ndi.distance_transform_edt(intracranial, sampling=SPACING_MM).astype(
        np.float32
    )
    return depth


def ventricle_mask(fractions: dict[str, np.ndarray], depth: np.ndarray) -> np.ndarray:
    """The lateral and third ventricles by the rule of the module docstring."""
    x, _, z = ras_coordinates()
    ventricles: np.ndarray = (
        (fractions["csf"] >= 0.5) & (depth >= 15) & (np.abs(x) <= 30) & (z >= -20) & (z <= 40)
    )
    return ventricles


def derive_regions(fractions: dict[str, np.ndarray]) -> np.ndarray:
    """The 20 ASPECTS units by the rules of the module docstring (uint8 labels, [z, y, x])."""
    x, y, z = ras_coordinates()
    shape = fractions["gm"].shape
    x, y, z = (np.broadcast_to(a, shape) for a in (x, y, z))
    gm, wm = fractions["gm"], fractions["wm"]
    depth = intracranial_depth(fractions)
    ax = np.abs(x)
    ventricles = ventricle_mask(fractions, depth)
    deep_gm = (depth >= 12) & ~ventricles
    near_ventricle = _distance_to(ventricles) <= 9.0
    thalamus = deep_gm & (gm >= 0.30) & (ax <= 20) & (y >= -36) & (y <= -2) & (z >= -8) & (z <= 20)
    tissue = (gm + wm) >= 0.5
    not_ventricle = tissue & ~ventricles

    labels = np.zeros(shape, dtype=np.uint8)
    for side in SIDES:
        hemi = x > 0 if side == "right" else x < 0
        frontal_horn_tip = y[ventricles & hemi].max()
        caudate = (
            deep_gm
            & hemi
            & (gm >= 0.15)
            & near_ventricle
            & (ax >= 10)
            & (ax <= 26)
            & (y >= -8)
            & (y <= min(frontal_horn_tip, 22.0))
            & (z >= -4)
            & (z <= 24)
        )
        putamen = _largest_component(
            hemi
            & (gm >= 0.50)
            & (depth >= 14)
            & (ax >= 13)
            & (ax <= 33)
            & (y >= -22)
            & (y <= 20)
            & (z >= -10)
            & (z <= 16)
            & ~caudate
            & ~thalamus
        )
        lentiform = _axial_convex_fill(putamen) & not_ventricle & ~caudate & ~thalamus
        dist_lent = _distance_to(lentiform)
        capsule = (
            hemi
            & (wm >= 0.5)
            & (ax >= 12)
            & (z >= -4)
            & (dist_lent <= 7.5)
            & (_distance_to(thalamus & hemi) <= 7.5)
            & ~lentiform
            & ~thalamus
        )
        lent_y = y[lentiform]
        lent_lat = np.where(lentiform, ax, 0).max()
        insula = (
            hemi
            & (gm >= 0.35)
            & (dist_lent >= 1.5)
            & (dist_lent <= 11.0)
            & (ax >= lent_lat - 6)
            & (y >= lent_y.min() - 8)
            & (y <= lent_y.max() + 8)
            & (z >= -14)
            & (z <= 20)
        )
        deep_units = {"C": caudate, "L": lentiform, "IC": capsule, "I": insula}
        taken = np.zeros(shape, dtype=bool)
        for region, mask in deep_units.items():
            mask = mask & ~taken
            labels[mask] = LABELS[f"{region}_{side}"]
            taken |= mask

        brain_y = y[tissue & hemi]
        # Per axial row, the insula's lateral edge: everything lateral to it is M2 cortex.
        insula_lateral = np.where(insula, ax, -np.inf).max(axis=2, keepdims=True)
        insula_lateral[np.isinf(insula_lateral)] = np.inf
        lateral = hemi & tissue & ~taken & (ax > 24) & (y >= brain_y.min() + 16)
        z_lo = z[lentiform].min()
        z_mid = z[lentiform].max() + 4
        levels = {
            ("M1", "M2", "M3"): lateral
            & ((depth <= 22) | (ax > insula_lateral))
            & (y <= brain_y.max() - 10)
            & (z >= z_lo)
            & (z <= z_mid),
            ("M4", "M5", "M6"): lateral
            & (depth <= 22)
            & (y <= brain_y.max() - 25)
            & (z > z_mid)
            & (z <= z_mid + 50),
        }
        for names, part in levels.items():
            ys = y[part]
            front, back = ys.max(), ys.min()
            third = (front - back) / 3
            cuts = (front - third, back + third)
            labels[part & (y > cuts[0])] = LABELS[f"{names[0]}_{side}"]
            labels[part & (y <= cuts[0]) & (y > cuts[1])] = LABELS[f"{names[1]}_{side}"]
            labels[part & (y <= cuts[1])] = LABELS[f"{names[2]}_{side}"]
    return labels


def build(out_dir: Path = ASSETS) -> None:
    """Derive and write every anatomy asset to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    maps = load_mni152_maps()
    fractions = tissue_fractions(maps)
    stored = quantise(fractions)
    stored_f = {name: stored[name].astype(np.float32) / FRACTION_SCALE for name in TISSUES}
    labels = derive_regions(stored_f)
    sitk.WriteImage(with_grid(labels, sitk.sitkUInt8), str(out_dir / "atlas.nii.gz"), True)
    sitk.WriteImage(
        with_grid(ct_template_hu(stored), sitk.sitkInt16), str(out_dir / "ct_template.nii.gz"), True
    )
    for name in TISSUES:
        sitk.WriteImage(
            with_grid(stored[name], sitk.sitkUInt8), str(out_dir / f"tissue_{name}.nii.gz"), True
        )
    legend = {
        "labels": LABELS,
        "regions": list(REGIONS),
        "space": "MNI152 2009 (nilearn), LPS world coordinates",
        "spacing_mm": SPACING_MM,
        "fraction_scale": FRACTION_SCALE,
        "template_hu": TEMPLATE_HU,
    }
    (out_dir / "legend.json").write_text(json.dumps(legend, indent=2) + "\n")


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else ASSETS)
