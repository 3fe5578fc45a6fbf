"""Lesion-mask overlap of the model against the reference: DSC, precision and recall.

The statistics work on numpy arrays; :func:`load_masks` reads ``<case>.nii.gz`` files with
nibabel (pure Python, imported lazily) so that the command can pass folders.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError


def overlap(
    predicted: np.ndarray, reference: np.ndarray, *, threshold: float = 0.5
) -> dict[str, Any]:
    """Voxel counts and overlap of two masks (probabilities are cut at ``threshold``).

    Returns
    -------
    dict
        ``tp, fp, fn`` voxel counts, ``dsc`` = 2 tp / (2 tp + fp + fn),
        ``precision`` = tp / (tp + fp), ``recall`` = tp / (tp + fn); a ratio with a zero
        denominator is NaN (e.g. DSC of two empty masks).

    References
    ----------
    Dice LR (1945). Measures of the amount of ecologic association between species.
    Ecology 26:297-302.
    """
    predicted, reference = np.asarray(predicted), np.asarray(reference)
    if predicted.shape != reference.shape:
        raise AnalysisInputError(
            f"mask shapes differ: predicted {predicted.shape} vs reference {reference.shape}"
        )
    p = predicted >= threshold if predicted.dtype.kind == "f" else predicted > 0
    r = reference >= threshold if reference.dtype.kind == "f" else reference > 0
    tp = int(np.count_nonzero(p & r))
    fp = int(np.count_nonzero(p & ~r))
    fn = int(np.count_nonzero(~p & r))
    return {"tp": tp, "fp": fp, "fn": fn, **_ratios(tp, fp, fn)}


def _ratios(tp: float, fp: float, fn: float) -> dict[str, float]:
    def ratio(num: float, den: float) -> float:
        return num / den if den else float("nan")

    return {
        "dsc": ratio(2 * tp, 2 * tp + fp + fn),
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
    }


def segmentation_metrics(
    predicted: Mapping[str, np.ndarray],
    reference: Mapping[str, np.ndarray],
    *,
    threshold: float = 0.5,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per-case overlap and two summaries over the cases present in both mappings.

    Returns
    -------
    per_case : DataFrame
        ``case, tp, fp, fn, dsc, precision, recall``.
    summary : dict
        ``mean`` (mean of per-case ratios, NaN cases skipped, as papers usually report) and
        ``pooled`` (ratios of the voxel counts summed over cases), each with ``dsc,
        precision, recall``; ``cases``.
    """
    cases = [c for c in reference if c in predicted]
    if not cases:
        raise AnalysisInputError(
            "no case has both a model mask and a reference mask; check the mask folders "
            "(files are named <case>.nii.gz)"
        )
    rows = []
    for case in cases:
        try:
            rows.append(
                {"case": case, **overlap(predicted[case], reference[case], threshold=threshold)}
            )
        except AnalysisInputError as exc:
            raise AnalysisInputError(f"case {case}: {exc}") from None
    per_case = pd.DataFrame(rows)
    return per_case, overlap_summary(per_case)


def overlap_summary(per_case: pd.DataFrame) -> dict[str, Any]:
    """``cases``, ``mean`` and ``pooled`` DSC, precision and recall of per-case :func:`overlap`
    rows (``tp, fp, fn, dsc, precision, recall``), as :func:`segmentation_metrics` reports them.

    For callers that measure cases one at a time and cannot keep every mask in memory.
    """
    totals = per_case[["tp", "fp", "fn"]].sum()
    return {
        "cases": len(per_case),
        "mean": {k: float(per_case[k].mean()) for k in ("dsc", "precision", "recall")},
        "pooled": _ratios(float(totals["tp"]), float(totals["fp"]), float(totals["fn"])),
    }


def load_masks(folder: str | Path) -> dict[str, np.ndarray]:
    """Every ``<case>.nii.gz`` (or ``.nii``) mask of a folder, keyed by case id."""
    import nibabel  # pure Python; only needed when masks are analysed
    from nibabel.dataobj_images import DataobjImage

    folder = Path(folder)
    if not folder.is_dir():
        raise AnalysisInputError(f"mask folder {folder} does not exist")
    masks = {}
    for path in sorted(folder.glob("*.nii*")):
        case = path.name.removesuffix(".gz").removesuffix(".nii")
        try:
            image = nibabel.load(path)
            if not isinstance(image, DataobjImage):
                raise ValueError("the file holds no voxel data")
            values = np.asanyarray(image.dataobj)
        except (nibabel.filebasedimages.ImageFileError, OSError, EOFError, ValueError, zlib.error):
            raise AnalysisInputError(
                f"mask {path}: not a readable NIfTI file (damaged or cut short); write it again"
            ) from None
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            bad = int(np.count_nonzero(~np.isfinite(values)))
            raise AnalysisInputError(f"mask {path}: {bad} voxel(s) are NaN or infinite")
        masks[case] = values
    if not masks:
        raise AnalysisInputError(f"mask folder {folder} holds no <case>.nii.gz file")
    return masks
