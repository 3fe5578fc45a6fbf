"""Small bundled datasets for the docstring examples and quick trials (pingouin's habit).

``load("tiny_mrmc")``: a simulated ASPECTS-style reader study in the long format of
DATA_CONTRACTS.md: 3 readers (R1-R3) x 2 modalities (unaided, aided) x 20 cases x 4 units
(C, L, IC and I of the left hemisphere), columns ``reader, modality, case, unit, truth,
rating, call`` (rating 1-5, call = rating >= 3). Units of a case share a case effect, so
they are correlated as real regions are; the aided modality separates positive units better.
It was generated once by ``simulate_tiny_mrmc(seed=2022)`` in
``tests/analysis/test_datasets.py``, which checks that the shipped file still matches.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.errors import AnalysisInputError

DATA = Path(__file__).with_name("data")
NAMES = ("tiny_mrmc",)


def load(name: str) -> pd.DataFrame:
    """The bundled dataset ``name`` (one of :data:`NAMES`) as a DataFrame."""
    if name not in NAMES:
        raise AnalysisInputError(f"name must be one of {NAMES}, got {name!r}", parameter="name")
    return pd.read_csv(DATA / f"{name}.csv")
