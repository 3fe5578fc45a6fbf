"""Exports for other MRMC software: iMRMC (``.imrmc``) and RJafroc/MRMCaov (long CSV).

Neither tool knows that ASPECTS units are nested in cases: for unit-level studies each
case x unit becomes one "case" there, and a mapping file keeps the original ids. Use this
package's clustered methods when units share a patient.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.files import atomic_output, write_text
from analysis.units import CASE_UNIT


def _score_column(ratings: pd.DataFrame) -> str:
    """The confidence rating where every read has one, else the binary call."""
    if "rating" in ratings and ratings["rating"].notna().all():
        return "rating"
    if "call" in ratings:
        return "call"
    raise AnalysisInputError("nothing to export: the ratings have neither 'rating' nor 'call'")


def _case_ids(ratings: pd.DataFrame) -> pd.Series:
    """The exported case id: the case itself, or ``case:unit`` for unit-level studies."""
    if (ratings["unit"] == CASE_UNIT).all():
        return ratings["case"].astype(str)
    return ratings["case"].astype(str) + ":" + ratings["unit"].astype(str)


def to_long_csv(ratings: pd.DataFrame, path: str | Path) -> Path:
    """RJafroc/MRMCaov long format: ``reader, treatment, case, truth, rating`` (+ ids).

    ``patient`` and ``unit`` keep the original case and unit of each exported case, e.g. for
    ``MRMCaov::mrmc(empirical_auc(truth, rating), treatment, reader, case, data)``.
    """
    score = _score_column(ratings)
    frame = pd.DataFrame(
        {
            "reader": ratings["reader"],
            "treatment": ratings["modality"],
            "case": _case_ids(ratings),
            "truth": ratings["truth"].astype(int),
            "rating": ratings[score],
            "patient": ratings["case"],
            "unit": ratings["unit"],
        }
    )
    path = Path(path)
    with atomic_output(path) as temporary:
        frame.to_csv(temporary, index=False)
    return path


def to_imrmc(ratings: pd.DataFrame, path: str | Path) -> tuple[Path, Path]:
    """iMRMC input file and a CSV mapping its integer ids back to readers, modalities, cases.

    The layout follows iMRMC's input format: a free-text description with ``NR:``, ``N0:``,
    ``N1:`` and ``NM:`` lines, ``BEGIN DATA:``, then ``reader,case,modality,score`` rows; one
    truth row per case has reader ``-1`` and modality ``0`` with score 0 or 1. Ids are
    integers (RJafroc's ``DfReadDataFile(format = "iMRMC")`` requires integer case ids).
    """
    score = _score_column(ratings)
    path = Path(path)
    case_labels = _case_ids(ratings)
    readers = {r: i for i, r in enumerate(pd.unique(ratings["reader"]), start=1)}
    modalities = {m: i for i, m in enumerate(pd.unique(ratings["modality"]), start=1)}
    cases = {c: i for i, c in enumerate(pd.unique(case_labels), start=1)}
    truth = (
        pd.DataFrame({"case": case_labels, "truth": ratings["truth"].astype(int)})
        .drop_duplicates("case")
        .reset_index(drop=True)
    )
    lines = [
        "readerstudy export for iMRMC (ids mapped in the companion CSV)",
        f"score: {score}",
        f"NR: {len(readers)}",
        f"N0: {int((truth['truth'] == 0).sum())}",
        f"N1: {int((truth['truth'] == 1).sum())}",
        f"NM: {len(modalities)}",
        "",
        "BEGIN DATA:",
    ]
    lines += [f"-1,{cases[c]},0,{t}" for c, t in truth.itertuples(index=False)]
    body = pd.DataFrame(
        {
            "reader": ratings["reader"].map(readers),
            "case": case_labels.map(cases),
            "modality": ratings["modality"].map(modalities),
            "score": ratings[score],
        }
    )
    text = "\n".join(lines) + "\n" + body.to_csv(index=False, header=False)
    write_text(path, text, encoding="ascii")
    mapping = pd.concat(
        [
            pd.DataFrame({"kind": "reader", "id": readers.values(), "label": readers.keys()}),
            pd.DataFrame(
                {"kind": "modality", "id": modalities.values(), "label": modalities.keys()}
            ),
            pd.DataFrame({"kind": "case", "id": cases.values(), "label": cases.keys()}),
        ],
        ignore_index=True,
    )
    map_path = path.with_name(path.stem + "_ids.csv")
    with atomic_output(map_path) as temporary:
        mapping.to_csv(temporary, index=False)
    return path, map_path
