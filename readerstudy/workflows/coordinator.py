"""The coordinator's way into a study: what ``readerstudy study ...`` and the console call.

A study is set up, prepared, watched and closed through this module only. Each
:class:`Coordinator` method opens the study exactly as the matching CLI command does (the
same store options, the same refusals) and the CLI commands call these methods, so the
console (``readerstudy.gui.console``) holds no rule of its own: what it refuses, the CLI
refuses with the same message. The value types the console needs are re-exported here
(``__all__``), so the import-linter contract in pyproject.toml can hold the GUI to this module
and :mod:`readerstudy.study.workstation`.

Wizard helpers (:class:`StudySpec`, :func:`describe_case`, :func:`check_truth`,
:func:`balance_preview`) check a new study's inputs with the validators of ``study init``
before anything is written. :class:`Monitor` keeps a read-only view of a locked study and
refreshes it incrementally while workstations write.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import TypedDict, Unpack

from analysis.files import file_sha256
from readerstudy.errors import ReaderStudyError
from readerstudy.imaging.cases import SourceCase
from readerstudy.imaging.formats import ImageFormat
from readerstudy.study.clock import SimulatedTime, SystemTime, TimeSource
from readerstudy.study.definition import (
    DEFINITION_FILE,
    AISource,
    AISourceKind,
    ConfidenceScale,
    Design,
    StudyDefinition,
    UnitSet,
    definition_from_options,
    load_definition,
)
from readerstudy.study.design import SESSIONS, CaseBalance, build_schedule
from readerstudy.study.protocol import (
    AI_DIR,
    AI_TABLE,
    CASES_DIR,
    MANIFEST_FILE,
    SCHEDULE_FILE,
    SessionStatus,
    Study,
    StudyLockedError,
    case_balance,
    read_csv_rows,
    status_json,
)
from readerstudy.study.session import CRASH_FLAG, LOGOUT_FLAG
from readerstudy.study.workstation import SessionState, session_state
from readerstudy.workflows import importer
from readerstudy.workflows.ai import BatchError, CaseFailure
from readerstudy.workflows.importer import CaseImportError
from readerstudy.workflows.reports import AnalysisReport

Progress = Callable[[int, int, str], None]
"""``progress(done, total, label)``, called from the thread doing the work."""

MAX_ROW_PROBLEMS = 500
"""Row problems listed per table; a table with more has a wider fault (wrong file, header)."""


# -- a new study: what `study init` takes ------------------------------------------------------


@dataclass(frozen=True)
class StudySpec:
    """Everything ``readerstudy study init`` takes, from its options or the console's wizard."""

    folder: Path
    cases: Path
    truth: Path
    readers: tuple[str, ...]
    names: tuple[str, ...] = ()
    """Display names in reader order ("" or missing: the id)."""
    meta: Path | None = None
    design: Design = Design.SEQUENTIAL
    washout_days: float = 14
    seed: int = 0
    idle_timeout_s: float = 90
    # As typed: the study definition checks that there are exactly two.
    modalities: tuple[str, ...] = ("unaided", "aided")
    binary_call: bool = True
    confidence: ConfidenceScale = ConfidenceScale.NONE
    ai: Path | None = None
    """Another product's ai_regions.csv (+ masks/ beside it); None: the embedded model."""
    ai_method: str = "asymmetry"
    name: str | None = None
    description: str = ""

    @property
    def reader_ids(self) -> tuple[str, ...]:
        return tuple(r.strip() for r in self.readers if r.strip())

    def _readers(self) -> list[dict[str, str]]:
        names = list(self.names) + [""] * len(self.reader_ids)
        return [{"id": r, "name": names[i].strip() or r} for i, r in enumerate(self.reader_ids)]

    def overrides(self) -> dict:
        """The definition keys ``init_study`` takes as ``definition_overrides``."""
        data: dict = {
            "modalities": tuple(self.modalities),
            "idle_timeout_s": self.idle_timeout_s,
            "readers": self._readers(),
            "rating": {"binary_call": self.binary_call, "confidence": self.confidence},
        }
        if self.ai is None:
            data["ai"] = {"method": self.ai_method}
        return data

    def definition(self) -> StudyDefinition:
        """The definition ``create`` will write (what its study.toml will say)."""
        definition = definition_from_options(
            {
                "name": self.name or Path(self.folder).name,
                "description": self.description,
                "design": self.design,
                "washout_days": self.washout_days,
                "seed": self.seed,
                **self.overrides(),
            },
            {
                **importer.INIT_OPTIONS,
                ("name",): "--name" if self.name else "--name (the folder name by default)",
            },
            source="study init",
        )
        if self.ai is None:
            return definition
        if not Path(self.ai).is_file():
            raise CaseImportError(f"--ai {self.ai}: file not found")
        imported = AISource(
            source=AISourceKind.IMPORTED, method="", model_hash=file_sha256(self.ai)
        )
        return definition.model_copy(update={"ai": imported})

    def toml(self) -> str:
        """The study.toml ``create`` will write."""
        return self.definition().to_toml()

    def command_line(self) -> str:
        """The ``readerstudy study init`` command that creates the same study."""
        words = ["readerstudy", "study", "init", str(self.folder)]
        words += ["--cases", str(self.cases), "--truth", str(self.truth)]
        words += ["--readers", ",".join(self.reader_ids)]
        readers = self._readers()
        if any(r["name"] != r["id"] for r in readers):
            words += ["--names", ",".join(r["name"] for r in readers)]
        if self.meta is not None:
            words += ["--meta", str(self.meta)]
        words += ["--design", self.design.value, "--washout-days", f"{self.washout_days:g}"]
        words += ["--seed", str(self.seed)]
        if self.idle_timeout_s != 90:
            words += ["--idle-timeout", f"{self.idle_timeout_s:g}"]
        if tuple(self.modalities) != ("unaided", "aided"):
            words += ["--modalities", ",".join(self.modalities)]
        if self.confidence is not ConfidenceScale.NONE:
            words += ["--confidence", self.confidence.value]
        if not self.binary_call:
            words.append("--no-binary-call")
        if self.ai is not None:
            words += ["--ai", str(self.ai)]
        elif self.ai_method != "asymmetry":
            words += ["--ai-method", self.ai_method]
        if self.name:
            words += ["--name", self.name]
        if self.description:
            words += ["--description", self.description]
        return shlex.join(words)

    def _init(self, progress: Callable[[int, int, str], None] | None) -> StudyDefinition:
        self.definition()  # refuses a bad definition field by field, before any file is read
        return importer.init_study(
            self.folder,
            cases=self.cases,
            truth=self.truth,
            readers=self.reader_ids,
            meta=self.meta,
            design=self.design,
            washout_days=self.washout_days,
            seed=self.seed,
            ai=self.ai,
            name=self.name,
            description=self.description,
            definition_overrides=self.overrides(),
            progress=progress,
        )

    def check(self) -> None:
        """Raise the refusal ``study init`` would give for these inputs; nothing is written.

        ``init_study`` checks every input before it imports the first case and reports that
        case to ``progress``; stopping it there runs exactly the command's checks."""

        def stop(*_: object) -> None:
            raise _Checked

        try:
            self._init(stop)
        except _Checked:
            return

    def create(self, progress: Progress | None = None) -> InitReport:
        """Run ``study init``: de-identify and import the cases, write the study folder."""
        definition = self._init(
            (lambda i, n, code: progress(i - 1, n, f"importing {code}")) if progress else None
        )
        rows = read_csv_rows(Path(self.folder) / MANIFEST_FILE)
        cases = Path(self.folder) / CASES_DIR
        files = {r["case"]: sum(p.is_file() for p in (cases / r["case"]).rglob("*")) for r in rows}
        if progress:
            progress(len(rows), len(rows), "done")
        return InitReport(Path(self.folder), definition, tuple(rows), files)


