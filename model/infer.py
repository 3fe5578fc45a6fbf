"""Inference entry point: one ``predict(scan, method=...)`` over interchangeable methods.

A method is any object with a ``name``, a ``version_hash`` (changes whenever its outputs may
change: weights, code, anatomy) and ``predict(scan) -> Prediction``. :data:`METHODS` maps
names to factories, so a method's heavy imports (torch for the dual-path network of the next
issue) happen only when that method is asked for; the asymmetry method never imports torch.
Add a method with :func:`register_method`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd
import SimpleITK as sitk

from model.register import Registration


@dataclass(frozen=True)
class Prediction:
    """The output of one method on one scan."""

    regions: pd.DataFrame
    """One row per ASPECTS unit (all 20): ``unit, probability, call``."""
    likelihood: sitk.Image
    """Lesion likelihood (0-1, Float32) on the scan grid."""
    aspects: dict[str, int]
    """ASPECTS of the ``left`` and ``right`` hemispheres."""
    method: str
    method_hash: str
    timings: dict[str, float]
    """Seconds per stage (``registration``, ``scoring``, ..., ``total``)."""
    registration: Registration | None


@runtime_checkable
class Method(Protocol):
    """What ``predict`` needs from a method."""

    name: str

    @property
    def version_hash(self) -> str: ...

    def predict(self, scan: sitk.Image) -> Prediction: ...


MODEL_DIR = Path(__file__).resolve().parent


def files_hash(paths: list[Path], *, salt: str = "") -> str:
    """Short SHA-256 over the bytes of ``paths`` (names included), for method version hashes."""
    digest = hashlib.sha256(salt.encode())
    for path in sorted(paths):
        digest.update(str(path.relative_to(MODEL_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class AsymmetryMethod:
    """Registration to the atlas, then unit-wise left-right density comparison."""

    name = "asymmetry"

    def __init__(self, calibration_path: Path | None = None) -> None:
        from model.scoring import WEIGHTS_PATH, Calibration

        self._calibration_path = Path(calibration_path or WEIGHTS_PATH)
        self.calibration = Calibration.load(self._calibration_path)

    @cached_property
    def version_hash(self) -> str:
        """Hash of the calibration, the registration and scoring code and the anatomy assets."""
        sources = [MODEL_DIR / "register.py", MODEL_DIR / "scoring.py"]
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
        )


METHODS: dict[str, Callable[[], Method]] = {"asymmetry": AsymmetryMethod}
"""Method name -> factory; factories import their dependencies when called."""


def register_method(name: str, factory: Callable[[], Method]) -> None:
    """Make ``factory`` available as ``predict(..., method=name)``."""
    if not name or not name.isidentifier():
        raise ValueError(f"method names are identifiers, got {name!r}")
    METHODS[name] = factory
    get_method.cache_clear()


@cache
def get_method(name: str) -> Method:
    """The (cached) method instance called ``name``."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; available: {', '.join(sorted(METHODS))}")
    return METHODS[name]()


def predict(scan: sitk.Image, method: str = "asymmetry") -> Prediction:
    """Run ``method`` on ``scan`` (HU, LPS; an Int16 scan is read as Float32, as methods expect)."""
    if not isinstance(scan, sitk.Image):
        raise TypeError(f"scan must be a SimpleITK.Image, got {type(scan).__name__}")
    if scan.GetPixelID() != sitk.sitkFloat32:
        scan = sitk.Cast(scan, sitk.sitkFloat32)
    return get_method(method).predict(scan)
