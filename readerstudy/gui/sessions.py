"""The session list: each session's state and progress, and when a locked one opens."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from readerstudy.gui.theme import COLORS, centre_card
from readerstudy.study.workstation import ReaderEntry, SessionEntry, SessionState


def opening_text(opens_at: datetime | None) -> str:
    """When a locked session opens, in the workstation's local time."""
    if opens_at is None:
        return "opens once the previous session is complete"
    local = opens_at.astimezone()
    return f"opens {local:%a %d %b %Y, %H:%M} {local.tzname() or ''}".rstrip()


def describe(entry: SessionEntry) -> tuple[str, str]:
    """(state text, colour) of one session row."""
    progress = f"{entry.done} of {entry.total} cases read"
    if entry.state is SessionState.DONE:
        return f"Complete - {progress}", COLORS.muted
    if entry.state is SessionState.OPEN:
        return f"Open - {progress}", COLORS.accent
    return f"Locked - {opening_text(entry.opens_at)}", COLORS.warning


class SessionListView(QWidget):
    """A reader's sessions with a message (refused login, session complete); Enter or Esc
    goes back to the login screen."""

    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._title = QLabel()
        self._title.setProperty("role", "title")
        self._rows = QVBoxLayout()
        self._rows.setSpacing(10)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setProperty("role", "notice")
        hint = QLabel("Enter or Esc: back to the login screen")
        hint.setProperty("role", "subtitle")
        card = QVBoxLayout()
        card.setSpacing(14)
        card.addWidget(self._title)
        card.addLayout(self._rows)
        card.addSpacing(6)
        card.addWidget(self.message)
        card.addWidget(hint)
        centre_card(self, card, 720)

    def set_reader(self, entry: ReaderEntry, *, message: str) -> None:
        self._title.setText(f"Sessions of {entry.name or entry.reader}")
        while self._rows.count():
            item = self._rows.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for session in entry.sessions:
            self._rows.addWidget(self._row(session))
        self.message.setText(message)
        self.message.setVisible(bool(message))

    @staticmethod
    def _row(entry: SessionEntry) -> QFrame:
        row = QFrame()
        row.setProperty("role", "panel")
        layout = QHBoxLayout(row)
        layout.setContentsMargins(18, 14, 18, 14)
        name = QLabel(f"Session {entry.session}")
        name.setStyleSheet("font-size: 16pt; font-weight: 600;")
        text, color = describe(entry)
        state = QLabel(text)
        state.setStyleSheet(f"color: {color}; font-size: 14pt;")
        layout.addWidget(name)
        layout.addStretch(1)
        layout.addWidget(state)
        return row

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape):
            self.closed.emit()
        else:
            super().keyPressEvent(event)
