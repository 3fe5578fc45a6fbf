"""Fixtures for the model tests: the committed anatomy and scans with a known pose."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import SimpleITK as sitk


@pytest.fixture(scope="session")
def anatomy() -> tuple[sitk.Image, sitk.Image, dict[str, int]]:
    """(CT template, atlas, LABELS) of :mod:`model.anatomy`."""
    from model.anatomy import LABELS, load_atlas, load_ct_template

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


@pytest.fixture
def use_test_method(monkeypatch, asymmetry_by_default):
    """A fresh asymmetry method (committed calibration) behind ``method="asymmetry"`` and the
    default ``auto``.

    Tests may patch the instance (e.g. to prove a cached case is not recomputed).
    """
    from model import infer

    method = infer.AsymmetryMethod()
    monkeypatch.setitem(infer.METHODS, "asymmetry", lambda **_: method)
    infer.clear_method_cache()
    yield method
    infer.clear_method_cache()


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
    """The plain helper functions above and :func:`model.evaluate.dice_per_label` (test modules
    cannot import conftest by name)."""
    from types import SimpleNamespace

    from model.evaluate import dice_per_label

    return SimpleNamespace(
        posed_scan=posed_scan, dice_per_label=dice_per_label, with_lesion=with_lesion
    )
