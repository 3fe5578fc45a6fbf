"""Window/level and slice keys, orientation markers, level jumps, pause, and what is recorded."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from tests.gui.test_reading_flow import log_in, press, read_case, stored_reads

pytestmark = pytest.mark.gui


def shown_gray(viewer) -> np.ndarray:
    """The grey level of every pixel on screen (the red byte of the painted slice)."""
    return (viewer.image.buffer >> 16) & 0xFF


def test_window_presets_and_slice_keys_do_what_they_say(qtbot, gui_study, open_window, sim_time):
    folder = gui_study()
    window = open_window(folder)
    log_in(qtbot, window)
    viewer = window.read_view.viewer
    n = viewer.volume.hu.shape[0]
    assert viewer.window == (40.0, 80.0)
    gray = shown_gray(viewer)
    brain = viewer.volume.hu[viewer.index] == 35
    assert gray[brain].tolist() == [int(35 * 255 / 80)] * int(brain.sum())
    assert "W 80  L 40  Brain" in viewer._window_readout.text()

    press(qtbot, Qt.Key.Key_F3)
    assert viewer.window == (40.0, 40.0)
    assert set(shown_gray(viewer)[brain].tolist()) == {int(15 * 255 / 40)}
    press(qtbot, Qt.Key.Key_F4)
    assert viewer.window == (32.0, 8.0)
    assert "W 8  L 32  Narrow" in viewer._window_readout.text()

    start = viewer.index
    assert start == n // 2
    press(qtbot, Qt.Key.Key_Up)
    assert viewer.index == start + 1
    press(qtbot, Qt.Key.Key_Down)
    press(qtbot, Qt.Key.Key_Down)
    assert viewer.index == start - 1
    press(qtbot, Qt.Key.Key_PageUp)
    assert viewer.index == start + 4
    press(qtbot, Qt.Key.Key_End)
    assert viewer.index == n - 1
    press(qtbot, Qt.Key.Key_Up)  # clamps at the top
    assert viewer.index == n - 1
    press(qtbot, Qt.Key.Key_Home)
    assert viewer.index == 0
    # The slice shown is the volume's slice, and the readout gives its position in mm.
    hu = viewer.volume.hu[0]
    assert np.array_equal(shown_gray(viewer) == 255, hu >= 36)  # W8 L32 tops out at 36 HU
    assert viewer._position.text() == f"Slice 1 / {n}   z {viewer.volume.z_mm[0]:+.1f} mm"

    wheel = QWheelEvent(
        QPointF(200, 200),
        QPointF(viewer.view.viewport().mapToGlobal(QPoint(200, 200))),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(viewer.view.viewport(), wheel)
    assert viewer.index == 1

    fitted = viewer.zoom
    assert fitted == pytest.approx(1.0, rel=0.05)
    press(qtbot, Qt.Key.Key_Equal)
    assert viewer.zoom == pytest.approx(1.25 * fitted)
    press(qtbot, Qt.Key.Key_Minus)
    press(qtbot, Qt.Key.Key_Minus)
    assert viewer.zoom == pytest.approx(fitted / 1.25)
    press(qtbot, Qt.Key.Key_F3)
    press(qtbot, Qt.Key.Key_F)
    assert viewer.zoom == pytest.approx(fitted)
    assert viewer.window == (40.0, 80.0)

    read_case(qtbot, sim_time)
    record = stored_reads(folder, sim_time)[0].extra
    # F3, F4, F3 again and the reset's window; every slice step, the wheel included.
    assert record["window_level_changes"] == 4
    assert record["window_level"] == [40.0, 80.0]
    assert record["slice_moves"] == 7
    assert record["slices"]["min"] == 0
    assert record["slices"]["max"] == n - 1


def test_radiological_orientation_puts_patient_right_on_screen_left(qtbot, gui_study, open_window):
    window = open_window(gui_study())
    log_in(qtbot, window)
    viewer = window.read_view.viewer
    assert (viewer._left_marker.text(), viewer._right_marker.text()) == ("R", "L")
    # The phantom's 24 HU wedge lies in the patient's left: on screen right here.
    plane = shown_gray(viewer)  # brain 35 HU shows at 111, the 24 HU wedge at 76
    assert plane[28:36, 42:50].mean() < 95 < plane[28:36, 14:22].mean()
    form = window.read_view.form
    assert form._scores["right"].parent().findChild(type(form._scores["right"])).text() == (
        "Patient right"
    )


def test_neurological_orientation_and_level_jumps(qtbot, gui_study, open_window):
    folder = gui_study(viewer={"orientation": "neurological", "level_jumps": True})
    (folder / "levels.csv").write_text(
        "case,ganglionic,supraganglionic\n" + "".join(f"C0{i},3,8\n" for i in (1, 2, 3))
    )
    window = open_window(folder)
    log_in(qtbot, window)
    read = window.read_view
    viewer = read.viewer
    assert (viewer._left_marker.text(), viewer._right_marker.text()) == ("L", "R")
    plane = shown_gray(viewer)
    assert plane[28:36, 14:22].mean() < 95 < plane[28:36, 42:50].mean()
    press(qtbot, Qt.Key.Key_G)
    assert viewer.index == 3
    press(qtbot, Qt.Key.Key_H)
    assert viewer.index == 8
    # Q is C of the screen-left panel, which is the patient's left here.
    press(qtbot, Qt.Key.Key_Q)
    assert [u for u, c in read.form.calls().items() if c] == ["C_left"]


def test_level_keys_do_nothing_where_the_study_has_no_jumps(qtbot, gui_study, open_window):
    window = open_window(gui_study())
    log_in(qtbot, window)
    viewer = window.read_view.viewer
    start = viewer.index
    press(qtbot, Qt.Key.Key_G)
    assert viewer.index == start


def test_pause_hides_the_image_and_ignores_other_keys(qtbot, gui_study, open_window, sim_time):
    folder = gui_study()
    window = open_window(folder)
    log_in(qtbot, window)
    read = window.read_view
    sim_time.advance(10)
    press(qtbot, Qt.Key.Key_Space)
    assert read._stack.currentWidget() is read.pause_screen
    assert not read.viewer.isVisible()
    assert "Press Space to resume" in read.pause_screen.hint.text()
    press(qtbot, Qt.Key.Key_S)
    assert sum(read.form.calls().values()) == 0
    sim_time.advance(300)
    press(qtbot, Qt.Key.Key_Space)
    assert read.viewer.isVisible()
    read_case(qtbot, sim_time, seconds=5)
    first = stored_reads(folder, sim_time)[0]
    assert first.active_s == 15.0
    kinds = [(i["kind"], (i["end"] - i["start"]).total_seconds()) for i in first.intervals]
    assert kinds == [("active", 10.0), ("paused", 300.0), ("active", 5.0)]


def test_incomplete_confidence_is_refused_naming_the_units(qtbot, gui_study, open_window, sim_time):
    folder = gui_study(confidence="1-5")
    window = open_window(folder)
    log_in(qtbot, window)
    read = window.read_view
    press(qtbot, Qt.Key.Key_S)  # M2 patient right, abnormal, and selected
    press(qtbot, Qt.Key.Key_4)
    for _ in range(18):
        press(qtbot, Qt.Key.Key_Tab)
        press(qtbot, Qt.Key.Key_1)
    press(qtbot, Qt.Key.Key_Return)
    assert not read.confirm_pending
    assert read.message.text() == "Not submitted: give a confidence for M1 (patient right)."
    assert read.form.active == "M1_right"  # the refusal selects the first unit missing one
    press(qtbot, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert read.form.active == "I_right"
    press(qtbot, Qt.Key.Key_Tab)
    press(qtbot, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)
    press(qtbot, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)
    assert read.form.rating("M1_right") == 2.0
    read_case(qtbot, sim_time)
    stored = stored_reads(folder, sim_time)[0].units
    assert stored["M2_right"] == {"call": 1, "rating": 4.0}
    assert stored["M1_right"] == {"call": 0, "rating": 2.0}
    assert stored["C_right"] == {"call": 0, "rating": 1.0}


def test_help_opens_with_f1_or_question_mark_and_quit_logs_out(
    qtbot, gui_study, open_window, sim_time
):
    folder = gui_study()
    window = open_window(folder)
    log_in(qtbot, window)
    read = window.read_view
    press(qtbot, Qt.Key.Key_F1)
    assert read.help.isVisible()
    press(qtbot, Qt.Key.Key_S)  # keys do nothing under the help
    assert sum(read.form.calls().values()) == 0
    press(qtbot, Qt.Key.Key_Escape)
    assert not read.help.isVisible()
    press(qtbot, Qt.Key.Key_Question, Qt.KeyboardModifier.ShiftModifier)
    assert read.help.isVisible()
    press(qtbot, Qt.Key.Key_Question, Qt.KeyboardModifier.ShiftModifier)
    assert not read.help.isVisible()
    press(qtbot, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert window.stack.currentWidget() is window.login_view
    assert window.session is None
    log_in(qtbot, window)
    assert read.case_label.text() == "S1-001"
    assert read.notice.isVisible()  # reopened after the logout, its clock restarted


def _mouse(viewport, kind, point, buttons) -> None:
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent

    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    event = QMouseEvent(
        kind,
        QPointF(point),
        QPointF(viewport.mapToGlobal(point)),
        button,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(viewport, event)


def test_a_left_drag_sets_window_and_level_and_shows_them(qtbot, gui_study, open_window, sim_time):
    from PySide6.QtCore import QEvent

    folder = gui_study()
    window = open_window(folder)
    log_in(qtbot, window)
    viewer = window.read_view.viewer
    viewport = viewer.view.viewport()
    start = QPoint(viewport.width() // 2, viewport.height() // 2)
    held = Qt.MouseButton.LeftButton
    _mouse(viewport, QEvent.Type.MouseButtonPress, start, held)
    _mouse(viewport, QEvent.Type.MouseMove, start + QPoint(50, 0), held)
    # Dragged right by 50 px: wider by 50 * 80/250 HU, shown while dragging.
    assert viewer.window == (40.0, 96.0)
    assert "W 96  L 40" in viewer._window_readout.text()
    _mouse(viewport, QEvent.Type.MouseMove, start + QPoint(50, -100), held)
    _mouse(
        viewport, QEvent.Type.MouseButtonRelease, start + QPoint(50, -100), Qt.MouseButton.NoButton
    )
    assert viewer.window == (72.0, 96.0)  # dragged up: the level rises
    read_case(qtbot, sim_time)
    record = stored_reads(folder, sim_time)[0].extra
    assert record["window_level_changes"] == 1  # recorded once, on release
    assert record["window_level"] == [72.0, 96.0]
