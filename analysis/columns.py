"""Column names of the long tables (DATA_CONTRACTS.md), passed as one object, and the checks
every public function runs on them first.

A study whose columns are named otherwise passes ``columns=Columns(modality="treatment")``;
the default :data:`COLUMNS` is the contract's spelling.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.methods import NanPolicy, choose


@dataclass(frozen=True)
class Columns:
    """Which column holds each role of a long ratings (or times) table."""

    reader: str = "reader"
    modality: str = "modality"
    case: str = "case"
    unit: str = "unit"
    truth: str = "truth"
    """0/1 per unit."""
    call: str = "call"
    """A reader's 0/1 decision."""
    rating: str = "rating"
    """A reader's confidence score (higher = abnormal)."""
    seconds: str = "active_s"
    """Reading time of one case (times table)."""

    def __getitem__(self, role: str) -> str:
        return str(getattr(self, role))

    def roles(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self))


COLUMNS = Columns()


def require_frame(data: object) -> pd.DataFrame:
    """Refuse anything but a DataFrame (a dict or array has no column names to check)."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame in long format, got {type(data)}")
    return data


def require_columns(
    data: pd.DataFrame, columns: Columns, roles: Iterable[str], table: str = "the ratings table"
) -> None:
    """Refuse a table lacking the column of any of ``roles``, naming role and column."""
    missing = [f"{role}={columns[role]!r}" for role in roles if columns[role] not in data.columns]
    if missing:
        raise AnalysisInputError(
            f"{table} lacks column(s) {', '.join(missing)}; it has "
            f"{list(map(str, data.columns))}. Rename them or pass their names as "
            "columns=Columns(reader=..., modality=..., case=..., unit=..., truth=..., ...)"
        )


def handle_nan(
    data: pd.DataFrame, names: Iterable[str], nan_policy: str, table: str = "the ratings table"
) -> pd.DataFrame:
    """``data`` without rows missing any of ``names`` (``"omit"``), or refuse them (``"raise"``)."""
    policy = choose(NanPolicy, nan_policy, "nan_policy")
    names = list(names)
    empty = data[names].isna()
    if not empty.to_numpy().any():
        return data
    if policy is NanPolicy.OMIT:
        return data.loc[~empty.any(axis=1).to_numpy()]
    column = next(c for c in names if empty[c].any())
    raise AnalysisInputError(
        f"{table}: column {column!r} is empty in {int(empty[column].sum())} row(s), first at "
        f"row {_first(empty[column].to_numpy())}; fill or drop them, or pass "
        "nan_policy='omit' to leave those rows out",
        parameter="nan_policy",
    )


def require_binary(data: pd.DataFrame, name: str, table: str = "the ratings table") -> None:
    """Refuse a column whose values are not all 0 or 1 (2, 0.5 or text would count as 0)."""
    values = pd.to_numeric(data[name], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        raise AnalysisInputError(
            f"{table}: column {name!r} must be 0 or 1; found "
            f"{plain(data[name].iloc[_first(bad)])!r} at row {_first(bad)} ({int(bad.sum())} "
            "such row(s))"
        )


def _first(mask: np.ndarray) -> int:
    """0-based position of the first flagged row (the index may be anything)."""
    return int(np.flatnonzero(mask)[0])


def plain(value: object) -> object:
    """numpy scalars as Python scalars, so messages read ``1``, not ``np.int64(1)``."""
    return value.item() if isinstance(value, np.generic) else value
