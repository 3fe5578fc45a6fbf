"""``readerstudy study``: build, lock, monitor and export a reader study."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, TypeVar

import typer

E = TypeVar("E", bound=Enum)

app = typer.Typer(help="Build, lock, monitor and export a reader study.", no_args_is_help=True)

StudyArg = Annotated[Path, typer.Argument(help="The study folder (holds study.toml).")]
DesignOpt = Annotated[
    str,
    typer.Option(
        "--design",
        help="sequential (session 1 unaided, session 2 aided, as in the paper) or crossover "
        "(both modalities in every session, counterbalanced).",
    ),
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy URL of a shared results store (PostgreSQL) instead of the one in "
        "study.toml or the study folder's results.sqlite.",
    ),
]


def _coordinator(study: Path, db: str | None = None):
    from readerstudy.workflows.coordinator import Coordinator

    return Coordinator(study, db=db)


@app.command("init")
def init(
    study: Annotated[Path, typer.Argument(help="New study folder to create (must not exist).")],
    cases: Annotated[
        Path, typer.Option("--cases", help="Folder of cases: one sub-folder (DICOM) or NIfTI each.")
    ],
    truth: Annotated[
        Path, typer.Option("--truth", help="truth.csv (case, unit, truth) keyed by source case.")
    ],
    readers: Annotated[
        str, typer.Option("--readers", help="Comma-separated reader ids, e.g. r1,r2,r3,r4.")
    ],
    names: Annotated[
        str | None,
        typer.Option(
            "--names", help="Comma-separated display names shown at login, in --readers order."
        ),
    ] = None,
    meta: Annotated[
        Path | None, typer.Option("--meta", help="cases.csv (case, side, ...) metadata.")
    ] = None,
    design: DesignOpt = "sequential",
    washout_days: Annotated[
        float,
        typer.Option("--washout-days", help="Days between a reader's sessions (refused before)."),
    ] = 14,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of case codes, halves, groups and orders.")
    ] = 0,
    idle_timeout: Annotated[
        float,
        typer.Option(
            "--idle-timeout",
            help="Seconds without input after which the reader counts as idle (not timed).",
        ),
    ] = 90,
    modalities: Annotated[
        str,
        typer.Option(
            "--modalities", help="The two modality names: read without AI first, then with it."
        ),
    ] = "unaided,aided",
    ai: Annotated[
        Path | None,
        typer.Option(
            "--ai",
            help="Another product's ai_regions.csv (+ masks/ beside it) for the aided reads, "
            "instead of the embedded model.",
        ),
    ] = None,
    ai_method: Annotated[
        str, typer.Option("--ai-method", help="The embedded model's method (without --ai).")
    ] = "asymmetry",
    confidence: Annotated[
        str,
        typer.Option("--confidence", help="Confidence scale per unit: none, 1-5 or 0-100."),
    ] = "none",
    binary_call: Annotated[
        bool,
        typer.Option(
            "--binary-call/--no-binary-call",
            help="Ask a 0/1 call per unit (without it, a confidence scale is needed).",
        ),
    ] = True,
    name: Annotated[str | None, typer.Option("--name", help="Study name (folder name).")] = None,
    description: Annotated[
        str, typer.Option("--description", help="One line about the study (study.toml).")
    ] = "",
) -> None:
    """Create a study: import and de-identify cases, validate truth, write study.toml."""
    from readerstudy.commands._progress import progress_bar
    from readerstudy.workflows.coordinator import ConfidenceScale, Design, StudySpec

    design_code = _choice(Design, design, "--design")
    scale = _choice(ConfidenceScale, confidence, "--confidence")
    spec = StudySpec(
        folder=study,
        cases=cases,
        truth=truth,
        readers=tuple(readers.split(",")),
        names=tuple(names.split(",")) if names else (),
        meta=meta,
        design=design_code,
        washout_days=washout_days,
        seed=seed,
        idle_timeout_s=idle_timeout,
        modalities=tuple(m.strip() for m in modalities.split(",")),
        binary_call=binary_call,
        confidence=scale,
        ai=ai,
        ai_method=ai_method,
        name=name,
        description=description,
    )
    with progress_bar("importing cases") as update:
        report = spec.create(progress=update)
    typer.echo(report.summary())
    typer.echo(f"next: {report.next_step}")


def _choice(kind: type[E], value: str, option: str) -> E:
    """``value`` as a member of ``kind``, or study init's one-line refusal naming ``option``."""
    from readerstudy.errors import ReaderStudyError

    try:
        return kind(value)
    except ValueError:
        words = [f"'{member.value}'" for member in kind]
        choices = ", ".join(words[:-1]) + f" or {words[-1]}"
        raise ReaderStudyError(f"study init: {option}: give {choices}, got {value!r}") from None


