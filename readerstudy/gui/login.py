"""The login screen: pick a reader, type the PIN, press Enter."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from readerstudy.gui.sessions import describe
from readerstudy.gui.theme import centre_card
from readerstudy.study.workstation import ReaderEntry


class LoginView(QWidget):
    """Emits ``login_requested(reader id, pin)``; the window answers with ``show_error``."""

    login_requested = Signal(str, str)

    def __init__(self, study_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Reader login")
        title.setProperty("role", "title")
        subtitle = QLabel(f"Study {study_name}")
        subtitle.setProperty("role", "subtitle")
        self.readers = QListWidget()
        self.readers.setMinimumHeight(220)
        self.readers.currentRowChanged.connect(self._show_sessions)
        self.sessions = QLabel()
        self.sessions.setProperty("role", "muted")
        self.sessions.setWordWrap(True)
        self._entries: list[ReaderEntry] = []
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setPlaceholderText("PIN")
        self.pin.setMaxLength(32)
        self.pin.returnPressed.connect(self._submit)
        self.button = QPushButton("Log in")
        self.button.clicked.connect(self._submit)
        self.error = QLabel("")
        self.error.setProperty("role", "error")
        self.error.setWordWrap(True)
        hint = QLabel("Up/Down choose the reader, type the PIN, Enter logs in.")
        hint.setProperty("role", "muted")

        card = QVBoxLayout()
        card.setSpacing(12)
        card.addWidget(title)
        card.addWidget(subtitle)
        card.addSpacing(8)
        card.addWidget(QLabel("Reader"))
        card.addWidget(self.readers)
        card.addWidget(self.sessions)
        card.addWidget(QLabel("PIN"))
        row = QHBoxLayout()
        row.addWidget(self.pin, 1)
        row.addWidget(self.button)
        card.addLayout(row)
        card.addWidget(self.error)
        card.addWidget(hint)
        centre_card(self, card, 520)
        self.pin.installEventFilter(self)

    def set_readers(self, readers: list[ReaderEntry], *, select: str | None = None) -> None:
        self._entries = list(readers)
        self.readers.clear()
        for entry in readers:
            item = QListWidgetItem(entry.name or entry.reader)
            item.setData(Qt.ItemDataRole.UserRole, entry.reader)
            self.readers.addItem(item)
        ids = [e.reader for e in readers]
        self.readers.setCurrentRow(ids.index(select) if select in ids else 0)

    def _show_sessions(self, row: int) -> None:
        if not 0 <= row < len(self._entries):
            self.sessions.clear()
            return
        lines = [f"Session {s.session}: {describe(s)[0]}" for s in self._entries[row].sessions]
        self.sessions.setText("\n".join(lines))

    def reset(self) -> None:
        self.pin.clear()
        self.error.clear()
        self.pin.setFocus()

    def selected_reader(self) -> str | None:
        item = self.readers.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.pin.clear()
        self.pin.setFocus()

    def show_waiting(self) -> None:
        # A repeated wrong PIN is answered after a delay; say so before the call blocks.
        self.error.setText("Checking the PIN ...")
        self.error.repaint()

    def _submit(self) -> None:
        reader = self.selected_reader()
        if reader is None:
            self.show_error("Choose a reader first.")
            return
        self.login_requested.emit(reader, self.pin.text())

    def eventFilter(self, watched, event) -> bool:
        # Up/Down in the PIN field move the reader selection, so no Tab or mouse is needed.
        if watched is self.pin and event.type() == event.Type.KeyPress:
            step = {Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1}.get(event.key())
            if step is not None:
                row = self.readers.currentRow() + step
                if 0 <= row < self.readers.count():
                    self.readers.setCurrentRow(row)
                return True
        return super().eventFilter(watched, event)
