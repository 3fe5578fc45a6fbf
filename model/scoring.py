"""Automated ASPECTS by left-right asymmetry: the classical method commercial tools grew from.

Early ischemic change lowers the density of the affected tissue by a few HU. For every
ASPECTS unit the method compares the mean HU of the unit's brain-window voxels (``BRAIN_HU``:
CSF, bone and air excluded) with the same mean in the mirror unit on the other hemisphere
(:func:`analysis.units.mirror_unit`), as a difference (HU) and a ratio. A logistic model of
these two features, fitted on training phantoms (:func:`fit_calibration`, parameters in
``model/weights/asymmetry.json``), turns them into a probability of early ischemic change; the
unit is called positive at the threshold that maximised Youden's J on the training units
among those keeping a unit-level specificity of at least ``MIN_SPECIFICITY``.
Each hemisphere's ASPECTS is 10 minus its called regions (:func:`analysis.units.aspects_score`).

The lesion-likelihood map applies the same model voxel by voxel: the scan is mirrored about
the mid-sagittal plane from the registration, and the difference and ratio of scan and mirror
image are averaged over a Gaussian neighbourhood (normalised convolution over brain-window
voxels), inside the skull only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import SimpleITK as sitk
from scipy import ndimage

from analysis.units import SIDES, UNITS, aspects_score, mirror_unit
from model.errors import CalibrationError
from model.register import MidsagittalPlane, mirror_transform

BRAIN_HU = (10.0, 60.0)
"""Voxels counted as brain parenchyma: above CSF, below blood and bone."""

LIKELIHOOD_SIGMA_MM = 4.0
"""Gaussian neighbourhood of the voxelwise asymmetry in the lesion-likelihood map."""

MIN_SPECIFICITY = 0.9
"""Unit-level specificity the call threshold must keep on the training units: a case has 20
units, so at the unconstrained Youden optimum false calls pile up in lesion-free cases."""

WEIGHTS_PATH = Path(__file__).resolve().parent / "weights" / "asymmetry.json"


@dataclass(frozen=True)
class Calibration:
    """Logistic model p = 1 / (1 + exp(-(intercept + coef . [difference, ratio - 1])))."""

    intercept: float
    coef: tuple[float, float]
    threshold: float
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    def probability(self, difference: np.ndarray, ratio: np.ndarray) -> np.ndarray:
        """Probability of early ischemic change from the unit (or voxel) features."""
        z = (
            self.intercept
            + self.coef[0] * np.asarray(difference)
            + self.coef[1] * (np.asarray(ratio) - 1.0)
        )
        return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        data["coef"] = list(self.coef)
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = WEIGHTS_PATH) -> Calibration:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(
                intercept=float(data["intercept"]),
                coef=(float(data["coef"][0]), float(data["coef"][1])),
                threshold=float(data["threshold"]),
                provenance=dict(data.get("provenance", {})),
            )
        except (OSError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise CalibrationError(f"cannot read the asymmetry calibration {path}: {exc}") from exc


def mirror_image(scan: sitk.Image, plane: MidsagittalPlane) -> sitk.Image:
    """The scan reflected about ``plane``, on the scan's own grid (linear interpolation)."""
    reflection = mirror_transform(np.asarray(plane.point, float), np.asarray(plane.normal, float))
    return sitk.Resample(scan, scan, reflection, sitk.sitkLinear, -1000.0, sitk.sitkFloat32)


def intracranial_mask(scan: sitk.Image) -> np.ndarray:
    """Voxels enclosed by the skull in their axial slice, bone excluded (z, y, x bool array)."""
    values = sitk.GetArrayViewFromImage(scan)
    bone = values > 300.0
    in_plane = np.zeros((3, 3, 3), bool)
    in_plane[1] = ndimage.generate_binary_structure(2, 1)
    enclosed = ndimage.binary_fill_holes(bone, structure=in_plane) & ~bone
    eroded: np.ndarray = ndimage.binary_erosion(enclosed, structure=in_plane, iterations=2)
    return eroded


def unit_features(scan: sitk.Image, atlas: sitk.Image, labels: Mapping[str, int]) -> pd.DataFrame:
    """Per unit: brain-window mean HU, the mirror unit's mean, their difference and ratio.

    ``atlas`` is the label map on the scan grid. Units without brain-window voxels get NaN
    means and a neutral difference 0 and ratio 1.
    """
    values = sitk.GetArrayViewFromImage(scan)
    label_arr = sitk.GetArrayViewFromImage(atlas)
    window = (values >= BRAIN_HU[0]) & (values <= BRAIN_HU[1])
    means, counts = {}, {}
    for unit in UNITS:
        selected = window & (label_arr == labels[unit])
        counts[unit] = int(selected.sum())
        means[unit] = float(values[selected].mean()) if counts[unit] else np.nan
    rows = []
    for unit in UNITS:
        own, other = means[unit], means[mirror_unit(unit)]
        valid = np.isfinite(own) and np.isfinite(other) and other > 0
        rows.append(
            {
                "unit": unit,
                "mean_hu": own,
                "mirror_mean_hu": other,
                "difference": own - other if valid else 0.0,
                "ratio": own / other if valid else 1.0,
                "n_voxels": counts[unit],
            }
        )
    return pd.DataFrame(rows)