class _Checked(Exception):
    """Raised at init_study's first progress call: every input was checked."""


@dataclass(frozen=True)
class InitReport:
    """What ``create`` wrote: the definition and one manifest row per imported case."""

    folder: Path
    definition: StudyDefinition
    cases: tuple[dict[str, str], ...]
    """``case`` (code), ``format``, ``content_hash``, ``source`` per case (manifest.csv)."""
    files: dict[str, int]
    """Files written per case code (the de-identified DICOM files, or the NIfTI copy)."""

    @property
    def next_step(self) -> str:
        step = "lock" if self.definition.ai.source is AISourceKind.IMPORTED else "precompute"
        return f"readerstudy study {step} {self.folder}"

    def summary(self) -> str:
        """The line ``study init`` prints."""
        d = self.definition
        return (
            f"study {d.name}: {self.folder}/{DEFINITION_FILE} written ({d.design.value}, "
            f"{len(d.readers)} readers, washout {d.washout_days:g} days)"
        )


def discover_cases(cases: Path) -> list[SourceCase]:
    """The cases ``study init`` finds in ``cases`` (sub-folders and NIfTI files)."""
    return list(importer.discover_cases(Path(cases)).values())


@dataclass(frozen=True)
class SeriesRow:
    """What the wizard's case table shows of one source case."""

    case: str
    format: ImageFormat
    series: int
    """Image series found (DICOM); the one the study will read is described."""
    slices: int | None
    spacing_mm: tuple[float | None, float | None, float | None]
    """Column, row and slice spacing."""
    tilt_deg: float | None
    vendor: str
    warnings: tuple[str, ...]
    problem: str | None = None
    """Why the case cannot be read (None: it can)."""


