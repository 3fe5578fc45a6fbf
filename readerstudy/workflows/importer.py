"""``readerstudy study init``: build a study folder from cases, truth and optional AI outputs.

Each case is imported through the imaging layer (DICOM de-identified by ``deidentify_tree``;
NIfTI copied as it is) under a neutral case code (``C07``) drawn in a seeded random order, and
content-hashed. Truth is validated against the rating form's units; an imported
``ai_regions.csv`` is validated against the cases and units before the aided reads may use it.
"""

from __future__ import annotations

import csv
import io
import math
import os
import random
import secrets
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from analysis.files import (
    UnreadableTableError,
    check_output_folder,
    file_sha256,
    read_csv_text,
    staged_folder,
)
from analysis.units import SIDES
from readerstudy.errors import ReaderStudyError
from readerstudy.imaging.cases import SourceCase, find_cases
from readerstudy.imaging.formats import ImageFormat
from readerstudy.study.definition import (
    DEFINITION_FILE,
    AISource,
    AISourceKind,
    Design,
    StudyDefinition,
    definition_from_options,
    write_definition,
)
from readerstudy.study.protocol import (
    AI_DIR,
    AI_TABLE,
    CASES_DIR,
    CASES_FILE,
    MANIFEST_FILE,
    TRUTH_FILE,
)

TRUTH_MASKS_DIR = "truth_masks"
"""Reference lesion masks of the study, one ``<code>.nii.gz`` per case that has one."""


INIT_OPTIONS = {
    (): "--design",
    ("design",): "--design",
    ("washout_days",): "--washout-days",
    ("seed",): "--seed",
    ("readers",): "--readers",
    ("modalities",): "--modalities",
    ("idle_timeout_s",): "--idle-timeout",
    ("description",): "--description",
    ("ai", "method"): "--ai-method",
    ("rating",): "--confidence",
    ("rating", "binary_call"): "--no-binary-call",
    ("rating", "confidence"): "--confidence",
}
"""The ``study init`` option that sets each field of the definition (for its errors)."""


class CaseImportError(ReaderStudyError):
    """Cases, truth, metadata or AI outputs do not fit together (message names the rows)."""


def discover_cases(src: Path) -> dict[str, SourceCase]:
    """Case name -> source (:func:`readerstudy.imaging.cases.find_cases`)."""
    src = Path(src)
    if not src.is_dir():
        raise CaseImportError(f"--cases {src}: not a folder")
    return {case.name: case for case in find_cases(src)}


