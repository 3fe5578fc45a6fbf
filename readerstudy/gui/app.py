"""Start the workstation: Qt application, theme, key map, window."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication, QWidget

from readerstudy.gui.keymap import load_keymap
from readerstudy.gui.theme import apply_theme, configure_high_dpi
from readerstudy.gui.window import WorkstationWindow
from readerstudy.study.workstation import ReaderStudyError, TimeSource, Workstation

PROBE_TIMEOUT_S = 60.0
"""How long the startup probe waits for a screen before it gives up."""


def application() -> QApplication:
    """The process's QApplication, themed (created on first use)."""
    app = QApplication.instance()
    if app is None:
        configure_high_dpi()
        app = QApplication(sys.argv[:1])
        app.setApplicationName("readerstudy")
    elif not isinstance(app, QApplication):
        raise RuntimeError("this process already runs a Qt application without widgets")
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
    window = open_window(study_dir, db=db)
    workstation = window.workstation
    try:
        return run_maximised(window)
    finally:
        close_now(window)
        workstation.close()


def close_now(window: QWidget) -> None:
    """Close ``window`` and delete it now: its work joined and its widgets gone while the
    QApplication still exists (left to the interpreter's exit, PySide would delete them with
    whatever else is left, in no particular order)."""
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def run_maximised(window: QWidget) -> int:
    """Show ``window`` maximised and run the application until it closes."""
    app = application()
    # Full size even where no window manager honours "maximised" (kiosk sessions, Xvfb).
    window.setGeometry(window.screen().availableGeometry())
    window.showMaximized()
    return app.exec()


def probe(
    study_dir: Path,
    *,
    db: str | None = None,
    login: tuple[str, str] | None = None,
    started: float | None = None,
) -> list[str]:
    """Open the workstation, wait until the login screen is on screen, then close it.

    With ``login=(reader, pin)`` the reader logs in through the login screen, the first case
    must be shown, and the reader logs out before the window closes. ``started`` is the
    ``time.monotonic()`` the timings count from (the process's start). Returns one line per
    step; a step that does not happen raises :class:`ReaderStudyError`.
    """
    started = time.monotonic() if started is None else started
    app = application()
    window = open_window(study_dir, db=db)
    try:
        window.setGeometry(window.screen().availableGeometry())
        window.show()
        _wait(app, lambda: _exposed(window) and window.login_view.isVisible(), "login screen")
        lines = [f"login screen shown {time.monotonic() - started:.2f} s after start"]
        if login is not None:
            lines.append(_probe_login(app, window, *login, started=started))
            window.log_out()
            _wait(app, window.login_view.isVisible, "login screen after logging out")
            lines.append("logged out")
    finally:
        window.close()
        app.processEvents()
        window.workstation.close()
    return lines


def _probe_login(
    app: QApplication, window: WorkstationWindow, reader: str, pin: str, *, started: float
) -> str:
    login = window.login_view
    login.set_readers(window.workstation.readers(), select=reader)
    if login.selected_reader() != reader:
        raise ReaderStudyError(f"reader {reader!r} is not on the login screen of this study")
    login.pin.setText(pin)
    login.button.click()
    app.processEvents()
    if window.stack.currentWidget() is not window.read_view:
        shown = window.stack.currentWidget()
        message = login.error.text() if shown is login else window.sessions_view.message.text()
        raise ReaderStudyError(f"reader {reader} did not reach a case: {message}")
    view = window.read_view.view
    if view is None:
        raise ReaderStudyError(f"reader {reader} logged in but no case is shown")
    return (
        f"logged in as {reader}: case {view.code} ({view.order} of {view.total}) shown "
        f"{time.monotonic() - started:.2f} s after start"
    )


def _exposed(window: WorkstationWindow) -> bool:
    handle = window.windowHandle()
    return handle is not None and handle.isExposed()


def _wait(app: QApplication, done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PROBE_TIMEOUT_S
    while not done():
        if time.monotonic() > deadline:
            raise ReaderStudyError(f"the workstation showed no {what} within {PROBE_TIMEOUT_S:g} s")
        app.processEvents()
        time.sleep(0.005)