def describe_case(case: SourceCase) -> SeriesRow:
    """Slices, spacing, tilt, vendor and warnings of the series a case would be read from."""
    from readerstudy.imaging import ImagingError, load_volume
    from readerstudy.imaging.series import choose_series, scan_tree

    empty = SeriesRow(case.name, case.format, 0, None, (None, None, None), None, "", ())
    if case.format is ImageFormat.NIFTI:
        try:
            volume = load_volume(case.path)
        except ImagingError as exc:
            return replace(empty, problem=str(exc))
        size, spacing = volume.image.GetSize(), volume.image.GetSpacing()
        return replace(
            empty,
            series=1,
            slices=size[2],
            spacing_mm=tuple(spacing),
            tilt_deg=0.0,
            warnings=tuple(volume.warnings),
        )
    try:
        found = scan_tree(case.path)
    except ImagingError as exc:
        return replace(empty, problem=str(exc))
    unreadable = tuple(f"unreadable: {reason}" for _, reason in found.unreadable)
    try:
        chosen = choose_series(found.series)
    except ImagingError as exc:
        return replace(empty, series=len(found.series), warnings=unreadable, problem=str(exc))
    pixel = found.instances[chosen.uid][0].dataset.get("PixelSpacing")
    row_mm, column_mm = (
        (float(pixel[0]), float(pixel[1])) if pixel and len(pixel) == 2 else (None,) * 2
    )
    others = len(found.series) - 1
    choice = (
        (f"{others} other series; reading {chosen.description or chosen.uid}",) if others else ()
    )
    return SeriesRow(
        case=case.name,
        format=case.format,
        series=len(found.series),
        slices=chosen.n_slices,
        spacing_mm=(column_mm, row_mm, chosen.spacing_mm),
        tilt_deg=chosen.tilt_deg,
        vendor=chosen.manufacturer,
        warnings=(*choice, *chosen.warnings, *unreadable),
        problem=chosen.problem,
    )


@dataclass(frozen=True)
class RowProblem:
    """One refusal of a table: the line it names (None: the table as a whole) and the exact
    message ``study init`` gives for it."""

    line: int | None
    case: str | None
    message: str


