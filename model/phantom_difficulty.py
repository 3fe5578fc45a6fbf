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

from analysis.units import UNITS, mirror_unit
from model.anatomy import LABELS
from model.phantom import PhantomConfig, generate_phantom

BRAIN_WINDOW_HU = (10.0, 60.0)


@dataclass(frozen=True)
class Difficulty:
    """Oracle asymmetry AUC over a set of phantoms."""

    auc: float
    n_phantoms: int
    n_units: int
    n_positive: int


def asymmetry_scores(image: sitk.Image, regions: sitk.Image) -> dict[str, float]:
    """Per unit: mirror-unit mean HU minus own mean HU (brain window); higher = darker."""
    hu = sitk.GetArrayViewFromImage(image)
    labels = sitk.GetArrayViewFromImage(regions)
    window = (hu >= BRAIN_WINDOW_HU[0]) & (hu <= BRAIN_WINDOW_HU[1])
    means = {}
    for unit in UNITS:
        selected = window & (labels == LABELS[unit])
        means[unit] = float(hu[selected].mean()) if selected.any() else np.nan
    return {
        u: (means[mirror_unit(u)] - means[u])
        if np.isfinite(means[u] + means[mirror_unit(u)])
        else 0.0
        for u in UNITS
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