def score_units(features: pd.DataFrame, calibration: Calibration) -> pd.DataFrame:
    """Add ``probability`` and ``call`` (0/1) to :func:`unit_features` output."""
    scored = features.copy()
    scored["probability"] = calibration.probability(scored["difference"], scored["ratio"])
    scored["call"] = (scored["probability"] >= calibration.threshold).astype(int)
    return scored


def hemisphere_aspects(scored: pd.DataFrame) -> dict[str, int]:
    """ASPECTS of each hemisphere from the called units."""
    positive = scored.loc[scored["call"] == 1, "unit"].tolist()
    return {side: aspects_score(positive, side) for side in SIDES}


def likelihood_map(
    scan: sitk.Image, plane: MidsagittalPlane, calibration: Calibration
) -> sitk.Image:
    """Voxelwise lesion likelihood (Float32, 0-1) on the scan grid, zero outside the brain."""
    mirrored = sitk.GetArrayFromImage(mirror_image(scan, plane))
    values = sitk.GetArrayViewFromImage(scan)
    valid = (
        intracranial_mask(scan)
        & (values >= BRAIN_HU[0])
        & (values <= BRAIN_HU[1])
        & (mirrored >= BRAIN_HU[0])
        & (mirrored <= BRAIN_HU[1])
    )
    sigma = [LIKELIHOOD_SIGMA_MM / s for s in reversed(scan.GetSpacing())]
    weight = ndimage.gaussian_filter(valid.astype(np.float32), sigma)
    own = ndimage.gaussian_filter(np.where(valid, values, 0.0).astype(np.float32), sigma)
    other = ndimage.gaussian_filter(np.where(valid, mirrored, 0.0).astype(np.float32), sigma)
    supported = valid & (weight > 0.2)
    safe = np.where(supported, weight, 1.0)
    own, other = own / safe, other / safe
    ratio = np.where(supported & (other > 0), own / np.where(other > 0, other, 1.0), 1.0)
    probability = np.where(supported, calibration.probability(own - other, ratio), 0.0)
    image = sitk.GetImageFromArray(probability.astype(np.float32))
    image.CopyInformation(scan)
    return image


def _logistic_fit(x: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    """Ridge-penalised logistic regression by Newton-Raphson; returns [intercept, coefs...]."""
    design = np.column_stack([np.ones(len(x)), x])
    beta = np.zeros(design.shape[1])
    penalty = np.diag([0.0] + [ridge] * x.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -60, 60)))
        gradient = design.T @ (y - p) - penalty @ beta
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            return beta
    raise CalibrationError("the logistic calibration did not converge in 100 Newton steps")


def youden_threshold(
    probability: np.ndarray, truth: np.ndarray, *, min_specificity: float = 0.0
) -> float:
    """The cut-off maximising sensitivity + specificity - 1 (calls are p >= t).

    Only cut-offs with at least ``min_specificity`` are considered; the first maximum wins.
    """
    probability, truth = np.asarray(probability, float), np.asarray(truth, int)
    best, best_j = float(probability.max()) + 1e-9, -np.inf
    for t in np.unique(probability):
        call = probability >= t
        sens = call[truth == 1].mean()
        spec = (~call[truth == 0]).mean()
        if spec >= min_specificity and sens + spec - 1 > best_j:
            best, best_j = float(t), sens + spec - 1
    return best


def fit_calibration(
    features: pd.DataFrame,
    *,
    ridge: float = 1e-3,
    min_specificity: float = MIN_SPECIFICITY,
    provenance: Mapping[str, Any] | None = None,
) -> Calibration:
    """Fit the logistic model and Youden threshold to features with a 0/1 ``truth`` column."""
    missing = {"difference", "ratio", "truth"} - set(features.columns)
    if missing:
        raise CalibrationError(f"training features lack columns {sorted(missing)}")
    truth = features["truth"].to_numpy(int)
    if truth.min() == truth.max():
        raise CalibrationError(
            f"training units are all {'positive' if truth[0] else 'negative'}; "
            "a calibration needs both classes"
        )
    x = np.column_stack([features["difference"], features["ratio"] - 1.0])
    beta = _logistic_fit(x, truth.astype(float), ridge)
    calibration = Calibration(float(beta[0]), (float(beta[1]), float(beta[2])), 0.5)
    probability = calibration.probability(x[:, 0], x[:, 1] + 1.0)
    threshold = youden_threshold(probability, truth, min_specificity=min_specificity)
    return Calibration(calibration.intercept, calibration.coef, threshold, dict(provenance or {}))
