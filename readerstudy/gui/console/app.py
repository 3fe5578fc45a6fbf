"""Start the console: the themed Qt application and the window, on a study or none."""

from __future__ import annotations

from pathlib import Path

from readerstudy.gui.app import application, close_now, run_maximised
from readerstudy.gui.console.window import ConsoleWindow
from readerstudy.workflows.coordinator import TimeSource


def open_console(
    study: Path | None = None, *, db: str | None = None, time: TimeSource | None = None
) -> ConsoleWindow:
    """The console window (not shown yet), on ``study`` when given (a refusal to open it is
    shown on the start screen)."""
    application()
    window = ConsoleWindow(db=db, time=time)
    if study is not None:
        window.open_study(Path(study), db)
    return window


def run(study: Path | None = None, *, db: str | None = None) -> int:
    """Show the console and run until its window closes."""
    window = open_console(study, db=db)
    try:
        return run_maximised(window)
    finally:
        close_now(window)
