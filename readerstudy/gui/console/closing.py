"""Closing a study: export every table, run the analysis, open report.html in the browser."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QVBoxLayout, QWidget

from readerstudy.gui.console.tasks import TaskRunner
from readerstudy.gui.console.widgets import Note, PathField, label, left_row, panel
from readerstudy.workflows.coordinator import AnalysisReport, Coordinator


def open_in_browser(path: Path) -> bool:
    """Open a local file with the system's handler (report.html: the browser)."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path).resolve())))


class ClosingView(QWidget):
    """``study export`` and ``readerstudy analyze`` on worker threads."""

    def __init__(self, coordinator: Coordinator, runner: TaskRunner) -> None:
        super().__init__()
        self.coordinator = coordinator
        self.runner = runner
        folder = Path(coordinator.folder)
        self.report: AnalysisReport | None = None

        export, export_layout = panel(
            "1  Export",
            "Everything `readerstudy study export` writes: ratings.csv, times.csv, truth.csv, "
            "cases.csv and ai_regions.csv (DATA_CONTRACTS.md), the paper-style workbook (one "
            "sheet per reader and session) and the iMRMC input with its id table. Case ids are "
            "the study's codes; only the latest version of an amended read is exported.",
        )
        self.export_folder = PathField("dir", caption="Export folder")
        self.export_folder.set_path(folder / "export")
        self.export_button = QPushButton("Export")
        self.export_button.setProperty("role", "primary")
        self.export_button.clicked.connect(self.export)
        self.export_bar = _busy_bar()
        self.export_note = Note()
        self.written = label("", "code", wrap=True)
        self.written.hide()
        row = QHBoxLayout()
        row.addWidget(self.export_folder, 1)
        row.addWidget(self.export_button)
        export_layout.addLayout(row)
        export_layout.addWidget(self.export_bar)
        export_layout.addWidget(self.export_note)
        export_layout.addWidget(self.written)

        analysis, analysis_layout = panel(
            "2  Analysis",
            "The same as `readerstudy analyze STUDY`: sensitivity and specificity per reader "
            "with McNemar tests, reading time, ICC, MRMC ROC where ratings exist, the model's "
            "standalone AUC; results.json, report.xlsx and report.html. report.html opens in "
            "your browser when it is ready.",
        )
        self.analysis_folder = PathField("dir", caption="Analysis folder")
        self.analysis_folder.set_path(folder / "analysis")
        self.analysis_button = QPushButton("Run the analysis")
        self.analysis_button.setProperty("role", "primary")
        self.analysis_button.clicked.connect(self.analyze)
        self.analysis_bar = _busy_bar()
        self.analysis_note = Note()
        self.summary = label("", "code", wrap=True)
        self.summary.hide()
        self.open_button = QPushButton("Open report.html")
        self.open_button.clicked.connect(self.open_report)
        self.open_button.hide()
        row = QHBoxLayout()
        row.addWidget(self.analysis_folder, 1)
        row.addWidget(self.analysis_button)
        analysis_layout.addLayout(row)
        analysis_layout.addWidget(self.analysis_bar)
        analysis_layout.addWidget(self.analysis_note)
        analysis_layout.addWidget(self.summary)
        analysis_layout.addLayout(left_row(self.open_button))

        layout = QVBoxLayout(self)
        layout.addWidget(export)
        layout.addWidget(analysis)
        layout.addStretch(1)

    def export(self) -> None:
        out = self.export_folder.path
        if out is None:
            self.export_note.error("choose the export folder")
            return
        self.export_button.setEnabled(False)
        self.export_bar.show()
        self.export_note.notice("exporting …")

        def done(written: dict[str, Path]) -> None:
            self._idle(self.export_button, self.export_bar)
            self.export_note.ok(f"{len(written)} files written to {out}")
            self.written.setText("\n".join(f"{k}: {v}" for k, v in written.items()))
            self.written.show()

        def failed(message: str, _exc: BaseException) -> None:
            self._idle(self.export_button, self.export_bar)
            self.export_note.error(message)

        self.runner.run(lambda _context: self.coordinator.export(out), done=done, failed=failed)

    def analyze(self) -> None:
        out = self.analysis_folder.path
        self.analysis_button.setEnabled(False)
        self.analysis_bar.show()
        self.analysis_note.notice("analysing … (a minute on a large study)")

        def done(report: AnalysisReport) -> None:
            self._idle(self.analysis_button, self.analysis_bar)
            self.report = report
            self.analysis_note.ok(f"report: {report.html}")
            self.summary.setText("\n".join(report.summary))
            self.summary.show()
            self.open_button.show()
            self.open_report()

        def failed(message: str, _exc: BaseException) -> None:
            self._idle(self.analysis_button, self.analysis_bar)
            self.analysis_note.error(message)

        self.runner.run(lambda _context: self.coordinator.analyze(out), done=done, failed=failed)

    def open_report(self) -> None:
        if self.report is not None and not open_in_browser(self.report.html):
            self.analysis_note.error(
                f"no browser could be started; open {self.report.html} yourself"
            )

    @staticmethod
    def _idle(button: QPushButton, bar: QProgressBar) -> None:
        button.setEnabled(True)
        bar.hide()


def _busy_bar() -> QProgressBar:
    """A bar that moves while work of unknown length runs."""
    bar = QProgressBar()
    bar.setRange(0, 0)
    bar.hide()
    return bar
