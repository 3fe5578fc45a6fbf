"""Inference entry point: one ``predict(scan, method=...)`` over interchangeable methods.

A method is any object with a ``name``, a ``version_hash`` (changes whenever its outputs may
change: weights, code, anatomy) and ``predict(scan) -> Prediction``. :data:`METHODS` maps
names to factories called as ``factory(device=..., weights=...)``, so a method's heavy
imports happen only when that method is asked for (:mod:`model.dualpath`) or when it first
predicts (torch, for the dual-path network); the asymmetry method never imports torch. Add a
method with :func:`register_method`. The method name ``auto`` stands for :func:`default_method`: the
dual-path network when its weights are present, else the asymmetry method. Callers outside
``model/`` use :func:`predict` (and :func:`get_method` for a method's version hash), never a
method's internals.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
import SimpleITK as sitk

from analysis.units import SIDES, UNITS, aspects_score
from model.clipped_air import restore_clipped_air
from model.errors import MethodError, ScanError
from model.register import Registration, check_scan

MIN_VOXELS_PER_AXIS = 4
"""Fewer voxels along an axis than image filters (smoothing, resampling) need: no volume."""

GRID_TOLERANCE = 1e-3
"""How close "on the scan grid" is: a fraction of a voxel, or of a direction cosine."""


def _bad_units(regions: pd.DataFrame, mask: pd.Series) -> str:
    return ", ".join(regions.loc[mask, "unit"].astype(str).head(5))


def _checked_regions(regions: pd.DataFrame, where: str) -> pd.DataFrame:
    """``regions`` in :data:`UNITS` order with integer calls, or a MethodError saying why not."""
    if not isinstance(regions, pd.DataFrame) or list(regions.columns) != [
        "unit",
        "probability",
        "call",
    ]:
        columns = list(getattr(regions, "columns", []))
        raise MethodError(f"{where} regions columns {columns}, not [unit, probability, call]")
    units = regions["unit"].astype(str).tolist()
    if sorted(units) != sorted(UNITS):
        missing = sorted(set(UNITS) - set(units))
        extra = sorted({u for u in units if u not in UNITS or units.count(u) > 1})
        raise MethodError(
            f"{where} {len(units)} unit rows, not the 20 ASPECTS units once each "
            f"(missing: {', '.join(missing) or 'none'}; unknown or repeated: "
            f"{', '.join(extra) or 'none'})"
        )
    outside = ~pd.to_numeric(regions["probability"], errors="coerce").between(0.0, 1.0)
    if outside.any():
        raise MethodError(
            f"{where} probabilities outside [0, 1] (or not numbers) for "
            f"{_bad_units(regions, outside)}"
        )
    not_binary = ~regions["call"].isin([0, 1])
    if not_binary.any():
        raise MethodError(f"{where} calls other than 0 or 1 for {_bad_units(regions, not_binary)}")
    ordered = regions.set_index("unit").loc[list(UNITS)].reset_index()
    ordered["call"] = ordered["call"].astype(int)
    return ordered


def _check_likelihood(image: sitk.Image, where: str) -> None:
    if not isinstance(image, sitk.Image) or image.GetDimension() != 3:
        raise MethodError(f"{where} a likelihood that is not a 3-D SimpleITK image")
    if image.GetPixelID() != sitk.sitkFloat32:
        raise MethodError(
            f"{where} a {image.GetPixelIDTypeAsString()} likelihood, not 32-bit float"
        )
    extrema = sitk.MinimumMaximumImageFilter()
    extrema.Execute(image)
    if not 0.0 <= extrema.GetMinimum() <= extrema.GetMaximum() <= 1.0:
        raise MethodError(
            f"{where} likelihood values {extrema.GetMinimum():g}..{extrema.GetMaximum():g}, "
            "not within [0, 1]"
        )


@dataclass(frozen=True)
class Prediction:
    """The output of one method on one scan, checked when it is made.

    Construction raises :class:`~model.errors.MethodError` naming what is wrong: not every one
    of the 20 units exactly once, a probability outside [0, 1], a call other than 0/1, ASPECTS
    that disagree with the calls, a likelihood that is not a 3-D Float32 image in [0, 1].
    :func:`predict` also checks that the likelihood (and the registration's atlas) lie on the
    scan grid.
    """

    regions: pd.DataFrame
    """One row per ASPECTS unit (all 20, in :data:`analysis.units.UNITS` order):
    ``unit, probability, call``."""
    likelihood: sitk.Image
    """Lesion likelihood (0-1, Float32) on the scan grid."""
    aspects: dict[str, int]
    """ASPECTS of the ``left`` and ``right`` hemispheres (10 minus the called regions)."""
    method: str
    method_hash: str
    timings: dict[str, float]
    """Seconds per stage (``registration``, ``scoring``, ..., ``total``)."""
    registration: Registration | None
    warnings: tuple[str, ...] = ()
    """What the model changed or doubted about the input (e.g. air restored below 0 HU)."""
    device: str = "cpu"
    """Where the method ran (``cpu``, ``cuda``, ``cuda:1``, ...)."""
    model: dict[str, Any] = field(default_factory=dict)
    """What produced the prediction beyond the version hash (e.g. ``weights_sha256``,
    ``config``, ``weights`` folder); recorded in the case's JSON."""

    def __post_init__(self) -> None:
        where = f"method {self.method!r} returned a prediction with"
        object.__setattr__(self, "regions", _checked_regions(self.regions, where))
        positive = self.regions.loc[self.regions["call"] == 1, "unit"].tolist()
        expected = {side: aspects_score(positive, side) for side in SIDES}
        if dict(self.aspects) != expected:
            raise MethodError(
                f"{where} ASPECTS {dict(self.aspects)}, but its calls give {expected}"
            )
        _check_likelihood(self.likelihood, where)
        if not self.method or not self.method_hash:
            raise MethodError(f"{where} an empty method name or version hash")
        if self.registration is not None and not isinstance(self.registration, Registration):
            raise MethodError(f"{where} a registration of type {type(self.registration).__name__}")
        if not isinstance(self.device, str) or not DEVICES.fullmatch(self.device):
            raise MethodError(f"{where} device {self.device!r}, not cpu, cuda, cuda:N or mps")
        if self.device == "auto":
            raise MethodError(f"{where} device 'auto'; a prediction names where it ran")

    def check_grid(self, scan: sitk.Image) -> None:
        """Raise :class:`~model.errors.MethodError` unless the maps lie on ``scan``'s grid."""
        maps = {"likelihood": self.likelihood}
        if self.registration is not None:
            maps["atlas"] = self.registration.atlas
        for name, image in maps.items():
            problem = grid_mismatch(image, scan)
            if problem:
                raise MethodError(
                    f"method {self.method!r} returned a {name} off the scan grid: {problem}"
                )


def grid_mismatch(image: sitk.Image, reference: sitk.Image) -> str:
    """How ``image``'s voxel grid differs from ``reference``'s ('' when they match).

    Spacing and origin may differ by ``GRID_TOLERANCE`` of the smallest voxel spacing, the
    direction cosines by ``GRID_TOLERANCE``.
    """
    if image.GetSize() != reference.GetSize():
        return f"size {image.GetSize()}, scan {reference.GetSize()}"
    mm = GRID_TOLERANCE * min(reference.GetSpacing())
    for what, tolerance in (("Spacing", mm), ("Origin", mm), ("Direction", GRID_TOLERANCE)):
        a, b = getattr(image, f"Get{what}")(), getattr(reference, f"Get{what}")()
        if not np.allclose(a, b, rtol=0.0, atol=tolerance):
            rounded = (tuple(round(v, 4) for v in x) for x in (a, b))
            return f"{what.lower()} {next(rounded)}, scan {next(rounded)}"
    return ""


@runtime_checkable
class Method(Protocol):
    """What ``predict`` needs from a method."""

    name: str

    @property
    def version_hash(self) -> str: ...

    def predict(self, scan: sitk.Image) -> Prediction: ...


@runtime_checkable
class LoadsOnFirstUse(Protocol):
    """A method that loads part of itself when it first predicts; ``load()`` does it now."""

    def load(self) -> None: ...


MODEL_DIR = Path(__file__).resolve().parent


def files_hash(paths: list[Path], *, salt: str = "") -> str:
    """Short SHA-256 over the bytes of ``paths`` (names included), for method version hashes."""
    digest = hashlib.sha256(salt.encode())
    for path in sorted(paths):
        digest.update(str(path.relative_to(MODEL_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


DEVICES = re.compile(r"auto|cpu|cuda(:\d+)?|mps")
"""Device names a method accepts (``auto``: the method's best available choice)."""


MODEL_SOURCES = ("register", "brain", "scoring", "clipped_air")
"""The modules of ``model/`` whose code decides the asymmetry method's outputs."""


class AsymmetryMethod:
    """Registration to the atlas, then unit-wise left-right density comparison.

    ``weights`` is the calibration file (default ``model/weights/asymmetry.json``); it runs on
    the CPU whatever ``device`` says.
    """

    name = "asymmetry"

    def __init__(self, weights: Path | str | None = None, *, device: str = "auto") -> None:
        from model.scoring import WEIGHTS_PATH, Calibration

        self._calibration_path = Path(weights or WEIGHTS_PATH)
        self.calibration = Calibration.load(self._calibration_path)

    @cached_property
    def version_hash(self) -> str:
        """Hash of the calibration, the registration, scoring and input-repair code and the
        anatomy assets."""
        sources = [MODEL_DIR / f"{name}.py" for name in MODEL_SOURCES]
        anatomy = sorted((MODEL_DIR / "anatomy").rglob("*"))
        assets = [p for p in anatomy if p.is_file() and "__pycache__" not in p.parts]
        digest = files_hash(sources + assets, salt=self.name)
        calibration = hashlib.sha256(self._calibration_path.read_bytes()).hexdigest()
        return hashlib.sha256((digest + calibration).encode()).hexdigest()[:16]

    def predict(self, scan: sitk.Image) -> Prediction:
        from model.anatomy import LABELS
        from model.register import register_to_scan
        from model.scoring import hemisphere_aspects, likelihood_map, score_units, unit_features

        start = time.perf_counter()
        registration = register_to_scan(scan)
        registered = time.perf_counter()
        scored = score_units(unit_features(scan, registration.atlas, LABELS), self.calibration)
        scored_at = time.perf_counter()
        likelihood = likelihood_map(scan, registration.midsagittal, self.calibration)
        end = time.perf_counter()
        return Prediction(
            regions=scored[["unit", "probability", "call"]].reset_index(drop=True),
            likelihood=likelihood,
            aspects=hemisphere_aspects(scored),
            method=self.name,
            method_hash=self.version_hash,
            timings={
                "registration": registered - start,
                "scoring": scored_at - registered,
                "likelihood": end - scored_at,
                "total": end - start,
            },
            registration=registration,
            warnings=tuple(getattr(registration, "warnings", ())),
            model={
                "calibration_sha256": hashlib.sha256(
                    self._calibration_path.read_bytes()
                ).hexdigest(),
                "weights": str(self._calibration_path),
            },
        )


MethodFactory = Callable[..., Method]
"""Called as ``factory(device=..., weights=...)``; imports the method's dependencies."""


def _dualpath(*, device: str = "auto", weights: Path | None = None) -> Method:
    from model.dualpath import DualPathMethod  # torch is imported when it first predicts

    return DualPathMethod(weights, device=device)


METHODS: dict[str, MethodFactory] = {"asymmetry": AsymmetryMethod, "dualpath": _dualpath}
"""Method name -> factory; factories import their dependencies when called."""

AUTO = "auto"
"""The method name that stands for :func:`default_method`."""


def default_method(weights: Path | str | None = None) -> str:
    """``dualpath`` when its weights are present, else ``asymmetry`` (the fallback).

    With ``weights``: ``dualpath`` for a folder (or a ``.pt`` checkpoint), ``asymmetry`` for a
    calibration file. Without: ``dualpath`` when the shipped ``model/weights/dualpath-lite/``
    is complete.
    """
    from model.dualpath import weights_complete

    if weights is not None:
        path = Path(weights)
        return "dualpath" if path.is_dir() or path.suffix == ".pt" else "asymmetry"
    return "dualpath" if weights_complete() else "asymmetry"


def resolve_method(name: str, weights: Path | str | None = None) -> str:
    """``name``, or :func:`default_method` for :data:`AUTO`."""
    return default_method(weights) if name == AUTO else name


def register_method(name: str, factory: MethodFactory) -> None:
    """Make ``factory`` available as ``predict(..., method=name)``."""
    if not name or not name.isidentifier():
        raise ValueError(f"method names are identifiers, got {name!r}")
    METHODS[name] = factory
    clear_method_cache()


@cache
def _instance(name: str, device: str, weights: Path | None) -> Method:
    if name not in METHODS:
        raise MethodError(f"unknown method {name!r}; available: {', '.join(sorted(METHODS))}")
    if not isinstance(device, str) or not DEVICES.fullmatch(device):
        raise MethodError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps")
    if weights is not None and not weights.exists():
        raise MethodError(f"method {name!r}: weights file or folder {weights} does not exist")
    return METHODS[name](device=device, weights=weights)


def get_method(
    name: str,
    *,
    device: str = "auto",
    weights: Path | str | None = None,
    ready: bool = False,
) -> Method:
    """The (cached) instance of method ``name`` (``auto``: :func:`default_method`) on
    ``device`` with ``weights`` (the method's default weights when None). With ``ready``, what
    the method would load on its first prediction (:class:`LoadsOnFirstUse`: the dual-path
    network, torch and the device) is loaded now.

    Raises :class:`~model.errors.MethodError` for an unknown name or device or a missing
    weights file, and the method's own :class:`~model.errors.ModelError` when its weights are
    unusable (or, for a method that loads on first use, its device or network cannot be had:
    with ``ready`` here, else on the first prediction).
    """
    name = resolve_method(name, weights)
    method = _instance(name, device, None if weights is None else Path(weights).absolute())
    if ready and isinstance(method, LoadsOnFirstUse):
        method.load()
    return method


def clear_method_cache() -> None:
    """Forget the cached method instances (after changing :data:`METHODS`, in tests)."""
    _instance.cache_clear()


def predict(
    scan: sitk.Image,
    method: str = "asymmetry",
    *,
    device: str = "auto",
    weights: Path | str | None = None,
) -> Prediction:
    """Run ``method`` on ``scan`` (HU, LPS; an Int16 scan is read as Float32, as methods expect).

    A scan with HU clipped at 0 gets its air back first
    (:func:`model.clipped_air.restore_clipped_air`; the prediction's ``warnings`` say so).
    Every failure a caller should show is a :class:`~model.errors.ModelError`.
    """
    check_scan(scan)
    if min(scan.GetSize()) < MIN_VOXELS_PER_AXIS:
        raise ScanError(
            f"the scan has {scan.GetSize()} voxels (x, y, z); a head CT volume needs at least "
            f"{MIN_VOXELS_PER_AXIS} along each axis"
        )
    runner = get_method(method, device=device, weights=weights)
    method = runner.name
    if scan.GetPixelID() != sitk.sitkFloat32:
        scan = sitk.Cast(scan, sitk.sitkFloat32)
    scan, restored = restore_clipped_air(scan)
    try:
        prediction = runner.predict(scan)
    except RuntimeError as exc:
        # SimpleITK reports what its filters cannot do with a volume as RuntimeError: one line
        # for the coordinator (and a batch goes on); the chained traceback stays for --debug.
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise MethodError(f"method {method!r} failed on this scan: {detail}") from exc
    if not isinstance(prediction, Prediction):
        raise MethodError(
            f"method {method!r} returned a {type(prediction).__name__}, not a Prediction"
        )
    prediction.check_grid(scan)
    if restored:
        prediction = replace(prediction, warnings=(restored, *prediction.warnings))
    return prediction
