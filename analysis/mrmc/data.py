"""Input of the MRMC analyses: a long ratings table validated and arranged as a dense
``ratings[modality, reader, unit]`` array, units sorted by case."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis.columns import COLUMNS, Columns, plain, require_columns, require_frame
from analysis.errors import AnalysisInputError
from analysis.methods import FOM, choose


@dataclass(frozen=True)
class MRMCData:
    """A fully crossed study as arrays: ``ratings[modality, reader, unit]``, units by case."""

    ratings: np.ndarray
    truth: np.ndarray
    """Boolean, one per unit."""
    case_codes: np.ndarray
    """Case index 0..n_cases-1 of each unit (units sorted by case)."""
    modalities: tuple[object, ...]
    readers: tuple[object, ...]
    cases: tuple[object, ...]
    reference: int
    """Index of the reference modality."""

    @property
    def n_cases(self) -> int:
        return len(self.cases)

    def cases_with(self, positive: bool) -> np.ndarray:
        """Boolean per case: holds at least one positive (or negative) unit."""
        mask = self.truth if positive else ~self.truth
        return np.bincount(self.case_codes[mask], minlength=self.n_cases) > 0


def _first_row(data: pd.DataFrame, mask: np.ndarray, cols: list[str]) -> str:
    row = data.loc[mask, cols].iloc[0]
    return ", ".join(f"{c}={plain(row[c])!r}" for c in cols)


def _check_cells(
    data: pd.DataFrame, rating: str, binary: bool, cols: Columns, ids: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Refuse empty cells, non-numeric ratings, non-0/1 calls and truths; return the ratings
    and truths as floats."""
    for col in [*ids, cols.truth, rating]:
        bad = data[col].isna().to_numpy()
        if bad.any():
            where = _first_row(data, bad, [c for c in ids if c != col] or ids)
            raise AnalysisInputError(
                f"column {col!r} is empty in {int(bad.sum())} row(s), first at {where}; "
                "fill or drop those rows (missing reads are not imputed)"
            )
    scores = pd.to_numeric(data[rating], errors="coerce").to_numpy(dtype=float)
    if np.isnan(scores).any():
        bad = np.isnan(scores)
        raise AnalysisInputError(
            f"column {rating!r} must be numeric; {plain(data[rating][bad].iloc[0])!r} at "
            f"{_first_row(data, bad, ids)} is not"
        )
    if binary and not np.isin(scores, (0.0, 1.0)).all():
        bad = ~np.isin(scores, (0.0, 1.0))
        raise AnalysisInputError(
            f"sensitivity and specificity need 0/1 calls in {rating!r}; found "
            f"{plain(scores[bad][0])!r} at {_first_row(data, bad, ids)}"
        )
    truth_values = pd.to_numeric(data[cols.truth], errors="coerce").to_numpy(dtype=float)
    if not np.isin(truth_values, (0.0, 1.0)).all():
        bad = ~np.isin(truth_values, (0.0, 1.0))
        raise AnalysisInputError(
            f"truth must be 0 or 1; found {plain(data[cols.truth][bad].iloc[0])!r} at "
            f"{_first_row(data, bad, ids)}"
        )
    return scores, truth_values


