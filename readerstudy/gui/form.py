"""The ASPECTS form: 20 units as two hemispheres over two levels, each on its screen side.

Each hemisphere panel is a 4-3-3 grid (C L IC I / M1 M2 M3 at the ganglionic level, M4 M5 M6
above it) with its live ASPECTS (10 minus the regions called abnormal). A unit is a toggle
(normal / abnormal) with its key beside it, a confidence control when the study asks for one,
and in aided reads the model's probability. The form only collects answers; the session
validates and stores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from readerstudy.gui.keymap import GANGLIONIC, REGIONS, Keymap, unit_action
from readerstudy.gui.theme import COLORS
from readerstudy.study.workstation import CaseView

SIDE_OF_MARKER = {"R": "right", "L": "left"}
_ROWS = (GANGLIONIC[:4], GANGLIONIC[4:], REGIONS[len(GANGLIONIC) :])


def split_unit(unit: str) -> tuple[str, str]:
    """``M5_left`` -> ("M5", "left"); a unit without a side (``case``) -> (unit, "")."""
    region, _, side = unit.rpartition("_")
    return (region, side) if side in ("left", "right") and region in REGIONS else (unit, "")


@dataclass
class _Unit:
    code: str
    region: str
    button: QPushButton
    rating: QButtonGroup | QSpinBox | None
    probability: QLabel | None


_W = TypeVar("_W", bound=QWidget)


def _no_focus(widget: _W) -> _W:
    # The read screen owns the keyboard; child widgets must not take Tab or digits from it.
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return widget


class AspectsForm(QWidget):
    """Collects one case's answers; ``changed`` fires after every edit."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._units: dict[str, _Unit] = {}
        self._order: list[str] = []
        self._active: str | None = None
        self._view: CaseView | None = None
        self._bounds: tuple[float, float] | None = None
        self._scores: dict[str, QLabel] = {}
        self._signature: tuple | None = None
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(12)

    # -- building ----------------------------------------------------------------------
    def set_case(self, view: CaseView, *, screen_left: str, keymap: Keymap) -> None:
        """A fresh, unanswered form for ``view`` (the widgets are reused when the layout is the
        same as the previous case's, which keeps opening a case fast)."""
        signature = (view.units, screen_left, view.confidence, view.binary_call, view.aided, keymap)
        if signature == self._signature:
            self._view = view
            self._reset(view)
            return
        self._signature = signature
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self._units, self._order, self._scores = {}, [], {}
        self._view = view
        self._bounds = view.confidence.bounds
        probabilities = {r.unit: r for r in view.ai_regions}
        sides = {split_unit(u)[1] for u in view.units}
        screen_sides = [SIDE_OF_MARKER[screen_left], "right" if screen_left == "L" else "left"]
        if sides <= {"left", "right"} and "" not in sides:
            for screen, patient in zip(("left", "right"), screen_sides, strict=True):
                units = [u for u in view.units if split_unit(u)[1] == patient]
                self._layout.addWidget(
                    self._hemisphere(patient, screen, units, keymap, probabilities)
                )
        else:
            self._layout.addWidget(self._flat(view.units, keymap, probabilities))
        self._active = None
        self.select(self._order[0] if self._order else None)
        self._refresh_scores()

    def _hemisphere(self, patient: str, screen: str, units, keymap, probabilities) -> QFrame:
        panel = QFrame()
        panel.setProperty("role", "panel")
        box = QVBoxLayout(panel)
        box.setContentsMargins(14, 12, 14, 14)
        box.setSpacing(8)
        head = QHBoxLayout()
        title = QLabel(f"Patient {patient}")
        title.setStyleSheet("font-size: 15pt; font-weight: 600;")
        score = QLabel()
        score.setStyleSheet("font-size: 15pt; font-weight: 600;")
        self._scores[patient] = score
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(score)
        box.addLayout(head)
        by_region = {split_unit(u)[0]: u for u in units}
        for caption, rows in (("Ganglionic", _ROWS[:2]), ("Supraganglionic", _ROWS[2:])):
            label = QLabel(caption)
            label.setProperty("role", "muted")
            box.addWidget(label)
            grid = QGridLayout()
            grid.setHorizontalSpacing(8)
            grid.setVerticalSpacing(8)
            for r, row in enumerate(rows):
                for c, region in enumerate(row):
                    if region in by_region:
                        action = unit_action(screen, region)
                        cell = self._cell(
                            by_region[region], region, keymap.label(action), probabilities
                        )
                        grid.addWidget(cell, r, c)
            box.addLayout(grid)
        box.addStretch(1)
        return panel

    def _flat(self, units, keymap, probabilities) -> QFrame:
        panel = QFrame()
        panel.setProperty("role", "panel")
        grid = QGridLayout(panel)
        keys = [a for a in keymap.actions() if a.name.startswith("screen_")]
        for i, unit in enumerate(units):
            grid.addWidget(self._cell(unit, unit, keymap.label(keys[i].name), probabilities), 0, i)
        return panel

    def _cell(self, code: str, region: str, key: str, probabilities) -> QWidget:
        cell = QWidget()
        column = QVBoxLayout(cell)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(3)
        button = _no_focus(QPushButton(region))
        button.setProperty("role", "unit")
        button.setCheckable(True)
        button.setEnabled(bool(self._view and self._view.binary_call))
        button.setMinimumWidth(64)
        button.clicked.connect(lambda _=False, u=code: self._clicked(u))
        column.addWidget(button)
        hint = QLabel(f"key {key}")
        hint.setProperty("role", "muted")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setStyleSheet("font-size: 10pt;")
        column.addWidget(hint)
        rating = self._rating_control(code, column)
        probability = None
        if self._view is not None and self._view.aided:
            probability = QLabel()
            probability.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self._show_probability(probability, probabilities.get(code))
            column.addWidget(probability)
        self._units[code] = _Unit(code, region, button, rating, probability)
        self._order.append(code)
        return cell

    def _rating_control(self, code: str, column: QVBoxLayout) -> QButtonGroup | QSpinBox | None:
        bounds = self._bounds
        if bounds is None:
            return None
        low, high = int(bounds[0]), int(bounds[1])
        if high - low <= 9:
            row = QHBoxLayout()
            row.setSpacing(2)
            group = QButtonGroup(self)
            group.setExclusive(True)
            for value in range(low, high + 1):
                choice = _no_focus(QPushButton(str(value)))
                choice.setProperty("role", "rating")
                choice.setCheckable(True)
                group.addButton(choice, value)
                row.addWidget(choice)
            group.idClicked.connect(lambda _v, u=code: self._rated(u))
            column.addLayout(row)
            return group
        spin = _no_focus(QSpinBox())
        spin.setRange(low - 1, high)
        spin.setSingleStep(5)
        spin.setSpecialValueText("-")
        spin.setValue(low - 1)
        spin.valueChanged.connect(lambda _v, u=code: self._rated(u))
        column.addWidget(spin)
        return spin

    @staticmethod
    def _show_probability(label: QLabel, ai) -> None:
        if ai is None:
            label.setText("AI -")
            label.setStyleSheet(f"color: {COLORS.muted}; font-size: 11pt;")
            return
        label.setText(f"AI {ai.probability:.2f}")
        color = COLORS.ai if ai.call else COLORS.muted
        weight = 700 if ai.call else 400
        label.setStyleSheet(f"color: {color}; font-size: 11pt; font-weight: {weight};")

    def _reset(self, view: CaseView) -> None:
        probabilities = {r.unit: r for r in view.ai_regions}
        for code, item in self._units.items():
            item.button.setChecked(False)
            if isinstance(item.rating, QButtonGroup):
                item.rating.setExclusive(False)
                for button in item.rating.buttons():
                    button.setChecked(False)
                item.rating.setExclusive(True)
            elif isinstance(item.rating, QSpinBox):
                item.rating.blockSignals(True)
                item.rating.setValue(item.rating.minimum())
                item.rating.blockSignals(False)
            if item.probability is not None:
                self._show_probability(item.probability, probabilities.get(code))
        self.select(self._order[0] if self._order else None)
        self._refresh_scores()

    # -- edits -------------------------------------------------------------------------
    def _clicked(self, unit: str) -> None:
        self.select(unit)
        self._refresh_scores()
        self.changed.emit()

    def _rated(self, unit: str) -> None:
        self.select(unit)
        self.changed.emit()

    def toggle(self, unit: str) -> None:
        """Flip a unit between normal and abnormal, and select it."""
        item = self._units[unit]
        if item.button.isEnabled():
            item.button.setChecked(not item.button.isChecked())
        self._clicked(unit)

    def units(self) -> tuple[str, ...]:
        return tuple(self._order)

    @property
    def active(self) -> str | None:
        return self._active

    def select(self, unit: str | None) -> None:
        if self._active in self._units:
            button = self._units[self._active].button
            button.setProperty("active", "false")
            button.style().polish(button)
        self._active = unit
        if unit is not None:
            button = self._units[unit].button
            button.setProperty("active", "true")
            button.style().polish(button)

    def select_next(self, step: int) -> None:
        if not self._order:
            return
        index = self._order.index(self._active) if self._active in self._order else -1
        self.select(self._order[(index + step) % len(self._order)])

    def rating(self, unit: str) -> float | None:
        control = self._units[unit].rating
        if isinstance(control, QButtonGroup):
            value = control.checkedId()
            return None if value == -1 else float(value)
        if isinstance(control, QSpinBox):
            return None if control.value() < control.minimum() + 1 else float(control.value())
        return None

    def set_rating(self, value: float) -> bool:
        """Give the selected unit a confidence; False when the value is off the scale."""
        if self._active is None or self._bounds is None:
            return False
        if not self._bounds[0] <= value <= self._bounds[1]:
            return False
        control = self._units[self._active].rating
        if isinstance(control, QButtonGroup):
            control.button(int(value)).setChecked(True)
        elif isinstance(control, QSpinBox):
            control.setValue(int(value))
        self.changed.emit()
        return True

    def step_rating(self, steps: int) -> None:
        if self._active is None or self._bounds is None:
            return
        control = self._units[self._active].rating
        step = control.singleStep() if isinstance(control, QSpinBox) else 1
        current = self.rating(self._active)
        start = self._bounds[0] if current is None else current + steps * step
        self.set_rating(min(self._bounds[1], max(self._bounds[0], start)))

    # -- answers -----------------------------------------------------------------------
    def calls(self) -> dict[str, int]:
        return {u: int(item.button.isChecked()) for u, item in self._units.items()}

    def missing(self) -> list[str]:
        """Units without the confidence the study asks for (empty when complete)."""
        if self._bounds is None:
            return []
        return [u for u in self._order if self.rating(u) is None]

    def answers(self) -> dict[str, dict]:
        binary = bool(self._view and self._view.binary_call)
        return {
            u: {"call": int(item.button.isChecked()) if binary else None, "rating": self.rating(u)}
            for u, item in self._units.items()
        }

    def aspects(self) -> dict[str, int]:
        """Live ASPECTS per hemisphere (patient side) from the calls made so far."""
        scores = {}
        for side in self._scores:
            affected = {
                item.region
                for u, item in self._units.items()
                if split_unit(u)[1] == side and item.button.isChecked()
            }
            scores[side] = 10 - len(affected)
        return scores

    def _refresh_scores(self) -> None:
        for side, score in self.aspects().items():
            self._scores[side].setText(f"ASPECTS {score}")
