"""Export a study's results as the DATA_CONTRACTS tables, a paper-style workbook and iMRMC input.

Reader ids are those of study.toml and case ids are the study's case codes (never the neutral
per-session codes readers saw). ``export_tables`` is what ``readerstudy analyze STUDY`` reads.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.files import atomic_output, check_output_folder, staged_folder
from analysis.units import CASE_UNIT, SIDES, aspects_score
from readerstudy.study.protocol import (
    AI_TABLE,
    CASES_FILE,
    TRUTH_FILE,
    Study,
    read_csv_rows,
)

RATINGS_COLUMNS = ("reader", "modality", "case", "unit", "call", "rating", "session", "order")
TIMES_COLUMNS = ("reader", "modality", "case", "active_s", "wall_s", "session", "order")


def tables_from_study(study: Study) -> dict[str, pd.DataFrame]:
    """ratings, times, truth, cases (and ai when present) of an opened study."""
    ratings, times = [], []
    for read in study.store.reads():
        for unit, answer in read.units.items():
            ratings.append(
                {
                    "reader": read.reader,
                    "modality": read.modality,
                    "case": read.case,
                    "unit": unit,
                    "call": answer["call"],
                    "rating": answer["rating"],
                    "session": read.session,
                    "order": read.order,
                }
            )
        times.append(
            {
                "reader": read.reader,
                "modality": read.modality,
                "case": read.case,
                "active_s": read.active_s,
                "wall_s": read.wall_s,
                "session": read.session,
                "order": read.order,
            }
        )
    ratings_df = pd.DataFrame(ratings, columns=list(RATINGS_COLUMNS))
    if study.definition.rating.confidence.bounds is None:
        ratings_df = ratings_df.drop(columns="rating")
    if not study.definition.rating.binary_call:
        ratings_df = ratings_df.drop(columns="call")
    else:
        ratings_df["call"] = ratings_df["call"].astype("Int64")
    tables = {
        "ratings": ratings_df,
        "times": pd.DataFrame(times, columns=list(TIMES_COLUMNS)),
        "truth": _study_table(study.path / TRUTH_FILE, ("case", "unit", "truth")),
        "cases": _study_table(study.path / CASES_FILE, ("case", "side")),
    }
    if study.ai_available():
        ai_columns = ("case", "unit", "probability", "call")
        tables["ai"] = _study_table(study.ai_dir / AI_TABLE, ai_columns)
    return tables


def _study_table(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """A table of the study folder, ids as text; checked first by :func:`read_csv_rows`, so
    a missing or damaged file is named with how to restore it (never silently left out:
    analysis without cases.csv would quietly use another infarct side)."""
    read_csv_rows(path, columns)
    return pd.read_csv(path, dtype={c: str for c in ("case", "unit") if c in columns})


def export_tables(study_dir: str | Path, *, db: str | None = None) -> dict[str, pd.DataFrame]:
    """The study's tables keyed ratings, truth, times, cases (and ai when present)."""
    with Study.open(study_dir, db=db, read_only=True) as study:
        return tables_from_study(study)


def _paper_sheet(ratings: pd.DataFrame, times: pd.DataFrame, cases: pd.DataFrame, units):
    """One row per case: the unit calls as columns, ASPECTS per side, the reading time."""
    value = "call" if "call" in ratings else "rating"
    wide = ratings.pivot_table(index=["order", "case"], columns="unit", values=value)
    wide = wide.reindex(columns=[u for u in units if u in wide.columns]).reset_index()
    if value == "call" and units[0] != CASE_UNIT:
        for side in SIDES:
            wide[f"ASPECTS_{side}"] = [
                aspects_score([u for u in units if row[u] == 1], side) for _, row in wide.iterrows()
            ]
    wide = wide.merge(times[["case", "active_s", "wall_s"]], on="case", how="left")
    if "side" in cases:
        wide = wide.merge(cases[["case", "side"]], on="case", how="left")
    return wide.sort_values("order")


def write_workbook(tables: dict[str, pd.DataFrame], path: Path, units) -> Path:
    """A paper-style .xlsx: one sheet per reader and session (openpyxl)."""
    ratings, times, cases = tables["ratings"], tables["times"], tables["cases"]
    with atomic_output(path) as temporary, pd.ExcelWriter(temporary, engine="openpyxl") as writer:
        keys = ratings[["reader", "session", "modality"]].drop_duplicates()
        for reader, session in sorted({(r, s) for r, s, _ in keys.itertuples(index=False)}):
            mask = (ratings.reader == reader) & (ratings.session == session)
            tmask = (times.reader == reader) & (times.session == session)
            sheet = _paper_sheet(ratings[mask], times[tmask], cases, units)
            modalities = "+".join(sorted(ratings[mask].modality.unique()))
            sheet.to_excel(writer, sheet_name=f"{reader} S{session} {modalities}"[:31], index=False)
        if keys.empty:
            pd.DataFrame({"note": ["no reads submitted yet"]}).to_excel(
                writer, sheet_name="empty", index=False
            )
    return path


def export_study(study: Study, out: Path) -> dict[str, Path]:
    """Write ratings.csv, times.csv, truth.csv, cases.csv (ai_regions.csv), the workbook and
    the iMRMC file into ``out``, all or nothing (:func:`analysis.files.staged_folder`);
    returns what was written."""
    from analysis.exports import to_imrmc

    out = Path(out)
    check_output_folder(out)  # before the tables are read
    tables = tables_from_study(study)
    written = {}
    with staged_folder(out) as stage:
        for key, frame in tables.items():
            name = "ai_regions.csv" if key == "ai" else f"{key}.csv"
            with atomic_output(stage / name) as temporary:
                frame.to_csv(temporary, index=False)
            written[key] = stage / name
        written["xlsx"] = write_workbook(
            tables, stage / f"{study.definition.name}_readings.xlsx", study.definition.units
        )
        unit_truth = tables["ratings"].merge(tables["truth"], on=["case", "unit"], how="left")
        written["imrmc"], written["imrmc_ids"] = to_imrmc(unit_truth, stage / "imrmc_input.imrmc")
    return {key: out / path.relative_to(stage) for key, path in written.items()}
