"""Synthetic non-contrast head CT (NCCT) phantoms with per-unit ASPECTS truth.

A phantom is the committed MNI152 anatomy (:mod:`model.anatomy`) turned into a CT scan, with
every property drawn per case from published ranges:

- **Densities**: grey matter 37-45 HU, white matter 20-30 HU, CSF 0-15 HU, cortical bone
  1300-1900 HU, diploe 400-800 HU, scalp 20-60 HU (Hounsfield 1973; Lev et al., Radiology
  1999;213:150), mixed by the tissue fractions of each voxel (partial volume).
- **What makes real NCCT hard**: natural left-right asymmetry (a smooth field, independent on
  each side, standard deviation ``asymmetry_hu``), beam hardening (cupping: brain brighter
  near the inner table of the skull, decaying over ``beam_hardening_mm``), and confounders
  that are not acute ischaemia: old infarcts (encephalomalacia near CSF density, sharp
  margins) and symmetric periventricular leukoaraiosis.
- **Acute lesion** (early ischaemic change): a smooth region in one MCA territory covering
  1-8 contiguous ASPECTS units (Barber et al., Lancet 2000), each only partly
  (``lesion_coverage``), ``lesion_hu_drop`` HU darker in grey matter and half that in white
  matter, which blurs the grey-white boundary (loss of the insular ribbon, obscured
  lentiform: Tomura et al., Radiology 1988;168:463; von Kummer et al., AJNR 1994;15:9).
- **Scanner**: a rigid head pose (yaw and roll up to 10 degrees, pitch up to 15, shifts), a
  256 x 256 matrix over a 250 mm field of view, thin slices of ``thin_slice_mm`` averaged into
  ``slice_thickness_mm`` slices (partial volume), then CT noise with spatial correlation
  (white noise low-pass filtered in plane, standard deviation ``noise_sd`` on the output
  slices). Gantry tilt is metadata only: the DICOM writer applies it.
- **Vendors** as in the paper's external set (Chen et al. 2022: Philips 59%, GE 28%,
  Siemens 13%), recorded for the DICOM writer.

Truth (the overlap rule). A unit is positive when the acute lesion (the voxels where its
smoothed weight is at least 0.5) covers at least ``truth_min_coverage`` (default 20%) of the
unit's atlas voxels, measured on the 1.5 mm anatomy grid before any resampling. Old infarcts
and leukoaraiosis never make a unit positive.

The default mix resembles the paper's external set (about 8% of units positive, median
ASPECTS 9): 60% of cases carry a lesion, whose size in units follows
``units_per_lesion_weights``. docs/model.md lists the knobs that make phantoms easier or
harder.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from typing import Any

import numpy as np
import SimpleITK as sitk
from scipy import ndimage as ndi

from analysis.units import REGIONS, SIDES, UNITS, aspects_score
from model.anatomy import LABELS, level_points, load_atlas
from model.anatomy.build import intracranial_depth, ventricle_mask
from model.anatomy.grid import SPACING_MM, ras_coordinates
from model.errors import PhantomError
from model.phantom_anatomy import ANATOMIES, scct_level_points, source_anatomy

AIR_HU = -1000.0

ADJACENT_REGIONS: dict[str, tuple[str, ...]] = {
    "C": ("L", "IC"),
    "L": ("C", "IC", "I"),
    "IC": ("C", "L"),
    "I": ("L", "M1", "M2", "M3"),
    "M1": ("I", "M2", "M4"),
    "M2": ("I", "M1", "M3", "M5"),
    "M3": ("I", "M2", "M6"),
    "M4": ("M1", "M5"),
    "M5": ("M2", "M4", "M6"),
    "M6": ("M3", "M5"),
}
"""Regions that touch in the atlas: a lesion grows through these (contiguous units)."""

LESION_START_WEIGHTS: dict[str, float] = {
    "C": 0.05,
    "L": 0.15,
    "IC": 0.05,
    "I": 0.2,
    "M1": 0.1,
    "M2": 0.15,
    "M3": 0.1,
    "M4": 0.05,
    "M5": 0.1,
    "M6": 0.05,
}
"""Where early ischaemic change starts; insula and lentiform are the most often affected."""


def _range(name: str, value: tuple[float, float], lo: float, hi: float) -> None:
    if len(value) != 2 or not lo <= value[0] <= value[1] <= hi:
        raise PhantomError(f"{name} must be (low, high) with {lo} <= low <= high <= {hi}: {value}")


@dataclass(frozen=True)
class PhantomConfig:
    """Every knob of the phantom generator; the defaults are the calibrated difficulty.

    Ranges are ``(low, high)`` and drawn uniformly per case. Harder: smaller
    ``lesion_hu_drop`` and ``lesion_coverage``, larger ``asymmetry_hu`` and ``noise_sd``,
    more confounders. Easier: the opposite.
    """

    # The case mix.
    positive_case_fraction: float = 0.6
    units_per_lesion_weights: tuple[float, ...] = (0.34, 0.22, 0.15, 0.11, 0.07, 0.05, 0.04, 0.02)
    """Relative frequency of lesions planned over 1, 2, ... 8 contiguous units."""
    # The acute lesion.
    lesion_hu_drop: tuple[float, float] = (2.0, 8.0)
    """HU drop in lesioned grey matter (white matter gets ``white_matter_drop_share`` of it)."""
    lesion_coverage: tuple[float, float] = (0.3, 1.0)
    """Fraction of each planned unit the lesion covers."""
    white_matter_drop_share: float = 0.5
    lesion_smoothness_mm: float = 8.0
    truth_min_coverage: float = 0.2
    # Anatomy and scanner physics.
    gm_hu: tuple[float, float] = (37.0, 45.0)
    wm_hu: tuple[float, float] = (20.0, 30.0)
    csf_hu: tuple[float, float] = (0.0, 15.0)
    bone_hu: tuple[float, float] = (1300.0, 1900.0)
    diploe_hu: tuple[float, float] = (400.0, 800.0)
    scalp_hu: tuple[float, float] = (20.0, 60.0)
    asymmetry_hu: float = 1.25
    """Standard deviation of the smooth, unmirrored left-right density variation."""
    asymmetry_scale_mm: float = 24.0
    beam_hardening_hu: tuple[float, float] = (2.0, 6.0)
    beam_hardening_mm: float = 6.0
    noise_sd: tuple[float, float] = (3.0, 5.0)
    """Noise standard deviation (HU) on the output slices."""
    noise_correlation_px: float = 0.8
    # Confounders that are not acute ischaemia.
    old_infarct_probability: float = 0.15
    old_infarct_ml: tuple[float, float] = (2.0, 12.0)
    leukoaraiosis_probability: float = 0.25
    leukoaraiosis_hu: tuple[float, float] = (3.0, 6.0)
    # Geometry.
    slice_thickness_mm: float = 5.0
    thin_slice_mm: float = 1.25
    thin: bool = False
    """Output the thin slices instead of the averaged thick ones."""
    matrix: int = 256
    fov_mm: float = 250.0
    yaw_deg: tuple[float, float] = (-10.0, 10.0)
    pitch_deg: tuple[float, float] = (-15.0, 15.0)
    roll_deg: tuple[float, float] = (-10.0, 10.0)
    shift_mm: tuple[float, float] = (-10.0, 10.0)
    tilt_deg: tuple[float, float] = (0.0, 0.0)
    vendor_mix: tuple[tuple[str, float], ...] = (("philips", 0.59), ("ge", 0.28), ("siemens", 0.13))
    # Anatomical and scanner variety (defaults: the one calibrated head; see docs/model.md).
    anatomy: str = "mni152"
    """Source head: ``mni152`` (the atlas's own), ``scct`` (a real-CT template of older
    adults, :mod:`model.phantom_anatomy`) or ``mixed`` (either, half the cases each)."""
    head_scale: tuple[float, float] = (1.0, 1.0)
    """Isotropic head size factor about the head centre."""
    skull_offset_mm: tuple[float, float] = (0.0, 0.0)
    """Outer table moved out (thicker skull) or in (thinner), in mm."""
    scalp_offset_mm: tuple[float, float] = (0.0, 0.0)
    """Skin surface moved out (thicker scalp) or in (thinner), in mm."""
    atrophy_mm: tuple[float, float] = (0.0, 0.0)
    """Brain within this distance of CSF becomes CSF: wider sulci and ventricles."""
    vertex_cut_mm: tuple[float, float] = (0.0, 0.0)
    """Field of view ends this far below the top of the head (vertex cut off)."""
    fossa_cut_mm: tuple[float, float] = (0.0, 0.0)
    """Field of view starts this far above the bottom of the head (posterior fossa cut off)."""
    headrest_probability: float = 0.0
    """Share of cases with a headrest cradle and a table behind the head."""
    origin_offset_mm: tuple[float, float] = (0.0, 0.0)
    """Head and field of view moved together along x, y and z: scanner table coordinates."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith(("_hu", "_mm", "_deg", "_sd", "_ml", "_coverage", "_drop")) and (
                isinstance(value, tuple)
            ):
                _range(f.name, value, -2000.0, 5000.0)
        for name in (
            "positive_case_fraction",
            "old_infarct_probability",
            "leukoaraiosis_probability",
            "truth_min_coverage",
            "white_matter_drop_share",
            "headrest_probability",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise PhantomError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        _range("lesion_coverage", self.lesion_coverage, 0.0, 1.0)
        _range("noise_sd", self.noise_sd, 0.0, 100.0)
        _range("yaw_deg", self.yaw_deg, -30.0, 30.0)
        _range("pitch_deg", self.pitch_deg, -30.0, 30.0)
        _range("roll_deg", self.roll_deg, -30.0, 30.0)
        _range("tilt_deg", self.tilt_deg, -30.0, 30.0)
        if self.anatomy not in (*ANATOMIES, "mixed"):
            raise PhantomError(
                f"anatomy must be one of {', '.join((*ANATOMIES, 'mixed'))}, got {self.anatomy!r}"
            )
        _range("head_scale", self.head_scale, 0.8, 1.25)
        _range("skull_offset_mm", self.skull_offset_mm, -3.0, 4.0)
        _range("scalp_offset_mm", self.scalp_offset_mm, -4.0, 8.0)
        _range("atrophy_mm", self.atrophy_mm, 0.0, 4.0)
        _range("vertex_cut_mm", self.vertex_cut_mm, 0.0, 60.0)
        _range("fossa_cut_mm", self.fossa_cut_mm, 0.0, 60.0)
        _range("origin_offset_mm", self.origin_offset_mm, -500.0, 500.0)
        weights = self.units_per_lesion_weights
        if not 1 <= len(weights) <= 8 or min(weights) < 0 or sum(weights) <= 0:
            raise PhantomError(
                "units_per_lesion_weights needs 1 to 8 non-negative weights (for 1..8 units) "
                f"with a positive sum, got {weights}"
            )
        if sum(w for _, w in self.vendor_mix) <= 0:
            raise PhantomError(f"vendor_mix needs a positive total weight, got {self.vendor_mix}")
        ratio = self.slice_thickness_mm / self.thin_slice_mm
        if self.thin_slice_mm <= 0 or abs(ratio - round(ratio)) > 1e-6 or ratio < 1:
            raise PhantomError(
                f"slice_thickness_mm ({self.slice_thickness_mm}) must be a whole multiple of "
                f"thin_slice_mm ({self.thin_slice_mm})"
            )
        if self.matrix < 32 or self.fov_mm <= 0:
            raise PhantomError(
                f"matrix must be >= 32 and fov_mm > 0, got {self.matrix}, {self.fov_mm}"
            )


VARIED = {
    "anatomy": "mixed",
    "head_scale": (0.9, 1.1),
    "skull_offset_mm": (-1.0, 2.5),
    "scalp_offset_mm": (-2.0, 5.0),
    "atrophy_mm": (0.0, 2.0),
    "vertex_cut_mm": (0.0, 15.0),
    "fossa_cut_mm": (0.0, 25.0),
    "headrest_probability": 0.5,
    "yaw_deg": (-15.0, 15.0),
    "pitch_deg": (-30.0, 30.0),
    "roll_deg": (-15.0, 15.0),
    "origin_offset_mm": (-300.0, 300.0),
}
"""The variety knobs of :func:`varied_config`: both anatomies, the poses and fields of view
of issue 11 (pitch to +-30 degrees, yaw and roll to +-15), table coordinates, headrests."""


def varied_config(**overrides: Any) -> PhantomConfig:
    """The calibrated lesions and physics over varied heads (:data:`VARIED`), plus overrides."""
    return PhantomConfig(**{**VARIED, **overrides})


@dataclass(frozen=True)
class PhantomMeta:
    """The drawn parameters of one phantom, as written to a phantom set's ``cases.csv``.

    Its fields are the columns (``shift_mm`` as ``shift_x_mm``, ...): a field renamed here
    renames the column rather than dropping it.
    """

    side: str
    """Side of the infarct (``left``, ``right``) or ``none`` when the lesion came out empty."""
    aspects: int
    n_positive_units: int
    lesion_volume_ml: float
    hu_drop: float
    noise_sd: float
    vendor: str
    """A :class:`readerstudy.imaging.Vendor` value (model never imports readerstudy)."""
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    shift_mm: tuple[float, float, float]
    tilt_deg: float
    gm_hu: float
    wm_hu: float
    csf_hu: float
    bone_hu: float
    beam_hardening_hu: float
    slice_thickness_mm: float
    planned_units: str
    """The units the lesion was planned on, ``;``-separated."""
    confounders: str
    anatomy: str
    head_scale: float
    skull_offset_mm: float
    scalp_offset_mm: float
    atrophy_mm: float
    vertex_cut_mm: float
    fossa_cut_mm: float
    headrest: bool
    seed: int


@dataclass
class Phantom:
    """One synthetic NCCT case and everything true about it."""

    image: sitk.Image
    """Float32 HU on the scanner grid (axial slices)."""
    lesion_mask: sitk.Image
    """UInt8 0/1 acute lesion on the same grid."""
    regions: sitk.Image
    """UInt8 atlas labels (:data:`model.anatomy.LABELS`) on the same grid: the true anatomy."""
    truth: dict[str, int]
    """Unit code -> 0/1 for all 20 units, by the overlap rule."""
    meta: PhantomMeta
    """Drawn parameters: side, n_positive_units, aspects, lesion_volume_ml, hu_drop, ..."""
    pose: sitk.Euler3DTransform
    """Maps MNI (template) points to scanner points."""
    levels: dict[str, int]
    """Axial index of the ``ganglionic`` and ``supraganglionic`` levels on the grid."""
    midsagittal: tuple[tuple[float, float, float], tuple[float, float, float]]
    """A point on the true mid-sagittal plane and its unit normal, LPS world coordinates."""
    unit_coverage: dict[str, float] = field(default_factory=dict)
    """Fraction of each unit's atlas voxels covered by the acute lesion."""


@dataclass(frozen=True)
class _Anatomy:
    """The anatomy arrays a phantom needs, loaded and derived once per process."""

    atlas: sitk.Image
    """Where the ASPECTS atlas lies in this head (the phantom's region map)."""
    labels: np.ndarray
    """The brain-tissue part of each unit: lesions and truth (the atlas for ``mni152``)."""
    tissue: dict[str, np.ndarray]
    brain: np.ndarray
    depth: np.ndarray
    periventricular: np.ndarray
    unit_voxels: dict[str, np.ndarray]
    centre: tuple[float, float, float]
    head_corners: np.ndarray
    level_points: dict[str, tuple[float, float, float]]
    """The ASPECTS levels' points in this head (:func:`model.anatomy.level_points`)."""


@lru_cache(maxsize=len(ANATOMIES))
def _anatomy(name: str = "mni152") -> _Anatomy:
    tissue, atlas_labels, labels = source_anatomy(name)
    atlas = sitk.GetImageFromArray(atlas_labels)
    atlas.CopyInformation(load_atlas())
    depth = intracranial_depth(tissue)
    ventricles = ventricle_mask(tissue, depth)
    distance = ndi.distance_transform_edt(~ventricles, sampling=SPACING_MM)
    periventricular = np.clip(1.0 - distance / 12.0, 0.0, 1.0).astype(np.float32)
    periventricular *= tissue["wm"]
    flat = labels.ravel()
    order = np.argsort(flat, kind="stable")
    bounds = np.searchsorted(flat[order], np.arange(len(UNITS) + 2))
    unit_voxels = {u: order[bounds[v] : bounds[v + 1]] for u, v in LABELS.items()}
    head = (sum(tissue.values()) > 0.5) & (
        np.broadcast_to(ras_coordinates()[2], labels.shape) >= -45
    )
    idx = np.argwhere(head)
    lo, hi = idx.min(axis=0), idx.max(axis=0)
    corners = np.array(
        [
            atlas.TransformIndexToPhysicalPoint([int(c[2]), int(c[1]), int(c[0])])
            for c in np.array(np.meshgrid(*zip(lo, hi, strict=True), indexing="ij"))
            .reshape(3, -1)
            .T
        ]
    )
    intracranial = np.argwhere(depth > 0).mean(axis=0)[::-1]
    centre = atlas.TransformContinuousIndexToPhysicalPoint([float(i) for i in intracranial])
    return _Anatomy(
        atlas=atlas,
        labels=labels,
        tissue=tissue,
        brain=tissue["gm"] + tissue["wm"],
        depth=depth,
        periventricular=periventricular,
        unit_voxels=unit_voxels,
        centre=(0.0, float(centre[1]), float(centre[2])),
        head_corners=corners,
        level_points=level_points() if name == "mni152" else scct_level_points(),
    )


def _upsampling(n_fine: int, step: float) -> np.ndarray:
    """Weights that spread coarse nodes (``step`` voxels apart) smoothly over ``n_fine`` voxels."""
    n_coarse = math.ceil(n_fine / step) + 4
    position = np.arange(n_fine) / step + 2.0
    weights = np.exp(-0.5 * (position[:, None] - np.arange(n_coarse)[None, :]) ** 2)
    return weights.astype(np.float32)


def _smooth_field(rng: np.random.Generator, shape: tuple[int, ...], scale_mm: float) -> np.ndarray:
    """Gaussian random field with correlation length ~``scale_mm``, unit SD (float32).

    White noise on a coarse lattice ``scale_mm`` apart, spread by a separable Gaussian
    kernel: three small matrix products instead of a full-volume filter.
    """
    step = max(scale_mm / SPACING_MM, 1.0)
    mats = [_upsampling(n, step) for n in shape]
    fine = rng.standard_normal(tuple(m.shape[1] for m in mats)).astype(np.float32)
    for axis, mat in enumerate(mats):
        fine = np.moveaxis(np.tensordot(mat, fine, axes=(1, axis)), 0, axis)
    fine -= fine.mean()
    fine /= max(float(fine.std()), 1e-6)
    return np.ascontiguousarray(fine)


def _pick(
    rng: np.random.Generator, options: dict[str, float] | tuple[tuple[str, float], ...]
) -> str:
    items = list(options.items()) if isinstance(options, dict) else list(options)
    weights = np.array([w for _, w in items], dtype=float)
    return items[int(rng.choice(len(items), p=weights / weights.sum()))][0]


def _plan_lesion(rng: np.random.Generator, config: PhantomConfig) -> tuple[str, list[str]]:
    """The lesion's side and the contiguous regions it is planned to involve (maybe none)."""
    side = SIDES[int(rng.integers(2))]
    if rng.random() >= config.positive_case_fraction:
        return side, []
    weights = np.asarray(config.units_per_lesion_weights, dtype=float)
    n_units = 1 + int(rng.choice(len(weights), p=weights / weights.sum()))
    chosen = [_pick(rng, LESION_START_WEIGHTS)]
    while len(chosen) < n_units:
        frontier = sorted({n for r in chosen for n in ADJACENT_REGIONS[r]} - set(chosen))
        chosen.append(frontier[int(rng.integers(len(frontier)))])
    return side, chosen


def _lesion_weight(
    rng: np.random.Generator,
    anatomy: _Anatomy,
    side: str,
    regions: list[str],
    config: PhantomConfig,
) -> tuple[np.ndarray, dict[str, float]]:
    """Soft acute-lesion weight in [0, 1] on the anatomy grid, and the planned coverages."""
    shape = anatomy.labels.shape
    weight = np.zeros(shape, dtype=np.float32)
    if not regions:
        return weight, {}
    # The random field is drawn over the planned units' box only (same law, less work).
    voxels = np.concatenate([anatomy.unit_voxels[f"{r}_{side}"] for r in regions])
    index = np.unravel_index(voxels, shape)
    box = tuple(slice(int(i.min()), int(i.max()) + 1) for i in index)
    field = np.zeros(shape, dtype=np.float32)
    field[box] = _smooth_field(
        rng, tuple(b.stop - b.start for b in box), config.lesion_smoothness_mm
    )
    blob = field.ravel()
    core: np.ndarray = np.zeros(blob.size, dtype=bool)
    planned = {}
    for region in regions:
        unit = f"{region}_{side}"
        voxels = anatomy.unit_voxels[unit]
        coverage = float(rng.uniform(*config.lesion_coverage))
        planned[unit] = coverage
        values = blob[voxels]
        core[voxels[values >= np.quantile(values, 1.0 - coverage)]] = True
    core = core.reshape(shape)
    box = tuple(slice(max(int(i.min()) - 4, 0), int(i.max()) + 5) for i in np.nonzero(core))
    weight[box] = ndi.gaussian_filter(core[box].astype(np.float32), 1.0)
    return weight, planned


def _old_infarct(
    rng: np.random.Generator, anatomy: _Anatomy, config: PhantomConfig
) -> tuple[np.ndarray, str]:
    """A sharp-edged encephalomalacia blob (weight in [0, 1]) in a random cortical unit."""
    unit = f"{REGIONS[4 + int(rng.integers(6))]}_{SIDES[int(rng.integers(2))]}"
    voxels = anatomy.unit_voxels[unit]
    centre = np.array(
        np.unravel_index(voxels[int(rng.integers(len(voxels)))], anatomy.labels.shape)
    )
    volume_ml = float(rng.uniform(*config.old_infarct_ml))
    radius = (3 * volume_ml * 1000 / (4 * math.pi)) ** (1 / 3) / SPACING_MM
    r = math.ceil(radius) + 3
    box = tuple(slice(max(c - r, 0), c + r + 1) for c in centre)
    grids = np.ogrid[
        tuple(slice(s.start - c, s.stop - c) for s, c in zip(box, centre, strict=True))
    ]
    distance = np.sqrt(sum(g.astype(np.float32) ** 2 for g in grids))
    weight = np.zeros(anatomy.labels.shape, dtype=np.float32)
    sub = np.clip(radius - distance + 0.5, 0.0, 1.0) * anatomy.brain[box]
    weight[box] = sub[: weight[box].shape[0], : weight[box].shape[1], : weight[box].shape[2]]
    return weight, unit


def _draw(rng: np.random.Generator, config: PhantomConfig) -> dict[str, Any]:
    """Per-case densities, physics and pose (everything but the lesion)."""
    u = rng.uniform
    return {
        "gm_hu": u(*config.gm_hu),
        "wm_hu": u(*config.wm_hu),
        "csf_hu": u(*config.csf_hu),
        "bone_hu": u(*config.bone_hu),
        "diploe_hu": u(*config.diploe_hu),
        "scalp_hu": u(*config.scalp_hu),
        "hu_drop": u(*config.lesion_hu_drop),
        "noise_sd": u(*config.noise_sd),
        "beam_hardening_hu": u(*config.beam_hardening_hu),
        "yaw_deg": u(*config.yaw_deg),
        "pitch_deg": u(*config.pitch_deg),
        "roll_deg": u(*config.roll_deg),
        "shift_mm": tuple(float(u(*config.shift_mm)) for _ in range(3)),
        "tilt_deg": u(*config.tilt_deg),
        "vendor": _pick(rng, config.vendor_mix),
    }


def _compose_hu(
    rng: np.random.Generator,
    anatomy: _Anatomy,
    draw: dict[str, Any],
    lesion: np.ndarray,
    config: PhantomConfig,
) -> tuple[np.ndarray, list[str]]:
    """HU on the anatomy grid: tissues, asymmetry, beam hardening, confounders, lesion."""
    t = anatomy.tissue
    hu = np.full(anatomy.labels.shape, AIR_HU, dtype=np.float32)
    for name in ("gm", "wm", "csf", "bone", "diploe", "scalp"):
        hu += t[name] * (draw[f"{name}_hu"] - AIR_HU)
    asymmetry = _smooth_field(rng, hu.shape, config.asymmetry_scale_mm)
    hu += (config.asymmetry_hu * asymmetry) * anatomy.brain
    intracranial = anatomy.depth > 0
    hu += np.where(
        intracranial,
        draw["beam_hardening_hu"] * np.exp(-anatomy.depth / config.beam_hardening_mm),
        0.0,
    ).astype(np.float32)
    confounders = []
    if rng.random() < config.leukoaraiosis_probability:
        hu -= float(rng.uniform(*config.leukoaraiosis_hu)) * anatomy.periventricular
        confounders.append("leukoaraiosis")
    if rng.random() < config.old_infarct_probability:
        weight, unit = _old_infarct(rng, anatomy, config)
        hu += weight * (draw["csf_hu"] + float(rng.uniform(0.0, 5.0)) - hu)
        confounders.append(f"old_infarct:{unit}")
    drop = draw["hu_drop"] * (t["gm"] + config.white_matter_drop_share * t["wm"])
    hu -= lesion * drop
    return hu, confounders


def _pose(draw: dict[str, Any], centre: tuple[float, float, float]) -> sitk.Euler3DTransform:
    """MNI -> scanner: pitch about L-R (x), roll about A-P (y), yaw about S-I (z), then shift."""
    pose = sitk.Euler3DTransform()
    pose.SetCenter(centre)
    pose.SetRotation(*(math.radians(draw[k]) for k in ("pitch_deg", "roll_deg", "yaw_deg")))
    pose.SetTranslation(draw["shift_mm"])
    return pose


def _scanner_grids(
    corners: np.ndarray, centre: np.ndarray, variety: dict[str, Any], config: PhantomConfig
) -> tuple[sitk.Image, sitk.Image]:
    """Thin and thick axial grids covering the posed head's ``corners`` (scanner points),
    the field of view on the head ``centre``, shortened by the drawn vertex and fossa cuts."""
    z0 = corners[:, 2].min() + variety["fossa_cut_mm"]
    z1 = corners[:, 2].max() - variety["vertex_cut_mm"]
    n_thick = math.ceil((z1 - z0) / config.slice_thickness_mm) + 1
    k = round(config.slice_thickness_mm / config.thin_slice_mm)
    pixel = config.fov_mm / config.matrix
    half = (config.matrix - 1) / 2 * pixel
    cx, cy = centre[0], centre[1]
    thick = sitk.Image([config.matrix, config.matrix, n_thick], sitk.sitkUInt8)
    thick.SetSpacing((pixel, pixel, config.slice_thickness_mm))
    thick.SetOrigin((cx - half, cy - half, float(z0)))
    thin = sitk.Image([config.matrix, config.matrix, n_thick * k], sitk.sitkUInt8)
    thin.SetSpacing((pixel, pixel, config.thin_slice_mm))
    first = z0 - (config.slice_thickness_mm - config.thin_slice_mm) / 2
    thin.SetOrigin((cx - half, cy - half, float(first)))
    return thin, thick


def _correlated_noise(
    rng: np.random.Generator, shape: tuple[int, ...], sigma_px: float
) -> np.ndarray:
    """In-plane low-pass filtered Gaussian noise with unit standard deviation (float32)."""
    white = rng.standard_normal(shape, dtype=np.float32)
    filtered = ndi.gaussian_filter(white, (0.0, sigma_px, sigma_px))
    impulse = np.zeros((1, 33, 33), dtype=np.float64)
    impulse[0, 16, 16] = 1.0
    gain = float(np.sqrt((ndi.gaussian_filter(impulse, (0.0, sigma_px, sigma_px)) ** 2).sum()))
    normalised: np.ndarray = filtered / gain
    return normalised


def _check(seed: int, config: PhantomConfig | None) -> PhantomConfig:
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    config = config or PhantomConfig()
    if not isinstance(config, PhantomConfig):
        raise TypeError(f"config must be a PhantomConfig, got {type(config).__name__}")
    return config


@dataclass(frozen=True)
class _Case:
    """The first, cheap stage of a phantom: drawn parameters, lesion and truth."""

    rng: np.random.Generator
    anatomy: _Anatomy
    variety: dict[str, Any]
    draw: dict[str, Any]
    side: str
    planned: dict[str, float]
    lesion: np.ndarray
    core: np.ndarray
    coverage: dict[str, float]
    truth: dict[str, int]


def _variety(seed: int, config: PhantomConfig) -> dict[str, Any]:
    """The drawn head and field-of-view variety, from a stream of its own: the defaults draw
    nothing, so the calibrated phantoms of a seed do not change."""
    rng = np.random.default_rng([int(seed), 1])
    u = rng.uniform
    anatomy = config.anatomy
    if anatomy == "mixed":
        anatomy = ANATOMIES[int(rng.random() * len(ANATOMIES))]
    return {
        "anatomy": anatomy,
        "head_scale": u(*config.head_scale),
        "skull_offset_mm": u(*config.skull_offset_mm),
        "scalp_offset_mm": u(*config.scalp_offset_mm),
        "atrophy_mm": u(*config.atrophy_mm),
        "vertex_cut_mm": u(*config.vertex_cut_mm),
        "fossa_cut_mm": u(*config.fossa_cut_mm),
        "origin_offset_mm": tuple(float(u(*config.origin_offset_mm)) for _ in range(3)),
        "headrest": bool(rng.random() < config.headrest_probability),
        "headrest_gap_mm": u(2.0, 10.0),
        "headrest_hu": u(-150.0, 100.0),
        "table_hu": u(100.0, 400.0),
    }


def _case(seed: int, config: PhantomConfig) -> _Case:
    rng = np.random.default_rng(seed)
    variety = _variety(seed, config)
    anatomy = _anatomy(variety["anatomy"])
    draw = _draw(rng, config)
    side, planned_regions = _plan_lesion(rng, config)
    lesion, planned = _lesion_weight(rng, anatomy, side, planned_regions, config)
    core = (lesion >= 0.5).ravel()
    coverage = {u: float(core[v].mean()) for u, v in anatomy.unit_voxels.items()}
    truth = {u: int(coverage[u] >= config.truth_min_coverage) for u in UNITS}
    return _Case(rng, anatomy, variety, draw, side, planned, lesion, core, coverage, truth)


def _shell(inside: np.ndarray, mm: float) -> np.ndarray:
    """Voxels outside ``inside`` within ``mm`` of it."""
    shell: np.ndarray = ~inside & (ndi.distance_transform_edt(~inside, sampling=SPACING_MM) <= mm)
    return shell


def _varied_tissue(anatomy: _Anatomy, variety: dict[str, Any]) -> _Anatomy:
    """The anatomy with the drawn skull and scalp thickness and atrophy (unchanged at 0 mm).

    Voxels a surface moves over change tissue entirely: gained skull from scalp, gained scalp
    from air, atrophied brain to CSF; the unit labels (and so the truth) stay those of the
    source anatomy.
    """
    skull_mm, scalp_mm = variety["skull_offset_mm"], variety["scalp_offset_mm"]
    atrophy_mm = variety["atrophy_mm"]
    if skull_mm == scalp_mm == atrophy_mm == 0.0:
        return anatomy
    t = {name: np.array(value) for name, value in anatomy.tissue.items()}
    intracranial = (t["gm"] + t["wm"] + t["csf"]) >= 0.5

    def move(voxels: np.ndarray, to: str | None) -> None:
        for name in t:
            if name != to:
                t[name][voxels] = 0.0
        if to is not None:
            t[to][voxels] = 1.0

    skull = (t["bone"] + t["diploe"]) >= 0.5
    if skull_mm > 0:
        move(_shell(skull, skull_mm) & ~intracranial & (t["scalp"] >= 0.5), "bone")
    elif skull_mm < 0:
        outer = _shell(~(skull | intracranial), -skull_mm) & skull
        move(outer & ~_shell(intracranial, 1.5), "scalp")
    head = sum(t.values(), start=np.zeros_like(t["gm"])) >= 0.5
    if scalp_mm > 0:
        move(_shell(head, scalp_mm), "scalp")
    elif scalp_mm < 0:
        move(_shell(~head, -scalp_mm) & (t["scalp"] >= 0.5), None)
    if atrophy_mm > 0:
        near_csf = _shell(t["csf"] >= 0.5, atrophy_mm) & intracranial
        move(near_csf, "csf")
    return replace(anatomy, tissue=t, brain=t["gm"] + t["wm"])


def _add_headrest(
    pixels: np.ndarray, grid: sitk.Image, centre: np.ndarray, variety: dict[str, Any]
) -> None:
    """A curved cradle behind the head (a gap of air, 6 mm of foam or plastic) on a 12 mm
    table, as on a supine head scan (posterior is +y in LPS)."""
    spacing = grid.GetSpacing()[0]
    body = pixels > -500.0
    ny, nx = pixels.shape[1:]
    y = grid.GetOrigin()[1] + spacing * np.arange(ny)[:, None]
    x = grid.GetOrigin()[0] + spacing * np.arange(nx)[None, :]
    dy, dx = y - centre[1], x - centre[0]
    radius = np.hypot(dx, dy)
    reach = float(radius[body.any(axis=0)].max()) if body.any() else 0.0
    inner = reach + variety["headrest_gap_mm"]
    cradle = (radius >= inner) & (radius <= inner + 6.0) & (dy > 0.5 * radius)
    table_y = centre[1] + inner + 10.0
    table = (y >= table_y) & (y <= table_y + 12.0) & np.ones_like(x, bool)
    pixels[:, cradle] = variety["headrest_hu"]
    pixels[:, table] = variety["table_hu"]


def phantom_truth(seed: int, config: PhantomConfig | None = None) -> dict[str, int]:
    """The unit truth :func:`generate_phantom` gives for ``seed``, without making the image.

    About ten times faster; for statistics of the case mix over many seeds.
    """
    return dict(_case(seed, _check(seed, config)).truth)


def _scaled(array: np.ndarray, anatomy: _Anatomy, scale: float) -> sitk.Image:
    """``array`` on the anatomy grid, the head scaled by ``scale`` about its centre."""
    image = sitk.GetImageFromArray(array)
    image.CopyInformation(anatomy.atlas)
    if scale != 1.0:
        centre = np.array(anatomy.centre)
        image.SetSpacing(tuple(scale * v for v in anatomy.atlas.GetSpacing()))
        image.SetOrigin(tuple(centre + scale * (np.array(anatomy.atlas.GetOrigin()) - centre)))
    return image


def generate_phantom(seed: int, config: PhantomConfig | None = None) -> Phantom:
    """One phantom; the same ``seed`` and ``config`` give the same phantom."""
    config = _check(seed, config)
    case = _case(seed, config)
    rng, draw, side, lesion, core = case.rng, case.draw, case.side, case.lesion, case.core
    planned, coverage, truth, variety = case.planned, case.coverage, case.truth, case.variety
    anatomy = _varied_tissue(case.anatomy, variety)
    hu, confounders = _compose_hu(rng, anatomy, draw, lesion, config)
    positives = [u for u in UNITS if truth[u]]

    offset = np.array(variety["origin_offset_mm"])
    draw = {**draw, "shift_mm": tuple(float(v) for v in np.add(draw["shift_mm"], offset))}
    pose = _pose(draw, anatomy.centre)
    to_template = pose.GetInverse()
    scale = variety["head_scale"]
    centre_mni = np.array(anatomy.centre)

    def to_scanner(point: Sequence[float]) -> np.ndarray:
        return np.array(
            pose.TransformPoint(tuple(centre_mni + scale * (np.array(point) - centre_mni)))
        )

    corners = np.array([to_scanner(c) for c in anatomy.head_corners])
    thin_grid, thick_grid = _scanner_grids(corners, centre_mni + offset, variety, config)
    hu_image = _scaled(hu, anatomy, scale)
    thin = sitk.GetArrayFromImage(
        sitk.Resample(hu_image, thin_grid, to_template, sitk.sitkLinear, AIR_HU, sitk.sitkFloat32)
    )
    centre = to_scanner(anatomy.centre)
    if variety["headrest"]:
        _add_headrest(thin, thin_grid, centre, variety)
    out_grid = thin_grid if config.thin else thick_grid
    k = round(config.slice_thickness_mm / config.thin_slice_mm)
    if config.thin:
        pixels = thin
        noise_sd = draw["noise_sd"] * math.sqrt(k)
    else:
        pixels = thin.reshape(-1, k, *thin.shape[1:]).mean(axis=1)
        noise_sd = draw["noise_sd"]
    pixels += noise_sd * _correlated_noise(rng, pixels.shape, config.noise_correlation_px)
    image = sitk.GetImageFromArray(pixels.astype(np.float32))
    image.CopyInformation(out_grid)

    lesion_out = sitk.Resample(
        _scaled(lesion, anatomy, scale), out_grid, to_template, sitk.sitkLinear, 0.0
    )
    lesion_mask = sitk.Cast(sitk.BinaryThreshold(lesion_out, 0.5, 2.0, 1, 0), sitk.sitkUInt8)
    regions = sitk.Resample(
        _scaled(sitk.GetArrayViewFromImage(anatomy.atlas), anatomy, scale),
        out_grid,
        to_template,
        sitk.sitkNearestNeighbor,
        0,
        sitk.sitkUInt8,
    )

    levels = {}
    for level, point in anatomy.level_points.items():
        scanner = out_grid.TransformPhysicalPointToContinuousIndex(tuple(to_scanner(point)))
        levels[level] = round(scanner[2])
    matrix = np.array(pose.GetMatrix()).reshape(3, 3)
    nx, ny, nz = (float(v) for v in matrix @ np.array([1.0, 0.0, 0.0]))

    lesion_ml = float(core.sum()) * SPACING_MM**3 / 1000.0
    infarct_side = side if lesion_ml > 0 else "none"
    x, y, z = (round(s, 3) for s in draw["shift_mm"])
    meta = PhantomMeta(
        seed=int(seed),
        side=infarct_side,
        n_positive_units=len(positives),
        aspects=aspects_score(positives, side),
        planned_units=";".join(sorted(planned)),
        lesion_volume_ml=round(lesion_ml, 3),
        hu_drop=round(draw["hu_drop"], 3) if lesion_ml > 0 else 0.0,
        noise_sd=round(draw["noise_sd"], 3),
        gm_hu=round(draw["gm_hu"], 2),
        wm_hu=round(draw["wm_hu"], 2),
        csf_hu=round(draw["csf_hu"], 2),
        bone_hu=round(draw["bone_hu"], 1),
        beam_hardening_hu=round(draw["beam_hardening_hu"], 2),
        vendor=draw["vendor"],
        yaw_deg=round(draw["yaw_deg"], 3),
        pitch_deg=round(draw["pitch_deg"], 3),
        roll_deg=round(draw["roll_deg"], 3),
        shift_mm=(x, y, z),
        tilt_deg=round(draw["tilt_deg"], 3),
        slice_thickness_mm=config.thin_slice_mm if config.thin else config.slice_thickness_mm,
        confounders=";".join(confounders),
        anatomy=variety["anatomy"],
        head_scale=round(scale, 4),
        skull_offset_mm=round(variety["skull_offset_mm"], 2),
        scalp_offset_mm=round(variety["scalp_offset_mm"], 2),
        atrophy_mm=round(variety["atrophy_mm"], 2),
        vertex_cut_mm=round(variety["vertex_cut_mm"], 1),
        fossa_cut_mm=round(variety["fossa_cut_mm"], 1),
        headrest=variety["headrest"],
    )
    return Phantom(
        image=image,
        lesion_mask=lesion_mask,
        regions=regions,
        truth=truth,
        meta=meta,
        pose=pose,
        levels=levels,
        midsagittal=((float(centre[0]), float(centre[1]), float(centre[2])), (nx, ny, nz)),
        unit_coverage=coverage,
    )
