"""Idle and focus loss reach the reading clock; a crash reopens the case; AI only when aided."""

from __future__ import annotations

from pathlib import Path

import pytest
import SimpleITK as sitk
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from tests.gui.test_reading_flow import log_in, press, read_case, stored_reads

pytestmark = pytest.mark.gui


def spells(read) -> list[tuple[str, float]]:
    return [(i["kind"], (i["end"] - i["start"]).total_seconds()) for i in read.intervals]


def test_idle_and_focus_loss_from_the_gui_match_the_clock(qtbot, gui_study, open_window, sim_time):
    folder = gui_study()  # idle_timeout_s = 60
    window = open_window(folder)
    log_in(qtbot, window)
    read = window.read_view
    assert window.timer.isActive()
    assert window.timer.interval() == 1000

    sim_time.advance(10)
    press(qtbot, Qt.Key.Key_Up)
    sim_time.advance(100)
    window.tick()  # what the one-second timer does
    assert read.status_label.text() == "Idle: time since your last input is not counted"
    press(qtbot, Qt.Key.Key_Down)  # input ends the idle spell
    assert read.status_label.text() == ""

    sim_time.advance(10)
    QApplication.sendEvent(window, QEvent(QEvent.Type.WindowDeactivate))
    assert read.status_label.text() == "Window not focused: the clock is stopped"
    sim_time.advance(30)
    QApplication.sendEvent(window, QEvent(QEvent.Type.WindowActivate))
    assert read.status_label.text() == ""

    sim_time.advance(5)
    app = QGuiApplication.instance()
    app.applicationStateChanged.emit(Qt.ApplicationState.ApplicationInactive)
    sim_time.advance(20)
    app.applicationStateChanged.emit(Qt.ApplicationState.ApplicationActive)
    read_case(qtbot, sim_time, seconds=5)

    first = stored_reads(folder, sim_time)[0]
    assert spells(first) == [
        ("active", 10.0),
        ("idle", 100.0),
        ("active", 10.0),
        ("focus_lost", 30.0),
        ("active", 5.0),
        ("focus_lost", 20.0),
        ("active", 5.0),
    ]
    assert first.active_s == 30.0
    assert first.wall_s == 180.0


def test_a_crash_mid_case_reopens_it_flagged_in_a_new_window(
    qtbot, gui_study, open_window, sim_time
):
    folder = gui_study()
    first = open_window(folder)
    log_in(qtbot, first)
    read_case(qtbot, sim_time)
    sim_time.advance(7)
    press(qtbot, Qt.Key.Key_S)
    assert first.read_view.case_label.text() == "S1-002"
    # The process dies: no logout, no close event; the window just goes away.
    first.timer.stop()
    first.hide()

    sim_time.advance(60)
    second = open_window(folder)
    log_in(qtbot, second)
    read = second.read_view
    assert read.case_label.text() == "S1-002"
    assert read.notice.isVisible()
    assert "S1-002 reopened: this read was interrupted" in (read.notice.text())
    assert sum(read.form.calls().values()) == 0  # the unsaved answer is gone
    read_case(qtbot, sim_time, seconds=12)
    assert not read.notice.isVisible()  # the next case is a normal read
    reopened = stored_reads(folder, sim_time)[1]
    assert reopened.extra["code"] == "S1-002"
    assert reopened.flags == ("clock_restarted_after_crash",)
    assert reopened.active_s == 12.0


@pytest.fixture
def opened_images(monkeypatch) -> list[Path]:
    """Every image file SimpleITK reads from now on (the case loader's thread included)."""
    seen: list[Path] = []
    real = sitk.ReadImage

    def spy(path, *args, **kwargs):
        seen.append(Path(str(path)))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(sitk, "ReadImage", spy)
    return seen


def test_ai_data_is_read_and_shown_only_in_aided_reads(
    qtbot, gui_study, open_window, sim_time, opened_images
):
    folder = gui_study()
    window = open_window(folder)
    log_in(qtbot, window)
    read = window.read_view
    for _ in range(3):
        volume = read.viewer.volume
        assert (volume.ai_mask, volume.regions, volume.region_units) == (None, None, {})
        assert not read.viewer.heat_shown
        assert not read.viewer.outlines_shown
        assert not read.viewer._overlay_readout.isVisible()
        assert all(item.probability is None for item in read.form._units.values())
        assert read.modality_label.text() == "Unaided read"
        press(qtbot, Qt.Key.Key_V)  # the overlay key does nothing here
        assert not read.viewer.overlay_visible
        read_case(qtbot, sim_time)
    ai_dir = folder / "ai"
    assert opened_images, "the spy saw no image reads at all"
    assert not [p for p in opened_images if ai_dir in p.parents]
    help_text = " ".join(label.text() for label in read.help.findChildren(type(read.case_label)))
    assert "AI overlay" not in help_text

    press(qtbot, Qt.Key.Key_Return)
    sim_time.advance(14 * 86400)
    log_in(qtbot, window)
    assert read.viewer.volume.ai_mask is not None
    assert read.viewer.heat_shown
    masks = [p for p in opened_images if ai_dir in p.parents]
    assert {p.parent.name for p in masks} == {"masks", "atlas"}


def test_a_case_that_cannot_be_loaded_is_reported_not_raised(qtbot, gui_study, open_window):
    folder = gui_study()
    for image in (folder / "cases").glob("*/image.nii.gz"):
        image.write_bytes(b"not a scan")
    window = open_window(folder)
    log_in(qtbot, window)
    read = window.read_view
    assert read.case_label.text() == "S1-001"
    assert read.message.isVisible()
    text = read.message.text()
    assert text.startswith("This case cannot be shown; please call the study coordinator.")
    assert "S1-001: the scan cannot be loaded" in text
    assert str(folder) not in text  # no path (or case id) reaches the reader's screen
    assert read.viewer.volume is None
    assert not read.form.isVisible()
    press(qtbot, Qt.Key.Key_Return)
    press(qtbot, Qt.Key.Key_Return)
    assert read.case_label.text() == "S1-001"  # nothing submitted for an unseen case
    assert window.session.progress.done == 0
