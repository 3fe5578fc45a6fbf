"""The workstation window: login, reading, and the session list (refusals, session end).

It owns the session's timer (``tick()`` about once a second) and forwards window activation
and application state to the session, so idle spells and focus loss reach the reading clock.
Closing the window logs out; a killed process leaves the read open, and the study layer
reopens it, flagged, at the next login (shown as a notice on the read screen).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow, QStackedWidget

from readerstudy.gui.keymap import Keymap
from readerstudy.gui.login import LoginView
from readerstudy.gui.sessions import SessionListView

if TYPE_CHECKING:
    from readerstudy.gui.reading import ReadView
from readerstudy.study.workstation import (
    LoginError,
    ReaderSession,
    ReaderStudyError,
    WashoutError,
    Workstation,
)

TICK_MS = 1000
BACKOFF_NOTE = "Each further wrong PIN is answered more slowly (0.5 s, doubling, up to 1 min)."


class WorkstationWindow(QMainWindow):
    """The whole reading workstation over one opened :class:`Workstation`."""

    def __init__(self, workstation: Workstation, keymap: Keymap) -> None:
        super().__init__()
        self.workstation = workstation
        self.keymap = keymap
        self.session: ReaderSession | None = None
        self._last_reader: str | None = None
        self.setWindowTitle(f"readerstudy - {workstation.name}")
        self.login_view = LoginView(workstation.name)
        self.sessions_view = SessionListView()
        self._read_view: ReadView | None = None
        self.stack = QStackedWidget()
        for view in (self.login_view, self.sessions_view):
            self.stack.addWidget(view)
        self.setCentralWidget(self.stack)

        self.login_view.login_requested.connect(self.log_in)
        self.sessions_view.closed.connect(self.log_out)

        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.applicationStateChanged.connect(self._on_application_state)
        self.show_login()
        # The read screen (and pyqtgraph) is built just after the login screen is up, while
        # the reader types the PIN, so the workstation starts faster.
        QTimer.singleShot(100, lambda: self.read_view)

    @property
    def read_view(self) -> ReadView:
        if self._read_view is None:
            from readerstudy.gui import reading

            self._read_view = reading.ReadView(self.keymap, self.workstation.options)
            self._read_view.finished.connect(self._finished)
            self._read_view.logout_requested.connect(self.log_out)
            self.stack.addWidget(self._read_view)
        return self._read_view

    # -- screens -----------------------------------------------------------------------
    def show_login(self, select: str | None = None) -> None:
        self.login_view.set_readers(self.workstation.readers(), select=select)
        self.stack.setCurrentWidget(self.login_view)
        self.login_view.reset()

    def log_in(self, reader: str, pin: str) -> None:
        """Check the PIN; the reader's current session opens at their first unread case."""
        self.login_view.show_waiting()
        try:
            session = self.workstation.login(reader, pin)
        except WashoutError as exc:
            self._show_sessions(reader, str(exc))
            return
        except LoginError as exc:
            self.login_view.show_error(
                f"{exc}. {BACKOFF_NOTE}" if "wrong PIN" in str(exc) else str(exc)
            )
            return
        except ReaderStudyError as exc:
            self.login_view.show_error(str(exc))
            return
        self.open_session(session)

    def open_session(self, session: ReaderSession) -> None:
        """Show ``session``'s current case (or, when it is finished, the session list)."""
        self.session = session
        if session.current is None:
            self._finished()
            return
        self.stack.setCurrentWidget(self.read_view)
        self.read_view.setFocus()
        self.read_view.attach(session)
        self.timer.start()

    def _show_sessions(self, reader: str, message: str) -> None:
        self._last_reader = reader
        entry = next(e for e in self.workstation.readers() if e.reader == reader)
        self.sessions_view.set_reader(entry, message=message)
        self.stack.setCurrentWidget(self.sessions_view)
        self.sessions_view.setFocus()

    def _finished(self) -> None:
        self.timer.stop()
        session = self.session
        if session is None:
            return
        progress = session.progress
        message = (
            f"Session {progress.session} is complete: {progress.done} of {progress.total} "
            "cases read. Thank you."
        )
        self._show_sessions(session.reader, message)

    def log_out(self) -> None:
        """Close the session (an open read reopens, flagged, at the next login)."""
        self.timer.stop()
        reader = self.session.reader if self.session is not None else self._last_reader
        if self._read_view is not None:
            self._read_view.detach()
        if self.session is not None:
            self.session.close()
            self.session = None
        self.show_login(select=reader)

    # -- clock -------------------------------------------------------------------------
    def tick(self) -> None:
        if (session := self._reading()) is not None:
            try:
                session.tick()
            except ReaderStudyError as exc:
                self.read_view.show_message(str(exc), error=True)

    def _reading(self) -> ReaderSession | None:
        """The session while one of its cases is on screen."""
        if self._read_view is not None and self._read_view.view is not None:
            return self.session
        return None

    def focus_lost(self) -> None:
        if (session := self._reading()) is not None:
            session.focus_lost()

    def focus_gained(self) -> None:
        if (session := self._reading()) is not None:
            session.focus_gained()

    def _on_application_state(self, state: Qt.ApplicationState) -> None:
        if state == Qt.ApplicationState.ApplicationActive:
            self.focus_gained()
        else:
            self.focus_lost()

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.WindowDeactivate:
            self.focus_lost()
        elif event.type() == QEvent.Type.WindowActivate:
            self.focus_gained()
        return super().event(event)

    def closeEvent(self, event) -> None:
        self.timer.stop()
        if self._read_view is not None:
            self._read_view.detach()
        if self.session is not None:
            self.session.close()
            self.session = None
        super().closeEvent(event)
