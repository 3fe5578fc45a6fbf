"""The workstation end to end with the keyboard only, on real small studies and a fake clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from readerstudy.study.protocol import Study
from tests.study.conftest import PIN

pytestmark = pytest.mark.gui


def press(qtbot, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """A key press delivered where the keyboard focus is (as a real keyboard would)."""
    target = QApplication.focusWidget()
    assert target is not None, "nothing has the keyboard focus"
    qtbot.keyClick(target, key, modifier)


def log_in(qtbot, window, pin: str = PIN) -> None:
    assert window.stack.currentWidget() is window.login_view
    assert QApplication.focusWidget() is window.login_view.pin
    qtbot.keyClicks(window.login_view.pin, pin)
    press(qtbot, Qt.Key.Key_Return)


def read_case(qtbot, sim_time, keys=(), seconds: float = 20.0) -> None:
    sim_time.advance(seconds)
    for key in keys:
        press(qtbot, key)
    press(qtbot, Qt.Key.Key_Return)  # asks to confirm
    press(qtbot, Qt.Key.Key_Return)  # submits and opens the next case


def stored_reads(folder, sim_time, session: int = 1):
    with Study.open(folder, time=sim_time) as study:
        return sorted(study.store.reads(reader="r1", session=session), key=lambda r: r.order)


def test_a_whole_session_with_the_keyboard_only(qtbot, gui_study, open_window, sim_time):
    folder = gui_study()
    window = open_window(folder)
    log_in(qtbot, window)
    read = window.read_view
    assert window.stack.currentWidget() is read
    assert read.case_label.text() == "S1-001"
    assert read.progress_label.text() == "case 1 of 3"
    assert QApplication.focusWidget() is read

    # S is M2 of the screen-left panel: patient right in radiological orientation.
    sim_time.advance(20)
    press(qtbot, Qt.Key.Key_S)
    press(qtbot, Qt.Key.Key_Return)
    assert read.confirm_pending
    assert "Submit S1-001? 1 unit(s) abnormal" in read.message.text()
    assert "patient right ASPECTS 9; patient left ASPECTS 10" in read.message.text()
    press(qtbot, Qt.Key.Key_Escape)
    assert not read.confirm_pending
    press(qtbot, Qt.Key.Key_Return)
    press(qtbot, Qt.Key.Key_Return)
    assert read.case_label.text() == "S1-002"
    assert read.progress_label.text() == "case 2 of 3"
    assert read.form.calls() == dict.fromkeys(read.form.units(), 0)  # a fresh form

    read_case(qtbot, sim_time, keys=(Qt.Key.Key_K, Qt.Key.Key_Comma))
    read_case(qtbot, sim_time)
    assert window.stack.currentWidget() is window.sessions_view
    assert "Session 1 is complete: 3 of 3 cases read" in window.sessions_view.message.text()
    assert not window.timer.isActive()

    reads = stored_reads(folder, sim_time)
    assert [r.extra["code"] for r in reads] == ["S1-001", "S1-002", "S1-003"]
    assert [r.active_s for r in reads] == [20.0, 20.0, 20.0]
    positive = [sorted(u for u, a in r.units.items() if a["call"] == 1) for r in reads]
    assert positive == [["M2_right"], ["M2_left", "M5_left"], []]

    press(qtbot, Qt.Key.Key_Return)
    assert window.stack.currentWidget() is window.login_view


def test_a_wrong_pin_is_refused_on_the_login_screen(qtbot, gui_study, open_window, sim_time):
    window = open_window(gui_study())
    log_in(qtbot, window, pin="1111")
    before = sim_time.now()
    log_in(qtbot, window, pin="1112")  # answered after the study's back-off
    assert (sim_time.now() - before).total_seconds() == 0.5
    assert window.stack.currentWidget() is window.login_view
    assert window.login_view.error.text() == (
        "reader r1: wrong PIN. Each further wrong PIN is answered more slowly (0.5 s, "
        "doubling, up to 1 min)."
    )
    assert window.login_view.pin.text() == ""
    assert window.session is None
    log_in(qtbot, window)
    assert window.stack.currentWidget() is window.read_view


def test_session_two_is_refused_until_the_washout_then_read_aided(
    qtbot, gui_study, open_window, sim_time
):
    folder = gui_study()
    window = open_window(folder)
    log_in(qtbot, window)
    for _ in range(3):
        read_case(qtbot, sim_time)
    done_at = sim_time.now()
    press(qtbot, Qt.Key.Key_Return)  # back to the login screen
    assert "Session 2: Locked - opens" in window.login_view.sessions.text()

    log_in(qtbot, window)
    sessions = window.sessions_view
    assert window.stack.currentWidget() is sessions
    opens = done_at + timedelta(days=14)
    assert f"session 2 opens on {opens:%Y-%m-%d %H:%M} UTC" in sessions.message.text()
    assert window.session is None
    press(qtbot, Qt.Key.Key_Escape)

    sim_time.advance(14 * 86400)
    log_in(qtbot, window)
    read = window.read_view
    assert window.stack.currentWidget() is read
    assert read.case_label.text() == "S2-001"
    assert read.modality_label.text() == "Aided read - AI shown"
    viewer = read.viewer
    assert viewer.overlay_visible
    assert viewer.heat_shown
    assert viewer.outlines_shown
    probabilities = {u: item.probability.text() for u, item in read.form._units.items()}
    assert all(text.startswith("AI ") for text in probabilities.values())

    sim_time.advance(10)
    press(qtbot, Qt.Key.Key_V)  # hide the overlay after 10 s
    assert not viewer.overlay_visible
    assert not viewer.heat_shown
    press(qtbot, Qt.Key.Key_BracketRight)
    assert viewer.opacity == pytest.approx(0.55)
    sim_time.advance(5)
    press(qtbot, Qt.Key.Key_V)
    assert viewer.heat_shown
    sim_time.advance(5)
    press(qtbot, Qt.Key.Key_B)
    assert not viewer.outlines_shown
    assert viewer.heat_shown
    read_case(qtbot, sim_time, seconds=0)
    first = stored_reads(folder, sim_time, session=2)[0]
    assert first.extra["overlay_toggles"] == 2
    assert first.extra["overlay_exposure_s"] == pytest.approx(15.0)
    assert first.extra["overlay_opacity"] == pytest.approx(0.55)


def test_a_whole_case_study_reads_one_toggle(qtbot, gui_study, open_window, sim_time):
    folder = gui_study(rating={"units": "case", "confidence": "0-100"})
    window = open_window(folder)
    log_in(qtbot, window)
    read = window.read_view
    assert read.form.units() == ("case",)
    press(qtbot, Qt.Key.Key_Q)  # the first unit key
    press(qtbot, Qt.Key.Key_Return)
    assert read.message.text() == "Not submitted: give a confidence for case."
    press(qtbot, Qt.Key.Key_3)  # digits belong to the 1-5 scale
    assert read.form.rating("case") is None
    for _ in range(15):  # 0-100 in steps of 5
        press(qtbot, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)
    read_case(qtbot, sim_time)
    assert stored_reads(folder, sim_time)[0].units == {"case": {"call": 1, "rating": 70.0}}
