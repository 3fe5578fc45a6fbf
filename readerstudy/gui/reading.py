"""The read screen: viewer, ASPECTS form, progress, submit confirmation, pause and help.

It drives one ``ReaderSession``: every key or mouse action is passed to the session first
(``input()``), viewer changes are recorded (window/level on release, slice moves), and the
overlay state follows the session. The screen keeps the keyboard; child widgets take no
focus, so Tab, digits and letters always reach the key map. Nothing from other reads, and no
patient information, is ever shown: the case label is the session's neutral code.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from readerstudy.gui.form import SIDE_OF_MARKER, AspectsForm, split_unit
from readerstudy.gui.help import HelpOverlay
from readerstudy.gui.keymap import Keymap, unit_action, unit_of_action
from readerstudy.gui.theme import COLORS
from readerstudy.gui.viewer import OPACITY_STEP, PAGE_STEP, ZOOM_STEP, SliceViewer
from readerstudy.study.workstation import (
    CaseView,
    Phase,
    ReaderSession,
    ReaderStudyError,
    ViewerOptions,
)

MOUSE_INPUT_INTERVAL_S = 0.25
"""Mouse moves count as reader input at most this often (keys always count)."""


def _key_of(event: QKeyEvent) -> tuple[int, Qt.KeyboardModifier]:
    mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    return event.key(), mods


class PauseScreen(QWidget):
    """Hides the image while the read is paused."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Paused")
        self.title.setProperty("role", "title")
        self.title.setStyleSheet("font-size: 30pt; font-weight: 600;")
        self.detail = QLabel()
        self.detail.setProperty("role", "subtitle")
        self.hint = QLabel()
        self.hint.setStyleSheet(f"color: {COLORS.accent}; font-size: 16pt;")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for label in (self.title, self.detail, self.hint):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(label)
            layout.addSpacing(10)
        layout.addStretch(1)


