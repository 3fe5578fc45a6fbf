"""Small building blocks of the console: refusal notes, path fields, tables, sparklines."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from readerstudy.gui.theme import COLORS


class Note(QLabel):
    """A line beside a field: the refusal of what was entered (the CLI's own message), a
    notice, or a confirmation; hidden while empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def _show(self, text: str, role: str) -> None:
        self.setProperty("role", role)
        self.style().unpolish(self)
        self.style().polish(self)
        self.setText(text)
        self.setVisible(bool(text))

    def error(self, text: str) -> None:
        self._show(text, "error")

    def notice(self, text: str) -> None:
        self._show(text, "muted")

    def ok(self, text: str) -> None:
        self._show(text, "ok")

    def clear(self) -> None:
        self._show("", "muted")

    @property
    def is_error(self) -> bool:
        return self.isVisible() and self.property("role") == "error"


class PathField(QWidget):
    """A path typed or chosen with a dialog; ``changed`` fires when the path is settled."""

    changed = Signal(str)

    def __init__(self, mode: str, *, caption: str, filter: str = "", placeholder: str = "") -> None:
        super().__init__()
        if mode not in ("dir", "file", "new-dir"):
            raise ValueError(f"PathField mode must be dir, file or new-dir, got {mode!r}")
        self.mode, self.caption, self.filter = mode, caption, filter
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.editingFinished.connect(self._settled)
        self.button = QPushButton("Browse…")
        self.button.clicked.connect(self.browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.button)
        self._last = ""

    @property
    def path(self) -> Path | None:
        text = self.edit.text().strip()
        return Path(text).expanduser() if text else None

    def set_path(self, path: Path | str | None) -> None:
        """Set the path and announce it (as if the coordinator had typed it)."""
        self.edit.setText("" if path is None else str(path))
        self._settled()

    def browse(self) -> None:
        start = str(self.path or Path.home())
        if self.mode == "file":
            chosen, _ = QFileDialog.getOpenFileName(self, self.caption, start, self.filter)
        else:
            chosen = QFileDialog.getExistingDirectory(self, self.caption, start)
        if chosen:
            self.set_path(chosen)

    def _settled(self) -> None:
        text = self.edit.text().strip()
        if text != self._last:
            self._last = text
            self.changed.emit(text)


def panel(
    title: str, intro: str | None = None, *, dense: bool = False
) -> tuple[QFrame, QVBoxLayout]:
    """A framed section with its title (and a line on what it does); ``dense`` for the
    monitor, which shows more at once."""
    frame = QFrame()
    frame.setProperty("role", "panel")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(*((14, 10, 14, 12) if dense else (16, 12, 16, 14)))
    layout.setSpacing(6 if dense else 8)
    layout.addWidget(label(title, "section"))
    if intro:
        layout.addWidget(label(intro, "muted", wrap=True))
    return frame, layout


def left_row(*widgets: QWidget) -> QHBoxLayout:
    """``widgets`` side by side at the left, the spare width after them (a row of buttons)."""
    row = QHBoxLayout()
    for widget in widgets:
        row.addWidget(widget)
    row.addStretch(1)
    return row


def label(text: str, role: str | None = None, *, wrap: bool = False) -> QLabel:
    widget = QLabel(text)
    if role:
        widget.setProperty("role", role)
    widget.setWordWrap(wrap)
    return widget


def table(columns: Sequence[str], *, stretch: int | None = None) -> QTableWidget:
    """A read-only table with one row selected at a time; ``stretch``: the column that
    takes the spare width (the last by default)."""
    widget = QTableWidget(0, len(columns))
    widget.setHorizontalHeaderLabels(list(columns))
    widget.verticalHeader().hide()
    widget.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    widget.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    widget.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    widget.setAlternatingRowColors(True)
    widget.setWordWrap(False)
    header = widget.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(
        len(columns) - 1 if stretch is None else stretch, QHeaderView.ResizeMode.Stretch
    )
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return widget


_COLOR = Qt.ItemDataRole.UserRole + 1
"""Where :func:`set_row` keeps the name of an item's text colour."""


def set_row(
    widget: QTableWidget, row: int, values: Sequence[object], *, color: str | None = None
) -> None:
    """Fill one row (text of each value; ``color`` for the whole row's text)."""
    if widget.rowCount() <= row:
        widget.setRowCount(row + 1)
    color = color or COLORS.text
    for column, value in enumerate(values):
        item = widget.item(row, column)
        text = "" if value is None else str(value)
        if item is None:
            item = QTableWidgetItem(text)
            widget.setItem(row, column, item)
        elif item.text() != text:
            item.setText(text)
        paint(item, color)


def cell(widget: QTableWidget, row: int, column: int) -> QTableWidgetItem:
    """The item :func:`set_row` put at (row, column)."""
    item = widget.item(row, column)
    if item is None:
        raise LookupError(f"no item at row {row}, column {column}: fill the row first")
    return item


def paint(item: QTableWidgetItem, color: str) -> None:
    """Set an item's text colour unless it has it already (the name is kept on the item:
    comparing it is cheaper than a brush, on every refresh of every cell)."""
    if item.data(_COLOR) != color:
        item.setData(_COLOR, color)
        item.setForeground(QColor(color))


def fit_height(widget: QTableWidget, *, limit: int | None = None) -> None:
    """A short table as tall as its rows (at most ``limit`` pixels), so no empty band shows."""
    widget.resizeRowsToContents()
    rows = widget.verticalHeader().length()
    header = widget.horizontalHeader()
    # Before the table is first shown its header has no height yet: take the larger.
    height = rows + max(header.height(), header.sizeHint().height()) + 2 * widget.frameWidth()
    height += 8
    widget.setFixedHeight(height if limit is None else min(height, limit))


def local_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware UTC time in the console's local time zone ("" for None)."""
    return "" if moment is None else moment.astimezone().strftime(fmt)


class Sparkline(QWidget):
    """Active reading time per case as dots in reading order, with the median as a line;
    the same vertical scale in every sparkline of a table, so readers compare at a glance."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: tuple[float, ...] = ()
        self.ceiling = 1.0
        self.setMinimumSize(220, 34)

    def set_values(self, values: Sequence[float], ceiling: float) -> None:
        values = tuple(values)
        if values == self.values and ceiling == self.ceiling:
            return
        self.values, self.ceiling = values, max(ceiling, 1e-9)
        if values:
            self.setToolTip(
                f"{len(values)} reads: median {statistics.median(values):.0f} s, "
                f"mean {statistics.fmean(values):.0f} s, longest {max(values):.0f} s"
            )
        else:
            self.setToolTip("no reads yet")
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        box = QRectF(self.rect()).adjusted(4, 4, -4, -4)
        painter.setPen(QPen(QColor(COLORS.border), 1))
        painter.drawLine(box.bottomLeft(), box.bottomRight())
        if not self.values:
            painter.setPen(QColor(COLORS.muted))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "no reads yet")
            return
        n = len(self.values)
        step = box.width() / max(n - 1, 1)

        def y(value: float) -> float:
            return box.bottom() - min(value / self.ceiling, 1.0) * box.height()

        median = statistics.median(self.values)
        painter.setPen(QPen(QColor(COLORS.muted), 1, Qt.PenStyle.DashLine))
        painter.drawLine(QPointF(box.left(), y(median)), QPointF(box.right(), y(median)))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(COLORS.accent))
        radius = 1.6 if n > 150 else 2.4
        for i, value in enumerate(self.values):
            painter.drawEllipse(QPointF(box.left() + i * step, y(value)), radius, radius)
