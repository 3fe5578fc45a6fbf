"""The help overlay (F1 or ?): every action and its keys, grouped, over a dimmed screen."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from readerstudy.gui.keymap import Keymap, unit_of_action
from readerstudy.gui.theme import COLORS

CONFIDENCE_ACTIONS = ("next_unit", "previous_unit", "confidence_up", "confidence_down")

MOUSE_HELP = (
    ("Left drag", "Window (right/left) and level (up/down)"),
    ("Wheel", "Slice up / down"),
    ("Ctrl+wheel, right drag", "Zoom"),
    ("Middle drag, Shift+left drag", "Pan"),
    ("Click a unit", "Toggle it"),
)


class HelpOverlay(QWidget):
    """Covers its parent; closes with the help key or Esc (the read screen handles keys)."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, False)
        self._card = QFrame(self)
        self._card.setProperty("role", "panel")
        self._signature: tuple | None = None
        self.hide()

    def set_keymap(
        self, keymap: Keymap, *, aided: bool, level_jumps: bool, confidence: bool
    ) -> None:
        """List the keys that do something in this read (AI keys only in aided reads)."""
        signature = (keymap, aided, level_jumps, confidence)
        if signature == self._signature:
            return
        self._signature = signature
        layout = self._card.layout()
        if layout is not None:
            QWidget().setLayout(layout)  # reparent the old layout so it is deleted
        outer = QVBoxLayout(self._card)
        outer.setContentsMargins(28, 22, 28, 22)
        title = QLabel("Keys")
        title.setProperty("role", "title")
        outer.addWidget(title)
        note = QLabel(f"Press {keymap.label('help')} or Esc to close. The mouse is optional.")
        note.setProperty("role", "subtitle")
        outer.addWidget(note)
        columns = QHBoxLayout()
        columns.setSpacing(36)
        groups: dict[str, list] = {}
        for action in keymap.actions():
            if action.name.startswith("rate_"):
                continue
            if action.name in CONFIDENCE_ACTIONS and not confidence:
                continue
            if action.group == "AI" and not aided:
                continue
            if action.name.startswith("jump_") and not level_jumps:
                continue
            groups.setdefault(action.group, []).append(action)
        rating_keys = f"{keymap.label('rate_1')} ... {keymap.label('rate_5')}"
        image = groups.pop("Image")
        read = groups.pop("Read")
        for column in (("Read", "Mouse"), ("Image",), tuple(groups)):
            box = QVBoxLayout()
            box.setSpacing(2)
            for name in column:
                box.addWidget(self._heading(name))
                grid = QGridLayout()
                grid.setHorizontalSpacing(16)
                grid.setVerticalSpacing(3)
                if name == "Mouse":
                    rows = list(MOUSE_HELP)
                    if confidence:
                        rows.append(("Click a number", "That confidence for the unit above"))
                elif name.startswith("Units"):
                    self._unit_rows(grid, groups[name], keymap)
                    rows = []
                else:
                    actions = read if name == "Read" else image if name == "Image" else groups[name]
                    rows = [(keymap.label(a.name), a.description) for a in actions]
                    if name == "Read" and confidence:
                        rows.append((rating_keys, "Confidence of the selected unit"))
                for row, (keys, text) in enumerate(rows):
                    self._row(grid, row, keys, text)
                box.addLayout(grid)
            box.addStretch(1)
            columns.addLayout(box)
        outer.addLayout(columns)

    @staticmethod
    def _heading(text: str) -> QLabel:
        label = QLabel(text)
        label.setStyleSheet(f"color: {COLORS.accent}; font-size: 14pt; font-weight: 600;")
        label.setContentsMargins(0, 10, 0, 2)
        return label

    @staticmethod
    def _row(grid: QGridLayout, row: int, keys: str, text: str) -> None:
        key = QLabel(keys)
        key.setStyleSheet("font-weight: 700; font-family: monospace;")
        grid.addWidget(key, row, 0, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        grid.addWidget(QLabel(text), row, 1)

    @staticmethod
    def _unit_rows(grid: QGridLayout, actions, keymap: Keymap) -> None:
        # The unit keys mirror the form's 4-3-3 grid; show them in that shape.
        shape = ((0, 4), (4, 7), (7, 10))
        for row, (start, stop) in enumerate(shape):
            for column, action in enumerate(actions[start:stop]):
                cell = QLabel(
                    f"<span style='color:{COLORS.muted}'>{unit_of_action(action.name)[1]}</span>"
                    f"&nbsp;<b>{keymap.label(action.name)}</b>"
                )
                cell.setStyleSheet("font-family: monospace;")
                grid.addWidget(cell, row, column)

    def toggle(self) -> None:
        self.setVisible(not self.isVisible())
        if self.isVisible():
            self.raise_()
            self._fit()

    def _fit(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(0, 0, parent.width(), parent.height())
        self._card.adjustSize()
        size = self._card.sizeHint()
        self._card.setGeometry(
            max(0, (self.width() - size.width()) // 2),
            max(0, (self.height() - size.height()) // 2),
            min(size.width(), self.width()),
            min(size.height(), self.height()),
        )

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.isVisible():
            self._fit()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(8, 9, 11, 225))
