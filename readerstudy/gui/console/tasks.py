"""Work off the UI thread: a function runs on a thread pool and reports back on the UI thread.

A task's function gets a :class:`TaskContext` whose ``progress`` and ``partial`` calls are
thread-safe; its result, refusal or failure reaches the callbacks through queued signals, so
every callback runs on the UI thread and may touch widgets. A view that goes away stops its
runner first: the outcomes still on their way are dropped, so no callback runs on a view being
torn down (and starts new work there).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

from readerstudy.workflows.coordinator import ReaderStudyError

log = logging.getLogger(__name__)


class TaskContext:
    """What a task's function may call from its worker thread."""

    def __init__(self, task: Task) -> None:
        self._task = task

    def progress(self, done: int, total: int, label: str | None = None) -> None:
        """Report ``done`` of ``total`` steps (the CLI's progress callback signature)."""
        self._task._progress.emit(int(done), int(total), label or "")

    def partial(self, value: object) -> None:
        """Hand one piece of a result to the UI as soon as it exists (a table row)."""
        self._task._partial.emit(value)


class Task(QObject):
    """One run of a function on the runner's pool; lives on the UI thread, a child of its
    runner (deleted with it, or once its outcome is delivered)."""

    _progress = Signal(int, int, str)
    _partial = Signal(object)
    _done = Signal(object)
    _failed = Signal(str, object)

    def __init__(
        self,
        fn: Callable[[TaskContext], Any],
        *,
        parent: QObject | None = None,
        progress: Callable[[int, int, str], None] | None = None,
        partial: Callable[[object], None] | None = None,
        done: Callable[[Any], None] | None = None,
        failed: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self._fn = fn
        self._callbacks = (progress, partial, done, failed)
        self.finished = False
        self.release: Callable[[Task], None] | None = None
        """Called on the UI thread once the outcome is delivered (the runner lets go)."""
        self._progress.connect(self._on_progress)
        self._partial.connect(self._on_partial)
        self._done.connect(self._on_done)
        self._failed.connect(self._on_failed)

    def work(self) -> None:
        """The worker thread's part: run the function, emit its outcome."""
        try:
            result = self._fn(TaskContext(self))
        except ReaderStudyError as exc:
            self._failed.emit(str(exc), exc)
        except Exception as exc:  # a bug must not take the window down; it is logged in full
            log.exception("console task failed")
            self._failed.emit(f"unexpected error ({type(exc).__name__}): {exc}", exc)
        else:
            self._done.emit(result)

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, label: str) -> None:
        if self._callbacks[0]:
            self._callbacks[0](done, total, label)

    @Slot(object)
    def _on_partial(self, value: object) -> None:
        if self._callbacks[1]:
            self._callbacks[1](value)

    @Slot(object)
    def _on_done(self, result: object) -> None:
        try:
            if self._callbacks[2]:
                self._callbacks[2](result)
        finally:
            self._end()

    @Slot(str, object)
    def _on_failed(self, message: str, exc: BaseException) -> None:
        try:
            if self._callbacks[3]:
                self._callbacks[3](message, exc)
        finally:
            self._end()

    def cancel(self) -> None:
        """Drop the outcome: no callback runs when it arrives (the function runs to its end)."""
        self._callbacks = (None, None, None, None)

    def _end(self) -> None:
        self.finished = True
        if self.release is not None:
            self.release(self)
        self.deleteLater()


class TaskRunner(QObject):
    """A view's thread pool and the tasks it has not heard back from yet."""

    def __init__(self, parent: QObject | None = None, *, threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._tasks: set[Task] = set()

    def run(self, fn: Callable[[TaskContext], Any], **callbacks: Any) -> Task:
        """Start ``fn(context)`` on the pool; the callbacks run on the UI thread."""
        task = Task(fn, parent=self, **callbacks)
        task.release = self._tasks.discard
        self._tasks.add(task)
        # The callable overload, not start(QRunnable.create(...)): PySide keeps a wrapper of a
        # created runnable (a child of the pool's) that outlives the runnable, which the pool
        # deletes once it has run; a later object at that address then meets the stale wrapper
        # (a segfault in Shiboken::BindingManager::releaseWrapper, issue 16).
        self.pool.start(task.work)
        return task

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def stop(self, ms: int = 30000) -> bool:
        """Drop the outcome of every task started so far and block until their functions have
        returned (a view closing); tasks started afterwards report as usual."""
        for task in self._tasks:
            task.cancel()
        return self.pool.waitForDone(ms)
