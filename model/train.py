"""Training, weights folders and slice inference of the dual-path network (:mod:`model.network`).

The recipe is the seed paper's (Chen et al. 2022, "DL model development"): slice-wise
segmentation; cross-entropy plus Dice loss; stochastic gradient descent with momentum; a
stepped power-decaying learning rate from 0.002; at most 100 epochs, stopped when the loss of
the internal validation set stops falling.

Data. A training folder holds one case per image and ``masks/<case>.nii.gz`` (the acute
lesion, 0/1), the layout ``readerstudy phantom generate`` writes: an image is ``<case>/`` (a
DICOM series or one NIfTI file inside) or ``<case>.nii[.gz]``; an optional ``truth.csv``
(``case, unit, truth``) adds region-level figures to the validation metrics. Every case goes
through the inference path: registration (:func:`model.register.register_to_scan`, for the
mid-sagittal plane and the atlas), :func:`model.preprocess.preprocess_slices`,
:func:`model.mirror.mirror_assemble` and :func:`resize_slices` to the network's input. Only the
slices the warped atlas covers (:func:`aspects_slices`) are used, where ASPECTS is scored.
Prepared cases are cached (``cache/`` in the output folder, keyed by content and settings), so
a resumed or repeated run does not register again.

Sampling. Lesion slices are a minority (about one in five on phantoms), so every epoch draws
``samples_per_epoch`` slices of which ``lesion_fraction`` carry a lesion; a random left-right
flip of all three channels and the target (a flipped triple is the triple of the flipped head)
doubles the data. Cases are split into training and validation once, by seed, stratified by
lesion presence.

Output folder: ``checkpoint.pt`` (resumable: weights, optimiser, epoch, history, sampler
state by epoch), then ``weights.pt`` (the best validation epoch's ``state_dict``) and
``model.json`` (schema ``readerstudy.dualpath/1``: network and preprocessing configs, the
recipe, the training data summary, validation metrics, the sha256 of ``weights.pt``).
:func:`load_trained` rebuilds the network from that folder; :func:`segment_volume` runs it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
import SimpleITK as sitk
import torch
import torch.nn.functional as F

from analysis.files import file_sha256
from model.errors import MethodError, ModelError
from model.network import DualPathNet, NetworkConfig, build_network, positive_int
from model.nifti import NIFTI_SUFFIXES, folder_nifti, is_nifti, nifti_stem
from model.preprocess import PreprocessConfig
from model.register import MidsagittalPlane
from model.weights_folder import CARD_FILE, SCHEMA, WEIGHTS_FILE, read_card

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.pt"

Progress = Callable[[int, int, str | None], None]
"""Called as ``progress(done, total, label)`` (the CLI's rich bar takes exactly this)."""


class TrainingError(ModelError):
    """The training data or settings are unusable; the message says why and names the input."""


# -- Shared by training and inference ------------------------------------------------------


def aspects_slices(atlas: np.ndarray, margin: int = 1) -> np.ndarray:
    """Axial indices of ``atlas[z, y, x]`` (warped label map) that hold any ASPECTS unit,
    widened by ``margin`` slices each side (within the volume)."""
    atlas = np.asarray(atlas)
    covered = np.flatnonzero(atlas.reshape(atlas.shape[0], -1).any(axis=1))
    if covered.size == 0:
        return covered
    return np.arange(max(0, covered[0] - margin), min(atlas.shape[0], covered[-1] + margin + 1))


def resize_slices(array: np.ndarray | torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``[n, c, y, x]`` resized to ``size`` (bilinear; anti-aliased when shrinking), float32."""
    tensor = torch.as_tensor(array, dtype=torch.float32)
    if tuple(tensor.shape[-2:]) == tuple(size):
        return tensor
    shrinking = size[0] < tensor.shape[-2] or size[1] < tensor.shape[-1]
    return F.interpolate(
        tensor, size=size, mode="bilinear", align_corners=False, antialias=shrinking
    )


def memory_format(device: torch.device) -> torch.memory_format:
    """channels_last on CPUs (about 2x faster here, ``python -m benchmarks model``), NCHW on
    CUDA (grouped convolutions were reported slower there with channels_last)."""
    return torch.channels_last if device.type == "cpu" else torch.contiguous_format


def _device(device: str | torch.device) -> torch.device:
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise MethodError(f"unknown device {device!r}; use auto, cpu or cuda[:N]") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise MethodError(f"device {device!r} asked for, but this machine has no CUDA GPU")
    return resolved


def cpu_threads() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def segment_volume(
    net: DualPathNet,
    stacked: np.ndarray,
    device: str | torch.device = "cpu",
    *,
    batch_size: int = 8,
    mirrored: bool = True,
) -> np.ndarray:
    """Lesion probability (softmax channel 1) of every slice of ``stacked[z, 3, y, x]``
    (:func:`model.mirror.mirror_assemble` output): float32 ``[z, y, x]``.

    Slices are resized to the network's input and the logits back to ``(y, x)``. On CUDA
    under autocast (mixed precision); on the CPU in inference mode, fp32, on all cores.
    ``device`` is ``cpu``, ``cuda[:N]``, ``auto`` or a ``torch.device``. ``mirrored``
    averages each probability with that of the left-right flipped slice, flipped back
    (nnU-Net's test-time mirroring; a flipped triple is the triple of the flipped head).
    """
    stacked = np.asarray(stacked)
    c = net.config
    if stacked.ndim != 4 or stacked.shape[1] != c.in_channels:
        raise ValueError(
            f"stacked slices must be [z, {c.in_channels}, y, x], got shape {stacked.shape}"
        )
    device = _device(device)
    if device.type == "cpu":
        torch.set_num_threads(cpu_threads())
    return _probabilities(net, stacked, stacked.shape[2:], device, batch_size, mirrored)


def _probabilities(
    net: DualPathNet,
    inputs: np.ndarray,
    out_size: tuple[int, int],
    device: torch.device,
    batch_size: int = 8,
    mirrored: bool = True,
) -> np.ndarray:
    """Softmax lesion channel of ``inputs[n, c, y, x]`` (any size), at ``out_size``; with
    ``mirrored``, averaged with the flipped-back output of the flipped input."""
    fmt = memory_format(device)
    net = net.to(device=device, memory_format=fmt).eval()  # type: ignore[call-overload]  # torch's overloads omit its documented memory_format
    autocast = (
        torch.autocast("cuda", dtype=torch.float16) if device.type == "cuda" else nullcontext()
    )
    size = (net.config.input_size, net.config.input_size)
    out = np.empty((inputs.shape[0], *out_size), np.float32)
    with torch.inference_mode():
        for start in range(0, inputs.shape[0], batch_size):
            chunk = resize_slices(inputs[start : start + batch_size], size)
            if mirrored:
                chunk = torch.cat([chunk, torch.flip(chunk, dims=(-1,))])
            with autocast:
                logits = net(chunk.to(device=device, memory_format=fmt))
            lesion = torch.softmax(resize_slices(logits.float(), out_size), dim=1)[:, 1]
            if mirrored:
                half = len(lesion) // 2
                lesion = (lesion[:half] + torch.flip(lesion[half:], dims=(-1,))) / 2
            out[start : start + batch_size] = lesion.cpu().numpy()
    return out


# -- Loss and schedule -----------------------------------------------------------------------


def dice_ce_loss(
    logits: torch.Tensor, target: torch.Tensor, dice_weight: float = 1.0
) -> torch.Tensor:
    """Cross-entropy plus ``dice_weight`` times the soft Dice loss of the lesion class.

    The Dice is pooled over the batch (nnU-Net's batch Dice), so slices without a lesion do
    not make it undefined: ``1 - (2 sum(p y) + 1) / (sum(p) + sum(y) + 1)``.
    """
    ce = F.cross_entropy(logits, target)
    p = torch.softmax(logits, dim=1)[:, 1]
    y = (target == 1).to(p.dtype)
    dice = 1.0 - (2.0 * (p * y).sum() + 1.0) / (p.sum() + y.sum() + 1.0)
    return ce + dice_weight * dice


def learning_rate(epoch: int, recipe: TrainRecipe) -> float:
    """The stepped power-decaying schedule: ``lr0 (1 - floor(e / step) step / epochs) ^ power``."""
    stepped = (epoch // recipe.lr_step_epochs) * recipe.lr_step_epochs
    rate: float = recipe.learning_rate * (1.0 - stepped / recipe.epochs) ** recipe.lr_power
    return rate


@dataclass(frozen=True)
class TrainRecipe:
    """How to train; every field is recorded in ``model.json``."""

    epochs: int = 100
    """At most this many epochs (the paper's 100)."""
    samples_per_epoch: int = 512
    """Slices drawn per epoch (class-balanced, with replacement)."""
    lesion_fraction: float = 0.5
    """Share of each epoch's slices that carry a lesion."""
    batch_size: int = 8
    learning_rate: float = 0.002
    lr_power: float = 0.9
    lr_step_epochs: int = 5
    """The learning rate changes every this many epochs."""
    momentum: float = 0.9
    weight_decay: float = 1e-4
    dice_weight: float = 1.0
    patience: int = 10
    """Stop after this many epochs without a lower validation loss."""
    val_fraction: float = 0.2
    slice_margin: int = 1
    """Slices beyond the atlas's first and last ones also used."""
    seed: int = 0
    max_minutes: float | None = None
    """Stop (keeping the best epoch) after the epoch that passes this wall time."""

    def __post_init__(self) -> None:
        for name in ("epochs", "samples_per_epoch", "batch_size", "lr_step_epochs", "patience"):
            positive_int(name, getattr(self, name))
        for name in ("lesion_fraction", "momentum"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must lie in [0, 1), got {getattr(self, name)!r}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must lie in (0, 1), got {self.val_fraction!r}")
        for name in ("learning_rate", "lr_power"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if self.weight_decay < 0 or self.dice_weight < 0 or self.slice_margin < 0:
            raise ValueError("weight_decay, dice_weight and slice_margin must be >= 0")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"max_minutes must be > 0 or None, got {self.max_minutes!r}")


# -- Data ------------------------------------------------------------------------------------


def read_image(path: Path) -> sitk.Image:
    """A NIfTI file, a folder holding one NIfTI file, or a folder holding one DICOM series
    (SimpleITK's reader; the CLI passes the imaging module's loader instead)."""
    path = Path(path)
    if path.is_file():
        return sitk.ReadImage(str(path), sitk.sitkFloat32)
    nifti = folder_nifti(path)
    if nifti is not None:
        return sitk.ReadImage(str(nifti), sitk.sitkFloat32)
    reader = sitk.ImageSeriesReader()
    series = reader.GetGDCMSeriesIDs(str(path))
    n_nifti = sum(is_nifti(p) for p in path.rglob("*"))
    if len(series) != 1 or n_nifti:
        raise TrainingError(
            f"{path}: expected one NIfTI file or one DICOM series, found {n_nifti} NIfTI "
            f"file(s) and {len(series)} series"
        )
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(path), series[0]))
    image: sitk.Image = sitk.Cast(reader.Execute(), sitk.sitkFloat32)
    return image


DataFolders = Path | str | Sequence[Path | str]
"""One training folder, or several (their cases are then named ``<folder>/<case>``)."""


def _folders(data: DataFolders) -> list[Path]:
    folders = [Path(data)] if isinstance(data, str | Path) else [Path(d) for d in data]
    if not folders:
        raise TrainingError("no training folder given")
    names = [f.name for f in folders]
    if len(set(names)) != len(names):
        raise TrainingError(f"training folders need distinct names, got {', '.join(names)}")
    return folders


def _prefix(folder: Path, folders: list[Path]) -> str:
    return f"{folder.name}/" if len(folders) > 1 else ""


def find_cases(data: DataFolders) -> dict[str, tuple[Path, Path]]:
    """Case -> (image path, mask path) of one or more training folders (module docstring)."""
    folders = _folders(data)
    cases = {}
    for data_dir in folders:
        masks = data_dir / "masks"
        if not masks.is_dir():
            raise TrainingError(
                f"{data_dir} has no masks/ folder: training needs masks/<case>.nii.gz beside "
                "the cases (the layout readerstudy phantom generate writes)"
            )
        missing = []
        for mask in sorted(masks.iterdir()):
            if not is_nifti(mask):
                continue
            case = nifti_stem(mask)
            candidates = [data_dir / case, *(data_dir / f"{case}{s}" for s in NIFTI_SUFFIXES)]
            image = next((p for p in candidates if p.exists()), None)
            if image is None:
                missing.append(case)
            else:
                cases[_prefix(data_dir, folders) + case] = (image, mask)
        if missing:
            raise TrainingError(
                f"{len(missing)} mask(s) in {masks} have no image ({', '.join(missing[:5])}): "
                "each case needs <case>/ or <case>.nii.gz beside masks/"
            )
    if len(cases) < 2:
        raise TrainingError(
            f"{', '.join(map(str, folders))}: {len(cases)} case(s) with masks; training needs "
            "at least 2 (one for validation)"
        )
    return cases


def _read_tables(data: DataFolders, name: str) -> pd.DataFrame | None:
    """The ``name`` CSV of every folder that has one, cases renamed as :func:`find_cases`."""
    import pandas as pd

    folders = _folders(data)
    tables = []
    for folder in folders:
        if (folder / name).is_file():
            table = pd.read_csv(folder / name, dtype={"case": str})
            table["case"] = _prefix(folder, folders) + table["case"]
            tables.append(table)
    return pd.concat(tables, ignore_index=True) if tables else None


def _read_truth(data: DataFolders) -> dict[str, dict[str, int]]:
    table = _read_tables(data, "truth.csv")
    if table is None:
        return {}
    return {
        case: dict(zip(group["unit"], group["truth"].astype(int), strict=True))
        for case, group in table.groupby("case")
    }


@dataclass
class PreparedCase:
    """One case on the inference path, cut to the ASPECTS slices."""

    case: str
    inputs: np.ndarray
    """float16 ``[n, 3, S, S]``: the network's input slices."""
    target: np.ndarray
    """uint8 ``[n, S, S]``: the lesion at the input size (area share >= 0.5)."""
    mask: np.ndarray
    """uint8 ``[n, y, x]``: the lesion at the scan's resolution."""
    atlas: np.ndarray
    """uint8 ``[n, y, x]``: the warped ASPECTS labels at the scan's resolution."""
    slices: np.ndarray
    """The slices' axial indices in the scan."""

    @property
    def lesion_slices(self) -> np.ndarray:
        positive: np.ndarray = np.any(self.target.reshape(len(self.target), -1), axis=1)
        return positive


CACHE_VERSION = "1"
"""Bump when :func:`prepare_case` changes what it writes, so old caches are not read."""


@dataclass(frozen=True)
class Registered:
    """What training takes from a case's registration."""

    plane: MidsagittalPlane
    atlas: np.ndarray
    """uint8 ``[z, y, x]``: the warped ASPECTS labels on the scan grid."""


def register_case(case: str, image: sitk.Image) -> Registered:
    """The case's registration (:func:`model.register.register_to_scan`), or a
    :class:`TrainingError` naming the case when it is refused."""
    from model.errors import RegistrationError
    from model.register import register_to_scan

    try:
        registration = register_to_scan(image)
    except RegistrationError as exc:
        raise TrainingError(f"case {case}: {exc}") from exc
    atlas = sitk.GetArrayFromImage(registration.atlas).astype(np.uint8)
    return Registered(registration.midsagittal, atlas)


def prepare_case(
    case: str,
    image: sitk.Image,
    mask: sitk.Image,
    preprocess: PreprocessConfig,
    input_size: int,
    margin: int = 1,
    registered: Registered | None = None,
) -> PreparedCase:
    """Register (unless ``registered`` is given), preprocess, mirror-assemble and resize one
    case: the inference path."""
    from model.mirror import mirror_assemble
    from model.preprocess import preprocess_slices

    registered = registered or register_case(case, image)
    chosen = aspects_slices(registered.atlas, margin)
    if chosen.size == 0:
        raise TrainingError(f"case {case}: the warped atlas covers no slice")
    on_grid = sitk.Resample(mask, image, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    lesion = (sitk.GetArrayFromImage(on_grid)[chosen] > 0).astype(np.uint8)
    # The whole volume is mirrored: a plane tilted out of the axial plane mixes slices.
    preprocessed = preprocess_slices(sitk.GetArrayFromImage(image), preprocess)
    stacked = mirror_assemble(image, preprocessed, registered.plane)[chosen]
    size = (input_size, input_size)
    inputs = resize_slices(stacked, size).numpy().astype(np.float16)
    target = resize_slices(lesion[:, None].astype(np.float32), size)[:, 0].numpy() >= 0.5
    return PreparedCase(
        case, inputs, target.astype(np.uint8), lesion, registered.atlas[chosen], chosen
    )


def _registered(case: str, image: sitk.Image, cached: Path | None) -> Registered:
    """:func:`register_case`, through a cache file when one is given: the registration
    depends on the image alone, so other preprocessing settings reuse it."""
    if cached is not None and cached.is_file():
        with np.load(cached) as saved:
            plane = MidsagittalPlane(tuple(saved["point"]), tuple(saved["normal"]))
            return Registered(plane, saved["atlas"])
    registered = register_case(case, image)
    if cached is not None:
        np.savez_compressed(
            cached,
            point=np.asarray(registered.plane.point),
            normal=np.asarray(registered.plane.normal),
            atlas=registered.atlas,
        )
    return registered


def _cache_key(image: sitk.Image, mask: sitk.Image, settings: dict[str, Any]) -> str:
    digest = hashlib.sha256(CACHE_VERSION.encode())
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for volume in (image, mask):
        digest.update(str((volume.GetSize(), volume.GetSpacing(), volume.GetOrigin())).encode())
        digest.update(sitk.GetArrayViewFromImage(volume).tobytes())
    return digest.hexdigest()[:20]


def prepare_cases(
    data: DataFolders,
    preprocess: PreprocessConfig,
    input_size: int,
    *,
    margin: int = 1,
    cache_dir: Path | None = None,
    load_image: Callable[[Path], sitk.Image] = read_image,
    progress: Progress | None = None,
) -> tuple[list[PreparedCase], dict[str, str]]:
    """Every case of ``data`` prepared (from ``cache_dir`` where it was before), and the
    cases skipped with the reason (registration refused)."""
    cases = find_cases(data)
    settings = {"preprocess": preprocess.to_dict(), "input_size": input_size, "margin": margin}
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
    prepared, skipped = [], {}
    for i, (case, (image_path, mask_path)) in enumerate(cases.items()):
        image = sitk.Cast(load_image(image_path), sitk.sitkFloat32)
        mask = sitk.ReadImage(str(mask_path))
        cached = registration = None
        if cache_dir is not None:
            # Named by content alone: the same case in another folder or run is found again.
            cached = cache_dir / f"{_cache_key(image, mask, settings)}.npz"
            registration = cache_dir / f"{_cache_key(image, mask, {})}.registration.npz"
        if cached is not None and cached.is_file():
            with np.load(cached) as saved:
                prepared.append(
                    PreparedCase(case, *(saved[f.name] for f in fields(PreparedCase)[1:]))
                )
        else:
            try:
                registered = _registered(case, image, registration)
                item = prepare_case(case, image, mask, preprocess, input_size, margin, registered)
            except TrainingError as exc:
                log.warning("skipping %s", exc)
                skipped[case] = str(exc)
                continue
            if cached is not None:
                np.savez(cached, **{f.name: getattr(item, f.name) for f in fields(item)[1:]})
            prepared.append(item)
        if progress is not None:
            progress(i + 1, len(cases), f"preparing {case}")
    return prepared, skipped


def split_cases(
    cases: list[PreparedCase], val_fraction: float, seed: int
) -> tuple[list[PreparedCase], list[PreparedCase]]:
    """(training, validation) cases, stratified by lesion presence, fixed by ``seed``."""
    if len(cases) < 2:
        raise TrainingError(f"{len(cases)} usable case(s); training needs at least 2")
    rng = np.random.default_rng([seed, 2])
    train_cases, val_cases = [], []
    for has_lesion in (True, False):
        group = [c for c in cases if bool(c.mask.any()) == has_lesion]
        order = rng.permutation(len(group))
        n_val = round(val_fraction * len(group)) if len(group) > 1 else 0
        val_cases += [group[i] for i in order[:n_val]]
        train_cases += [group[i] for i in order[n_val:]]
    if not val_cases:
        val_cases.append(train_cases.pop())
    if not any(c.lesion_slices.any() for c in train_cases):
        raise TrainingError("no training case has a lesion slice; the network cannot learn one")
    return train_cases, val_cases


class SliceSet:
    """The slices of a set of cases as one array, with the class-balanced sampler."""

    def __init__(self, cases: list[PreparedCase]) -> None:
        self.inputs = np.concatenate([c.inputs for c in cases])
        self.target = np.concatenate([c.target for c in cases])
        lesion = np.concatenate([c.lesion_slices for c in cases])
        self.lesion, self.free = np.flatnonzero(lesion), np.flatnonzero(~lesion)

    def draw(self, n: int, lesion_fraction: float, rng: np.random.Generator) -> np.ndarray:
        """``n`` slice indices, ``lesion_fraction`` of them lesion slices, shuffled."""
        n_lesion = round(n * lesion_fraction) if len(self.lesion) else 0
        if not len(self.free):
            n_lesion = n
        chosen = np.concatenate(
            [
                rng.choice(self.lesion, n_lesion) if n_lesion else np.empty(0, int),
                rng.choice(self.free, n - n_lesion) if n > n_lesion else np.empty(0, int),
            ]
        )
        return rng.permutation(chosen)

    def batch(
        self, index: np.ndarray, flips: np.ndarray | None, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.from_numpy(self.inputs[index].astype(np.float32))
        y = torch.from_numpy(self.target[index].astype(np.int64))
        if flips is not None and flips.any():
            # A left-right flip of all three channels is the triple of the flipped head.
            which = torch.from_numpy(flips)
            x[which] = torch.flip(x[which], dims=(-1,))
            y[which] = torch.flip(y[which], dims=(-1,))
        return x.to(device=device, memory_format=memory_format(device)), y.to(device)


# -- Training --------------------------------------------------------------------------------


def _save_atomic(obj: Any, path: Path) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, temporary)
    temporary.replace(path)


def _validation_loss(
    net: DualPathNet, data: SliceSet, index: np.ndarray, recipe: TrainRecipe, device: torch.device
) -> float:
    net.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(index), recipe.batch_size):
            x, y = data.batch(index[start : start + recipe.batch_size], None, device)
            total += float(dice_ce_loss(net(x), y, recipe.dice_weight)) * len(x)
    return total / len(index)


def validation_metrics(
    net: DualPathNet,
    cases: list[PreparedCase],
    truth: dict[str, dict[str, int]],
    device: torch.device,
) -> dict[str, Any]:
    """Lesion DSC, precision and recall (per case and pooled) and, where ``truth`` has the
    cases, the region-level AUC of the unit overlap proportions (Obuchowski's clustered CI)."""
    from analysis.errors import AnalysisInputError
    from analysis.roc import auc, auc_ci
    from analysis.segmentation import segmentation_metrics
    from model.anatomy import LABELS
    from model.overlap_scoring import unit_overlap

    probabilities = {c.case: _probabilities(net, c.inputs, c.mask.shape[1:], device) for c in cases}
    lesion_cases = [c.case for c in cases if c.mask.any()]
    metrics: dict[str, Any] = {"cases": len(cases), "lesion_cases": len(lesion_cases)}
    references = {c.case: c.mask for c in cases}
    per_case, summary = segmentation_metrics(probabilities, references)
    metrics["segmentation"] = summary
    if lesion_cases:
        _, on_lesions = segmentation_metrics(
            {c: probabilities[c] for c in lesion_cases}, {c: references[c] for c in lesion_cases}
        )
        metrics["segmentation_lesion_cases"] = on_lesions
    free = [c.case for c in cases if not c.mask.any()]
    metrics["lesion_free_cases_with_voxels_called"] = int(
        sum(per_case.set_index("case").loc[free, "fp"] > 0) if free else 0
    )
    rows = [
        (c.case, truth[c.case][unit], score)
        for c in cases
        if c.case in truth
        for unit, score in unit_overlap(probabilities[c.case], c.atlas, LABELS)[
            ["unit", "overlap"]
        ].itertuples(index=False)
    ]
    if rows:
        case, y, score = (np.array(v) for v in zip(*rows, strict=True))
        if 0 < y.sum() < len(y):
            region = {
                "estimate": float(auc(y, score)),
                "units": len(y),
                "positive_units": int(y.sum()),
                "score": "unit overlap proportion (mean lesion probability over the unit)",
            }
            try:
                result = auc_ci(y, score, cluster=case)
                region["ci"] = [result.ci_low, result.ci_high]
                region["method"] = "Obuchowski 1997 clustered (cluster = case)"
            except AnalysisInputError as exc:
                region["ci"] = None
                region["method"] = f"no CI: {exc}"
            metrics["region_auc"] = region
    return metrics


def _data_summary(
    data: DataFolders,
    train_cases: list[PreparedCase],
    val_cases: list[PreparedCase],
    skipped: dict[str, str],
) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "folders": [f.name for f in _folders(data)],
        "train_cases": [c.case for c in train_cases],
        "val_cases": [c.case for c in val_cases],
        "skipped": skipped,
    }
    for name, group in (("train", train_cases), ("val", val_cases)):
        slices = sum(len(c.slices) for c in group)
        lesion = sum(int(c.lesion_slices.sum()) for c in group)
        summary[f"{name}_slices"], summary[f"{name}_lesion_slices"] = slices, lesion
        summary[f"{name}_lesion_case_count"] = sum(bool(c.mask.any()) for c in group)
    table = _read_tables(data, "cases.csv")
    if table is not None and "seed" in table.columns:
        summary["phantom_seeds"] = dict(
            zip(table["case"], table["seed"].astype(int).tolist(), strict=True)
        )
    return summary


def train_steps(
    net: DualPathNet,
    optimiser: torch.optim.Optimizer,
    data: SliceSet,
    order: np.ndarray,
    flips: np.ndarray | None,
    recipe: TrainRecipe,
    device: torch.device,
    tick: Callable[[int, float], None] | None = None,
) -> list[float]:
    """One pass of SGD steps over the slices ``order`` in batches; the loss of each step.

    ``tick(step, mean loss so far)`` is called after every step.
    """
    net.train()
    losses = []
    for start in range(0, len(order), recipe.batch_size):
        batch = slice(start, start + recipe.batch_size)
        x, y = data.batch(order[batch], None if flips is None else flips[batch], device)
        optimiser.zero_grad(set_to_none=True)
        loss = dice_ce_loss(net(x), y, recipe.dice_weight)
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
        if tick is not None:
            tick(len(losses), float(np.mean(losses)))
    return losses


def _resolve_network(config: NetworkConfig | str) -> NetworkConfig:
    try:
        return NetworkConfig.preset(config) if isinstance(config, str) else config
    except ValueError as exc:
        raise TrainingError(str(exc)) from None


class _Epoch(TypedDict):
    """One epoch of a training run's history (kept in the checkpoint and the model card)."""

    epoch: int
    lr: float
    train_loss: float
    val_loss: float
    seconds: float
    cpu_seconds: float


class _TrainState(TypedDict):
    """The loop's progress, checkpointed after every epoch so a run resumes where it stopped."""

    epoch: int
    history: list[_Epoch]
    best_loss: float
    best_epoch: int
    bad: int


def train(
    data: DataFolders,
    config: NetworkConfig | str,
    out_dir: Path | str,
    *,
    recipe: TrainRecipe | None = None,
    preprocess: PreprocessConfig | None = None,
    device: str = "auto",
    threads: int | None = None,
    resume: bool = True,
    cache_dir: Path | None = None,
    load_image: Callable[[Path], sitk.Image] = read_image,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train the network ``config`` (``lite``, ``full`` or a :class:`NetworkConfig`) on the
    cases of the folder(s) ``data`` and write the weights folder ``out_dir``; returns its
    ``model.json``.

    An ``out_dir`` holding a ``checkpoint.pt`` of the same settings resumes from it (unless
    ``resume`` is false); one made with other settings is refused. ``threads`` caps the CPU
    threads of torch and of the registration (default: all cores).
    """
    recipe = recipe or TrainRecipe()
    preprocess = preprocess or PreprocessConfig()
    network = _resolve_network(config)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch_device = _device(device)
    if torch_device.type == "cpu":
        torch.set_num_threads(threads or cpu_threads())
    if threads is not None:
        # Registration (ITK) would otherwise use every core beside the capped torch threads.
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
    used_threads = torch.get_num_threads() if torch_device.type == "cpu" else None
    started, cpu_started = time.perf_counter(), time.process_time()
    cases, skipped = prepare_cases(
        data,
        preprocess,
        network.input_size,
        margin=recipe.slice_margin,
        cache_dir=cache_dir or out_dir / "cache",
        load_image=load_image,
        progress=progress,
    )
    prepare_seconds = time.perf_counter() - started
    prepare_cpu_seconds = time.process_time() - cpu_started
    train_cases, val_cases = split_cases(cases, recipe.val_fraction, recipe.seed)
    train_data, val_data = SliceSet(train_cases), SliceSet(val_cases)
    val_index = np.sort(
        val_data.draw(
            min(256, 2 * max(1, len(val_data.lesion))), 0.5, np.random.default_rng([recipe.seed, 3])
        )
    )
    settings = {
        "network": network.to_dict(),
        "preprocess": preprocess.to_dict(),
        "recipe": {k: v for k, v in asdict(recipe).items() if k != "max_minutes"},
        "train_cases": [c.case for c in train_cases],
    }
    torch.manual_seed(recipe.seed)
    fmt = memory_format(torch_device)
    net = build_network(network).to(device=torch_device, memory_format=fmt)  # type: ignore[call-overload]  # torch's overloads omit its documented memory_format
    optimiser = torch.optim.SGD(
        net.parameters(),
        lr=recipe.learning_rate,
        momentum=recipe.momentum,
        weight_decay=recipe.weight_decay,
    )
    state: _TrainState = {
        "epoch": 0,
        "history": [],
        "best_loss": math.inf,
        "best_epoch": -1,
        "bad": 0,
    }
    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    checkpoint = out_dir / CHECKPOINT_FILE
    if resume and checkpoint.is_file():
        saved = torch.load(checkpoint, map_location=torch_device, weights_only=True)
        if saved["settings"] != settings:
            raise TrainingError(
                f"{checkpoint} was made with other settings (network, preprocessing, recipe or "
                "data); choose another output folder or delete the checkpoint"
            )
        net.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        best_state, state = saved["best_model"], saved["state"]
        log.info("resuming after epoch %d", state["epoch"])
    steps = math.ceil(recipe.samples_per_epoch / recipe.batch_size)
    stopped = "epochs"
    train_started = time.perf_counter()
    elapsed_before = sum(h["seconds"] for h in state["history"])
    for epoch in range(state["epoch"], recipe.epochs):
        if state["bad"] >= recipe.patience:
            stopped = "early stopping"
            break
        epoch_started, epoch_cpu = time.perf_counter(), time.process_time()
        lr = learning_rate(epoch, recipe)
        for group in optimiser.param_groups:
            group["lr"] = lr
        rng = np.random.default_rng([recipe.seed, 4, epoch])
        order = train_data.draw(steps * recipe.batch_size, recipe.lesion_fraction, rng)
        flips = rng.random(len(order)) < 0.5
        tick = None
        if progress is not None:

            def tick(step: int, loss: float, epoch: int = epoch) -> None:
                label = f"epoch {epoch + 1}/{recipe.epochs} loss {loss:.3f}"
                progress(epoch * steps + step, recipe.epochs * steps, label)

        losses = train_steps(net, optimiser, train_data, order, flips, recipe, torch_device, tick)
        running = float(np.sum(losses))
        val_loss = _validation_loss(net, val_data, val_index, recipe, torch_device)
        seconds = time.perf_counter() - epoch_started
        state["history"].append(
            {
                "epoch": epoch + 1,
                "lr": lr,
                "train_loss": running / steps,
                "val_loss": val_loss,
                "seconds": round(seconds, 2),
                "cpu_seconds": round(time.process_time() - epoch_cpu, 2),
            }
        )
        if val_loss < state["best_loss"]:
            state.update({"best_loss": val_loss, "best_epoch": epoch + 1, "bad": 0})
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            state["bad"] += 1
        state["epoch"] = epoch + 1
        log.info(
            "epoch %d: lr %.5f train loss %.4f val loss %.4f (%.0f s)",
            epoch + 1,
            lr,
            running / steps,
            val_loss,
            seconds,
        )
        _save_atomic(
            {
                "settings": settings,
                "model": net.state_dict(),
                "optimiser": optimiser.state_dict(),
                "best_model": best_state,
                "state": state,
            },
            checkpoint,
        )
        minutes = (elapsed_before + time.perf_counter() - train_started) / 60.0
        if recipe.max_minutes is not None and minutes >= recipe.max_minutes:
            stopped = "time budget"
            break
    else:
        if state["bad"] >= recipe.patience:
            stopped = "early stopping"
    net.load_state_dict(best_state)
    metrics = validation_metrics(net, val_cases, _read_truth(data), torch_device)
    weights = out_dir / WEIGHTS_FILE
    _save_atomic({k: v.cpu() for k, v in best_state.items()}, weights)
    data_summary = _data_summary(data, train_cases, val_cases, skipped)
    card = {
        "schema": SCHEMA,
        "network": network.to_dict(),
        "preprocess": preprocess.to_dict(),
        "training": {
            "recipe": asdict(recipe),
            "data": data_summary,
            "device": str(torch_device),
            "threads": used_threads,
            "torch": torch.__version__,
            "epochs_run": state["epoch"],
            "stopped": stopped,
            "best_epoch": state["best_epoch"],
            "prepare_seconds": round(prepare_seconds, 1),
            "prepare_cpu_seconds": round(prepare_cpu_seconds, 1),
            "train_seconds": round(sum(h["seconds"] for h in state["history"]), 1),
            "train_cpu_seconds": round(sum(h["cpu_seconds"] for h in state["history"]), 1),
            "total_seconds": round(time.perf_counter() - started, 1),
            "history": state["history"],
        },
        "metrics": {"val_loss": state["best_loss"], **metrics},
        "sha256": file_sha256(weights),
        "note": "synthetic training data (phantoms), not for clinical use"
        if "phantom_seeds" in data_summary
        else "trained on the site data named under training.data",
    }
    (out_dir / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return card


# -- Weights folders -------------------------------------------------------------------------


def load_trained(
    folder: Path | str, device: str | torch.device = "cpu"
) -> tuple[DualPathNet, NetworkConfig, PreprocessConfig]:
    """Rebuild the network of a weights folder from its ``model.json`` and load its weights,
    in eval mode on ``device``; raises :class:`~model.errors.MethodError` saying what is wrong."""
    card = read_card(folder)
    try:
        network = NetworkConfig.from_dict(card["network"])
        preprocess = PreprocessConfig.from_dict(card["preprocess"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MethodError(f"{Path(folder) / CARD_FILE}: bad configuration: {exc}") from exc
    net = build_network(network)
    state = torch.load(Path(folder) / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        detail = str(exc).strip().splitlines()[0]
        raise MethodError(
            f"{folder}: weights do not fit the {network.name!r} network: {detail}"
        ) from exc
    torch_device = _device(device)
    return (
        net.to(device=torch_device, memory_format=memory_format(torch_device)).eval(),  # type: ignore[call-overload]  # torch's overloads omit its documented memory_format
        network,
        preprocess,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m model.train --data DIR --config lite --out DIR``: train and write a folder."""
    import argparse
    import shlex
    import sys

    parser = argparse.ArgumentParser(prog="python -m model.train", description=__doc__)
    parser.add_argument(
        "--data", type=Path, nargs="+", required=True, help="training folder(s) (see above)"
    )
    parser.add_argument("--config", default="lite", help="network config: lite or full")
    parser.add_argument("--out", type=Path, required=True, help="weights folder to write")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    parser.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    parser.add_argument("--no-dehaze", action="store_true", help="skip the dark-image step")
    parser.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    parser.add_argument("--cache", type=Path, help="prepared-case cache (default: OUT/cache)")
    for f in fields(TrainRecipe):
        kind = float if f.name in ("max_minutes",) else type(f.default)
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=f.default)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    recipe = TrainRecipe(**{f.name: getattr(args, f.name) for f in fields(TrainRecipe)})
    try:
        card = train(
            args.data,
            args.config,
            args.out,
            recipe=recipe,
            preprocess=PreprocessConfig(dehaze=not args.no_dehaze),
            device=args.device,
            threads=args.threads,
            resume=not args.fresh,
            cache_dir=args.cache,
        )
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    given = sys.argv[1:] if argv is None else argv
    card["training"]["command"] = shlex.join(["python", "-m", "model.train", *given])
    (args.out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(card["metrics"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
