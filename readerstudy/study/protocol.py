"""A study folder seen by the coordinator: definition, cases, schedule, lock, washout, logins.

``Study.open`` checks the definition against the hash recorded at lock on every open, so a
``study.toml`` edited after reading started is refused. ``Study.login`` is the way in for a
reader: it checks the PIN (slowing down after failures), the washout, and resumes where the
reader stopped, returning the :class:`~readerstudy.study.session.ReaderSession`.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.files import file_sha256
from readerstudy.errors import ReaderStudyError
from readerstudy.study.caseloader import LEVELS, CaseFiles, CaseLoader, ViewerOptions
from readerstudy.study.clock import SystemTime, TimeSource
from readerstudy.study.definition import StudyDefinition, load_definition
from readerstudy.study.design import SESSIONS, CaseBalance, Schedule, ScheduledRead, build_schedule
from readerstudy.study.pins import check_pin_format, failure_delay, hash_pin, verify_pin
from readerstudy.study.session import (
    CRASH_FLAG,
    LOGOUT_FLAG,
    AIRegion,
    ReaderSession,
    _Slot,
)
from readerstudy.study.washout import WashoutError, check_open, opening

if TYPE_CHECKING:
    from readerstudy.store import Store

CASES_DIR = "cases"
AI_DIR = "ai"
TRUTH_FILE = "truth.csv"
CASES_FILE = "cases.csv"
MANIFEST_FILE = "manifest.csv"
SCHEDULE_FILE = "schedule.csv"
AI_TABLE = "ai_regions.csv"
AI_MASKS_DIR = "masks"
AI_ATLAS_DIR = "atlas"
LEVELS_FILE = "levels.csv"


DESIGN_SETTINGS = ("definition", "definition_hash", "schedule", "schedule_totals", "design_hash")
"""Stored settings that reading depends on, written at lock and audited."""


class StudyLockedError(ReaderStudyError):
    """The definition or schedule was asked to change after reading started."""


class LoginError(ReaderStudyError):
    """Unknown reader, wrong PIN or no PIN set."""


class StudyFileError(ReaderStudyError):
    """A file that ``study init`` or ``lock`` wrote into the study folder is missing or
    damaged (a bad restore, a hand edit)."""


def _restore_hint(path: Path) -> str:
    return (
        f"restore it from your backup of the study folder ({path.name} was written by `study "
        "init`; `readerstudy study audit --verify` checks it against the lock); nothing was "
        "changed"
    )


def read_csv_rows(path: Path, columns: tuple[str, ...] = ("case",)) -> list[dict[str, str]]:
    """Rows of a table of the study folder holding at least ``columns``; a missing file,
    one that is not UTF-8 CSV or a row cut short is a :class:`StudyFileError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise StudyFileError(f"{path} is missing from the study: {_restore_hint(path)}")
    damaged = StudyFileError(f"{path} is damaged: {_restore_hint(path)}")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise damaged from None
    if "\x00" in text:
        raise damaged
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    if any(c not in (reader.fieldnames or ()) for c in columns) or any(
        None in row or None in row.values() for row in rows
    ):
        raise damaged
    return rows


def read_truth(study_dir: Path) -> dict[tuple[str, str], int]:
    """(case, unit) -> 0/1 from a study folder's truth.csv (a damaged file is named)."""
    path = Path(study_dir) / TRUTH_FILE
    rows = read_csv_rows(path, ("case", "unit", "truth"))
    if any(row["truth"] not in ("0", "1") for row in rows):
        raise StudyFileError(f"{path} is damaged: {_restore_hint(path)}")
    return {(row["case"], row["unit"]): int(row["truth"]) for row in rows}


def case_balance(study_dir: Path) -> list[CaseBalance]:
    """Positive units and infarct side per case of a study folder (what the crossover
    balances); reading it checks the manifest, truth and case tables, so ``study lock``
    calls it before it starts a store."""
    study_dir = Path(study_dir)
    manifest = read_csv_rows(study_dir / MANIFEST_FILE, ("case", "content_hash"))
    positives: dict[str, int] = dict.fromkeys(sorted(r["case"] for r in manifest), 0)
    for (case, _), value in read_truth(study_dir).items():
        if case not in positives:
            path = study_dir / TRUTH_FILE
            raise StudyFileError(
                f"{path}: case {case} is not in the manifest: {_restore_hint(path)}"
            )
        positives[case] += value
    sides: dict[str, str] = {}
    if (study_dir / CASES_FILE).is_file():
        rows = read_csv_rows(study_dir / CASES_FILE)
        sides = {r["case"]: r.get("side", "none") for r in rows}
    return [CaseBalance(c, n, sides.get(c, "none")) for c, n in sorted(positives.items())]


@dataclass(frozen=True)
class SessionStatus:
    """One reader's progress in one session (``readerstudy study status``)."""

    reader: str
    session: int
    done: int
    total: int
    first_at: datetime | None
    last_at: datetime | None
    opens_at: datetime | None
    """When the session opens (washout); None for session 1 or while the previous is open."""
    overridden: bool
    active_s: float
    in_progress: int

    @property
    def complete(self) -> bool:
        return self.done >= self.total


class Study:
    """An opened study folder with its store."""

    def __init__(
        self, path: Path, definition: StudyDefinition, store: Store, time: TimeSource
    ) -> None:
        self.path = Path(path)
        self.definition = definition
        self.store = store
        self.time = time

    # -- opening ----------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        db: str | None = None,
        db_schema: str | None = None,
        time: TimeSource | None = None,
        check_definition: bool = True,
        create: bool = False,
        read_only: bool = False,
    ) -> Study:
        """Open a study folder (``db`` overrides the definition's store URL; ``db_schema``
        puts the tables in that PostgreSQL schema).

        The store is never created behind the coordinator's back: only ``create=True`` (``study
        lock``, and the commands that run before it) starts a new one, and a study that was
        locked (it has a ``schedule.csv``) refuses to open a missing, empty or foreign store,
        which would orphan every read. ``read_only`` writes nothing, so an archived,
        write-protected study can still be checked and exported.
        """
        from readerstudy.store import StoreMissingError, open_store

        path = Path(path)
        definition = load_definition(path)
        target = db or definition.db or path
        locked_on_disk = (path / SCHEDULE_FILE).is_file()
        try:
            store = open_store(
                target,
                study_id=definition.name,
                schema=db_schema,
                create=create and not locked_on_disk,
                read_only=read_only,
            )
        except StoreMissingError as exc:
            raise _missing_store(path, definition.name, db, locked_on_disk, exc) from None
        study = cls(path, definition, store, time or SystemTime())
        if locked_on_disk and not study.locked:
            study.close()
            raise StoreMissingError(
                f"study {definition.name} was locked (its schedule.csv says so) but the store "
                f"{store.name} holds no lock for it: it is the wrong store, or a restore from "
                "backup is needed; nothing was changed"
            )
        if check_definition:
            study.check_definition()
        return study

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- cases and truth --------------------------------------------------------------
    def case_codes(self) -> list[str]:
        return sorted(row["case"] for row in read_csv_rows(self.path / MANIFEST_FILE))

    def truth(self) -> dict[tuple[str, str], int]:
        """(case, unit) -> 0/1 from the study's truth.csv (a damaged file is named)."""
        return read_truth(self.path)

    def case_balance(self) -> list[CaseBalance]:
        """Positive units and infarct side per case (what the crossover balances)."""
        return case_balance(self.path)

    def image_path(self, case: str) -> Path:
        """What ``load_volume`` is given: the single NIfTI file of a case, or its DICOM folder."""
        folder = self.path / CASES_DIR / case
        nifti = sorted(folder.glob("*.nii*"))
        return nifti[0] if len(nifti) == 1 else folder

    # -- AI outputs -------------------------------------------------------------------
    @property
    def ai_dir(self) -> Path:
        return self.path / AI_DIR

    def ai_available(self) -> bool:
        return (self.ai_dir / AI_TABLE).is_file()

    def _ai_for(self, cases: set[str]) -> dict[str, tuple[AIRegion, ...]]:
        """AI regions of the given cases only (never loaded for other cases)."""
        found: dict[str, list[AIRegion]] = {c: [] for c in cases}
        for row in read_csv_rows(self.ai_dir / AI_TABLE, ("case", "unit", "probability", "call")):
            if row["case"] in found:
                found[row["case"]].append(
                    AIRegion(row["unit"], float(row["probability"]), int(float(row["call"])))
                )
        return {c: tuple(v) for c, v in found.items()}

    # -- lock -------------------------------------------------------------------------
    @property
    def locked(self) -> bool:
        return self.store.get_meta("design_hash") is not None

    @property
    def schedule(self) -> Schedule:
        data = self.store.get_meta("schedule")
        if data is None:
            raise ReaderStudyError(
                f"study {self.definition.name} is not locked: run `readerstudy study lock "
                f"{self.path}` first"
            )
        return Schedule.from_json(data)

    def session_totals(self) -> dict[tuple[str, int], int]:
        """Scheduled reads per (reader, session), without loading the whole schedule."""
        totals = self.store.get_meta("schedule_totals")
        if totals is None:
            totals = _totals(self.schedule)
        return {(r, int(s)): n for r, by in totals.items() for s, n in by.items()}

    def reading_started(self) -> bool:
        return bool(
            self.store.events(kind="session_start")
            or self.store.in_progress()
            or self.store.progress()
        )

    def check_definition(self) -> None:
        """Refuse a study.toml changed since the lock (the hash is checked on every open)."""
        locked_hash = self.store.get_meta("definition_hash")
        if locked_hash is None or locked_hash == self.definition.content_hash():
            return
        if self.reading_started():
            raise StudyLockedError(
                f"{self.path / 'study.toml'} changed after reading started (locked definition "
                f"{locked_hash[:12]}, file now {self.definition.content_hash()[:12]}): restore "
                "the locked definition; it cannot change once a read has started"
            )
        raise StudyLockedError(
            f"{self.path / 'study.toml'} changed since the study was locked: run "
            f"`readerstudy study lock {self.path}` again before reading"
        )

    def design_hash(self, schedule: Schedule) -> str:
        for name in (MANIFEST_FILE, TRUTH_FILE):
            if not (self.path / name).is_file():
                path = self.path / name
                raise StudyFileError(f"{path} is missing from the study: {_restore_hint(path)}")
        manifest = file_sha256(self.path / MANIFEST_FILE)
        truth = file_sha256(self.path / TRUTH_FILE)
        ai = file_sha256(self.ai_dir / AI_TABLE) if self.ai_available() else ""
        parts = [self.definition.content_hash(), schedule.content_hash(), manifest, truth, ai]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    def design_problems(self, *, files: bool = True) -> list[str]:
        """Why the stored design no longer is the locked one (empty when it is).

        The design settings must match the hashes the audit chain recorded when they were
        written, and the design hash must be the lock event's. Simulated and real readers
        follow the stored schedule, so login runs these checks (``files=False``). With
        ``files`` (``study audit --verify``) the schedule, definition and the case, truth
        and AI files must also still give that design hash; login skips it, since it would
        open the AI outputs in an unaided session.
        """
        problems = self.store.settings_problems(DESIGN_SETTINGS)
        locks = self.store.events(kind="lock")
        stored = self.store.get_meta("design_hash")
        if locks and locks[-1].payload.get("design_hash") != stored:
            problems.append(
                f"the stored design hash {str(stored)[:12]} is not the one locked in event "
                f"{locks[-1].seq}"
            )
        if not files:
            return problems
        try:
            recomputed = self.design_hash(self.schedule)
        except StudyFileError as exc:
            return [*problems, str(exc)]
        except (ValueError, KeyError, TypeError) as exc:
            return [*problems, f"the stored schedule cannot be read ({exc})"]
        if recomputed != stored:
            problems.append(
                "the stored schedule, the definition or the case, truth or AI files no longer "
                f"give the locked design hash {str(stored)[:12]}"
            )
        return problems

    def lock(self) -> Schedule:
        """Write the seeded schedule, the definition hash and the design hash; audited.

        Idempotent: locking again an unchanged design writes nothing. Refused once a read has
        started (the schedule cannot change after that) and when the
        aided reads have no AI outputs yet.
        """
        if self.reading_started():
            raise StudyLockedError(
                f"study {self.definition.name}: reading has started; the definition and "
                "schedule are frozen"
            )
        if not self.ai_available():
            raise ReaderStudyError(
                f"study {self.definition.name}: no AI outputs in {self.ai_dir} for the aided "
                f"reads: run `readerstudy study precompute {self.path}` (or init with --ai)"
            )
        schedule = build_schedule(self.definition, self.case_balance())
        design_hash = self.design_hash(schedule)
        if self.store.get_meta("design_hash") == design_hash:
            return schedule  # locked already on exactly this design: nothing to change
        self.store.put_meta("definition", self.definition.model_dump(mode="json", by_alias=True))
        self.store.put_meta("definition_hash", self.definition.content_hash())
        self.store.put_meta("schedule", schedule.to_json())
        self.store.put_meta("schedule_totals", _totals(schedule))
        self.store.put_meta("design_hash", design_hash)
        self.store.put_meta("locked_at", self.time.now().isoformat())
        schedule.write_csv(self.path / SCHEDULE_FILE)
        self.store.append_event(
            "lock",
            payload={
                "seed": schedule.seed,
                "design": schedule.design.value,
                "design_hash": design_hash,
                "definition_hash": self.definition.content_hash(),
                "reads": len(schedule.reads),
            },
            at=self.time.now(),
        )
        return schedule

    # -- washout ----------------------------------------------------------------------
    def completed_at(self, reader: str, session: int) -> datetime | None:
        """When the reader submitted the last read of a session; None while incomplete."""
        total = self.session_totals().get((reader, session), 0)
        reads = self.store.reads(reader=reader, session=session)
        if len(reads) < total:
            return None
        return max(r.submitted_at for r in reads)

    def overridden(self, reader: str, session: int) -> bool:
        return bool(self.store.events(reader=reader, session=session, kind="override"))

    def unlock(self, reader: str, session: int, reason: str) -> None:
        """Open a session before its washout ends (audited with the reason)."""
        self.definition.reader(reader)
        if session not in SESSIONS[1:]:
            raise ReaderStudyError(
                f"session {session}: only sessions {', '.join(map(str, SESSIONS[1:]))} have a "
                "washout to override"
            )
        if not reason.strip():
            raise ReaderStudyError("an override needs a reason (--reason)")
        previous = self.completed_at(reader, session - 1)
        opens = opening(previous, self.definition.washout_days) if previous else None
        self.store.append_event(
            "override",
            reader=reader,
            session=session,
            payload={
                "reason": reason,
                "washout_opens_at": opens.isoformat() if opens else None,
            },
            at=self.time.now(),
        )

    def current_session(self, reader: str) -> int | None:
        """The first session the reader has not completed (None when all are done)."""
        for session in SESSIONS:
            if self.completed_at(reader, session) is None:
                return session
        return None

    # -- PINs and login ---------------------------------------------------------------
    def set_pin(self, reader: str, pin: str) -> None:
        """Store the reader's PIN as a salted scrypt hash (audited, the PIN is not logged)."""
        self.definition.reader(reader)
        try:
            check_pin_format(pin)
        except ValueError as exc:
            raise ReaderStudyError(f"reader {reader}: {exc}") from None
        pins = dict(self.store.get_meta("pins", {}) or {})
        pins[reader] = hash_pin(pin)
        self.store.put_meta("pins", pins)
        self.store.append_event(
            "definition", reader=reader, payload={"pin_set": True}, at=self.time.now()
        )

    def has_pin(self, reader: str) -> bool:
        return reader in (self.store.get_meta("pins", {}) or {})

    def _consecutive_failures(self, reader: str) -> int:
        count = 0
        for event in reversed(self.store.events(reader=reader)):
            if event.kind == "login":
                break
            if event.kind == "login_failed":
                count += 1
        return count

    @property
    def viewer_options(self) -> ViewerOptions:
        return ViewerOptions.from_definition(self.definition.viewer)

    def levels(self, cases: set[str]) -> dict[str, dict[str, int]]:
        """Slice indices of the ASPECTS levels (``levels.csv``, scan grid) of the given cases;
        empty when precompute wrote none."""
        path = self.path / LEVELS_FILE
        if not path.is_file():
            return {}
        found: dict[str, dict[str, int]] = {}
        for line, row in enumerate(read_csv_rows(path), start=2):
            if row.get("case") not in cases:
                continue
            try:
                found[row["case"]] = {level: int(row[level]) for level in LEVELS}
            except (KeyError, TypeError, ValueError):
                raise ReaderStudyError(
                    f"{path}, line {line}: case {row['case']} needs whole slice numbers in "
                    f"columns {', '.join(LEVELS)}, got {row}"
                ) from None
        return found

    def login(self, reader: str, pin: str, *, loader: CaseLoader | None = None) -> ReaderSession:
        """Check the PIN and washout, resume the reader's current session, return it.

        After consecutive failed PINs every answer is delayed (0.5 s doubling, at most 60 s)
        on the study's time source; each failure is audited. ``loader`` shows the cases; by
        default one that loads a volume only when asked (no prefetch).
        """
        if not self.locked:
            raise ReaderStudyError(
                f"study {self.definition.name} is not locked: the coordinator runs "
                f"`readerstudy study lock {self.path}` before reading starts"
            )
        problems = self.design_problems(files=False)
        if problems:
            raise StudyLockedError(
                f"study {self.definition.name}: the locked design was changed outside "
                f"readerstudy ({problems[0]}); nobody can read until the coordinator restores "
                f"the store from its backup (`readerstudy study audit {self.path} --verify` "
                "lists every problem)"
            )
        if reader not in self.definition.reader_ids:
            raise LoginError(f"reader {reader!r} is not in study {self.definition.name}")
        pins = self.store.get_meta("pins", {}) or {}
        if reader not in pins:
            raise LoginError(
                f"reader {reader} has no PIN yet: the coordinator sets one with "
                f"`readerstudy study pin {self.path} --reader {reader}`"
            )
        delay = failure_delay(self._consecutive_failures(reader))
        if delay:
            self.time.sleep(delay)
        if not verify_pin(pin, pins[reader]):
            self.store.append_event(
                "login_failed", reader=reader, payload={"delay_s": delay}, at=self.time.now()
            )
            raise LoginError(f"reader {reader}: wrong PIN")
        session = self.current_session(reader)
        self.store.append_event("login", reader=reader, session=session, at=self.time.now())
        if session is None:
            return self._session(reader, SESSIONS[-1], loader)
        if session > 1:
            check_open(
                reader,
                session,
                now=self.time.now(),
                previous_completed_at=self.completed_at(reader, session - 1),
                washout_days=self.definition.washout_days,
                overridden=self.overridden(reader, session),
            )
        return self._session(reader, session, loader)

    def _ai_file(self, folder: str, case: str) -> Path | None:
        path = self.ai_dir / folder / f"{case}.nii.gz"
        return path if path.is_file() else None

    def _session(self, reader: str, session: int, loader: CaseLoader | None) -> ReaderSession:
        plan = self.schedule.for_reader(reader, session)
        submitted_cases = self.store.submitted_cases(reader, session)
        submitted = {r.order for r in plan if r.case in submitted_cases}
        aided = {r.case for r in plan if r.modality == self.definition.aided}
        ai = self._ai_for(aided) if aided else {}
        # Levels come from the study root, never ai/, and are the same in both modalities.
        levels = self.levels({r.case for r in plan}) if self.definition.viewer.level_jumps else {}
        slots = [
            _Slot(
                read=r,
                files=CaseFiles(
                    code=r.code,
                    image=self.image_path(r.case),
                    ai_mask=self._ai_file(AI_MASKS_DIR, r.case) if r.case in aided else None,
                    atlas=self._ai_file(AI_ATLAS_DIR, r.case) if r.case in aided else None,
                    levels=levels.get(r.case),
                ),
                ai=ai.get(r.case, ()),
            )
            for r in plan
        ]
        restart_flag = self._recover(reader, session, plan, submitted)
        if not self.store.events(reader=reader, session=session, kind="session_start"):
            self.store.append_event(
                "session_start", reader=reader, session=session, at=self.time.now()
            )
        return ReaderSession(
            store=self.store,
            definition=self.definition,
            reader=reader,
            session=session,
            slots=slots,
            submitted=submitted,
            time=self.time,
            restart_flag=restart_flag,
            loader=loader or CaseLoader(self.viewer_options, prefetch=False),
        )

    def _recover(
        self, reader: str, session: int, plan: list[ScheduledRead], submitted: set[int]
    ) -> str | None:
        """Flag and audit a read left open by a crash or a logout; None when there is none."""
        nxt = next((r for r in plan if r.order not in submitted), None)
        if nxt is None:
            return None
        open_reads = [
            p
            for p in self.store.in_progress(reader)
            if p["session"] == session and p["case"] == nxt.case
        ]
        if not open_reads:
            return None
        events = self.store.events(reader=reader, session=session)
        last = next((e for e in reversed(events) if e.case == nxt.case), None)
        logout = (
            last is not None and last.kind == "pause" and last.payload.get("reason") == ("logout")
        )
        flag = LOGOUT_FLAG if logout else CRASH_FLAG
        if not logout:
            self.store.append_event(
                "crash_recovery",
                reader=reader,
                session=session,
                case=nxt.case,
                payload={"order": nxt.order, "opened_at": open_reads[0]["started_at"].isoformat()},
                at=self.time.now(),
            )
        return flag

    # -- monitoring -------------------------------------------------------------------
    def status(self) -> list[SessionStatus]:
        """Per reader and session: done/total, dates, washout opening, active time."""
        totals = self.session_totals()
        progress = {(p["reader"], p["session"]): p for p in self.store.progress()}
        open_counts: dict[tuple[str, int], int] = {}
        for p in self.store.in_progress():
            key = (p["reader"], p["session"])
            open_counts[key] = open_counts.get(key, 0) + 1
        overrides = {(e.reader, e.session) for e in self.store.events(kind="override")}
        rows = []
        for reader in self.definition.reader_ids:
            previous_done_at: datetime | None = None
            for session in SESSIONS:
                total = totals.get((reader, session), 0)
                p = progress.get((reader, session), {})
                done = int(p.get("n_submitted") or 0)
                opens = None
                if session > 1 and previous_done_at is not None:
                    opens = opening(previous_done_at, self.definition.washout_days)
                rows.append(
                    SessionStatus(
                        reader=reader,
                        session=session,
                        done=done,
                        total=total,
                        first_at=p.get("first_submitted_at"),
                        last_at=p.get("last_submitted_at"),
                        opens_at=opens,
                        overridden=(reader, session) in overrides,
                        active_s=float(p.get("active_s") or 0.0),
                        in_progress=open_counts.get((reader, session), 0),
                    )
                )
                previous_done_at = p.get("last_submitted_at") if done >= total else None
        return rows


