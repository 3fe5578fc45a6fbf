"""A seeded unit-level MRMC study generator (units clustered in cases) for the analysis tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from analysis.units import UNITS


def simulate_unit_study(
    *,
    seed: int = 0,
    readers: int = 4,
    modalities: tuple[str, ...] = ("unaided", "aided"),
    cases: int = 40,
    units: int = 20,
    modality_shift: float = 0.5,
) -> pd.DataFrame:
    """Long ratings table: reader x modality x case x unit, ratings 1-5 and 0/1 calls.

    Units of a case share a case effect (on both truth and ratings), so they are correlated;
    about a third of the cases hold no positive unit.
    """
    rng = np.random.default_rng(seed)
    unit_codes = list(UNITS[:units]) if units > 1 else ["case"]
    case_ids = [f"c{k:03d}" for k in range(cases)]
    lesion = rng.random(cases) < 0.66
    share = np.where(lesion, rng.uniform(0.1, 0.6, cases), 0.0)
    truth = rng.random((cases, units)) < share[:, None]
    case_effect = rng.normal(0, 0.7, cases)
    reader_skill = rng.uniform(0.8, 1.6, readers)
    rows = []
    for mi, m in enumerate(modalities):
        for ri in range(readers):
            latent = (
                truth * (reader_skill[ri] + modality_shift * mi)
                + case_effect[:, None]
                + rng.normal(0, 1, (cases, units))
            )
            rating = np.clip(np.round(latent + 2.5), 1, 5).astype(int)
            for ci, case in enumerate(case_ids):
                for ui, unit in enumerate(unit_codes):
                    rows.append((f"R{ri + 1}", m, case, unit, int(truth[ci, ui]), rating[ci, ui]))
    data = pd.DataFrame(rows, columns=["reader", "modality", "case", "unit", "truth", "rating"])
    data["call"] = (data["rating"] >= 3).astype(int)
    return data


@pytest.fixture(scope="session")
def unit_study() -> Callable[..., pd.DataFrame]:
    """Factory: ``unit_study(seed=..., readers=..., cases=..., units=...)``."""
    return simulate_unit_study
