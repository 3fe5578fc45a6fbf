"""Fixtures for the model tests: the committed anatomy when present, else a stand-in.

The stand-in is built from the MNI152 2009a symmetric template and tissue maps that nilearn
ships offline: HU from the grey/white/CSF probabilities, a bone shell and scalp around the
brain mask, and a coarse 20-label map (deep nuclei boxes and cortical sectors at two levels).
It only needs to be anatomy-shaped: the registration tests warp it with a known pose and
check that it is recovered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import SimpleITK as sitk

from analysis.units import REGIONS, SIDES


def _nilearn_image(path: str) -> sitk.Image:
    """Read a nilearn NIfTI through SimpleITK so that world coordinates are LPS."""
    return sitk.Cast(sitk.ReadImage(path), sitk.sitkFloat32)


def _standin_anatomy() -> tuple[sitk.Image, sitk.Image, dict[str, int]]:
    from nilearn import datasets

    t1 = _nilearn_image(datasets.MNI152_FILE_PATH)
    gm = sitk.GetArrayFromImage(_nilearn_image(datasets.GM_MNI152_FILE_PATH))
    wm = sitk.GetArrayFromImage(_nilearn_image(datasets.WM_MNI152_FILE_PATH))
    gm, wm = gm / max(gm.max(), 1e-6), wm / max(wm.max(), 1e-6)
    t1a = sitk.GetArrayFromImage(t1)
    brain = (gm + wm > 0.2) | (t1a > 0.25 * t1a.max())
    brain_img = sitk.GetImageFromArray(brain.astype(np.uint8))
    brain_img.CopyInformation(t1)
    brain_img = sitk.BinaryFillhole(sitk.BinaryMorphologicalClosing(brain_img, [3, 3, 3]))
    brain = sitk.GetArrayFromImage(brain_img).astype(bool)
    csf = np.clip(1.0 - gm - wm, 0.0, 1.0)
    hu = np.full(brain.shape, -1000.0, np.float32)
    dist = sitk.GetArrayFromImage(
        sitk.SignedMaurerDistanceMap(brain_img, insideIsPositive=False, useImageSpacing=True)
    )
    hu[(dist > 0) & (dist <= 12)] = 40.0  # scalp
    hu[(dist > 1) & (dist <= 7)] = 900.0  # skull
    hu[brain] = (40 * gm + 25 * wm + 8 * csf)[brain]
    template = sitk.GetImageFromArray(hu)
    template.CopyInformation(t1)

    # Label map: index grids -> LPS world coordinates of every voxel.
    size = t1.GetSize()
    k, j, i = np.meshgrid(*(np.arange(n) for n in size[::-1]), indexing="ij")
    idx = np.stack([i, j, k], axis=-1).reshape(-1, 3).astype(float)
    origin = np.array(t1.GetOrigin())
    direction = np.array(t1.GetDirection()).reshape(3, 3)
    xyz = (idx * np.array(t1.GetSpacing())) @ direction.T + origin
    x, y, z = (xyz[:, n].reshape(brain.shape) for n in range(3))
    labels = np.zeros(brain.shape, np.uint8)
    codes: dict[str, int] = {}
    deep = {
        "C": (8, 18, -22, -8, 5, 20),
        "L": (16, 30, -10, 8, -4, 10),
        "IC": (12, 17, -8, 6, -2, 12),
        "I": (33, 40, -16, 8, -6, 12),
    }
    for s, side in enumerate(SIDES):
        sign = 1.0 if side == "left" else -1.0  # LPS: +x is the patient's left
        lateral = sign * x
        for r, region in enumerate(REGIONS):
            value = 1 + r + s * len(REGIONS)
            codes[f"{region}_{side}"] = value
            if region in deep:
                x0, x1, y0, y1, z0, z1 = deep[region]
                sel = (lateral >= x0) & (lateral < x1) & (-y >= y0) & (-y < y1)
                sel &= (z >= z0) & (z < z1) & brain
            else:
                n = int(region[1]) - 1
                z0, z1 = (-4, 14) if n < 3 else (22, 40)
                ant = -y  # RAS y: anterior positive
                bounds = [(15, 70), (-25, 15), (-90, -25)][n % 3]
                sel = (lateral >= 40) & (ant >= bounds[0]) & (ant < bounds[1])
                sel &= (z >= z0) & (z < z1) & (gm > 0.3)
            labels[sel & (labels == 0)] = value
    atlas = sitk.GetImageFromArray(labels)
    atlas.CopyInformation(t1)
    return template, atlas, codes


@pytest.fixture(scope="session")
def anatomy() -> tuple[sitk.Image, sitk.Image, dict[str, int]]:
    """(CT template, atlas, LABELS): the committed assets when present, else the stand-in."""
    try:
        from model.anatomy import LABELS, load_atlas, load_ct_template
    except ImportError:
        return _standin_anatomy()
    return load_ct_template(), load_atlas(), dict(LABELS)


@dataclass(frozen=True)
class PosedScan:
    """A scan made from the template with a known pose (stand-in for a phantom)."""

    image: sitk.Image
    regions: sitk.Image
    pose: sitk.Euler3DTransform
    """Maps template points to scan points."""


def posed_scan(
    template: sitk.Image,
    atlas: sitk.Image,
    *,
    yaw: float = 0.0,
    roll: float = 0.0,
    pitch: float = 0.0,
    shift: tuple[float, float, float] = (0.0, 0.0, 0.0),
    slice_mm: float = 5.0,
    noise_hu: float = 4.0,
    seed: int = 0,
) -> PosedScan:
    """Move the template by a rigid pose (degrees, mm) onto a 0.8 x 0.8 x ``slice_mm`` grid."""
    pose = sitk.Euler3DTransform()
    pose.SetCenter((0.0, -18.0, 10.0))
    pose.SetRotation(*(math.radians(a) for a in (pitch, roll, yaw)))
    pose.SetTranslation(shift)
    # The scan's field of view: the template's box with a 15 mm margin around it.
    spacing = (0.8, 0.8, slice_mm)
    extent = np.array(template.GetSize()) * np.array(template.GetSpacing()) + 30.0
    size = [math.ceil(e / s) for e, s in zip(extent, spacing, strict=True)]
    origin = tuple(float(o) - 15.0 for o in template.GetOrigin())
    grid = sitk.Image(size, sitk.sitkUInt8)
    grid.SetSpacing(spacing)
    grid.SetOrigin(origin)
    # Slice thickness: average over the slab by smoothing along z before sampling.
    thick = sitk.SmoothingRecursiveGaussian(template, [0.5, 0.5, slice_mm / 2.355])
    image = sitk.Resample(
        thick, grid, pose.GetInverse(), sitk.sitkLinear, -1000.0, sitk.sitkFloat32
    )
    arr = sitk.GetArrayFromImage(image)
    arr += np.random.default_rng(seed).normal(0.0, noise_hu, arr.shape).astype(np.float32)
    noisy = sitk.GetImageFromArray(arr)
    noisy.CopyInformation(image)
    regions = sitk.Resample(atlas, grid, pose.GetInverse(), sitk.sitkNearestNeighbor, 0)
    return PosedScan(noisy, regions, pose)


def standin_calibration(path):
    """A hand-set calibration (p = 0.5 at -4 HU) for tests that run before the fitted one."""
    from model.scoring import Calibration

    Calibration(-4.0, (-1.0, 0.0), 0.5, {"source": "hand-set test calibration"}).save(path)
    return path


@pytest.fixture(scope="session")
def asymmetry_method(anatomy, tmp_path_factory):
    """The asymmetry method on the test anatomy, with the committed calibration when present."""
    from model.infer import AsymmetryMethod
    from model.scoring import WEIGHTS_PATH

    path = WEIGHTS_PATH
    if not path.is_file():
        path = standin_calibration(tmp_path_factory.mktemp("weights") / "asymmetry.json")
    return AsymmetryMethod(path, anatomy)


@pytest.fixture
def use_test_method(asymmetry_method, monkeypatch):
    """Route ``predict(..., method="asymmetry")`` to the test anatomy's method."""
    from model import infer

    monkeypatch.setitem(infer.METHODS, "asymmetry", lambda: asymmetry_method)
    infer.get_method.cache_clear()
    yield asymmetry_method
    infer.get_method.cache_clear()


def dice_per_label(a: sitk.Image, b: sitk.Image, labels: dict[str, int]) -> dict[str, float]:
    """Dice of every label present in either map."""
    x, y = sitk.GetArrayViewFromImage(a), sitk.GetArrayViewFromImage(b)
    result = {}
    for unit, value in labels.items():
        p, q = x == value, y == value
        total = p.sum() + q.sum()
        if total:
            result[unit] = float(2 * (p & q).sum() / total)
    return result


def with_lesion(scan: PosedScan, units: list[str], labels: dict[str, int], drop: float):
    """A copy of ``scan.image`` with the given units ``drop`` HU darker."""
    arr = sitk.GetArrayFromImage(scan.image)
    regions = sitk.GetArrayViewFromImage(scan.regions)
    for unit in units:
        arr[regions == labels[unit]] -= drop
    image = sitk.GetImageFromArray(arr)
    image.CopyInformation(scan.image)
    return image


@pytest.fixture(scope="session")
def helpers():
    """The plain helper functions above (test modules cannot import conftest by name)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        posed_scan=posed_scan, dice_per_label=dice_per_label, with_lesion=with_lesion
    )