class ReadView(QWidget):
    """One session's reading screen; ``finished`` fires after the last case is submitted."""

    finished = Signal()
    logout_requested = Signal()

    def __init__(
        self,
        keymap: Keymap,
        options: ViewerOptions,
        parent: QWidget | None = None,
        *,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.keymap = keymap
        self.options = options
        self.session: ReaderSession | None = None
        self.view: CaseView | None = None
        self.confirm_pending = False
        self._clock = clock
        self._last_mouse_input = float("-inf")
        self._bindings = self._bind(keymap)

        self.case_label = QLabel()
        self.case_label.setStyleSheet("font-size: 22pt; font-weight: 700;")
        self.progress_label = QLabel()
        self.progress_label.setStyleSheet("font-size: 16pt;")
        self.modality_label = QLabel()
        self.status_label = QLabel()
        self.status_label.setProperty("role", "muted")
        self.help_hint = QLabel(f"{keymap.label('help')}: keys")
        self.help_hint.setProperty("role", "muted")
        top = QHBoxLayout()
        top.setContentsMargins(16, 10, 16, 6)
        top.setSpacing(20)
        for widget in (self.case_label, self.progress_label, self.modality_label):
            top.addWidget(widget)
        top.addStretch(1)
        top.addWidget(self.status_label)
        top.addWidget(self.help_hint)

        self.viewer = SliceViewer()
        self.form = AspectsForm()
        self.notice = QLabel()
        self.notice.setProperty("role", "notice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        # A word-wrapped label sizes itself without the stylesheet's padding; a margin counts.
        self.message.setMargin(8)
        self.message.hide()
        self.submit_hint = QLabel()
        self.submit_hint.setProperty("role", "muted")
        self.submit_hint.setWordWrap(True)
        side = QVBoxLayout()
        side.setContentsMargins(0, 0, 16, 16)
        side.setSpacing(12)
        self.legend = QLabel(
            f"<b style='color:{COLORS.ai}'>AI</b>: the heat map is the model's lesion likelihood; "
            f"<span style='color:{COLORS.ai}'>purple outlines</span> are the regions it calls "
            "abnormal, <span style='color:#96bee6'>blue</span> the other ASPECTS regions. "
            f"{keymap.label('toggle_overlay')} hides it, {keymap.label('toggle_outlines')} the "
            f"outlines, {keymap.label('opacity_down')} {keymap.label('opacity_up')} set its "
            "opacity."
        )
        self.legend.setWordWrap(True)
        self.legend.setProperty("role", "muted")
        self.legend.hide()
        side.addWidget(self.notice)
        side.addWidget(self.form)
        side.addWidget(self.message)
        side.addWidget(self.legend)
        side.addStretch(1)
        side.addWidget(self.submit_hint)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side_widget.setMinimumWidth(660)

        body = QHBoxLayout()
        body.setContentsMargins(16, 0, 0, 0)
        body.setSpacing(16)
        body.addWidget(self.viewer, 3)
        body.addWidget(side_widget, 2)
        reading = QWidget()
        column = QVBoxLayout(reading)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(top)
        column.addLayout(body, 1)

        self.pause_screen = PauseScreen()
        self._stack = QStackedLayout(self)
        self._stack.addWidget(reading)
        self._stack.addWidget(self.pause_screen)
        self.help = HelpOverlay(self)

        self.viewer.slice_changed.connect(self._on_slice)
        self.viewer.window_changed.connect(self._on_window)
        self.viewer.interacted.connect(self._on_input)
        self.form.changed.connect(self._on_form_changed)
        self.viewer.view.viewport().installEventFilter(self)
        self.viewer.view.viewport().setMouseTracking(True)

    # -- key bindings --------------------------------------------------------------------
    @staticmethod
    def _bind(keymap: Keymap) -> dict[tuple[int, Qt.KeyboardModifier], str]:
        bindings = {}
        for action in keymap.actions():
            for key in keymap.keys(action.name):
                # PySide6 indexes a QKeySequence at run time; its stub has no __getitem__.
                combo = QKeySequence(key)[0]  # type: ignore[index]
                bindings[(combo.key(), combo.keyboardModifiers())] = action.name
        return bindings

    def action_for(self, event: QKeyEvent) -> str | None:
        key, mods = _key_of(event)
        action = self._bindings.get((key, mods))
        if action is None and mods & Qt.KeyboardModifier.ShiftModifier:
            # Shifted symbols ("?", "+") arrive with Shift held; they are bound without it.
            action = self._bindings.get((key, mods & ~Qt.KeyboardModifier.ShiftModifier))
        return action

    # -- session -----------------------------------------------------------------------
    def attach(self, session: ReaderSession) -> None:
        """Follow ``session`` and show its current case."""
        self.detach()
        self.session = session
        self.help_hint.setText(f"{session.reader_name}      {self.keymap.label('help')}: keys")
        session.phase_changed.connect(self._on_phase)
        session.overlay_changed.connect(self._on_overlay)
        self._show_current()

    def detach(self) -> None:
        if self.session is not None:
            self.session.phase_changed.disconnect(self._on_phase)
            self.session.overlay_changed.disconnect(self._on_overlay)
        self.session = None
        self.view = None
        self.viewer.clear()

    def _show_current(self) -> None:
        session = self.session
        view = session.current if session is not None else None
        self.view = view
        self.confirm_pending = False
        self.message.hide()
        if session is None or view is None:
            self.viewer.clear()
            self.finished.emit()
            return
        try:
            volume = session.display_volume()
        except ReaderStudyError as exc:
            # The reader cannot fix this; the message names the neutral code for the coordinator.
            self.viewer.clear()
            self.form.hide()
            self.case_label.setText(view.code)
            self.show_message(
                f"This case cannot be shown; please call the study coordinator. ({exc})", error=True
            )
            return
        positive = [r.unit for r in view.ai_regions if r.call]
        self.viewer.show_volume(
            volume, positive_units=positive, overlay_visible=session.overlay_visible
        )
        self.form.set_case(view, screen_left=volume.screen_left, keymap=self.keymap)
        self.form.show()
        if view.aided:
            # The session cannot know the viewer's opacity; the record must say what was shown.
            self._call(session.set_overlay_opacity, self.viewer.opacity)
        self.case_label.setText(view.code)
        self.progress_label.setText(f"case {view.order} of {view.total}")
        if view.aided:
            self.modality_label.setText("Aided read - AI shown")
            self.modality_label.setStyleSheet(f"color: {COLORS.ai}; font-size: 14pt;")
        else:
            self.modality_label.setText("Unaided read")
            self.modality_label.setStyleSheet(f"color: {COLORS.muted}; font-size: 14pt;")
        if view.clock_restarted:
            self.notice.setText(
                f"{view.code} reopened: this read was interrupted (the workstation stopped, "
                "or you logged out). Its reading clock started again; the earlier time is not "
                "counted, and answers not submitted are gone."
            )
        self.notice.setVisible(view.clock_restarted)
        self.help.set_keymap(
            self.keymap,
            aided=view.aided,
            level_jumps=bool(volume.levels),
            confidence=view.confidence.bounds is not None,
        )
        self.legend.setVisible(view.aided)
        self._submit_hint()
        self._on_phase(session.phase)

    def _submit_hint(self) -> None:
        scores = self.form.aspects()
        summary = ", ".join(f"patient {side} {score}" for side, score in scores.items())
        text = f"ASPECTS {summary}.   " if summary else ""
        self.submit_hint.setText(f"{text}{self.keymap.label('submit')}: submit (asks to confirm)")

    # -- events from the session ---------------------------------------------------------
    def _on_phase(self, phase: Phase) -> None:
        paused = phase is Phase.PAUSED
        if paused and self.view is not None:
            self.pause_screen.detail.setText(
                f"{self.view.code}, case {self.view.order} of {self.view.total}. The image is "
                "hidden and the reading clock is stopped."
            )
            self.pause_screen.hint.setText(f"Press {self.keymap.label('pause')} to resume")
        self._stack.setCurrentIndex(1 if paused else 0)
        status = {
            Phase.IDLE: "Idle: time since your last input is not counted",
            Phase.FOCUS_LOST: "Window not focused: the clock is stopped",
        }.get(phase, "")
        self.status_label.setText(status)
        self.status_label.setStyleSheet(f"color: {COLORS.warning};" if status else "")

    def _on_overlay(self, visible: bool) -> None:
        self.viewer.set_overlay_visible(visible)

    # -- input -------------------------------------------------------------------------
    def _reading(self) -> ReaderSession | None:
        """The session while one of its cases is on screen."""
        return self.session if self.view is not None else None

    def _on_input(self) -> None:
        if (session := self._reading()) is not None:
            self._call(session.input)

    def _call(self, fn, *args) -> bool:
        """Run a session call; a refusal is shown, never raised into Qt."""
        try:
            fn(*args)
        except ReaderStudyError as exc:
            self.show_message(str(exc), error=True)
            return False
        return True

    def _on_slice(self, index: int) -> None:
        if (session := self._reading()) is not None:
            self._call(session.record_slice, index)

    def _on_window(self, center: float, width: float) -> None:
        if (session := self._reading()) is not None:
            self._call(session.record_window_level, center, width)

    def _on_form_changed(self) -> None:
        self._on_input()
        if self.confirm_pending:
            self.confirm_pending = False
            self.message.hide()
        self._submit_hint()

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.MouseMove and self._reading():
            now = self._clock()
            if now - self._last_mouse_input >= MOUSE_INPUT_INTERVAL_S:
                self._last_mouse_input = now
                self._on_input()
        return super().eventFilter(watched, event)

    def event(self, event) -> bool:
        # Tab would move the focus before keyPressEvent sees it; the key map owns it here.
        if event.type() == QEvent.Type.KeyPress and self.handle_key(event):
            return True
        return super().event(event)

    def handle_key(self, event: QKeyEvent) -> bool:
        action = self.action_for(event)
        session = self._reading()
        if action is None or session is None:
            return action is not None
        if self.help.isVisible():
            if action in ("help", "cancel"):
                self.help.toggle()
            return True
        if session.phase is Phase.PAUSED:
            if action == "pause":
                self._call(session.resume)
            elif action == "help":
                self.help.toggle()
            return True
        if action != "pause":
            self._on_input()
        self.dispatch(action)
        return True

    # -- actions -----------------------------------------------------------------------
    def dispatch(self, action: str) -> None:
        """Do what ``action`` names (keys call this; tests may too)."""
        viewer = self.viewer
        simple = {
            "slice_up": lambda: viewer.step_slice(1),
            "slice_down": lambda: viewer.step_slice(-1),
            "slice_page_up": lambda: viewer.step_slice(PAGE_STEP),
            "slice_page_down": lambda: viewer.step_slice(-PAGE_STEP),
            "slice_top": lambda: viewer.set_slice(10**9),
            "slice_bottom": lambda: viewer.set_slice(0),
            "preset_brain": lambda: viewer.apply_preset("brain"),
            "preset_stroke": lambda: viewer.apply_preset("stroke"),
            "preset_narrow": lambda: viewer.apply_preset("narrow"),
            "zoom_in": lambda: viewer.zoom_by(ZOOM_STEP),
            "zoom_out": lambda: viewer.zoom_by(1 / ZOOM_STEP),
            "reset_view": self._reset_view,
            "next_unit": lambda: self.form.select_next(1),
            "previous_unit": lambda: self.form.select_next(-1),
            "confidence_up": lambda: self.form.step_rating(1),
            "confidence_down": lambda: self.form.step_rating(-1),
            "help": self.help.toggle,
            "pause": self._pause,
            "submit": self.submit,
            "cancel": self.cancel,
            "quit": self.logout_requested.emit,
            "toggle_overlay": self._toggle_overlay,
            "toggle_outlines": self._toggle_outlines,
            "opacity_up": lambda: self._step_opacity(1),
            "opacity_down": lambda: self._step_opacity(-1),
        }
        if action in simple:
            simple[action]()
        elif action.startswith("jump_"):
            viewer.jump_to_level(action.removeprefix("jump_"))
        elif (
            action.startswith("rate_")
            and self.view is not None
            and self.view.confidence.bounds == (1.0, 5.0)
        ):
            # Digit keys are the 1-5 scale's values; a 0-100 scale steps with Shift+Up/Down.
            self.form.set_rating(float(action.removeprefix("rate_")))
        elif action.startswith("screen_"):
            self._toggle_unit(action)

    def _reset_view(self) -> None:
        self.viewer.reset_view()
        center, width = self.options.window
        self.viewer.set_window(center, width)

    def _toggle_unit(self, action: str) -> None:
        screen, region = unit_of_action(action)
        marker = self.viewer.volume.screen_left if self.viewer.volume else "R"
        on_left = SIDE_OF_MARKER[marker]
        patient = on_left if screen == "left" else ("right" if on_left == "left" else "left")
        unit = next((u for u in self.form.units() if split_unit(u) == (region, patient)), None)
        if unit is None:
            # Whole-case forms have no sides: the unit keys go to the units in order.
            flat = [a.name for a in self.keymap.actions() if a.name.startswith("screen_")]
            position = flat.index(unit_action(screen, region))
            units = self.form.units()
            unit = units[position] if position < len(units) else None
        if unit is not None:
            self.form.toggle(unit)

    def _pause(self) -> None:
        if (session := self._reading()) is not None:
            self._call(session.pause)

    def _toggle_overlay(self) -> None:
        session = self._reading()
        if session is not None and self.view is not None and self.view.aided:
            self._call(session.set_overlay, not session.overlay_visible)

    def _toggle_outlines(self) -> None:
        if self.view is not None and self.view.aided:
            self.viewer.set_outlines_visible(not self.viewer.outlines_visible)

    def _step_opacity(self, steps: int) -> None:
        session = self._reading()
        if session is None or self.view is None or not self.view.aided:
            return
        shown = self.viewer.set_opacity(self.viewer.opacity + steps * OPACITY_STEP)
        self._call(session.set_overlay_opacity, shown)

    # -- submitting --------------------------------------------------------------------
    def show_message(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setProperty("role", "refusal" if error else "confirm")
        # A changed dynamic property restyles fully (box model included) only after unpolish.
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.show()

    def cancel(self) -> None:
        if self.confirm_pending:
            self.confirm_pending = False
            self.message.hide()

    def submit(self) -> None:
        """First press asks to confirm; the second stores the read and opens the next case."""
        session = self.session
        if session is None or self.view is None or self.viewer.volume is None:
            return  # nothing is submitted for a case the reader could not see
        missing = self.form.missing()
        if missing:
            self.form.select(missing[0])
            named = ", ".join(f"{r} (patient {s})" if s else r for r, s in map(split_unit, missing))
            self.show_message(f"Not submitted: give a confidence for {named}.", error=True)
            return
        if not self.confirm_pending:
            scores = self.form.aspects()
            summary = "; ".join(f"patient {s} ASPECTS {v}" for s, v in scores.items())
            abnormal = sum(self.form.calls().values())
            self.confirm_pending = True
            self.show_message(
                f"Submit {self.view.code}? {abnormal} unit(s) abnormal"
                + (f"; {summary}" if summary else "")
                + f". Press {self.keymap.label('submit')} again to submit, "
                f"{self.keymap.label('cancel')} to go back."
            )
            return
        self.confirm_pending = False
        if not self._call(session.submit, self.form.answers()):
            return
        if self._call(session.advance):
            self._show_current()
