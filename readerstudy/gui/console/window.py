"""The console window: a start screen (new or open study), the wizard, and a study's tabs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLineEdit,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from readerstudy.gui.console.closing import ClosingView
from readerstudy.gui.console.monitor import MonitorView
from readerstudy.gui.console.prepare import PrepareView
from readerstudy.gui.console.tasks import TaskRunner
from readerstudy.gui.console.widgets import Note, PathField, label, left_row
from readerstudy.gui.console.wizard import NewStudyWizard
from readerstudy.gui.theme import CONSOLE_STYLESHEET, centre_card
from readerstudy.workflows.coordinator import (
    Coordinator,
    ReaderStudyError,
    StudyOverview,
    TimeSource,
)


class StartView(QWidget):
    """New study or open study (with an optional shared store URL)."""

    new_requested = Signal()
    open_requested = Signal(Path, str)

    def __init__(self) -> None:
        super().__init__()
        self.new_button = QPushButton("New study …")
        self.new_button.setProperty("role", "primary")
        self.new_button.clicked.connect(self.new_requested.emit)
        self.folder = PathField("dir", caption="Study folder", placeholder="a study folder")
        self.db = QLineEdit()
        self.db.setPlaceholderText("optional: postgresql+psycopg://user@host/db (--db)")
        self.open_button = QPushButton("Open study")
        self.open_button.clicked.connect(self._open)
        self.folder.edit.returnPressed.connect(self._open)
        self.note = Note()
        card = QVBoxLayout()
        card.setSpacing(12)
        card.addWidget(label("Coordinator console", "title"))
        card.addWidget(
            label(
                "Set up, prepare, watch and close a reader study. Everything here can also be "
                "done with `readerstudy study ...` on the command line.",
                "subtitle",
                wrap=True,
            )
        )
        card.addSpacing(10)
        card.addWidget(label("A new study from cases and a truth table", "section"))
        card.addLayout(left_row(self.new_button))
        card.addSpacing(10)
        card.addWidget(label("An existing study", "section"))
        card.addWidget(self.folder)
        card.addWidget(label("results store (leave empty for the study's own)", "muted"))
        card.addWidget(self.db)
        card.addLayout(left_row(self.open_button))
        card.addWidget(self.note)
        centre_card(self, card, 720)

    def _open(self) -> None:
        if self.folder.path is None:
            self.note.error("choose the study folder")
            return
        self.open_requested.emit(self.folder.path, self.db.text().strip())


class StudyView(QWidget):
    """One study: a header with its state, and the before-reading, monitoring and closing
    tabs."""

    def __init__(self, coordinator: Coordinator, overview: StudyOverview) -> None:
        super().__init__()
        self.coordinator = coordinator
        self.runner = TaskRunner(self, threads=3)
        self.title = label("", "title")
        self.subtitle = label("", "subtitle", wrap=True)
        self.subtitle.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem = Note()
        self.prepare = PrepareView(coordinator, self.runner)
        self.monitor = MonitorView(coordinator, self.runner)
        self.closing = ClosingView(coordinator, self.runner)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.prepare, "Before reading")
        self.tabs.addTab(self.monitor, "Monitoring")
        self.tabs.addTab(self.closing, "Closing")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 12, 18, 12)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.problem)
        layout.addWidget(self.tabs, 1)
        self.prepare.changed.connect(self.reload)
        self.show_overview(overview)
        self.prepare.load_gallery()
        if overview.locked:
            self.tabs.setCurrentWidget(self.monitor)

    def show_overview(self, overview: StudyOverview) -> None:
        d = overview.definition
        self.title.setText(f"Study {d.name}")
        lock = "not locked"
        if overview.locked:
            lock = f"locked, design hash {(overview.design_hash or '')[:16]}"
        store = overview.store or "no results store yet"
        self.subtitle.setText(
            f"{overview.folder}  ·  {d.design.value}, {len(d.readers)} readers, "
            f"{overview.cases} cases, washout {d.washout_days:g} days, seed {d.seed}  ·  "
            f"{lock}  ·  store {store}"
        )
        if overview.problem:
            self.problem.notice(overview.problem)
        else:
            self.problem.clear()
        self.prepare.show_overview(overview)
        self.monitor.set_locked(overview.locked)

    def reload(self) -> None:
        try:
            self.show_overview(self.coordinator.overview())
        except ReaderStudyError as exc:
            self.problem.error(str(exc))

    def shutdown(self) -> None:
        """Stop refreshing, let running work finish unheard, close the monitor's store."""
        self.monitor.stop()
        self.runner.stop()
        self.monitor.close_monitor()


class ConsoleWindow(QMainWindow):
    """The coordinator's console over one study folder at a time."""

    def __init__(self, *, db: str | None = None, time: TimeSource | None = None) -> None:
        super().__init__()
        self.db, self.time = db, time
        self.setWindowTitle("readerstudy console")
        self.setStyleSheet(CONSOLE_STYLESHEET)
        self.runner = TaskRunner(self, threads=2)
        self.start = StartView()
        self.start.new_requested.connect(self.new_study)
        self.start.open_requested.connect(lambda folder, db: self.open_study(folder, db or None))
        self.wizard: NewStudyWizard | None = None
        self.study: StudyView | None = None
        self.stack = QStackedWidget()
        self.stack.addWidget(self.start)
        self.setCentralWidget(self.stack)
        if db:
            self.start.db.setText(db)

    def new_study(self) -> NewStudyWizard:
        self._drop_wizard()
        self.wizard = NewStudyWizard(self.runner)
        self.wizard.cancelled.connect(self.show_start)
        self.wizard.study_created.connect(lambda folder: self.open_study(folder, self.db))
        self.stack.addWidget(self.wizard)
        self.stack.setCurrentWidget(self.wizard)
        return self.wizard

    def open_study(self, folder: Path, db: str | None = None) -> StudyView | None:
        """Open ``folder``; a refusal (no study there, a store missing) shows on the start
        screen."""
        coordinator = Coordinator(Path(folder), db=db, time=self.time)
        try:
            overview = coordinator.overview()
        except ReaderStudyError as exc:
            self.show_start()
            self.start.folder.set_path(folder)
            self.start.note.error(str(exc))
            return None
        self._drop_study()
        self._drop_wizard()
        self.study = StudyView(coordinator, overview)
        self.stack.addWidget(self.study)
        self.stack.setCurrentWidget(self.study)
        self.setWindowTitle(f"readerstudy console - {overview.definition.name}")
        return self.study

    def show_start(self) -> None:
        self.stack.setCurrentWidget(self.start)

    def _drop_wizard(self) -> None:
        if self.wizard is not None:
            self.runner.stop()
            self.stack.removeWidget(self.wizard)
            self.wizard.deleteLater()
            self.wizard = None

    def _drop_study(self) -> None:
        if self.study is not None:
            self.study.shutdown()
            self.stack.removeWidget(self.study)
            self.study.deleteLater()
            self.study = None

    def closeEvent(self, event) -> None:
        self._drop_study()
        self.runner.stop()
        super().closeEvent(event)
