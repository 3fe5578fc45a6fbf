"""``readerstudy read``: open the reading workstation (Qt) on a locked study."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer


def read(
    study: Annotated[Path, typer.Argument(help="A locked study folder.")],
    db: Annotated[
        str | None,
        typer.Option("--db", help="Shared store URL (PostgreSQL); the study's own by default."),
    ] = None,
    probe: Annotated[
        bool,
        typer.Option(
            "--probe",
            help="Start the workstation, wait until the login screen is shown, print how long "
            "that took from the process's start, and close (also offscreen, for site checks).",
        ),
    ] = False,
    probe_login: Annotated[
        str | None,
        typer.Option(
            "--probe-login",
            metavar="READER",
            help="Probe as --probe does, and log READER in (PIN read from standard input): the "
            "first case must be shown; then log out and close. The login is audited as any.",
        ),
    ] = None,
) -> None:
    """Open the workstation: readers log in with their PIN and read their current session.

    Needs a display. Closing the window logs the reader out; an unfinished read reopens,
    flagged, at the next login.
    """
    if probe or probe_login is not None:
        _probe(study, db, probe_login)
        return
    from readerstudy.display import require_display

    require_display("read", "`readerstudy simulate`")
    from readerstudy.gui.app import run

    code = run(study, db=db)
    if code:
        raise typer.Exit(code=code)


def _probe(study: Path, db: str | None, reader: str | None) -> None:
    started = time.monotonic() - (_process_age_s() or 0.0)
    login = None
    if reader is not None:
        pin = typer.prompt("PIN", hide_input=True) if sys.stdin.isatty() else sys.stdin.readline()
        login = (reader, pin.strip())
    from readerstudy.gui.app import probe

    for line in probe(study, db=db, login=login, started=started):
        typer.echo(line)


def _process_age_s() -> float | None:
    """Seconds since this process started (Linux), so a probe times the whole cold start."""
    import os

    try:
        stat = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None
    # Field 22 (starttime, in clock ticks since boot); the split above starts at field 3.
    return uptime - int(stat[19]) / os.sysconf("SC_CLK_TCK")


def register(root: typer.Typer) -> None:
    root.command("read")(read)
