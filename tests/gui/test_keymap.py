"""Key maps: documented defaults, study.toml overrides, the user's file, and refusals."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from readerstudy.gui.keymap import DEFAULT_ACTIONS, KeymapError, load_keymap
from tests.gui.test_reading_flow import log_in, press

pytestmark = pytest.mark.gui


def test_the_defaults_give_every_key_to_one_action(tmp_path):
    keymap = load_keymap({}, tmp_path / "none.toml")
    assert len(keymap.actions()) == len(DEFAULT_ACTIONS)
    assert keymap.label("help") == "F1 / ?"
    assert keymap.label("submit") == "Enter"
    assert keymap.label("screen_right_m5") == ","


def test_the_users_file_wins_over_the_study(tmp_path):
    user = tmp_path / "keymap.toml"
    user.write_text('pause = "F6"\nslice_up = ["Up", "Ctrl+K"]\n')
    keymap = load_keymap({"pause": "F5", "help": ("F1", "F12")}, user)
    assert keymap.keys("pause") == ("F6",)
    assert keymap.keys("help") == ("F1", "F12")
    assert keymap.keys("slice_up") == ("Up", "Ctrl+K")


def test_unknown_actions_clashes_and_bad_files_are_refused(tmp_path):
    missing = tmp_path / "none.toml"
    with pytest.raises(KeymapError, match=r"study.toml \[viewer.keymap\]: unknown action 'paws'"):
        load_keymap({"paws": "F5"}, missing)
    with pytest.raises(KeymapError, match="'P' is given to both pause and screen_right_i"):
        load_keymap({"pause": "P"}, missing)
    bad = tmp_path / "keymap.toml"
    bad.write_text("pause = [")
    with pytest.raises(KeymapError, match="is not a valid TOML keymap"):
        load_keymap({}, bad)
    bad.write_text("pause = 5\n")
    with pytest.raises(KeymapError, match="pause must be a key or a list of keys"):
        load_keymap({}, bad)


def test_a_study_keymap_drives_the_read_screen(qtbot, gui_study, open_window):
    window = open_window(gui_study(viewer={"keymap": {"pause": "F5"}}))
    log_in(qtbot, window)
    read = window.read_view
    press(qtbot, Qt.Key.Key_Space)
    assert read._stack.currentWidget() is not read.pause_screen
    press(qtbot, Qt.Key.Key_F5)
    assert read._stack.currentWidget() is read.pause_screen
    assert read.pause_screen.hint.text() == "Press F5 to resume"