@dataclass(frozen=True)
class TableCheck:
    """A coordinator's table as read, and every refusal found in it."""

    path: Path
    rows: tuple[dict[str, str], ...]
    problems: tuple[RowProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def by_line(self) -> dict[int, list[str]]:
        """Line (2 = the first row under the header) -> the messages naming it."""
        found: dict[int, list[str]] = {}
        for problem in self.problems:
            if problem.line is not None:
                found.setdefault(problem.line, []).append(problem.message)
        return found

    @property
    def cases(self) -> list[str]:
        return sorted({row["case"] for row in self.rows if "case" in row})


def _row_problems(
    validate: Callable[[list[dict[str, str]]], object], rows: list[dict[str, str]], source: str
) -> list[RowProblem]:
    """Every row ``validate`` (which raises at the first bad row, naming its line) refuses.

    The refused row is set aside and the rest validated again, so each message is the
    validator's own; lines are renumbered to the file's, since the validator counts the
    rows it is given. A refusal of the table as a whole is kept when no row was refused
    (a row set aside would otherwise show up again as a case lacking that unit)."""
    prefix = f"{source} line "
    kept = list(range(len(rows)))
    problems: list[RowProblem] = []
    while len(problems) < MAX_ROW_PROBLEMS:
        try:
            validate([rows[i] for i in kept])
            break
        except CaseImportError as exc:
            message = str(exc)
            number, colon, rest = message.removeprefix(prefix).partition(":")
            if not message.startswith(prefix) or not colon or not number.isdigit():
                if not problems:
                    problems.append(RowProblem(None, None, message))
                break
            index = kept.pop(int(number) - 2)
            line = index + 2
            problems.append(RowProblem(line, rows[index].get("case"), f"{prefix}{line}:{rest}"))
    return problems


def _table(path: Path, columns: Sequence[str], what: str) -> TableCheck | list[dict[str, str]]:
    """The rows of a table, or a TableCheck holding the refusal of the file itself."""
    try:
        return importer._rows(Path(path), columns, what)
    except CaseImportError as exc:
        return TableCheck(Path(path), (), (RowProblem(None, None, str(exc)),))


def check_truth(path: Path, units: UnitSet = UnitSet.ASPECTS) -> TableCheck:
    """The truth table checked row by row with ``study init``'s validator and messages."""
    rows = _table(path, ("case", "unit", "truth"), "--truth")
    if isinstance(rows, TableCheck):
        return rows
    problems = _row_problems(
        lambda kept: importer.validate_truth(kept, units.units, str(path)), rows, str(path)
    )
    return TableCheck(Path(path), tuple(rows), tuple(problems))


def check_ai_table(
    path: Path, cases: Sequence[str], units: UnitSet = UnitSet.ASPECTS
) -> TableCheck:
    """An imported ai_regions.csv checked row by row against the truth table's cases."""
    rows = _table(path, ("case", "unit", "probability", "call"), "--ai")
    if isinstance(rows, TableCheck):
        return rows
    problems = _row_problems(
        lambda kept: importer.validate_ai(kept, list(cases), units.units, str(path)),
        rows,
        str(path),
    )
    return TableCheck(Path(path), tuple(rows), tuple(problems))


@dataclass(frozen=True)
class Half:
    """One case half of a crossover (or all cases of a sequential design)."""

    name: str
    cases: int
    sides: dict[str, int]
    positives: int


@dataclass(frozen=True)
class BalancePreview:
    """How the design spreads cases and modalities, from the schedule ``study lock`` will draw."""

    design: Design
    halves: tuple[Half, ...]
    groups: tuple[tuple[str, ...], ...]
    reads: tuple[tuple[str, int, dict[tuple[str, str], int]], ...]
    """``(reader, session, {(modality, half name): reads})``."""
    aided_first: tuple[int, int]
    """Fewest and most readers who read a case with the AI before reading it without."""


def balance_preview(spec: StudySpec, truth: TableCheck) -> BalancePreview:
    """The schedule of ``spec`` over the truth table's cases, under the case codes init will
    draw: the halves and groups are those the lock will write."""
    definition = spec.definition()
    if not truth.ok:
        raise CaseImportError(truth.problems[0].message)
    positives: dict[str, int] = {}
    by_case: dict[str, dict[str, int]] = {}
    for row in truth.rows:
        positives[row["case"]] = positives.get(row["case"], 0) + int(row["truth"])
        by_case.setdefault(row["case"], {})[row["unit"]] = int(row["truth"])
    sides = {case: importer._side_from_truth(units) for case, units in by_case.items()}
    if spec.meta is not None:
        meta = _table(spec.meta, ("case", "side"), "--meta")
        if isinstance(meta, TableCheck):
            raise CaseImportError(meta.problems[0].message)
        sides |= {row["case"]: row["side"] for row in meta if row["case"] in sides}
    codes = importer.neutral_codes(sorted(positives), spec.seed)
    balance = [CaseBalance(codes[c], positives[c], sides[c]) for c in sorted(positives)]
    schedule = build_schedule(definition, balance)
    side_of = {b.case: b.side for b in balance}
    positive_of = {b.case: b.positives for b in balance}
    members = schedule.halves or (tuple(side_of),)
    halves = tuple(
        Half(
            name="AB"[i] if schedule.halves else "all",
            cases=len(half),
            sides={s: sum(side_of[c] == s for c in half) for s in sorted(set(side_of.values()))},
            positives=sum(positive_of[c] for c in half),
        )
        for i, half in enumerate(members)
    )
    half_of = {c: half.name for half, cases in zip(halves, members, strict=True) for c in cases}
    counts: dict[tuple[str, int], dict[tuple[str, str], int]] = {}
    first_aided: dict[str, set[str]] = {}
    for read in schedule.reads:
        by_modality = counts.setdefault((read.reader, read.session), {})
        key = (read.modality, half_of[read.case])
        by_modality[key] = by_modality.get(key, 0) + 1
        if read.session == SESSIONS[0] and read.modality == definition.aided:
            first_aided.setdefault(read.case, set()).add(read.reader)
    aided_first = [len(first_aided.get(c, ())) for c in side_of]
    return BalancePreview(
        design=schedule.design,
        halves=halves,
        groups=schedule.groups or (definition.reader_ids,),
        reads=tuple((r, s, counts[(r, s)]) for r, s in sorted(counts)),
        aided_first=(min(aided_first), max(aided_first)),
    )


def ai_methods() -> list[str]:
    """The embedded model's methods (``[ai] method``)."""
    from model.infer import METHODS

    return sorted(METHODS)


# -- an existing study -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReaderInfo:
    id: str
    name: str
    has_pin: bool


@dataclass(frozen=True)
class StudyOverview:
    """Where a study stands before and during reading."""

    folder: Path
    definition: StudyDefinition
    cases: int
    readers: tuple[ReaderInfo, ...]
    store: str | None
    """The results store's name; None while the study has none (before its lock)."""
    ai_ready: bool
    locked: bool
    design_hash: str | None
    reading_started: bool
    problem: str | None
    """Why readers cannot read it now (not locked, study.toml changed since the lock, ...)."""


@dataclass(frozen=True)
class PrecomputeReport:
    cached: bool
    cases: int
    method: str
    warnings: tuple[str, ...]

    def summary(self, folder: Path) -> str:
        state = "cached" if self.cached else "computed"
        return f"AI outputs {state} for {self.cases} cases ({self.method}) in {folder}/{AI_DIR}"


@dataclass(frozen=True)
class QuickLook:
    """One case of the quick-look gallery: its picture, and why it failed if it did."""

    case: str
    image: Path | None
    failed: bool
    reason: str | None
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class LockReport:
    """What ``lock`` did: nothing (same design), a first lock or a re-lock."""

    reads: int
    design: Design
    seed: int
    design_hash: str
    previous_hash: str | None
    folder: Path

    @property
    def changed(self) -> bool:
        return self.previous_hash != self.design_hash

    def summary(self) -> str:
        """The line ``study lock`` prints."""
        if not self.changed:
            return (
                f"already locked on this design (design hash {self.design_hash[:16]}): "
                "nothing changed"
            )
        return (
            f"{'re-locked' if self.previous_hash else 'locked'}: {self.reads} reads, design "
            f"{self.design.value}, seed {self.seed}, design hash {self.design_hash[:16]}; "
            f"schedule in {self.folder}/{SCHEDULE_FILE}"
        )


@dataclass(frozen=True)
class AuditCheck:
    """``study audit --verify``: the chain and stored reads, and the locked design."""

    ok: bool
    n_events: int
    n_reads: int
    lines: tuple[str, ...]
    """What the command prints: the OK line, or every problem found."""


class _OpenOptions(TypedDict, total=False):
    """The :meth:`Study.open` switches a coordinator method chooses."""

    check_definition: bool
    create: bool
    read_only: bool


@dataclass(frozen=True)
class Coordinator:
    """One study folder as its coordinator works on it. Every method opens the study for
    its own work and closes it, exactly as the CLI command of the same name does."""

    folder: Path
    db: str | None = None
    """Overrides the store URL of study.toml (``--db``)."""
    time: TimeSource | None = None

    def _open(self, **options: Unpack[_OpenOptions]) -> Study:
        return Study.open(self.folder, db=self.db, time=self.time, **options)

    def overview(self) -> StudyOverview:
        """Definition, readers and PINs, AI outputs, lock and design hash."""
        folder = Path(self.folder)
        definition = load_definition(folder)
        n_cases = len(read_csv_rows(folder / MANIFEST_FILE))
        try:
            study = self._open(read_only=True, check_definition=False)
        except ReaderStudyError:
            if (folder / SCHEDULE_FILE).is_file():
                raise  # a locked study without its store: every command refuses it
            # Before the first lock (or PIN) a study has no store yet.
            ai_ready = (folder / AI_DIR / AI_TABLE).is_file()
            return StudyOverview(
                folder=folder,
                definition=definition,
                cases=n_cases,
                readers=tuple(ReaderInfo(r.id, r.name or r.id, False) for r in definition.readers),
                store=None,
                ai_ready=ai_ready,
                locked=False,
                design_hash=None,
                reading_started=False,
                problem=_next_step(folder, definition, ai_ready=ai_ready),
            )
        with study:
            problem = None
            try:
                study.check_definition()
            except StudyLockedError as exc:
                problem = str(exc)
            if problem is None and not study.locked:
                problem = _next_step(folder, definition, ai_ready=study.ai_available())
            readers = tuple(
                ReaderInfo(r.id, r.name or r.id, study.has_pin(r.id)) for r in definition.readers
            )
            return StudyOverview(
                folder=folder,
                definition=definition,
                cases=n_cases,
                readers=readers,
                store=study.store.name,
                ai_ready=study.ai_available(),
                locked=study.locked,
                design_hash=study.store.get_meta("design_hash"),
                reading_started=study.reading_started(),
                problem=problem,
            )

    def precompute(self, *, force: bool = False, progress: Progress | None = None):
        """``study precompute``: the embedded model's AI outputs (cached). Raises
        :class:`BatchError` (its ``failures``) when cases failed; the others are written."""
        from readerstudy.workflows.ai import case_warnings
        from readerstudy.workflows.precompute import precompute_ai

        with self._open(create=self.db is None) as study:
            result = precompute_ai(
                study,
                force=force,
                progress=(lambda case, done, total: progress(done, total, f"case {case}"))
                if progress
                else None,
            )
            warnings = () if result.cached else case_warnings(study.ai_dir, study.case_codes())
        return PrecomputeReport(result.cached, result.cases, result.method, tuple(warnings))

    def quicklooks(self) -> list[QuickLook]:
        """Every case's quick-look from the last precompute, failed cases first."""
        from readerstudy.workflows.ai import FAILED_DIR, FAILED_TABLE, case_warnings

        ai = Path(self.folder) / AI_DIR
        codes = sorted(row["case"] for row in read_csv_rows(Path(self.folder) / MANIFEST_FILE))
        failed: dict[str, str] = {}
        if (ai / FAILED_TABLE).is_file():
            failed = {row["case"]: row["reason"] for row in read_csv_rows(ai / FAILED_TABLE)}
        looks = []
        for code in codes:
            png = ai / (FAILED_DIR if code in failed else "quicklook") / f"{code}.png"
            looks.append(
                QuickLook(
                    case=code,
                    image=png if png.is_file() else None,
                    failed=code in failed,
                    reason=failed.get(code),
                    warnings=tuple(
                        w.removeprefix(f"case {code} ") for w in case_warnings(ai, [code])
                    ),
                )
            )
        return sorted(looks, key=lambda look: not look.failed)

    def set_pin(self, reader: str, pin: str) -> None:
        """``study pin``: store the reader's PIN as a salted hash (audited)."""
        with self._open(create=self.db is None) as study:
            study.set_pin(reader, pin)

    def lock(self, *, create: bool = False) -> LockReport:
        """``study lock``: the seeded schedule and design hash; refused once reading started."""
        # A study folder, and its own files whole, before a store is started for it.
        load_definition(self.folder)
        case_balance(self.folder)
        with self._open(check_definition=False, create=self.db is None or create) as study:
            before = study.store.get_meta("design_hash")
            schedule = study.lock()
            design_hash = study.store.get_meta("design_hash")
        return LockReport(
            reads=len(schedule.reads),
            design=schedule.design,
            seed=schedule.seed,
            design_hash=design_hash,
            previous_hash=before,
            folder=Path(self.folder),
        )

    def unlock(self, reader: str, session: int, reason: str) -> None:
        """``study unlock``: open a session before its washout ends (an audited override)."""
        with self._open() as study:
            study.unlock(reader, session, reason)

    def status(self) -> list[dict]:
        """``study status --json``: per reader and session, done/total, dates, washout."""
        with self._open(read_only=True) as study:
            return status_json(study.status(), now=study.time.now())

    def export(self, out: Path) -> dict[str, Path]:
        """``study export``: every table and file the command writes, into ``out``."""
        from readerstudy.workflows.export import export_study

        with self._open(read_only=True) as study:
            return export_study(study, Path(out))

    def analyze(self, out: Path | None = None) -> AnalysisReport:
        """``readerstudy analyze STUDY``: results.json, report.html, report.xlsx, exports."""
        from analysis.errors import AnalysisInputError
        from readerstudy.workflows.reports import run_analysis

        try:
            return run_analysis(Path(self.folder), out=out, db=self.db)
        except AnalysisInputError as exc:  # the console shows it as a refusal, not a bug
            raise ReaderStudyError(str(exc)) from exc

    def verify_audit(self, progress: Callable[[int, int], None] | None = None) -> AuditCheck:
        """``study audit --verify``: the hash chain, every stored read, the locked design."""
        with self._open(check_definition=False, read_only=True) as study:
            return _verify(study, progress)

    def monitor(self) -> Monitor:
        """A live, read-only view of the locked study (close it when done)."""
        return Monitor(self._open(read_only=True))


def _next_step(folder: Path, definition: StudyDefinition, *, ai_ready: bool) -> str:
    """What the coordinator does next with a study that is not locked yet."""
    if not ai_ready and definition.ai.source is AISourceKind.EMBEDDED:
        return (
            "not locked yet: precompute the AI outputs, set the readers' PINs, then lock "
            f"(`readerstudy study precompute {folder}`)"
        )
    return f"not locked yet: set the readers' PINs and lock (`readerstudy study lock {folder}`)"


def _verify(study: Study, progress: Callable[[int, int], None] | None) -> AuditCheck:
    result = study.store.verify_audit(progress=progress)
    design = study.design_problems() if study.locked else []
    lines = [f"locked design BROKEN: {problem}" for problem in design]
    if not result.ok:
        where = f"event {result.first_broken}" if result.first_broken is not None else "the log"
        lines.append(f"audit chain BROKEN at {where}: {result.reason}")
    if result.ok and not design:
        lines.append(f"audit chain OK: {result.n_events} events, {result.n_reads} reads verified")
    return AuditCheck(result.ok and not design, result.n_events, result.n_reads, tuple(lines))


# -- live monitoring --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SessionRow(SessionStatus):
    """One reader's session as the monitor shows it: the row of ``study status``, the
    reader's display name, and what the reader can do with the session now."""

    name: str
    state: SessionState


@dataclass(frozen=True)
class Flag:
    """Something a coordinator should look at: a restarted read, an amendment, an override,
    failed logins."""

    kind: str
    reader: str
    session: int | None
    case: str | None
    at: datetime | None
    detail: str


_NEVER = datetime.min.replace(tzinfo=UTC)

FLAG_KINDS = {
    CRASH_FLAG: (
        "crash restart",
        "the workstation stopped mid-read; the case reopened, its clock restarted",
    ),
    LOGOUT_FLAG: (
        "logout restart",
        "the reader logged out mid-read; the case reopened, its clock restarted",
    ),
}
"""What the flags table says of a read's flag: (what, detail); other flags are named by
their own words."""

_FLAG_EVENTS = ("override", "login_failed")
"""Audit events the monitor turns into flags."""


@dataclass(frozen=True)
class Snapshot:
    """Everything the monitor shows, read in one refresh."""

    taken_at: datetime
    sessions: tuple[SessionRow, ...]
    times: dict[tuple[str, str], tuple[float, ...]]
    """``(reader, modality)`` -> active seconds per read, in reading order."""
    flags: tuple[Flag, ...]
    reads: int
    audit_events: int
    audit_head: str | None
    refresh_s: float


class Monitor:
    """A read-only, incrementally refreshed view of a locked study (``study status`` and
    more); it writes nothing, so it is safe beside working workstations. Use
    :meth:`Coordinator.monitor`; one refresh at a time."""

    def __init__(self, study: Study) -> None:
        if not study.locked:
            study.close()
            raise ReaderStudyError(
                f"study {study.definition.name} is not locked: there is nothing to monitor "
                f"before `readerstudy study lock {study.path}`"
            )
        self.study = study
        self._versions: dict[tuple[str, int, str], int] = {}
        self._last_id = 0
        self._last_seq = 0
        # (reader, modality) -> {(session, order): active_s}, and the series built from it.
        self._times: dict[tuple[str, str], dict[tuple[int, int], float]] = {
            (r, m): {} for r in study.definition.reader_ids for m in study.definition.modalities
        }
        self._series: dict[tuple[str, str], tuple[float, ...]] = dict.fromkeys(self._times, ())
        self._read_flags: dict[tuple[str, int, str], list[Flag]] = {}
        self._event_flags: list[Flag] = []
        self._failed_logins: dict[str, list[datetime]] = {}

    @property
    def definition(self) -> StudyDefinition:
        return self.study.definition

    def refresh(self) -> Snapshot:
        """Status rows, reading times, flags and the audit chain head, read now. Reads and
        audit events are fetched once: each refresh adds those stored since the last one."""
        from readerstudy.store.summaries import chain_head, events_since, read_summaries

        start = perf_counter()
        study = self.study
        rows = study.status()
        now = study.time.now()
        self._add_reads(read_summaries(study.store, after_id=self._last_id))
        # Up to the head read first: an event appended meanwhile is fetched next time.
        head = chain_head(study.store)
        if head and head[0] > self._last_seq:
            self._add_events(
                events_since(
                    study.store, after_seq=self._last_seq, up_to=head[0], kinds=_FLAG_EVENTS
                )
            )
            self._last_seq = head[0]
        names = {r.id: r.name or r.id for r in self.definition.readers}
        sessions = []
        previous_done: dict[str, bool] = {}
        for row in rows:
            state = session_state(row, previous_done.get(row.reader, True), now)
            previous_done[row.reader] = state is SessionState.DONE
            values = {f.name: getattr(row, f.name) for f in fields(SessionStatus)}
            sessions.append(SessionRow(**values, name=names[row.reader], state=state))
        return Snapshot(
            taken_at=now,
            sessions=tuple(sessions),
            times=dict(self._series),
            flags=tuple(self._flags()),
            reads=len(self._versions),
            audit_events=head[0] if head else 0,
            audit_head=head[1] if head else None,
            refresh_s=perf_counter() - start,
        )

    def _add_reads(self, reads: list) -> None:
        """The latest version of each read: its time in its series, its flags."""
        touched = set()
        for read in reads:
            self._last_id = max(self._last_id, read.id)
            key = (read.reader, read.session, read.case)
            if self._versions.get(key, 0) >= read.version:
                continue
            self._versions[key] = read.version
            series = (read.reader, read.modality)
            self._times.setdefault(series, {})[(read.session, read.order)] = read.active_s
            touched.add(series)
            flags = []
            for flag in read.flags:
                kind, detail = FLAG_KINDS.get(flag, (flag.replace("_", " "), flag))
                flags.append(Flag(kind, *key, read.submitted_at, detail))
            if read.version > 1:
                detail = f"version {read.version}: {read.amend_reason or ''}".rstrip(": ")
                flags.append(Flag("amendment", *key, read.submitted_at, detail))
            if flags or key in self._read_flags:
                self._read_flags[key] = flags
        for series in touched:
            values = self._times[series]
            self._series[series] = tuple(values[k] for k in sorted(values))

    def _add_events(self, events: list) -> None:
        for event in events:
            if event.kind == "override":
                reason = event.payload.get("reason", "")
                self._event_flags.append(
                    Flag("override", event.reader, event.session, None, event.at, reason)
                )
            elif event.kind == "login_failed":
                self._failed_logins.setdefault(event.reader, []).append(event.at)

    def _flags(self) -> list[Flag]:
        flags = [f for found in self._read_flags.values() for f in found] + self._event_flags
        for reader, times in self._failed_logins.items():
            detail = f"{len(times)} wrong PIN(s)"
            flags.append(Flag("failed logins", reader, None, None, max(times), detail))
        for open_read in self.study.store.in_progress():
            if open_read["restarts"]:
                flags.append(
                    Flag(
                        "open read reopened",
                        open_read["reader"],
                        open_read["session"],
                        open_read["case"],
                        open_read["restarted_at"],
                        f"reopened {open_read['restarts']} time(s), not submitted yet",
                    )
                )
        return sorted(flags, key=lambda f: f.at or _NEVER, reverse=True)

    def verify(self, progress: Callable[[int, int], None] | None = None) -> AuditCheck:
        """``study audit --verify`` on the monitored study."""
        return _verify(self.study, progress)

    def close(self) -> None:
        self.study.close()


__all__ = [
    "AISourceKind",
    "AnalysisReport",
    "AuditCheck",
    "BalancePreview",
    "BatchError",
    "CaseFailure",
    "CaseImportError",
    "ConfidenceScale",
    "Coordinator",
    "Design",
    "Flag",
    "Half",
    "ImageFormat",
    "InitReport",
    "LockReport",
    "Monitor",
    "PrecomputeReport",
    "QuickLook",
    "ReaderInfo",
    "ReaderStudyError",
    "RowProblem",
    "SeriesRow",
    "SessionRow",
    "SessionState",
    "SimulatedTime",
    "Snapshot",
    "SourceCase",
    "StudyLockedError",
    "StudyOverview",
    "StudySpec",
    "SystemTime",
    "TableCheck",
    "TimeSource",
    "UnitSet",
    "ai_methods",
    "balance_preview",
    "check_ai_table",
    "check_truth",
    "describe_case",
    "discover_cases",
]
