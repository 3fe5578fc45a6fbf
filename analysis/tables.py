"""Load and validate the reader-study tables of DATA_CONTRACTS.md (CSV or XLSX).

Every rejection raises :class:`~analysis.errors.AnalysisInputError` with a message that names
the table, the rule, the offending rows and the fix, so that a coordinator can act on it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.files import UnreadableTableError, read_csv_text
from analysis.units import CASE_UNIT, UNITS

COLUMN_ALIASES = {"treatment": "modality"}
"""Accepted synonyms (RJafroc/MRMCaov call the modality ``treatment``)."""

ID_COLUMNS = ("reader", "modality", "case", "unit")
_SHOWN = 5  # offending items quoted in one message


@dataclass(frozen=True)
class Crossing:
    """How far a study is from fully crossed (every reader reads every unit in every modality).

    A case is *complete for a reader* when the reader rated every truth unit of it in every
    modality. The rules (documented in docs/analysis.md):

    - per-reader statistics use every read;
    - per-reader paired comparisons (McNemar, clustered McNemar) use the cases complete for
      that reader (``paired``);
    - multi-reader crossed analyses (reader averages, ICC, clinical views, MRMC ROC) use the
      cases complete for every reader (``complete_cases``) among the readers who completed
      at least one case (``crossed_readers``): the complete-case rule for a reader who
      missed some cases. When no case is complete for every such reader (readers read
      different case subsets: a split-plot or otherwise unbalanced design), those analyses
      are not computed and ``notes`` say why.
    """

    fully_crossed: bool
    complete_cases: tuple[str, ...]
    crossed_readers: tuple[str, ...]
    paired: pd.DataFrame | None
    """(reader, case) pairs complete for that reader; None when fully crossed."""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class StudyTables:
    """Validated tables of one study; ``ratings`` carries the ``truth`` of each row."""

    ratings: pd.DataFrame
    truth: pd.DataFrame
    times: pd.DataFrame | None = None
    cases: pd.DataFrame | None = None
    ai: pd.DataFrame | None = None
    modalities: tuple[str, ...] = ()
    readers: tuple[str, ...] = ()
    crossing: Crossing | None = None

    @property
    def fully_crossed(self) -> bool:
        return self.crossing is None or self.crossing.fully_crossed

    def crossed(self) -> StudyTables | None:
        """The study restricted to its complete cases and crossed readers (itself when fully
        crossed; None when no case is complete for every reader)."""
        cx = self.crossing
        if cx is None or cx.fully_crossed:
            return self
        if not cx.complete_cases:
            return None
        keep = self.ratings["case"].isin(cx.complete_cases) & self.ratings["reader"].isin(
            cx.crossed_readers
        )
        truth = self.truth[self.truth["case"].isin(cx.complete_cases)].reset_index(drop=True)
        return replace(
            self,
            ratings=self.ratings[keep].reset_index(drop=True),
            truth=truth,
            readers=cx.crossed_readers,
            crossing=Crossing(True, cx.complete_cases, cx.crossed_readers, None),
        )

    def paired_ratings(self) -> pd.DataFrame:
        """Each reader's reads of the cases that reader completed in every modality."""
        pairs = None if self.crossing is None else self.crossing.paired
        if self.fully_crossed or pairs is None:
            return self.ratings
        keys = pd.MultiIndex.from_frame(self.ratings[["reader", "case"]])
        keep = keys.isin(pd.MultiIndex.from_frame(pairs[["reader", "case"]]))
        return self.ratings[keep].reset_index(drop=True)

    @property
    def has_calls(self) -> bool:
        return "call" in self.ratings and self.ratings["call"].notna().any()

    @property
    def has_ratings(self) -> bool:
        return "rating" in self.ratings and self.ratings["rating"].notna().any()

    @property
    def all_aspects_units(self) -> bool:
        """True when every case is rated on all 20 ASPECTS units (case scores exist)."""
        return set(self.truth["unit"]) == set(UNITS)

    @property
    def whole_case(self) -> bool:
        """True for classic ROC studies that rate whole cases (unit ``case``)."""
        return bool((self.truth["unit"] == CASE_UNIT).all())


