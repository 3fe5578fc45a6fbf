"""The workstation's startup probe: login screen shown, a reader logged in and out, closed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from readerstudy.gui.app import probe
from readerstudy.study.workstation import ReaderStudyError
from tests.study.conftest import PIN

pytestmark = pytest.mark.gui


def test_the_probe_logs_a_reader_in_to_the_first_case_and_out(qapp, gui_study):
    folder = gui_study()
    lines = probe(folder, login=("r1", PIN))
    assert lines[0].startswith("login screen shown ")
    assert lines[1].startswith("logged in as r1: case ")
    assert " (1 of 3) shown " in lines[1]
    assert lines[2] == "logged out"


def test_a_wrong_pin_stops_the_probe_with_the_login_screen_message(qapp, gui_study):
    folder = gui_study()
    with pytest.raises(ReaderStudyError, match=r"did not reach a case: .*PIN"):
        probe(folder, login=("r1", "0000"))


def test_an_unknown_reader_is_refused(qapp, gui_study):
    folder = gui_study()
    with pytest.raises(ReaderStudyError, match="reader 'nobody' is not on the login screen"):
        probe(folder, login=("nobody", PIN))


def test_read_probe_times_the_cold_start_from_the_process_start(gui_study):
    folder = gui_study()
    done = subprocess.run(
        [sys.executable, "-m", "readerstudy", "read", str(folder), "--probe-login", "r1"],
        input=f"{PIN}\n",
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 0, done.stderr
    shown, logged_in, logged_out = done.stdout.strip().splitlines()
    seconds = float(shown.split()[3])
    assert 0.0 < seconds < 300.0
    assert logged_in.startswith("logged in as r1: case ")
    assert logged_out == "logged out"