def _missing_store(
    path: Path, name: str, db: str | None, locked: bool, reason: Exception
) -> ReaderStudyError:
    """What a coordinator should do about a store that is not there."""
    if locked:
        return ReaderStudyError(
            f"study {name} was locked (its schedule.csv says so), but {reason}: every "
            "submitted read lives in that store. Restore it from your backup (or give the "
            "shared store with --db); nothing was created"
        )
    if db is not None:
        return ReaderStudyError(
            f"--db {db}: {reason}; check the path, or add --create to start a new store there"
        )
    return ReaderStudyError(
        f"study {name} has no results store yet ({reason}): `readerstudy study lock {path}` "
        "creates it"
    )


def _totals(schedule: Schedule) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = {}
    for read in schedule.reads:
        by_session = totals.setdefault(read.reader, {})
        by_session[str(read.session)] = by_session.get(str(read.session), 0) + 1
    return totals


def status_json(rows: list[SessionStatus], *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Status rows as JSON-ready dicts (``readerstudy study status --json``)."""
    now = now or datetime.now(UTC)
    out = []
    for row in rows:
        out.append(
            {
                "reader": row.reader,
                "session": row.session,
                "done": row.done,
                "total": row.total,
                "complete": row.complete,
                "first_at": row.first_at.isoformat() if row.first_at else None,
                "last_at": row.last_at.isoformat() if row.last_at else None,
                "opens_at": row.opens_at.isoformat() if row.opens_at else None,
                "open_now": row.session == 1
                or row.overridden
                or bool(row.opens_at and row.opens_at <= now),
                "overridden": row.overridden,
                "active_s": round(row.active_s, 3),
                "in_progress": row.in_progress,
            }
        )
    return out


__all__ = ["LoginError", "SessionStatus", "Study", "StudyLockedError", "WashoutError"]
