"""``readerstudy doctor``: qualify this workstation (display, GPU, model, store, disk, clock)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

COLOURS = {"OK": typer.colors.GREEN, "WARN": typer.colors.YELLOW, "FAIL": typer.colors.RED}


def doctor(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of lines.")
    ] = False,
    study: Annotated[
        Path | None,
        typer.Option(
            "--study",
            exists=True,
            file_okay=False,
            help="A study folder: check its store, its clock against its audit log, and its "
            "audit chain.",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="The shared store URL (PostgreSQL) to check instead of the study's own; "
            "without --study or --db a scratch SQLite store is tried.",
        ),
    ] = None,
    no_inference: Annotated[
        bool,
        typer.Option("--no-inference", help="Skip the model's timed run on a phantom."),
    ] = False,
    qt_probe: Annotated[bool, typer.Option("--qt-probe", hidden=True)] = False,
) -> None:
    """Check this workstation; every line is OK, WARN or FAIL with the fix.

    Exit status 0 when nothing failed (warnings allowed), 2 when a check failed. With
    --debug a check that breaks shows its traceback instead of a FAIL line.
    """
    if qt_probe:
        # The doctor's child process: Qt's view of the screens (see readerstudy.doctor).
        from readerstudy.gui.qtcheck import qt_report

        typer.echo(json.dumps(qt_report()))
        return
    from readerstudy.doctor import Check, run_doctor
    from readerstudy.provenance import describe, version_lines

    about = describe()
    if not as_json:
        typer.echo(f"readerstudy doctor: {'; '.join(version_lines(about))}")

    def show(check: Check) -> None:
        if as_json:
            return
        label = typer.style(f"{check.status.value:<5}", fg=COLOURS[check.status.value])
        typer.echo(f"{label} {check.name:<10} {check.detail}")
        if check.fix and check.status.value != "OK":
            typer.echo(f"{'':<16} fix: {check.fix}")

    debug = bool((ctx.obj or {}).get("debug"))
    report = run_doctor(study=study, db=db, inference=not no_inference, on_check=show, debug=debug)
    if as_json:
        typer.echo(json.dumps(report.to_json(about), indent=2))
    else:
        counts = report.counts()
        verdict = "a check FAILED: fix it before reading" if report.failed else "ready to read"
        typer.echo(f"{counts['WARN']} warning(s), {counts['FAIL']} failure(s): {verdict}")
    if report.exit_code:
        raise typer.Exit(code=report.exit_code)


def register(root: typer.Typer) -> None:
    root.command("doctor")(doctor)
