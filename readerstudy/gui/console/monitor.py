"""Live monitoring of a locked study, read-only, refreshed every few seconds; and overrides.

The refresh reads the store on a worker thread (one refresh at a time), so a slow shared
server never freezes the window; workstations keep writing meanwhile. The washout override
is ``study unlock``: it needs a reason and is written to the audit log.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from readerstudy.gui.console.tasks import TaskRunner
from readerstudy.gui.console.widgets import (
    Note,
    Sparkline,
    cell,
    label,
    left_row,
    local_time,
    paint,
    panel,
    set_row,
    table,
)
from readerstudy.gui.theme import COLORS
from readerstudy.workflows.coordinator import (
    AuditCheck,
    Coordinator,
    Monitor,
    SessionRow,
    SessionState,
    Snapshot,
)

REFRESH_MS = 3000
"""How often the monitor reads the store."""
DAY = "%a %d %b %H:%M"
"""Dates in the sessions table: the weekday and time say when a reader comes back."""

STATE_COLORS = {
    SessionState.DONE: COLORS.muted,
    SessionState.OPEN: COLORS.accent,
    SessionState.LOCKED: COLORS.warning,
}


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def _opens(row: SessionRow, now: datetime) -> str:
    """The washout column: when the session opens, or why it is open."""
    if row.session == 1:
        return ""
    if row.overridden:
        return "early (override)"
    if row.opens_at is None:
        return f"after session {row.session - 1}"
    if row.opens_at <= now:
        return f"{local_time(row.opens_at, DAY)} (washout over)"
    return local_time(row.opens_at, DAY)


class MonitorView(QWidget):
    """Sessions, reading times, flags, the audit chain, and the washout override."""

    def __init__(self, coordinator: Coordinator, runner: TaskRunner) -> None:
        super().__init__()
        self.coordinator = coordinator
        self.runner = runner
        self.monitor: Monitor | None = None
        self.snapshot: Snapshot | None = None
        self._in_flight = False

        self.state = label("", "muted")
        self.refresh_button = QPushButton("Refresh now")
        self.refresh_button.clicked.connect(self.refresh)
        self.note = Note()
        top = QHBoxLayout()
        top.addWidget(self.state, 1)
        top.addWidget(self.refresh_button)

        sessions, sessions_layout = panel("Readers and sessions", dense=True)
        self.sessions = table(
            ("reader", "session", "state", "done", "first read", "last read", "opens (washout)",
             "active", "open reads"),
            stretch=6,
        )  # fmt: skip
        header = self.sessions.horizontalHeaderItem(8)
        if header is not None:  # table() labelled every column
            header.setToolTip(
                "cases opened at a workstation and not submitted yet; each reopens, flagged, at "
                "the reader's next login"
            )
        self.sessions.itemSelectionChanged.connect(self._selected)
        sessions_layout.addWidget(self.sessions)

        times, times_layout = panel(
            "Active reading time per case (dots in reading order)", dense=True
        )
        self.times_caption = label("", "muted", wrap=True)
        self.times = table(("reader",))
        times_layout.addWidget(self.times_caption)
        times_layout.addWidget(self.times)

        flags, flags_layout = panel("Flags", dense=True)
        self.flags = table(("when", "what", "reader", "session", "case", "detail"))
        self.flags.setWordWrap(True)
        flags_layout.addWidget(self.flags)

        audit, audit_layout = panel("Audit chain", dense=True)
        self.audit_state = label("", wrap=True)
        self.verify_button = QPushButton("Verify the chain")
        self.verify_button.clicked.connect(self.verify)
        self.verify_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.verify_bar = QProgressBar()
        self.verify_bar.hide()
        self.verify_note = Note()
        row = QHBoxLayout()
        row.addWidget(self.verify_button)
        row.addWidget(self.verify_bar, 1)
        row.setStretch(1, 1)
        audit_layout.addWidget(self.audit_state)
        audit_layout.addLayout(row)
        audit_layout.addWidget(self.verify_note)

        override, override_layout = panel("Open a session early (washout override)", dense=True)
        self.override_reader = QComboBox()
        self.override_session = QSpinBox()
        self.override_session.setRange(2, 2)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("required: why, kept in the audit log")
        self.override_button = QPushButton("Open early")
        self.override_button.clicked.connect(self.override)
        self.override_note = Note()
        form = QFormLayout()
        form.addRow("reader", self.override_reader)
        form.addRow("session", self.override_session)
        form.addRow("reason", self.reason)
        override_layout.addWidget(
            label(
                "The same as `readerstudy study unlock`: the session opens before its washout "
                "ends, and the override is an audited event with the reason.",
                "muted",
                wrap=True,
            )
        )
        override_layout.addLayout(form)
        override_layout.addLayout(left_row(self.override_button))
        override_layout.addWidget(self.override_note)

        left = QVBoxLayout()
        left.addWidget(sessions, 3)
        left.addWidget(times, 2)
        right = QVBoxLayout()
        right.addWidget(flags, 1)
        right.addWidget(audit)
        right.addWidget(override)
        columns = QHBoxLayout()
        columns.addLayout(left, 5)
        columns.addLayout(right, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.note)
        layout.addLayout(columns, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)

    # -- refreshing --------------------------------------------------------------------------
    def set_locked(self, locked: bool) -> None:
        """Watch a locked study; before the lock there is nothing to watch."""
        if locked and not self.timer.isActive():
            self.start()
        elif not locked:
            self.stop()
            self.state.setText("Not locked yet.")
            self.note.notice("Monitoring starts once the study is locked (Before reading, step 4).")

    def start(self) -> None:
        """Refresh now and then every ``REFRESH_MS``."""
        self.refresh()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def refresh(self) -> None:
        """Read the store on a worker thread unless a refresh is still running."""
        if self._in_flight:
            return
        self._in_flight = True

        def read(_context) -> Snapshot:
            if self.monitor is None:
                self.monitor = self.coordinator.monitor()
            return self.monitor.refresh()

        self.runner.run(read, done=self.show_snapshot, failed=self._failed)

    def _failed(self, message: str, _exc: BaseException) -> None:
        self._in_flight = False
        self.note.error(message)
        self.state.setText(f"not refreshed ({datetime.now():%H:%M:%S}); trying again")

    def show_snapshot(self, snapshot: Snapshot) -> None:
        self._in_flight = False
        self.snapshot = snapshot
        self.note.clear()
        done = sum(row.done for row in snapshot.sessions)
        total = sum(row.total for row in snapshot.sessions)
        self.state.setText(
            f"Live, read-only: {done} of {total} reads submitted. Refreshed "
            f"{datetime.now():%H:%M:%S} (every {REFRESH_MS / 1000:g} s; the read took "
            f"{snapshot.refresh_s * 1000:.0f} ms)"
        )
        self._sessions(snapshot)
        self._times(snapshot)
        self._flags(snapshot)
        head = snapshot.audit_head[:16] if snapshot.audit_head else "-"
        self.audit_state.setText(
            f"{snapshot.audit_events} events, head {head}. Verify recomputes every link and "
            "every stored read (the same as `study audit --verify`)."
        )
        readers = [r.id for r in self.monitor.definition.readers] if self.monitor else []
        if [self.override_reader.itemText(i) for i in range(self.override_reader.count())] != (
            readers
        ):
            self.override_reader.clear()
            self.override_reader.addItems(readers)

    def _sessions(self, snapshot: Snapshot) -> None:
        self.sessions.setRowCount(len(snapshot.sessions))
        for i, row in enumerate(snapshot.sessions):
            values = (
                row.reader if row.name == row.reader else f"{row.reader}  {row.name}",
                row.session,
                row.state.value,
                f"{row.done} / {row.total}",
                local_time(row.first_at, DAY),
                local_time(row.last_at, DAY),
                _opens(row, snapshot.taken_at),
                _minutes(row.active_s),
                row.in_progress or "",
            )
            set_row(self.sessions, i, values)
            paint(cell(self.sessions, i, 2), STATE_COLORS[row.state])

    def _times(self, snapshot: Snapshot) -> None:
        modalities = list(self.monitor.definition.modalities) if self.monitor else []
        headers = ["reader"] + [f"{m} (s per case)" for m in modalities]
        if self.times.columnCount() != len(headers):
            self.times.setColumnCount(len(headers))
            self.times.setHorizontalHeaderLabels(headers)
            header = self.times.horizontalHeader()
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
            for column in range(1, len(headers)):
                header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        readers = sorted({reader for reader, _ in snapshot.times})
        series = [np.asarray(values) for values in snapshot.times.values() if values]
        ceiling = float(np.percentile(np.concatenate(series), 98)) if series else 1.0
        self.times.setRowCount(len(readers))
        for i, reader in enumerate(readers):
            set_row(self.times, i, (reader,))
            for j, modality in enumerate(modalities, start=1):
                spark = self.times.cellWidget(i, j)
                if not isinstance(spark, Sparkline):
                    spark = Sparkline()
                    self.times.setCellWidget(i, j, spark)
                spark.set_values(snapshot.times.get((reader, modality), ()), ceiling)
            self.times.setRowHeight(i, 38)
        self.times_caption.setText(
            f"One row per reader; the dashed line is the reader's median. Same scale "
            f"everywhere: 0 to {ceiling:.0f} s (the 98th percentile of all reads)."
        )

    def _flags(self, snapshot: Snapshot) -> None:
        self.flags.setRowCount(len(snapshot.flags))
        for i, flag in enumerate(snapshot.flags):
            values = (
                local_time(flag.at),
                flag.kind,
                flag.reader,
                flag.session or "",
                flag.case or "",
                flag.detail,
            )
            color = COLORS.warning if flag.kind != "override" else COLORS.ai
            set_row(self.flags, i, values, color=color)
            cell(self.flags, i, 5).setToolTip(flag.detail)
        self.flags.resizeRowsToContents()

    def _selected(self) -> None:
        """A selected later session fills in the override form."""
        row = self.sessions.currentRow()
        if row < 0 or self.snapshot is None or row >= len(self.snapshot.sessions):
            return
        session = self.snapshot.sessions[row]
        if session.session > 1:
            self.override_reader.setCurrentText(session.reader)
            self.override_session.setValue(session.session)

    # -- actions -----------------------------------------------------------------------------
    def verify(self) -> None:
        """``study audit --verify`` on a worker thread, its progress shown."""
        if self.monitor is None:
            self.verify_note.error("the study is not open for monitoring yet")
            return
        self.verify_button.setEnabled(False)
        self.verify_bar.setRange(0, 0)
        self.verify_bar.show()
        self.verify_note.notice("verifying …")
        monitor = self.monitor

        def progress(done: int, total: int, _text: str) -> None:
            self.verify_bar.setRange(0, max(total, 1))
            self.verify_bar.setValue(done)

        def done(check: AuditCheck) -> None:
            self.verify_button.setEnabled(True)
            self.verify_bar.hide()
            text = "\n".join(check.lines) + f"\n(verified {datetime.now():%Y-%m-%d %H:%M:%S})"
            (self.verify_note.ok if check.ok else self.verify_note.error)(text)

        def failed(message: str, _exc: BaseException) -> None:
            self.verify_button.setEnabled(True)
            self.verify_bar.hide()
            self.verify_note.error(message)

        self.runner.run(
            lambda context: monitor.verify(progress=lambda d, t: context.progress(d, t)),
            progress=progress,
            done=done,
            failed=failed,
        )

    def override(self) -> None:
        """``study unlock`` with the reason; the flags show the audited override next refresh."""
        reader = self.override_reader.currentText()
        session = self.override_session.value()
        reason = self.reason.text()
        self.override_note.notice("…")

        def done(_result: object) -> None:
            self.override_note.ok(
                f"session {session} of reader {reader} opened early (audited): {reason}"
            )
            self.reason.clear()
            self.refresh()

        self.runner.run(
            lambda _context: self.coordinator.unlock(reader, session, reason),
            done=done,
            failed=lambda message, _exc: self.override_note.error(message),
        )

    def close_monitor(self) -> None:
        self.stop()
        if self.monitor is not None:
            self.monitor.close()
            self.monitor = None
