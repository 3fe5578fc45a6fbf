"""The console's tasks: work on the runner's pool leaves nothing of itself behind in PySide."""

from __future__ import annotations

from functools import partial

import pytest
import shiboken6
from PySide6.QtCore import QRunnable

from readerstudy.gui.console.tasks import TaskContext, TaskRunner

pytestmark = pytest.mark.gui


def _echo(value: int, _context: TaskContext) -> int:
    return value


def _runnable_wrappers() -> set[int]:
    return {id(w) for w in shiboken6.getAllValidWrappers() if isinstance(w, QRunnable)}


def test_finished_tasks_leave_no_wrapper_of_a_deleted_runnable(qtbot):
    """The pool deletes a runnable once it has run; a Python wrapper of it that stayed
    registered would be taken for whatever C++ object is put at that address next (issue 16:
    a segfault in Shiboken's BindingManager::releaseWrapper when a table was cleared)."""
    before = _runnable_wrappers()
    runner = TaskRunner()
    results: list[int] = []
    for i in range(5):
        runner.run(partial(_echo, i), done=results.append)
    qtbot.waitUntil(lambda: len(results) == 5)
    assert runner.pool.waitForDone(5000)
    assert sorted(results) == [0, 1, 2, 3, 4]
    assert _runnable_wrappers() - before == set()
