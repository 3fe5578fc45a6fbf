"""The paper's pipeline as a method: registration, preprocessing, mirror assembly, the dual-path
network and the ASPECTS scoring module (Chen et al. 2022, "DL model development").

``DualPathMethod`` implements :class:`model.infer.Method`. A weights folder (the shipped
``model/weights/dualpath-lite/`` or a site's own, written by :func:`model.train.train`) holds
``weights.pt``, ``model.json`` (network and preprocessing configuration, training summary,
metrics, sha256 of ``weights.pt``) and ``thresholds.json`` (per-unit overlap thresholds,
:mod:`model.overlap_scoring`). The network is rebuilt from ``model.json``
(:func:`model.train.load_trained`) and runs where ``device`` says: ``auto`` takes CUDA when
torch sees a GPU, else the CPU (inference mode, fp32, all cores; CUDA with mixed precision,
:func:`model.train.segment_volume`). Each slice's probability is averaged with that of the
left-right flipped slice (test-time mirroring, as nnU-Net predicts).

Making the method reads the folder's description and thresholds; torch is imported, the
device resolved and the network loaded when it first segments, so that ``model.infer`` can list
the method, and the app name its version hash, without paying for torch.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import SimpleITK as sitk

from model.errors import CalibrationError, MethodError
from model.infer import MODEL_DIR, Prediction, files_hash
from model.overlap_scoring import THRESHOLDS_FILE, UnitThresholds, fit_thresholds, unit_overlap
from model.register import Registration
from model.weights_folder import CARD_FILE, WEIGHTS_FILE, read_card

if TYPE_CHECKING:
    from model.evaluate import LabelledCase
    from model.network import DualPathNet, NetworkConfig
    from model.preprocess import PreprocessConfig
    from model.train import DataFolders

WEIGHTS_DIR = MODEL_DIR / "weights" / "dualpath-lite"
"""The shipped weights (a ``lite`` network trained on phantoms)."""

REQUIRED_FILES = (CARD_FILE, WEIGHTS_FILE, THRESHOLDS_FILE)

CODE_SOURCES = (
    "register",
    "clipped_air",
    "preprocess",
    "mirror",
    "network",
    "train",
    "overlap_scoring",
    "dualpath",
)
"""The modules of ``model/`` whose code decides this method's outputs."""

STAGES = ("registration", "preprocess", "mirror", "network", "scoring")
"""Timed stages of :meth:`DualPathMethod.predict` (``total`` is their sum plus overhead)."""


def weights_complete(folder: Path | str | None = None) -> bool:
    """Whether ``folder`` (default: the shipped one) holds every file the method needs."""
    folder = Path(folder or WEIGHTS_DIR)
    return all((folder / name).is_file() for name in REQUIRED_FILES)


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; a device torch cannot use is a
    :class:`MethodError` saying what to pass instead."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise MethodError(
                f"device {device!r}: torch sees no CUDA GPU here; use --device cpu (or auto)"
            )
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise MethodError(
                f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) here"
            )
    if device == "mps" and not torch.backends.mps.is_available():
        raise MethodError("device 'mps': torch sees no Apple GPU here; use --device cpu (or auto)")
    return device


def _checked_folder(weights: Path | str | None) -> Path:
    folder = Path(weights or WEIGHTS_DIR)
    if folder.is_file() and folder.name == WEIGHTS_FILE:
        folder = folder.parent  # a site may point at the checkpoint itself
    if not folder.is_dir():
        raise MethodError(
            f"method 'dualpath': weights folder {folder} does not exist (train one with "
            "`readerstudy model train`, or use --method asymmetry)"
        )
    missing = [name for name in (CARD_FILE, WEIGHTS_FILE) if not (folder / name).is_file()]
    if missing:
        raise MethodError(
            f"method 'dualpath': weights folder {folder} lacks {', '.join(missing)} "
            "(a folder written by `readerstudy model train` holds both)"
        )
    return folder


