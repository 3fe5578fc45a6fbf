"""How hard a phantom configuration is: the unit-level AUC of an oracle asymmetry reader.

The oracle knows each phantom's true regions (no registration error) and ranks every unit by
how much darker its brain-window voxels (10-60 HU) are on average than those of its mirror
unit. Its AUC is an upper bound for asymmetry methods that must also register the atlas;
``python -m model.phantom_difficulty [N] [FIRST_SEED]`` prints it for the default config.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy.stats import mannwhitneyu

from analysis.units import UNITS
from model.anatomy import LABELS
from model.phantom import PhantomConfig, generate_phantom
from model.scoring import unit_features


@dataclass(frozen=True)
class Difficulty:
    """Oracle asymmetry AUC over a set of phantoms."""

    auc: float
    n_phantoms: int
    n_units: int
    n_positive: int


def asymmetry_scores(image: sitk.Image, regions: sitk.Image) -> dict[str, float]:
    """Per unit: mirror-unit mean HU minus own mean HU (brain window); higher = darker.

    The negated ``difference`` of :func:`model.scoring.unit_features` (0 where a unit or its
    mirror has no brain-window voxels).
    """
    features = unit_features(image, regions, LABELS)
    return {
        u: 0.0 - float(d) for u, d in zip(features["unit"], features["difference"], strict=True)
    }


def oracle_auc(seeds: range, config: PhantomConfig | None = None) -> Difficulty:
    """AUC (Mann-Whitney) of :func:`asymmetry_scores` against unit truth over ``seeds``."""
    scores, truth = [], []
    for seed in seeds:
        phantom = generate_phantom(seed, config)
        unit_scores = asymmetry_scores(phantom.image, phantom.regions)
        scores += [unit_scores[u] for u in UNITS]
        truth += [phantom.truth[u] for u in UNITS]
    s, y = np.asarray(scores), np.asarray(truth, dtype=bool)
    if y.all() or not y.any():
        raise ValueError(f"{len(seeds)} phantoms gave no mix of positive and negative units")
    u = mannwhitneyu(s[y], s[~y]).statistic
    return Difficulty(float(u / (y.sum() * (~y).sum())), len(seeds), len(y), int(y.sum()))


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    first = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    result = oracle_auc(range(first, first + n))
    print(
        f"oracle asymmetry AUC {result.auc:.3f} over {result.n_phantoms} phantoms "
        f"({result.n_positive} positive of {result.n_units} units; seeds {first}-{first + n - 1})"
    )
