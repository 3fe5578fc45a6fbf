"""The bundled example dataset: its provenance (regenerated from the seed) and its loader."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from analysis import datasets
from analysis.errors import AnalysisInputError
from analysis.units import UNITS

SEED = 2022


def simulate_tiny_mrmc(seed: int = SEED) -> pd.DataFrame:
    """3 readers x 2 modalities x 20 cases x 4 units; what analysis/data/tiny_mrmc.csv holds."""
    rng = np.random.default_rng(seed)
    cases, units, readers = 20, UNITS[:4], 3
    lesion = rng.random(cases) < 0.7
    truth = (rng.random((cases, len(units))) < np.where(lesion, 0.5, 0.0)[:, None]).astype(int)
    case_effect = rng.normal(0, 0.6, cases)
    skill = rng.uniform(0.9, 1.5, readers)
    rows = []
    for mi, modality in enumerate(("unaided", "aided")):
        for ri in range(readers):
            latent = (
                truth * (skill[ri] + 0.6 * mi)
                + case_effect[:, None]
                + rng.normal(0, 1, (cases, len(units)))
            )
            rating = np.clip(np.round(latent + 2.5), 1, 5).astype(int)
            reader = f"R{ri + 1}"
            for ci in range(cases):
                case = f"c{ci + 1:02d}"
                for ui, unit in enumerate(units):
                    rows.append((reader, modality, case, unit, truth[ci, ui], rating[ci, ui]))
    data = pd.DataFrame(rows, columns=["reader", "modality", "case", "unit", "truth", "rating"])
    data["call"] = (data["rating"] >= 3).astype(int)
    return data


def test_tiny_mrmc_is_what_the_seed_generates():
    assert_frame_equal(datasets.load("tiny_mrmc"), simulate_tiny_mrmc())


def test_load_refuses_an_unknown_name():
    with pytest.raises(AnalysisInputError, match=r"name must be one of \('tiny_mrmc',\)"):
        datasets.load("vandyke")