@app.command("lock")
def lock(
    study: StudyArg,
    db: DbOpt = None,
    create: Annotated[
        bool,
        typer.Option(
            "--create",
            help="Start a new results store at --db (without it, --db must name an existing "
            "store, so a typo never starts an empty one).",
        ),
    ] = False,
) -> None:
    """Write the seeded schedule and design hash; refused once reading has started."""
    typer.echo(_coordinator(study, db).lock(create=create).summary())


@app.command("pin")
def pin(
    study: StudyArg,
    reader: Annotated[str, typer.Option("--reader", help="Reader id from study.toml.")],
    new_pin: Annotated[
        str,
        typer.Option(
            "--pin", prompt=True, hide_input=True, confirmation_prompt=True, help="4-32 chars."
        ),
    ],
    db: DbOpt = None,
) -> None:
    """Set a reader's login PIN (stored as a salted scrypt hash)."""
    _coordinator(study, db).set_pin(reader, new_pin)
    typer.echo(f"PIN set for reader {reader}")


@app.command("unlock")
def unlock(
    study: StudyArg,
    reader: Annotated[str, typer.Option("--reader", help="Reader id.")],
    session: Annotated[int, typer.Option("--session", help="Session to open early.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")],
    db: DbOpt = None,
) -> None:
    """Open a session before its washout ends; the override is audited."""
    _coordinator(study, db).unlock(reader, session, reason)
    typer.echo(f"session {session} of reader {reader} opened early (audited): {reason}")


@app.command("status")
def status(
    study: StudyArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    db: DbOpt = None,
) -> None:
    """Per reader and session: done/total, dates, washout opening, active time."""
    rows = _coordinator(study, db).status()
    if as_json:
        import json

        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{study}")
    for column in ("reader", "session", "done", "first", "last", "opens", "active", "open"):
        table.add_column(column)
    for row in rows:
        opens = row["opens_at"][:16] if row["opens_at"] else ""
        if row["overridden"]:
            opens += " (override)"
        table.add_row(
            row["reader"],
            str(row["session"]),
            f"{row['done']}/{row['total']}",
            (row["first_at"] or "")[:16],
            (row["last_at"] or "")[:16],
            opens,
            f"{row['active_s'] / 60:.1f} min",
            str(row["in_progress"]),
        )
    Console(width=120).print(table)


@app.command("export")
def export(
    study: StudyArg,
    out: Annotated[Path, typer.Option("--out", help="Folder for the exported tables.")],
    db: DbOpt = None,
) -> None:
    """ratings/times/truth/cases CSV (DATA_CONTRACTS), a paper-style .xlsx and iMRMC input."""
    for key, path in _coordinator(study, db).export(out).items():
        typer.echo(f"{key}: {path}")


@app.command("precompute")
def precompute(
    study: StudyArg,
    force: Annotated[bool, typer.Option("--force", help="Recompute even when cached.")] = False,
    db: DbOpt = None,
) -> None:
    """AI outputs for the aided reads with the embedded model, and levels.csv (the ASPECTS
    level slices for the workstation's jump keys); cached by case and method version hashes.

    A case that fails does not stop the others: the failed cases are listed with their
    reasons (also in ai/failed.csv) and the command exits with status 2.
    """
    from readerstudy.commands._batch import batch_report
    from readerstudy.commands._progress import progress_bar
    from readerstudy.study.protocol import AI_DIR

    with batch_report(study / AI_DIR), progress_bar("AI outputs") as update:
        report = _coordinator(study, db).precompute(force=force, progress=update)
    for line in report.warnings:
        typer.secho(f"warning: {line}", err=True, fg=typer.colors.YELLOW)
    typer.echo(report.summary(study))


@app.command("audit")
def audit(
    study: StudyArg,
    verify: Annotated[
        bool, typer.Option("--verify", help="Check the hash chain; exit 1 at a broken link.")
    ] = False,
    db: DbOpt = None,
) -> None:
    """Summarise the audit log; with --verify check the hash chain and stored reads."""
    from readerstudy.study.protocol import Study

    if not verify:
        with Study.open(study, db=db, check_definition=False, read_only=True) as opened:
            n_events = len(opened.store.events())
        typer.echo(f"{n_events} audit events (use --verify to check the chain)")
        return
    from readerstudy.commands._progress import progress_bar

    with progress_bar("verifying the audit chain", min_total=5000) as update:
        result = _coordinator(study, db).verify_audit(progress=update)
    if result.ok:
        typer.echo(result.lines[0])
        return
    for line in result.lines:
        typer.secho(line, err=True, fg="red")
    raise typer.Exit(code=1)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="study")