class DualPathMethod:
    """Dual-path network segmentation scored by overlap with the registered atlas.

    ``weights`` is a weights folder (default :data:`WEIGHTS_DIR`). Without
    ``thresholds.json`` the method can segment and measure overlaps (for
    :func:`calibrate_thresholds`) but refuses to predict unless ``require_thresholds`` is off.
    The network sees the slices the warped atlas covers (and the recipe's margin), the slices
    it was trained on; elsewhere the lesion probability is 0. The device is resolved and the
    network loaded (importing torch) on first use, so that its errors come then.
    """

    name = "dualpath"

    def __init__(
        self,
        weights: Path | str | None = None,
        *,
        device: str = "auto",
        require_thresholds: bool = True,
    ) -> None:
        self.folder = _checked_folder(weights)
        thresholds = self.folder / THRESHOLDS_FILE
        if require_thresholds and not thresholds.is_file():
            raise MethodError(
                f"method 'dualpath': weights folder {self.folder} has no {THRESHOLDS_FILE} "
                f"(write it with `readerstudy model calibrate --weights {self.folder} --data DIR`)"
            )
        self.description = read_card(self.folder)  # also checks weights.pt against its sha256
        self.thresholds = UnitThresholds.load(thresholds) if thresholds.is_file() else None
        self.requested_device = device
        self.slice_margin = int(
            self.description.get("training", {}).get("recipe", {}).get("slice_margin", 1)
        )

    @cached_property
    def device(self) -> str:
        """Where the network runs: the requested device with ``auto`` resolved (asks torch)."""
        return resolve_device(self.requested_device)

    @cached_property
    def _trained(self) -> tuple[DualPathNet, NetworkConfig, PreprocessConfig]:
        from model.train import load_trained

        try:
            return load_trained(self.folder, self.device)
        except (OSError, RuntimeError, KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, MethodError):
                raise
            # torch reports an unreadable checkpoint as RuntimeError, pickle errors and all.
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MethodError(
                f"method 'dualpath': cannot load the network from {self.folder}: {detail}"
            ) from exc

    def load(self) -> None:
        """Resolve the device and load the network now (importing torch), as the first
        prediction would."""
        self._trained  # noqa: B018  # the cached property loads on access

    @property
    def network(self) -> DualPathNet:
        """The trained network on :attr:`device`, loaded on first use."""
        return self._trained[0]

    @property
    def network_config(self) -> NetworkConfig:
        return self._trained[1]

    @property
    def preprocess_config(self) -> PreprocessConfig:
        return self._trained[2]

    @property
    def weights_sha256(self) -> str:
        """Full sha256 of ``weights.pt`` (checked against ``model.json`` when loaded)."""
        return str(self.description["sha256"])

    @cached_property
    def version_hash(self) -> str:
        """Hash of the weights, their description and thresholds, this method's code and the
        anatomy assets (the device is not part of it: CPU and CUDA agree within tolerance)."""
        sources = [MODEL_DIR / f"{name}.py" for name in CODE_SOURCES]
        anatomy = sorted((MODEL_DIR / "anatomy").rglob("*"))
        assets = [p for p in anatomy if p.is_file() and "__pycache__" not in p.parts]
        code = files_hash(sources + assets, salt=self.name)
        digest = hashlib.sha256((code + self.weights_sha256).encode())
        for name in (CARD_FILE, THRESHOLDS_FILE):
            path = self.folder / name
            digest.update(path.read_bytes() if path.is_file() else b"")
        return digest.hexdigest()[:16]

    @property
    def model_info(self) -> dict[str, Any]:
        """What the prediction JSON records about the network."""
        return {
            "weights_sha256": self.weights_sha256,
            "weights": str(self.folder),
            "config": self.network_config.name,
        }

    def segment(
        self, scan: sitk.Image, registration: Registration
    ) -> tuple[np.ndarray, dict[str, float]]:
        """Lesion probability (z, y, x float32 in [0, 1]) on the scan grid, and stage seconds."""
        from model.mirror import mirror_assemble
        from model.preprocess import preprocess_slices
        from model.train import aspects_slices, segment_volume

        start = time.perf_counter()
        preprocessed = preprocess_slices(sitk.GetArrayFromImage(scan), self.preprocess_config)
        preprocessed_at = time.perf_counter()
        # The whole volume is mirrored (a tilted plane mixes slices); the network sees the
        # ASPECTS slices.
        chosen = aspects_slices(sitk.GetArrayViewFromImage(registration.atlas), self.slice_margin)
        stacked = mirror_assemble(scan, preprocessed, registration.midsagittal)[chosen]
        mirrored_at = time.perf_counter()
        probability = np.zeros(preprocessed.shape, np.float32)
        if chosen.size:
            segmented = segment_volume(self.network, stacked, self.device)
            probability[chosen] = np.clip(segmented, 0.0, 1.0)
        end = time.perf_counter()
        return probability, {
            "preprocess": preprocessed_at - start,
            "mirror": mirrored_at - preprocessed_at,
            "network": end - mirrored_at,
        }

    def overlaps(self, scan: sitk.Image, registration: Registration) -> pd.DataFrame:
        """``unit, overlap, n_voxels`` of the network's segmentation with the warped atlas."""
        from model.anatomy import LABELS

        probability, _ = self.segment(scan, registration)
        return unit_overlap(probability, sitk.GetArrayViewFromImage(registration.atlas), LABELS)

    def predict_registered(
        self,
        scan: sitk.Image,
        registration: Registration,
        timings: Mapping[str, float] | None = None,
    ) -> Prediction:
        """The prediction for ``scan`` given its registration (shared with another method in
        an evaluation); ``timings`` are earlier stages to report."""
        from model.anatomy import LABELS
        from model.overlap_scoring import score_overlap

        if self.thresholds is None:
            raise MethodError(f"method 'dualpath': {self.folder} has no {THRESHOLDS_FILE}")
        start = time.perf_counter()
        probability, stages = self.segment(scan, registration)
        scoring_at = time.perf_counter()
        scored, aspects = score_overlap(
            probability, sitk.GetArrayViewFromImage(registration.atlas), LABELS, self.thresholds
        )
        likelihood = sitk.GetImageFromArray(probability)
        likelihood.CopyInformation(scan)
        end = time.perf_counter()
        timings = {**dict(timings or {}), **stages, "scoring": end - scoring_at}
        timings["total"] = timings.get("registration", 0.0) + (end - start)
        return Prediction(
            regions=scored,
            likelihood=likelihood,
            aspects=aspects,
            method=self.name,
            method_hash=self.version_hash,
            timings=timings,
            registration=registration,
            warnings=tuple(registration.warnings),
            device=self.device,
            model=self.model_info,
        )

    def predict(self, scan: sitk.Image) -> Prediction:
        from model.register import register_to_scan

        self.load()  # a missing GPU or an unloadable network fails before the registration
        start = time.perf_counter()
        registration = register_to_scan(scan)
        return self.predict_registered(
            scan, registration, {"registration": time.perf_counter() - start}
        )


