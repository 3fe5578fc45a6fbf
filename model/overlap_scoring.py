"""ASPECTS scoring of a lesion probability map: the paper's "ASPECTS Scoring Module".

Chen et al. (2022) score each ASPECTS region "according to the ASPECTS scoring criteria of
calculating the overlap proportion of the lesion segmentation and the blood supply regions",
the regions being the atlas registered to the scan. Here a unit's probability is that overlap
proportion with the network's soft output: the mean lesion probability over the unit's voxels
of the warped atlas (the share of the unit the lesion covers, each voxel counted by how sure
the network is). It is 0 for a unit the atlas puts outside the scan.

A unit is called when its overlap reaches its own threshold. The paper chose thresholds by
region-level ASPECTS, not by Dice; :func:`fit_thresholds` does so on validation units: per unit
the cut-off maximising Youden's J (:func:`model.scoring.youden_threshold`) among those that keep
the unit-level specificity at ``MIN_SPECIFICITY``. A unit with too few validation positives or
negatives for its own ROC takes its region's (both sides pooled), and a region with too few
takes the pooled cut-off of all units; ``UnitThresholds.basis`` says which. The thresholds live
beside the network as ``thresholds.json`` in its weights folder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.units import UNITS, split_unit
from model.errors import CalibrationError
from model.scoring import hemisphere_aspects, youden_threshold

THRESHOLDS_FILE = "thresholds.json"
"""Name of the per-unit thresholds inside a weights folder."""

MAX_FALSE_CALLS_PER_CASE = 0.5
"""False calls a lesion-free scan may average (issue 12's target)."""

MIN_SPECIFICITY = 1.0 - MAX_FALSE_CALLS_PER_CASE / len(UNITS)
"""Unit-level specificity a threshold keeps on the validation units: 20 units per case, so
0.975 allows 0.5 false calls per lesion-free case."""

MIN_UNITS_PER_CLASS = 5
"""Validation positives and negatives a unit (or region) needs for a threshold of its own."""

BASES = ("unit", "region", "pooled")
"""Where a unit's threshold came from: its own ROC, its region's (both sides), all units."""


def unit_overlap(
    probability: np.ndarray, atlas: np.ndarray, labels: Mapping[str, int]
) -> pd.DataFrame:
    """Per unit (:data:`UNITS` order): ``unit, overlap, n_voxels``.

    ``probability`` (lesion probability, 0-1) and ``atlas`` (integer labels, ``labels`` maps
    unit codes to them) are arrays on the same voxel grid. ``overlap`` is the mean probability
    over the unit's voxels, 0 when the unit has none.
    """
    probability, atlas = np.asarray(probability), np.asarray(atlas)
    if probability.shape != atlas.shape:
        raise CalibrationError(
            f"lesion probability {probability.shape} and atlas {atlas.shape} are not on one grid"
        )
    if atlas.dtype.kind not in "iub":
        raise CalibrationError(f"the atlas holds {atlas.dtype} values, not integer labels")
    missing = sorted(set(UNITS) - set(labels))
    if missing:
        raise CalibrationError(f"the atlas labels lack units {', '.join(missing)}")
    flat = atlas.ravel().astype(np.int64)
    if flat.size and flat.min() < 0:
        raise CalibrationError(f"the atlas holds a negative label {int(flat.min())}")
    size = max(int(flat.max(initial=0)), *(int(labels[u]) for u in UNITS)) + 1
    # One pass over the volume for all 20 units (bincount), in float64 so sums stay exact.
    sums = np.bincount(flat, weights=probability.ravel().astype(np.float64), minlength=size)
    counts = np.bincount(flat, minlength=size)
    rows = []
    for unit in UNITS:
        n = int(counts[labels[unit]])
        mean = float(sums[labels[unit]] / n) if n else 0.0
        rows.append({"unit": unit, "overlap": min(max(mean, 0.0), 1.0), "n_voxels": n})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class UnitThresholds:
    """Per-unit overlap thresholds: a unit is called when its overlap >= its threshold."""

    thresholds: Mapping[str, float]
    """All 20 units -> threshold (overlap proportion; above 1 never calls)."""
    basis: Mapping[str, str] = field(default_factory=dict)
    """Unit -> one of :data:`BASES` (empty for hand-set thresholds)."""
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        units = set(self.thresholds)
        if units != set(UNITS):
            missing, extra = sorted(set(UNITS) - units), sorted(units - set(UNITS))
            raise CalibrationError(
                "unit thresholds must cover the 20 ASPECTS units once each "
                f"(missing: {', '.join(missing) or 'none'}; unknown: {', '.join(extra) or 'none'})"
            )
        values = {}
        for unit in UNITS:
            value = self.thresholds[unit]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise CalibrationError(f"threshold of {unit} is {value!r}, not a number")
            if not np.isfinite(value) or value < 0:
                raise CalibrationError(f"threshold of {unit} is {value}, not a number >= 0")
            values[unit] = float(value)
        object.__setattr__(self, "thresholds", values)
        bad = {u: b for u, b in self.basis.items() if u not in values or b not in BASES}
        if bad:
            raise CalibrationError(
                f"threshold bases {bad} are not units mapped to one of {', '.join(BASES)}"
            )
        object.__setattr__(self, "basis", dict(self.basis))

    def calls(self, overlap: pd.DataFrame) -> pd.Series:
        """0/1 call of every row of a ``unit, overlap`` table."""
        cut = overlap["unit"].map(self.thresholds)
        return (overlap["overlap"] >= cut).astype(int)

    def save(self, path: Path) -> None:
        """Write the thresholds as JSON (``thresholds``, ``basis``, ``provenance``)."""
        data = {
            "thresholds": {u: self.thresholds[u] for u in UNITS},
            "basis": {u: self.basis[u] for u in UNITS if u in self.basis},
            "provenance": self.provenance,
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> UnitThresholds:
        """Read :meth:`save` output; a bad file is a :class:`CalibrationError` naming it."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(
                thresholds=dict(data["thresholds"]),
                basis=dict(data.get("basis", {})),
                provenance=dict(data.get("provenance", {})),
            )
        except (OSError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CalibrationError(f"cannot read the unit thresholds {path}: {exc}") from exc


def score_overlap(
    probability: np.ndarray,
    atlas: np.ndarray,
    labels: Mapping[str, int],
    thresholds: UnitThresholds,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """``unit, probability, call`` (probability = overlap proportion) and each side's ASPECTS."""
    overlap = unit_overlap(probability, atlas, labels)
    scored = pd.DataFrame(
        {
            "unit": overlap["unit"],
            "probability": overlap["overlap"],
            "call": thresholds.calls(overlap),
        }
    )
    return scored, hemisphere_aspects(scored)


def _has_both(truth: np.ndarray, minimum: int) -> bool:
    return int(truth.sum()) >= minimum and int((1 - truth).sum()) >= minimum


def fit_thresholds(
    units: pd.DataFrame,
    *,
    min_specificity: float = MIN_SPECIFICITY,
    min_per_class: int = MIN_UNITS_PER_CLASS,
    provenance: Mapping[str, Any] | None = None,
) -> UnitThresholds:
    """Per-unit thresholds from validation units (``unit``, ``probability``, 0/1 ``truth``).

    See the module docstring for the rule and the fall-backs. Raises
    :class:`CalibrationError` when the table lacks a column, a unit, or either class overall.
    """
    missing = {"unit", "probability", "truth"} - set(units.columns)
    if missing:
        raise CalibrationError(f"validation units lack columns {sorted(missing)}")
    absent = sorted(set(UNITS) - set(units["unit"]))
    if absent:
        raise CalibrationError(f"validation units lack {', '.join(absent)}")
    if not 0.0 <= min_specificity <= 1.0:
        raise CalibrationError(f"min_specificity must lie in [0, 1], got {min_specificity}")
    if min_per_class < 1:
        raise CalibrationError(f"min_per_class must be at least 1, got {min_per_class}")
    truth = units["truth"].to_numpy(int)
    score = units["probability"].to_numpy(float)
    if truth.min() == truth.max():
        raise CalibrationError(
            f"validation units are all {'positive' if truth[0] else 'negative'}; "
            "thresholds need both classes"
        )
    pooled = youden_threshold(score, truth, min_specificity=min_specificity)
    regions = units["unit"].map(lambda u: split_unit(u)[0])
    thresholds, basis = {}, {}
    for unit in UNITS:
        own = (units["unit"] == unit).to_numpy()
        region = (regions == split_unit(unit)[0]).to_numpy()
        for name, selected in (("unit", own), ("region", region)):
            if _has_both(truth[selected], min_per_class):
                thresholds[unit] = youden_threshold(
                    score[selected], truth[selected], min_specificity=min_specificity
                )
                basis[unit] = name
                break
        else:
            thresholds[unit], basis[unit] = pooled, "pooled"
    details = {
        "rule": "Youden J per unit on validation units (region-level ROC), "
        f"specificity >= {min_specificity:g}",
        "min_per_class": min_per_class,
        "validation_units": len(units),
        "validation_positive_units": int(truth.sum()),
        "pooled_threshold": pooled,
    }
    return UnitThresholds(thresholds, basis, {**details, **dict(provenance or {})})
