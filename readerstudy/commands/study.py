"""``readerstudy study``: build, lock, monitor and export a reader study."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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


def _open(study: Path, db: str | None = None, **kw):
    from readerstudy.study.protocol import Study

    return Study.open(study, db=db, **kw)


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
    ai: Annotated[
        Path | None,
        typer.Option(
            "--ai",
            help="Another product's ai_regions.csv (+ masks/ beside it) for the aided reads, "
            "instead of the embedded model.",
        ),
    ] = None,
    confidence: Annotated[
        str,
        typer.Option("--confidence", help="Confidence scale per unit: none, 1-5 or 0-100."),
    ] = "none",
    name: Annotated[str | None, typer.Option("--name", help="Study name (folder name).")] = None,
) -> None:
    """Create a study: import and de-identify cases, validate truth, write study.toml."""
    from readerstudy.commands._progress import progress_bar
    from readerstudy.study.importer import init_study

    with progress_bar("importing cases") as update:
        definition = init_study(
            study,
            cases=cases,
            truth=truth,
            readers=readers.split(","),
            meta=meta,
            design=design,
            washout_days=washout_days,
            seed=seed,
            ai=ai,
            name=name,
            definition_overrides={"rating": {"confidence": confidence}},
            progress=lambda i, n, code: update(i, n, f"importing {code}"),
        )
    typer.echo(
        f"study {definition.name}: {study}/study.toml written ({definition.design.value}, "
        f"{len(definition.readers)} readers, washout {definition.washout_days:g} days)"
    )
    nxt = "lock" if ai else "precompute"
    typer.echo(f"next: readerstudy study {nxt} {study}")


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
    from readerstudy.study.definition import load_definition
    from readerstudy.study.protocol import case_balance

    # A study folder, and its own files whole, before a store is started for it.
    load_definition(study)
    case_balance(study)
    with _open(study, db, check_definition=False, create=db is None or create) as opened:
        before = opened.store.get_meta("design_hash")
        schedule = opened.lock()
        design_hash = opened.store.get_meta("design_hash")
    if before == design_hash:
        typer.echo(
            f"already locked on this design (design hash {design_hash[:16]}): nothing changed"
        )
        return
    typer.echo(
        f"{'re-locked' if before else 'locked'}: {len(schedule.reads)} reads, design "
        f"{schedule.design.value}, seed {schedule.seed}, design hash {design_hash[:16]}; "
        f"schedule in {study}/schedule.csv"
    )


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
    with _open(study, db, create=db is None) as opened:
        opened.set_pin(reader, new_pin)
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
    with _open(study, db) as opened:
        opened.unlock(reader, session, reason)
    typer.echo(f"session {session} of reader {reader} opened early (audited): {reason}")


@app.command("status")
def status(
    study: StudyArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    db: DbOpt = None,
) -> None:
    """Per reader and session: done/total, dates, washout opening, active time."""
    from readerstudy.study.protocol import status_json

    with _open(study, db, read_only=True) as opened:
        rows = status_json(opened.status(), now=opened.time.now())
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
    from readerstudy.study.export import export_study

    with _open(study, db, read_only=True) as opened:
        written = export_study(opened, out)
    for key, path in written.items():
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
    from readerstudy.commands._batch import batch_report, print_case_warnings
    from readerstudy.commands._progress import progress_bar
    from readerstudy.study.precompute import precompute_ai

    with _open(study, db, create=db is None) as opened:
        with batch_report(opened.ai_dir), progress_bar("AI outputs") as update:
            result = precompute_ai(
                opened,
                force=force,
                progress=lambda case_id, done, total: update(done, total, f"case {case_id}"),
            )
        if not result.cached:
            print_case_warnings(opened.ai_dir, opened.case_codes())
    state = "cached" if result.cached else "computed"
    typer.echo(f"AI outputs {state} for {result.cases} cases ({result.method}) in {study}/ai")


@app.command("audit")
def audit(
    study: StudyArg,
    verify: Annotated[
        bool, typer.Option("--verify", help="Check the hash chain; exit 1 at a broken link.")
    ] = False,
    db: DbOpt = None,
) -> None:
    """Summarise the audit log; with --verify check the hash chain and stored reads."""
    with _open(study, db, check_definition=False, read_only=True) as opened:
        if not verify:
            n_events = len(opened.store.events())
            typer.echo(f"{n_events} audit events (use --verify to check the chain)")
            return
        from readerstudy.commands._progress import progress_bar

        with progress_bar("verifying the audit chain", min_total=5000) as update:
            result = opened.store.verify_audit(progress=update)
        design = opened.design_problems() if opened.locked else []
    if design:
        for problem in design:
            typer.secho(f"locked design BROKEN: {problem}", err=True, fg="red")
        raise typer.Exit(code=1)
    if result.ok:
        typer.echo(f"audit chain OK: {result.n_events} events, {result.n_reads} reads verified")
        return
    where = f"event {result.first_broken}" if result.first_broken is not None else "the log"
    typer.secho(f"audit chain BROKEN at {where}: {result.reason}", err=True, fg="red")
    raise typer.Exit(code=1)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="study")