def prepare_mrmc(
    data: pd.DataFrame,
    *,
    rating: str,
    binary: bool,
    reference: object | None = None,
    columns: Columns = COLUMNS,
) -> MRMCData:
    """Validate a long ratings table and arrange it as a dense array (see :class:`MRMCData`).

    One row per reader x modality x case x unit; the ``unit`` column may be absent when each
    case is one unit (classic ROC data). The design must be fully crossed: every reader reads
    every unit in every modality. ``binary=True`` requires 0/1 ratings (calls). Missing
    values are refused (no ``nan_policy``: dropping a read would break the crossing).
    """
    require_frame(data)
    cols = columns
    has_unit = cols.unit in data.columns
    require_columns(
        data, replace(cols, rating=rating), ("reader", "modality", "case", "truth", "rating")
    )
    if data.empty:
        raise AnalysisInputError("the ratings table has no rows")
    id_cols = [cols.reader, cols.modality, cols.case, *([cols.unit] if has_unit else [])]
    scores, truth_values = _check_cells(data, rating, binary, cols, id_cols)

    m_codes, modalities = pd.factorize(data[cols.modality])
    r_codes, readers = pd.factorize(data[cols.reader])
    c_codes, cases = pd.factorize(data[cols.case])
    if has_unit:
        u_codes, units = pd.factorize(data[cols.unit])
    else:
        u_codes, units = np.zeros(len(data), dtype=np.int64), pd.Index(["case"])
    modalities, readers, cases, units = (
        idx.tolist() for idx in (modalities, readers, cases, units)
    )
    t, r = len(modalities), len(readers)
    keys, unit_idx = np.unique(c_codes.astype(np.int64) * len(units) + u_codes, return_inverse=True)
    n_units = keys.size
    case_codes = (keys // len(units)).astype(np.int64)

    cell = (m_codes.astype(np.int64) * r + r_codes) * n_units + unit_idx
    counts = np.bincount(cell, minlength=t * r * n_units)
    if (counts > 1).any():
        dup = pd.Series(cell).duplicated(keep=False).to_numpy()
        hint = (
            ""
            if has_unit
            else f" (no {cols.unit!r} column: name it in columns= for unit-level data)"
        )
        raise AnalysisInputError(
            f"{int((counts > 1).sum())} reader x modality x case x unit cell(s) have more than "
            f"one row, first at {_first_row(data, dup, id_cols)}; keep one rating per cell{hint}"
        )
    if (counts == 0).any():
        first = int(np.flatnonzero(counts == 0)[0])
        mi, rest = divmod(first, r * n_units)
        ri, ui = divmod(rest, n_units)
        unit_label = units[keys[ui] % len(units)]
        raise AnalysisInputError(
            f"the design is not fully crossed: {int((counts == 0).sum())} reader x modality x "
            f"unit reads are missing, first reader {readers[ri]!r}, modality "
            f"{modalities[mi]!r}, case {cases[case_codes[ui]]!r}, unit {unit_label!r}; "
            "every reader must rate every unit in every modality"
        )
    ratings = np.empty(t * r * n_units)
    ratings[cell] = scores
    unit_truth = np.empty(n_units)
    unit_truth[unit_idx] = truth_values
    if (unit_truth[unit_idx] != truth_values).any():
        bad = unit_truth[unit_idx] != truth_values
        raise AnalysisInputError(
            f"truth differs between rows of the same case and unit, e.g. at "
            f"{_first_row(data, bad, id_cols)}; truth belongs to the unit, not to the read"
        )
    if t < 2:
        raise AnalysisInputError(
            f"an MRMC comparison needs at least 2 modalities; found only {modalities[0]!r} in "
            f"column {cols.modality!r}"
        )
    if reference is None:
        ref = 0
    elif reference in modalities:
        ref = modalities.index(reference)
    else:
        raise AnalysisInputError(
            f"reference modality {reference!r} is not in the data; modalities are {modalities}",
            parameter="reference",
        )
    return MRMCData(
        ratings=ratings.reshape(t, r, n_units),
        truth=unit_truth.astype(bool),
        case_codes=case_codes,
        modalities=tuple(modalities),
        readers=tuple(readers),
        cases=tuple(cases),
        reference=ref,
    )


def prepare_for_fom(
    data: pd.DataFrame,
    fom: FOM | str,
    *,
    rating: str | None = None,
    reference: object | None = None,
    columns: Columns = COLUMNS,
) -> MRMCData:
    """:func:`prepare_mrmc` for one figure of merit: the rating column defaults to
    ``columns.rating`` for the AUC and ``columns.call`` for sensitivity and specificity
    (0/1 required)."""
    fom = choose(FOM, fom, "fom")
    default = columns.rating if fom is FOM.AUC else columns.call
    return prepare_mrmc(
        data,
        rating=rating or default,
        binary=fom is not FOM.AUC,
        reference=reference,
        columns=columns,
    )
