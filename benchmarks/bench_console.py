"""The console's live monitoring on 50 readers x 1,000 cases (75,000 reads) against
``study status``, in the same process on the same store.

- ``refresh``: ``Monitor.refresh()`` (status rows, the reads stored since the last refresh,
  reading times, flags, the audit chain head), with 20 reads submitted between refreshes as
  workstations would, against ``Study.status()`` on the same open study (the core of
  ``readerstudy study status``); targets: ratio <= 1.5 and median <= 250 ms;
- ``refresh and view``: the same plus the monitor view's update on the UI thread (Qt
  offscreen): every table row and the 100 sparklines;
- for context: the first refresh (every read loaded once) and ``study status`` as the command
  runs it (open the study, status, close).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.bench_study import populated_study, submission
from benchmarks.harness import Comparison

N_READERS, N_CASES = 50, 1000
NEW_READS = 20
"""Reads submitted between two refreshes (a busy multi-site hour is ~1 read per second)."""
REPEATS = 15
TARGET_RATIO, TARGET_S = 1.5, 0.25


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run() -> None:
    from readerstudy.workflows.coordinator import Coordinator

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "console"
        study = populated_study(folder, n_readers=N_READERS, n_cases=N_CASES)
        done = study.store.submitted_cases
        unread = [
            r
            for r in study.schedule.reads
            if r.session == 2 and r.order > N_CASES // 2 and r.case not in done(r.reader, 2)
        ]
        monitor = Coordinator(folder).monitor()
        first = _timed(monitor.refresh)
        now = study.time.now()

        def write_some() -> None:
            batch = [unread.pop() for _ in range(NEW_READS)]
            study.store.submit_many(
                submission(
                    r,
                    now,
                    active_s=50.0 + r.order % 40,
                    wall_s=90.0,
                    flags=("clock_restarted_after_crash",) if r.order % 97 == 0 else (),
                )
                for r in batch
            )

        from PySide6.QtWidgets import QApplication

        from readerstudy.gui.console.monitor import MonitorView
        from readerstudy.gui.console.tasks import TaskRunner
        from readerstudy.gui.theme import apply_theme

        app = QApplication.instance() or QApplication([])
        apply_theme(app)
        view = MonitorView(Coordinator(folder), TaskRunner())
        view.monitor = monitor
        view.resize(1800, 1000)
        view.show_snapshot(monitor.refresh())

        refresh, with_view, status = [], [], []
        for _ in range(REPEATS):
            write_some()
            refresh.append(_timed(monitor.refresh))
            status.append(_timed(study.status))
            write_some()
            with_view.append(_timed(lambda: view.show_snapshot(monitor.refresh())))
            app.processEvents()
        baseline = statistics.median(status)
        for name, samples in (
            (f"monitor_refresh_{N_READERS}x{N_CASES}_vs_study_status", refresh),
            (f"monitor_refresh_and_view_{N_READERS}x{N_CASES}_vs_study_status", with_view),
        ):
            result = Comparison(name, statistics.median(samples), baseline, REPEATS)
            met = result.ratio <= TARGET_RATIO and result.candidate_s <= TARGET_S
            print(
                f"{result.line()} target <= {TARGET_RATIO} and <= {TARGET_S * 1e3:.0f} ms: "
                f"{'met' if met else 'MISSED'}",
                flush=True,
            )
        snapshot = monitor.refresh()
        command = _timed(lambda: Coordinator(folder).status())
        print(f"  reads monitored: {snapshot.reads}, flags: {len(snapshot.flags)}")
        print(f"  first refresh (every read summary loaded once): {first * 1e3:.0f} ms")
        print(
            f"  `study status` as the command runs it (open, status, close): {command * 1e3:.0f} ms"
        )
        monitor.close()
        study.close()


if __name__ == "__main__":
    run()
