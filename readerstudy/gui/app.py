"""Start the workstation: Qt application, theme, key map, window."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from readerstudy.gui.keymap import load_keymap
from readerstudy.gui.theme import apply_theme, configure_high_dpi
from readerstudy.gui.window import WorkstationWindow
from readerstudy.study.workstation import TimeSource, Workstation


def application() -> QApplication:
    """The process's QApplication, themed (created on first use)."""
    app = QApplication.instance()
    if app is None:
        configure_high_dpi()
        app = QApplication(sys.argv[:1])
        app.setApplicationName("readerstudy")
    apply_theme(app)
    return app


def open_window(
    study_dir: Path,
    *,
    db: str | None = None,
    time: TimeSource | None = None,
    keymap_file: Path | None = None,
) -> WorkstationWindow:
    """Open the study and build its window (not shown yet)."""
    application()
    workstation = Workstation.open(Path(study_dir), db=db, time=time)
    try:
        keymap = load_keymap(workstation.options.keymap, keymap_file)
    except Exception:
        workstation.close()
        raise
    return WorkstationWindow(workstation, keymap)


def run(study_dir: Path, *, db: str | None = None) -> int:
    """Show the workstation full screen-sized and run until the window closes."""
    app = application()
    window = open_window(study_dir, db=db)
    # Full size even where no window manager honours "maximised" (kiosk sessions, Xvfb).
    window.setGeometry(window.screen().availableGeometry())
    window.showMaximized()
    try:
        return app.exec()
    finally:
        window.workstation.close()