_WORKBOOK_SUFFIXES = {".xlsx", ".xlsm"}
_WORKBOOK_TABLES = {t: t for t in ("truth", "times", "cases", "ai")} | {"ai_regions": "ai"}
"""Sheet names (stripped, lower case) of a ratings workbook -> the contract table they hold."""


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    columns = [str(c).strip().lower() for c in frame.columns]
    return frame.set_axis(columns, axis=1).rename(columns=COLUMN_ALIASES)


def read_table(path: str | Path, name: str | None = None) -> pd.DataFrame:
    """Read a CSV or an XLSX sheet (the sheet called ``name`` if present, else the first)."""
    return _read(path, name)[0]


def _read(path: str | Path, name: str | None) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """:func:`read_table`, plus every sheet of a workbook (empty for a CSV), read once."""
    path = Path(path)
    if not path.is_file():
        raise AnalysisInputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in _WORKBOOK_SUFFIXES:
        sheets = _read_workbook(path)
        frame = sheets[name] if name in sheets else next(iter(sheets.values()))
        return _normalised(frame), sheets
    if suffix in {".csv", ".txt"}:
        return _normalised(_read_csv(path)), {}
    raise AnalysisInputError(f"{path}: expected a .csv or .xlsx file, got {suffix!r}")


def _read_workbook(path: Path) -> dict[str, pd.DataFrame]:
    import zipfile

    try:
        sheets: dict[str, pd.DataFrame] = pd.read_excel(path, sheet_name=None, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise AnalysisInputError(
            f"{path}: not a readable Excel workbook ({type(exc).__name__}); save it again from "
            "Excel as .xlsx, or export the sheet as CSV"
        ) from None
    if not sheets:
        raise AnalysisInputError(f"{path}: the workbook has no sheets")
    return sheets


def _read_csv(path: Path) -> pd.DataFrame:
    """A coordinator's CSV (:func:`analysis.files.read_csv_text` says which flavours)."""
    try:
        text, delimiter = read_csv_text(path)
    except UnreadableTableError as exc:
        raise AnalysisInputError(f"{path}: {exc}") from None
    try:
        return pd.read_csv(io.StringIO(text), sep=delimiter)
    except pd.errors.ParserError as exc:
        raise AnalysisInputError(f"{path}: not a valid CSV table: {exc}".strip()) from None


def _workbook_tables(sheets: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Every sheet of a workbook whose name is a table of the contract."""
    found = {}
    for sheet, frame in sheets.items():
        key = sheet.strip().lower()
        if key in _WORKBOOK_TABLES:
            found[_WORKBOOK_TABLES[key]] = _normalised(frame)
    return found


def _quote(items: Iterable[object]) -> str:
    items = list(items)
    shown = ", ".join(str(i) for i in items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _require(frame: pd.DataFrame, table: str, columns: Iterable[str]) -> None:
    missing = [c for c in columns if c not in frame]
    if missing:
        raise AnalysisInputError(
            f"{table}: missing column(s) {', '.join(missing)}; found {', '.join(frame.columns)}"
        )


def _ids_as_text(
    frame: pd.DataFrame, columns: Iterable[str], table: str = "ratings"
) -> pd.DataFrame:
    """Ids as stripped text (``7``, ``7.0`` and `` 7`` are one case), or raise on empty ids."""
    frame = frame.copy()
    for column in columns:
        if column in frame:
            values = frame[column]
            if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
                values = values.astype("Int64")
            # Convert the distinct values only: ids repeat across hundreds of thousands of rows.
            codes, uniques = pd.factorize(values)
            if (codes < 0).any():
                rows = np.flatnonzero(codes < 0)
                raise AnalysisInputError(
                    f"{table}: column '{column}' is empty at row(s) {_quote(i + 2 for i in rows)}"
                )
            text = pd.Index(uniques).astype(str).str.strip()
            frame[column] = pd.Series(np.asarray(text, dtype=object)[codes], index=frame.index)
    return frame


def _binary(frame: pd.DataFrame, table: str, column: str, keys: Sequence[str]) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = frame[~values.isin([0, 1])]
    if len(bad):
        where = [
            f"row {i + 2} ({', '.join(str(bad.at[i, k]) for k in keys)}: {bad.at[i, column]!r})"
            for i in bad.index
        ]
        raise AnalysisInputError(
            f"{table}: column '{column}' must be 0 or 1; bad value at {_quote(where)}"
        )
    return values


def _check_duplicates(frame: pd.DataFrame, table: str, keys: Sequence[str]) -> None:
    dup = frame[frame.duplicated(list(keys), keep=False)]
    if len(dup):
        names = [tuple(r) for r in dup[list(keys)].drop_duplicates().itertuples(index=False)]
        raise AnalysisInputError(
            f"{table}: {len(dup)} duplicate rows for ({', '.join(keys)}): {_quote(names)}; "
            "keep one row per key"
        )


def _check_units(frame: pd.DataFrame, table: str) -> None:
    units = set(frame["unit"].unique())
    unknown = sorted(units - set(UNITS) - {CASE_UNIT})
    if unknown:
        raise AnalysisInputError(
            f"{table}: unknown unit(s) {_quote(repr(u) for u in unknown)}; expected ASPECTS "
            f"codes <region>_<side> such as 'M5_left', or '{CASE_UNIT}' for whole-case ratings"
        )
    if CASE_UNIT in units and len(units) > 1:
        raise AnalysisInputError(
            f"{table}: unit '{CASE_UNIT}' (whole-case rating) is mixed with ASPECTS units; "
            "a study rates either whole cases or ASPECTS units"
        )


def validate_truth(truth: pd.DataFrame) -> pd.DataFrame:
    """The truth table ``case, unit, truth`` with text ids and 0/1 truth, or raise."""
    truth = truth.rename(columns=COLUMN_ALIASES)
    if "unit" not in truth:
        truth = truth.assign(unit=CASE_UNIT)
    _require(truth, "truth", ("case", "unit", "truth"))
    truth = _ids_as_text(truth, ("case", "unit"), "truth").reset_index(drop=True)
    truth["truth"] = _binary(truth, "truth", "truth", ("case", "unit")).astype(np.int8)
    _check_units(truth, "truth")
    _check_duplicates(truth, "truth", ("case", "unit"))
    return truth[["case", "unit", "truth"]]


def _truth_from_ratings(ratings: pd.DataFrame) -> pd.DataFrame:
    truth = ratings[["case", "unit", "truth"]].drop_duplicates()
    conflict = truth[truth.duplicated(["case", "unit"], keep=False)]
    if len(conflict):
        raise AnalysisInputError(
            "ratings: the 'truth' column disagrees between rows of the same case and unit: "
            f"{_quote(conflict[['case', 'unit']].drop_duplicates().itertuples(index=False))}"
        )
    return truth


def validate_ratings(
    ratings: pd.DataFrame, truth: pd.DataFrame | None = None, *, reference: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, tuple[str, ...]]:
    """Validate ratings against truth; return (ratings with truth, truth, modality order).

    The modality order puts the reference first: ``reference`` if given, else ``unaided`` when
    present, else the first modality in the file.
    """
    ratings = ratings.rename(columns=COLUMN_ALIASES)
    if "unit" not in ratings:
        ratings = ratings.assign(unit=CASE_UNIT)
    _require(ratings, "ratings", ("reader", "modality", "case"))
    if "call" not in ratings and "rating" not in ratings:
        raise AnalysisInputError(
            "ratings: neither a 'call' (0/1) nor a 'rating' column is present; add at least one"
        )
    ratings = _ids_as_text(ratings, ID_COLUMNS).reset_index(drop=True)
    _check_units(ratings, "ratings")
    # An empty column is an absent one (a platform that exports both headers always).
    ratings = ratings.drop(
        columns=[c for c in ("call", "rating") if c in ratings and ratings[c].isna().all()]
    )
    if "call" not in ratings and "rating" not in ratings:
        raise AnalysisInputError("ratings: the 'call' and 'rating' columns are both empty")
    for column in ("call", "rating"):
        if column in ratings:
            empty = ratings[column].isna().groupby(ratings["modality"], sort=False).all()
            if empty.any():
                raise AnalysisInputError(
                    f"modality {_quote(repr(m) for m in empty.index[empty])} has no data: every "
                    f"'{column}' is empty there while other modalities have them"
                )
    if "call" in ratings:
        ratings["call"] = _binary(ratings, "ratings", "call", ID_COLUMNS).astype(np.int8)
    if "rating" in ratings:
        rating = pd.to_numeric(ratings["rating"], errors="coerce")
        bad = ratings.index[rating.isna()]
        if len(bad):
            raise AnalysisInputError(
                "ratings: column 'rating' is empty or not a number at row(s) "
                f"{_quote(i + 2 for i in bad)}"
            )
        ratings["rating"] = rating.astype(float)
    _check_duplicates(ratings, "ratings", ID_COLUMNS)
    if truth is None:
        if "truth" not in ratings:
            raise AnalysisInputError(
                "no truth: pass a truth table (case, unit, truth) or add a 'truth' column "
                "to the ratings",
                parameter="truth",
            )
        ratings["truth"] = _binary(ratings, "ratings", "truth", ID_COLUMNS)
        truth = _truth_from_ratings(ratings)
    truth = validate_truth(truth)
    ratings = ratings.drop(columns="truth", errors="ignore")

    modalities = tuple(pd.unique(ratings["modality"]))
    if reference is None:
        reference = "unaided" if "unaided" in modalities else modalities[0]
    elif reference not in modalities:
        raise AnalysisInputError(
            f"reference {reference!r} is not a modality of the ratings "
            f"(modalities: {', '.join(modalities)})",
            parameter="reference",
        )
    modalities = (reference, *[m for m in modalities if m != reference])

    merged = ratings.merge(truth[["case", "unit", "truth"]], on=["case", "unit"], how="left")
    no_truth = merged.loc[merged["truth"].isna(), ["case", "unit"]].drop_duplicates()
    if len(no_truth):
        raise AnalysisInputError(
            f"truth: no row for {len(no_truth)} rated (case, unit): "
            f"{_quote(f'case {c} unit {u}' for c, u in no_truth.itertuples(index=False))}; "
            "every rated unit needs a truth"
        )
    merged["truth"] = merged["truth"].astype(np.int8)
    rank = merged["modality"].map({m: i for i, m in enumerate(modalities)})
    merged = merged.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)
    return merged, truth, modalities


def crossing(ratings: pd.DataFrame, truth: pd.DataFrame) -> Crossing:
    """Describe the design against full crossing (see :class:`Crossing` for the rules)."""
    readers = tuple(pd.unique(ratings["reader"]))
    modalities = ratings["modality"].nunique()
    if len(ratings) == len(readers) * modalities * len(truth):
        cases = tuple(pd.unique(truth["case"]))
        return Crossing(True, cases, readers, None)
    units = truth.groupby("case", sort=False).size()
    reads = ratings.groupby(["reader", "case"], sort=False).size().rename("reads").reset_index()
    reads["complete"] = (
        reads["reads"].to_numpy() == modalities * units.loc[reads["case"]].to_numpy()
    )
    paired = reads.loc[reads["complete"], ["reader", "case"]].reset_index(drop=True)
    crossed_readers = tuple(r for r in readers if (paired["reader"] == r).any())
    per_case = paired[paired["reader"].isin(crossed_readers)].groupby("case", sort=False).size()
    complete = tuple(c for c in units.index if per_case.get(c, 0) == len(crossed_readers))
    notes = [_missing_reads(ratings, truth, units)]
    dropped = [r for r in readers if r not in crossed_readers]
    if dropped:
        notes.append(
            f"reader(s) {_quote(dropped)} completed no case in every modality: left out of the "
            "paired and crossed analyses (their own sensitivity and specificity are reported)"
        )
    if complete:
        notes.append(
            f"complete-case rule: the crossed analyses (reader averages, ICC, clinical views, "
            f"MRMC ROC) use the {len(complete)} of {len(units)} cases that every reader "
            f"({len(crossed_readers)}) read in full in every modality; McNemar tests use each "
            "reader's own complete cases; per-reader sensitivity, specificity and the GEE use "
            "every read"
        )
    else:
        notes.append(
            "readers read different case subsets (a split-plot or unbalanced design): no case "
            "was read in full by every reader in every modality, so the reader averages, ICC, "
            "clinical views and crossed MRMC ROC analysis are not computed; per-reader "
            "sensitivity, specificity and McNemar tests (each reader's complete cases), the GEE "
            "(--gee), the U-statistic variance of the AUC difference (--ustat, any design) and, "
            "where the readers form groups that each read their own cases, the split-plot OR "
            "analysis of the AUC (Obuchowski, Gallas & Hillis 2012) are"
        )
    return Crossing(False, complete, crossed_readers, paired, tuple(notes))


def _missing_reads(ratings: pd.DataFrame, truth: pd.DataFrame, units: pd.Series) -> str:
    """One line naming, per reader and modality, the cases not read in full."""
    readers, modalities = pd.unique(ratings["reader"]), pd.unique(ratings["modality"])
    grid = pd.MultiIndex.from_product([readers, modalities, units.index])
    counts = ratings.groupby(["reader", "modality", "case"], sort=False).size()
    got = counts.reindex(grid, fill_value=0).to_numpy()
    short = got < np.tile(units.to_numpy(), len(readers) * len(modalities))
    problems = []
    for block, (reader, modality) in enumerate((r, m) for r in readers for m in modalities):
        mask = short[block * len(units) : (block + 1) * len(units)]
        if mask.any():
            problems.append(
                f"reader {reader}, modality {modality}: {int(mask.sum())} case(s) not read in "
                f"full ({_quote(units.index[mask])})"
            )
    return (
        "the design is not fully crossed: "
        + "; ".join(problems[:_SHOWN])
        + (f"; and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else "")
    )


def validate_times(times: pd.DataFrame) -> pd.DataFrame:
    """The times table ``reader, modality, case, active_s[, wall_s]`` with text ids."""
    times = times.rename(columns=COLUMN_ALIASES)
    _require(times, "times", ("reader", "modality", "case", "active_s"))
    times = _ids_as_text(times, ("reader", "modality", "case"), "times").reset_index(drop=True)
    for column in ("active_s", "wall_s"):
        if column in times:
            values = pd.to_numeric(times[column], errors="coerce")
            bad = times.index[~np.isfinite(values) | (values < 0)]
            if len(bad):
                raise AnalysisInputError(
                    f"times: column '{column}' must be a finite, non-negative number of seconds; "
                    f"bad at row(s) {_quote(i + 2 for i in bad)}"
                )
            times[column] = values
    _check_duplicates(times, "times", ("reader", "modality", "case"))
    return times


def _check_times_rated(times: pd.DataFrame, ratings: pd.DataFrame) -> None:
    """Refuse time rows with no rating behind them: they would shift the per-modality means."""
    keys = ["reader", "modality", "case"]
    rated = ratings[keys].drop_duplicates()
    merged = times[keys].merge(rated, on=keys, how="left", indicator=True)
    orphans = merged[merged["_merge"] == "left_only"]
    if len(orphans):
        raise AnalysisInputError(
            f"times: {len(orphans)} row(s) have no ratings behind them: "
            + _quote(
                f"reader {r} {m} case {c}" for r, m, c in orphans[keys].itertuples(index=False)
            )
            + "; remove them or add the missing ratings"
        )


def validate_cases(cases: pd.DataFrame) -> pd.DataFrame:
    """The cases table ``case, side`` (left, right or none) plus metadata columns."""
    _require(cases, "cases", ("case", "side"))
    cases = _ids_as_text(cases, ("case",), "cases").reset_index(drop=True)
    cases["side"] = cases["side"].fillna("none").astype(str).str.strip().str.lower()
    bad = cases[~cases["side"].isin(["left", "right", "none"])]
    if len(bad):
        raise AnalysisInputError(
            "cases: column 'side' must be left, right or none; bad at "
            f"{_quote(f'case {c} ({s!r})' for c, s in zip(bad['case'], bad['side'], strict=True))}"
        )
    _check_duplicates(cases, "cases", ("case",))
    return cases


def validate_ai(ai: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """AI outputs ``case, unit, probability, call`` joined to truth (every truth unit needed)."""
    _require(ai, "ai_regions", ("case", "unit", "probability"))
    ai = _ids_as_text(ai, ("case", "unit"), "ai_regions").reset_index(drop=True)
    _check_units(ai, "ai_regions")
    _check_duplicates(ai, "ai_regions", ("case", "unit"))
    ai["probability"] = pd.to_numeric(ai["probability"], errors="coerce")
    if ai["probability"].isna().any():
        raise AnalysisInputError("ai_regions: column 'probability' has empty or non-numeric values")
    if "call" in ai:
        ai["call"] = _binary(ai, "ai_regions", "call", ("case", "unit"))
    merged = truth[["case", "unit", "truth"]].merge(ai, on=["case", "unit"], how="left")
    missing = merged.loc[merged["probability"].isna(), ["case", "unit"]]
    if len(missing):
        raise AnalysisInputError(
            f"ai_regions: no output for {len(missing)} truth unit(s): "
            f"{_quote(f'case {c} unit {u}' for c, u in missing.itertuples(index=False))}"
        )
    return merged


def load_study_tables(
    ratings: pd.DataFrame,
    truth: pd.DataFrame | None = None,
    *,
    times: pd.DataFrame | None = None,
    cases: pd.DataFrame | None = None,
    ai: pd.DataFrame | None = None,
    reference: str | None = None,
) -> StudyTables:
    """Validate every table and return them together, ids as text and the reference first."""
    ratings, truth, modalities = validate_ratings(ratings, truth, reference=reference)
    if times is not None:
        times = validate_times(times)
        unknown = sorted(set(times["modality"]) - set(modalities))
        if unknown:
            raise AnalysisInputError(
                f"times: modality {_quote(repr(m) for m in unknown)} has no ratings "
                f"(rated modalities: {', '.join(modalities)})"
            )
        _check_times_rated(times, ratings)
    return StudyTables(
        ratings=ratings,
        truth=truth,
        times=times,
        cases=validate_cases(cases) if cases is not None else None,
        ai=validate_ai(ai, truth) if ai is not None else None,
        modalities=modalities,
        readers=tuple(pd.unique(ratings["reader"])),
        crossing=crossing(ratings, truth),
    )


STUDY_FILES = {
    "ratings": ("ratings.csv", "ratings.xlsx"),
    "truth": ("truth.csv", "truth.xlsx"),
    "times": ("times.csv", "times.xlsx"),
    "cases": ("cases.csv", "cases.xlsx"),
    "ai": ("ai/ai_regions.csv", "ai_regions.csv"),
}
"""Exported tables looked for in a study folder, first match wins."""


def read_study_folder(folder: str | Path) -> dict[str, pd.DataFrame]:
    """The exported tables of a study folder (``ratings.csv``, ``truth.csv`` ...)."""
    folder = Path(folder)
    found = {}
    for name, candidates in STUDY_FILES.items():
        for candidate in candidates:
            if (folder / candidate).is_file():
                found[name] = read_table(folder / candidate, name)
                break
    if "ratings" not in found:
        raise AnalysisInputError(
            f"{folder}: no ratings.csv or ratings.xlsx; export the study's tables first "
            "(readerstudy study export) or pass the ratings file itself"
        )
    return found


def read_inputs(
    ratings: str | Path,
    *,
    truth: str | Path | None = None,
    times: str | Path | None = None,
    cases: str | Path | None = None,
    ai: str | Path | None = None,
) -> dict[str, pd.DataFrame]:
    """Read the tables named on the command line; an XLSX ratings workbook may hold the rest
    as sheets named truth, times, cases and ai (or ai_regions)."""
    frame, sheets = _read(ratings, "ratings")
    tables = {"ratings": frame, **_workbook_tables(sheets)}
    for name, path in (("truth", truth), ("times", times), ("cases", cases), ("ai", ai)):
        if path is not None:
            tables[name] = read_table(path, name)
    return tables