def _text_table(path: Path, what: str) -> list[dict[str, str]]:
    """Rows of a coordinator's CSV (:func:`analysis.files.read_csv_text` says which flavours);
    a row of the wrong length is named by its line."""
    try:
        text, delimiter = read_csv_text(path)
    except UnreadableTableError as exc:
        raise CaseImportError(f"{what} {path}: {exc}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    for row in reader:
        if None in row or None in row.values():
            width = len(reader.fieldnames or ())
            got = width - sum(v is None for v in row.values()) + len(row.get(None) or ())
            raise CaseImportError(
                f"{what} {path} line {reader.line_num}: {got} field(s) where the header has {width}"
            )
        rows.append({k.strip(): v.strip() for k, v in row.items()})
    return rows


def _rows(path: Path, required: Sequence[str], what: str) -> list[dict[str, str]]:
    if not Path(path).is_file():
        raise CaseImportError(f"{what} {path}: file not found")
    rows = _text_table(Path(path), what)
    columns = set(rows[0]) if rows else set()
    missing = [c for c in required if c not in columns]
    if missing:
        raise CaseImportError(
            f"{what} {path}: missing column(s) {', '.join(missing)} "
            f"(expected {', '.join(required)}; see DATA_CONTRACTS.md)"
        )
    return rows


def validate_truth(rows: list[dict[str, str]], units: Sequence[str], source: str) -> dict:
    """``{case: {unit: 0|1}}``; every case has every unit exactly once with truth 0 or 1."""
    truth: dict[str, dict[str, int]] = {}
    for line, row in enumerate(rows, start=2):
        case, unit, value = row["case"], row["unit"], row["truth"].strip()
        if unit not in units:
            raise CaseImportError(f"{source} line {line}: case {case}: unknown unit {unit!r}")
        if value not in ("0", "1"):
            raise CaseImportError(
                f"{source} line {line}: case {case}, unit {unit}: truth must be 0 or 1, "
                f"got {value!r}"
            )
        if unit in truth.setdefault(case, {}):
            raise CaseImportError(f"{source} line {line}: case {case}, unit {unit} appears twice")
        truth[case][unit] = int(value)
    for case, answers in truth.items():
        missing = [u for u in units if u not in answers]
        if missing:
            raise CaseImportError(
                f"{source}: case {case} lacks {len(missing)} of {len(units)} units "
                f"({', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''})"
            )
    if not truth:
        raise CaseImportError(f"{source}: no rows")
    return truth


def validate_ai(
    rows: list[dict[str, str]], cases: Sequence[str], units: Sequence[str], source: str
) -> None:
    """Every case and unit present once, probability in [0, 1], call 0/1."""
    seen: set[tuple[str, str]] = set()
    for line, row in enumerate(rows, start=2):
        case, unit = row["case"], row["unit"]
        where = f"{source} line {line}: case {case}, unit {unit}"
        if case not in cases:
            raise CaseImportError(f"{where}: case is not in the truth table")
        if unit not in units:
            raise CaseImportError(f"{where}: unknown unit")
        try:
            probability = float(row["probability"])
        except ValueError:
            raise CaseImportError(
                f"{where}: probability {row['probability']!r} is not a number"
            ) from None
        if not (math.isfinite(probability) and 0.0 <= probability <= 1.0):
            raise CaseImportError(f"{where}: probability must be in [0, 1], got {probability}")
        if row["call"].strip() not in ("0", "1"):
            raise CaseImportError(f"{where}: call must be 0 or 1, got {row['call']!r}")
        if (case, unit) in seen:
            raise CaseImportError(f"{where}: appears twice")
        seen.add((case, unit))
    missing = [(c, u) for c in cases for u in units if (c, u) not in seen]
    if missing:
        case, unit = missing[0]
        raise CaseImportError(
            f"{source}: {len(missing)} case/unit rows missing, first case {case}, unit {unit} "
            "(aided reads need an AI output for every unit of every case)"
        )


def _write_csv(path: Path, columns: Sequence[str], rows: list[dict]) -> None:
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def neutral_codes(names: Sequence[str], seed: int) -> dict[str, str]:
    """Source name -> neutral code (``C01``...), assigned in a seeded random order."""
    shuffled = sorted(names)
    random.Random(f"codes:{seed}").shuffle(shuffled)
    width = max(2, len(str(len(shuffled))))
    return {name: f"C{i:0{width}d}" for i, name in enumerate(shuffled, start=1)}


def _import_case(case: SourceCase, dst: Path, salt: str) -> str:
    """Copy (NIfTI) or de-identify (DICOM) one case into ``dst`` and return its content hash.

    A NIfTI file is verified end to end first (fully decompressed, every voxel present and
    finite). Errors name the source case and file, never the de-identified copy."""
    from readerstudy.imaging import content_hash, deidentify_tree, verify_nifti

    if case.format is ImageFormat.NIFTI:
        try:
            verify_nifti(case.path)
        except ReaderStudyError as exc:
            raise CaseImportError(
                f"case {case.name}: {exc}; copy it again from the source"
            ) from exc
        dst.mkdir(parents=True)
        suffix = ".nii.gz" if case.path.name.lower().endswith(".gz") else ".nii"
        shutil.copyfile(case.path, dst / f"image{suffix}")
        try:
            return content_hash(dst / f"image{suffix}")
        except ReaderStudyError as exc:
            raise CaseImportError(f"case {case.name} ({case.path}): {exc}") from exc
    _refuse_mixed_patients(case)
    report = deidentify_tree(case.path, dst, salt=salt)
    try:
        return content_hash(dst)
    except ReaderStudyError as exc:
        raise CaseImportError(
            f"case {case.name}: {_in_source_terms(str(exc), report, case, dst)}"
        ) from exc


def _in_source_terms(message: str, report, case: SourceCase, dst: Path) -> str:
    """``message`` about the de-identified copy, retold with the coordinator's own files and
    folders in place of the copies and series named by remapped UIDs."""
    sources_of_series: dict[str, list[Path]] = {}
    for change in sorted(report.files, key=lambda f: -len(f.output)):
        message = message.replace(str(dst / change.output), str(case.path / change.source))
        series_uid = Path(change.output).parts[0]
        sources_of_series.setdefault(series_uid, []).append(case.path / change.source)
    for uid, files in sources_of_series.items():
        folder = Path(os.path.commonpath([f.parent for f in files]))
        message = message.replace(f"series {uid}", f"the series in {folder}")
        message = message.replace(uid, str(folder))
    return message.replace(str(dst), str(case.path))


def _refuse_mixed_patients(case: SourceCase) -> None:
    """A case folder holds one patient: a second patient's series nested in it is refused."""
    from readerstudy.imaging.series import discover_series

    patients: dict[str, list[str]] = {}
    for series in discover_series(case.path):
        if series.patient_id:  # an empty ID (already anonymised) tells nothing apart
            patients.setdefault(series.patient_id, []).append(series.uid)
    if len(patients) > 1:
        listed = "; ".join(f"{len(s)} series of patient {p!r}" for p, s in patients.items())
        raise CaseImportError(
            f"case {case.name} ({case.path}): the folder holds more than one patient ({listed}); "
            "move the other patient's series into a case folder of its own"
        )


def init_study(
    study_dir: Path,
    *,
    cases: Path,
    truth: Path,
    readers: Sequence[str],
    meta: Path | None = None,
    design: Design | str = Design.SEQUENTIAL,
    washout_days: float = 14,
    seed: int = 0,
    ai: Path | None = None,
    name: str | None = None,
    description: str = "",
    definition_overrides: dict | None = None,
    salt: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> StudyDefinition:
    """Create ``study_dir`` (study.toml, cases/, truth.csv, cases.csv, manifest.csv, ai/, and
    truth_masks/ when ``cases`` has reference lesion masks in ``masks/<case>.nii.gz``).

    ``salt`` keys the de-identified UIDs; a random one by default (a fixed salt gives
    reproducible content hashes, which the demo uses to reuse its AI outputs). The study is
    built in a folder beside ``study_dir`` and moved into place whole, so a failed init
    (a bad case, a full disk) leaves nothing a rerun would trip over.
    """

    study_dir = Path(study_dir)
    if (study_dir / DEFINITION_FILE).exists():
        raise CaseImportError(
            f"{study_dir} already holds a study (study.toml): a study is never re-initialised"
        )
    check_output_folder(study_dir)
    if study_dir.exists() and any(study_dir.iterdir()):
        raise CaseImportError(f"{study_dir} exists and is not empty: choose a new folder")
    reader_list = [r.strip() for r in readers if r.strip()]
    definition = definition_from_options(
        {
            "name": name or study_dir.name,
            "description": description,
            "design": design,
            "washout_days": washout_days,
            "seed": seed,
            "readers": [{"id": r, "name": r} for r in reader_list],
            **(definition_overrides or {}),
        },
        {**INIT_OPTIONS, ("name",): "--name" if name else "--name (the folder name by default)"},
        source="study init",
    )
    units = definition.units
    truth_by_case = validate_truth(
        _rows(truth, ("case", "unit", "truth"), "--truth"), units, str(truth)
    )
    found = discover_cases(cases)
    missing = sorted(set(truth_by_case) - set(found))
    if missing:
        raise CaseImportError(
            f"--cases {cases}: no images for {len(missing)} case(s) of the truth table: "
            f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"
        )
    names = sorted(truth_by_case)
    codes = neutral_codes(names, seed)
    meta_rows: dict[str, dict[str, str]] = {}
    meta_columns: list[str] = ["case", "side"]
    if meta is not None:
        rows = _rows(meta, ("case", "side"), "--meta")
        meta_columns += [c for c in rows[0] if c not in meta_columns]
        for line, row in enumerate(rows, start=2):
            where = f"--meta {meta} line {line}: case {row['case']}"
            if row["side"] not in (*SIDES, "none"):
                raise CaseImportError(
                    f"{where}: side must be left, right or none, got {row['side']!r}"
                )
            if row["case"] not in truth_by_case:
                raise CaseImportError(f"{where}: the case is not in the truth table")
            if row["case"] in meta_rows:
                raise CaseImportError(f"{where}: the case appears twice")
            meta_rows[row["case"]] = row
    ai_rows: list[dict[str, str]] = []
    if ai is not None:
        ai_rows = _rows(ai, ("case", "unit", "probability", "call"), "--ai")
        validate_ai(ai_rows, names, units, str(ai))
        definition = definition.model_copy(
            update={
                "ai": AISource(source=AISourceKind.IMPORTED, method="", model_hash=file_sha256(ai))
            }
        )

    salt = salt or secrets.token_hex(16)
    with staged_folder(study_dir) as build:
        _write_study(
            build,
            definition,
            cases=Path(cases),
            found=found,
            codes=codes,
            truth_by_case=truth_by_case,
            meta=(meta_columns, meta_rows),
            ai=(Path(ai), ai_rows) if ai is not None else None,
            salt=salt,
            progress=progress,
        )
    return definition


def _write_study(
    study_dir: Path,
    definition: StudyDefinition,
    *,
    cases: Path,
    found: dict[str, SourceCase],
    codes: dict[str, str],
    truth_by_case: dict,
    meta: tuple[list[str], dict[str, dict[str, str]]],
    ai: tuple[Path, list[dict[str, str]]] | None,
    salt: str,
    progress: Callable[[int, int, str], None] | None,
) -> None:
    """Import every case and write the study's tables and definition into ``study_dir``."""
    names = sorted(truth_by_case)
    units = definition.units
    meta_columns, meta_rows = meta
    manifest = []
    for i, source in enumerate(names, start=1):
        code = codes[source]
        case = found[source]
        if progress:
            progress(i, len(names), code)
        manifest.append(
            {
                "case": code,
                "format": case.format,
                "content_hash": _import_case(case, study_dir / CASES_DIR / code, salt),
                "source": source,
            }
        )
    _write_csv(study_dir / MANIFEST_FILE, ("case", "format", "content_hash", "source"), manifest)
    _copy_masks(cases / "masks", study_dir / TRUTH_MASKS_DIR, codes)
    _write_csv(
        study_dir / TRUTH_FILE,
        ("case", "unit", "truth"),
        [
            {"case": codes[c], "unit": u, "truth": truth_by_case[c][u]}
            for c in sorted(names, key=lambda c: codes[c])
            for u in units
        ],
    )
    _write_csv(
        study_dir / CASES_FILE,
        meta_columns,
        [
            {**meta_rows.get(c, {"side": _side_from_truth(truth_by_case[c])}), "case": codes[c]}
            for c in sorted(names, key=lambda c: codes[c])
        ],
    )
    if ai is not None:
        _import_ai(ai[0], study_dir / AI_DIR, ai[1], codes)
    write_definition(study_dir, definition)


def _copy_masks(src: Path, dst: Path, codes: dict[str, str]) -> None:
    """Masks ``<src>/<case>.nii.gz`` renamed to the study's case codes in ``dst``: the reference
    lesion masks of ``<cases>/masks`` (as phantom sets write them, for the model's DSC in
    ``readerstudy analyze``) or an imported product's AI masks."""
    for source, code in codes.items():
        mask = src / f"{source}.nii.gz"
        if mask.is_file():
            dst.mkdir(exist_ok=True)
            shutil.copyfile(mask, dst / f"{code}.nii.gz")


def _side_from_truth(units: dict[str, int]) -> str:
    """Infarct side when no metadata is given: the side with more positive units, or none."""
    left = sum(v for u, v in units.items() if u.endswith("_left"))
    right = sum(v for u, v in units.items() if u.endswith("_right"))
    if left == right == 0:
        return "none"
    return "left" if left >= right else "right"


def _import_ai(src: Path, dst: Path, rows: list[dict[str, str]], codes: dict[str, str]) -> None:
    (dst / "masks").mkdir(parents=True)
    _write_csv(
        dst / AI_TABLE,
        ("case", "unit", "probability", "call"),
        [{**row, "case": codes[row["case"]]} for row in rows],
    )
    _copy_masks(src.parent / "masks", dst / "masks", codes)