def validation_cases(
    data: DataFolders,
    names: Iterable[str],
    load_image: Callable[[Path], sitk.Image] | None = None,
) -> Iterator[LabelledCase]:
    """The cases ``names`` of training folder(s) ``data`` (named as :func:`model.train.train`
    names them) with their ``truth.csv`` units, for :func:`calibrate_thresholds`."""
    from model.evaluate import LabelledCase
    from model.train import _read_truth, find_cases, read_image

    load_image = load_image or read_image
    paths, truth = find_cases(data), _read_truth(data)
    names = list(names)
    lacking = [name for name in names if name not in truth]
    if lacking:
        raise CalibrationError(
            f"the thresholds need unit truth (truth.csv: case, unit, truth) for the validation "
            f"cases; none for {', '.join(lacking[:5])}{' ...' if len(lacking) > 5 else ''}"
        )
    for name in names:
        image_path, mask_path = paths[name]
        scan = sitk.Cast(load_image(image_path), sitk.sitkFloat32)
        mask = sitk.Resample(
            sitk.ReadImage(str(mask_path)), scan, sitk.Transform(), sitk.sitkNearestNeighbor, 0
        )
        lesion = (sitk.GetArrayFromImage(mask) > 0).astype(np.uint8)
        yield LabelledCase(name, scan, lesion, truth[name])


def calibrate_thresholds(
    weights: Path | str,
    cases: Iterable[LabelledCase],
    *,
    device: str = "auto",
    progress: Callable[[str], None] | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> UnitThresholds:
    """Fit per-unit thresholds on validation ``cases`` (their scans and unit truth) and write
    ``thresholds.json`` into the weights folder (region-level ROC,
    :func:`model.overlap_scoring.fit_thresholds`).

    A case whose registration fails is skipped and named in the provenance.
    """
    from model.errors import RegistrationError
    from model.register import register_to_scan

    method = DualPathMethod(weights, device=device, require_thresholds=False)
    tables, skipped = [], {}
    for item in cases:
        try:
            registration = register_to_scan(item.scan)
        except RegistrationError as exc:
            skipped[item.case] = str(exc)
            continue
        table = method.overlaps(item.scan, registration)
        table.insert(0, "case", item.case)
        table["truth"] = table["unit"].map(item.truth)
        if table["truth"].isna().any():
            raise CalibrationError(f"validation case {item.case} lacks truth for some units")
        tables.append(table.rename(columns={"overlap": "probability"}))
        if progress is not None:
            progress(item.case)
    if not tables:
        raise CalibrationError("no validation case could be registered; no thresholds fitted")
    units = pd.concat(tables, ignore_index=True)
    units["truth"] = units["truth"].astype(int)
    thresholds = fit_thresholds(
        units,
        provenance={
            "validation_cases": [str(c) for c in units["case"].unique()],
            "skipped_cases": skipped,
            "weights_sha256": method.weights_sha256,
            **dict(provenance or {}),
        },
    )
    thresholds.save(method.folder / THRESHOLDS_FILE)
    return thresholds
