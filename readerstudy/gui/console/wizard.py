"""The new-study wizard: every input of ``readerstudy study init``, checked as it is entered.

Each step checks its fields with the study layer's own validators (the per-row truth check,
the definition, and a dry run of ``study init`` on Next), so a refusal is the command's own
message, shown beside the field it concerns. The review step shows the study.toml that will
be written and the equivalent command line; the import runs ``study init`` itself on a worker
thread and reports every imported case.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontDatabase
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from readerstudy.gui.console.tasks import TaskRunner
from readerstudy.gui.console.widgets import (
    Note,
    PathField,
    cell,
    fit_height,
    label,
    left_row,
    set_row,
    table,
)
from readerstudy.gui.theme import COLORS
from readerstudy.workflows.coordinator import (
    ConfidenceScale,
    Design,
    ImageFormat,
    InitReport,
    ReaderStudyError,
    SeriesRow,
    StudySpec,
    TableCheck,
    ai_methods,
    balance_preview,
    check_ai_table,
    check_truth,
    describe_case,
    discover_cases,
)

STEPS = ("Cases", "Truth table", "Readers", "Design", "Rating and AI", "Review", "Import")
DEFAULT_READERS = ("r1", "r2", "r3", "r4")
CHECK_FOLDER = Path(tempfile.gettempdir()) / "readerstudy-wizard-check"
"""Stands in for the study folder while none is chosen, so the inputs can be checked."""


def _page(step: QWidget, title: str, intro: str) -> QVBoxLayout:
    """The page that fills ``step``: its title and what it asks for, above the returned layout
    for the step's fields."""
    page = QWidget()
    layout = QVBoxLayout(page)
    layout.setContentsMargins(24, 16, 24, 16)
    layout.setSpacing(10)
    layout.addWidget(label(title, "title"))
    layout.addWidget(label(intro, "muted", wrap=True))
    layout.addSpacing(6)
    outer = QVBoxLayout(step)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(page)
    return layout


def _fmt(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _by_half(item: tuple[tuple[str, str], int]) -> str:
    return item[0][1]


def _mono(widget: QWidget) -> None:
    widget.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))


class CasesStep(QWidget):
    """The cases folder and the live table of what ``study init`` will import from it."""

    COLUMNS = ("case", "format", "series", "slices", "spacing (mm)", "tilt (°)", "vendor")

    def __init__(self, runner: TaskRunner) -> None:
        super().__init__()
        self.runner = runner
        layout = _page(
            self,
            "Cases",
            "The folder of cases: one sub-folder per case (a DICOM series, any file names) or "
            "one NIfTI file per case, named by the case id of the truth table. Folders named "
            "masks or ai are not cases. Nothing is copied until the last step.",
        )
        self.folder = PathField("dir", caption="Cases folder", placeholder="folder of cases")
        self.folder.changed.connect(self.scan)
        self.note = Note()
        self.summary = label("", "muted")
        self.table = table((*self.COLUMNS, "warnings"))
        layout.addWidget(label("Cases folder"))
        layout.addWidget(self.folder)
        layout.addWidget(self.note)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.rows: list[SeriesRow] = []
        self._total = 0
        self._generation = 0

    def scan(self) -> None:
        """List the cases at once, then describe each on a worker thread, row by row."""
        self._generation += 1
        generation = self._generation
        self.rows, self._total = [], 0
        self.table.setRowCount(0)
        self.note.clear()
        self.summary.clear()
        if self.folder.path is None:
            return
        try:
            cases = discover_cases(self.folder.path)
        except ReaderStudyError as exc:
            self.note.error(str(exc))
            return
        if not cases:
            self.note.error(f"--cases {self.folder.path}: no case folders or NIfTI files found")
            return
        self._total = len(cases)
        self.table.setRowCount(len(cases))
        for i, case in enumerate(cases):
            set_row(self.table, i, (case.name, case.format, "", "", "", "", "", "reading…"))
        self.summary.setText(f"{len(cases)} cases found; reading their headers …")

        def describe(context) -> None:
            for i, case in enumerate(cases):
                context.partial((generation, i, describe_case(case)))

        self.runner.run(describe, partial=self._row)

    def _row(self, value: tuple[int, int, SeriesRow]) -> None:
        generation, i, row = value
        if generation != self._generation:
            return  # a scan of a folder given since
        self.rows.append(row)
        spacing = " × ".join(_fmt(v) for v in row.spacing_mm if v is not None)
        notes = ([row.problem] if row.problem else []) + list(row.warnings)
        color = COLORS.error if row.problem else COLORS.warning if row.warnings else None
        set_row(
            self.table,
            i,
            (
                row.case,
                row.format,
                row.series,
                row.slices or "",
                spacing,
                _fmt(row.tilt_deg, 1),
                row.vendor,
                "; ".join(notes) or "ok",
            ),
            color=color,
        )
        cell(self.table, i, 7).setToolTip("\n".join(notes))
        self._summarise()

    def _summarise(self) -> None:
        done = len(self.rows)
        formats = {f: sum(r.format == f for r in self.rows) for f in ImageFormat}
        bad = sum(r.problem is not None for r in self.rows)
        warned = sum(bool(r.warnings) and r.problem is None for r in self.rows)
        text = (
            f"{self._total} cases: {formats[ImageFormat.DICOM]} DICOM, "
            f"{formats[ImageFormat.NIFTI]} NIfTI; "
            f"{warned} with warnings, {bad} unreadable"
        )
        if done < self._total:
            text = f"reading headers {done}/{self._total} … " + text
        self.summary.setText(text)

    def validate(self) -> bool:
        if self.folder.path is None:
            self.note.error("choose the folder of cases")
            return False
        return not self.note.is_error


class TruthStep(QWidget):
    """truth.csv checked row by row, and the optional cases.csv."""

    changed = Signal()

    def __init__(self, runner: TaskRunner) -> None:
        super().__init__()
        self.runner = runner
        layout = _page(
            self,
            "Truth table",
            "truth.csv has the columns case, unit, truth: every case has each of the 20 ASPECTS "
            "units once, truth 0 or 1. Each row is checked as study init checks it; refused "
            "rows are listed with the command's message. cases.csv (case, side and any other "
            "columns) is optional: without it the infarct side is the side with more positive "
            "units.",
        )
        self.truth = PathField("file", caption="truth.csv", filter="CSV (*.csv *.tsv *.txt)")
        self.truth.changed.connect(self.check)
        self.again = QPushButton("Check again")
        self.again.clicked.connect(self.check)
        self.note = Note()
        self.summary = label("", "muted", wrap=True)
        self.only_problems = QCheckBox("only the refused rows")
        self.only_problems.setChecked(True)
        self.only_problems.hide()
        self.only_problems.toggled.connect(self._fill)
        self.table = table(("line", "case", "unit", "truth", "refused because"))
        self.meta = PathField("file", caption="cases.csv", filter="CSV (*.csv *.tsv *.txt)")
        self.meta.edit.setPlaceholderText("optional")
        self.meta.changed.connect(lambda _text: self.changed.emit())
        self.meta_note = Note()
        row = QHBoxLayout()
        row.addWidget(self.truth, 1)
        row.addWidget(self.again)
        layout.addWidget(label("truth.csv"))
        layout.addLayout(row)
        layout.addWidget(self.note)
        layout.addWidget(self.summary)
        layout.addWidget(self.only_problems)
        layout.addWidget(self.table, 1)
        layout.addWidget(label("cases.csv"))
        layout.addWidget(self.meta)
        layout.addWidget(self.meta_note)
        self.result: TableCheck | None = None

    def check(self) -> None:
        self.result = None
        self.table.setRowCount(0)
        self.note.clear()
        self.summary.clear()
        path = self.truth.path
        if path is None:
            return
        self.summary.setText(f"checking {path} …")
        self.runner.run(lambda _context: check_truth(path), done=self._checked)

    def _checked(self, result: TableCheck) -> None:
        if result.path != self.truth.path:
            return
        self.result = result
        general = [p.message for p in result.problems if p.line is None]
        rows = len(result.rows)
        if result.ok:
            self.note.ok(f"{rows} rows: {len(result.cases)} cases, every unit once, truth 0/1")
            self.summary.clear()
        elif general and not result.by_line():
            self.note.error(general[0])
            self.summary.clear()
        else:
            lines = result.by_line()
            self.note.error(
                f"{len(lines)} of {rows} rows refused (study init stops at the first: "
                f"{result.problems[0].message})"
            )
            self.summary.setText("Correct the file, then press Check again.")
        self.only_problems.setVisible(bool(result.by_line()))
        self._fill()
        self.changed.emit()

    def _fill(self) -> None:
        result = self.result
        self.table.setRowCount(0)
        if result is None:
            return
        problems = result.by_line()
        only = self.only_problems.isChecked() and bool(problems)
        shown = 0
        for line, row in enumerate(result.rows, start=2):
            if only and line not in problems:
                continue
            why = problems.get(line, [])
            reason = "; ".join(m.split(": ", 1)[-1] for m in why)
            color = COLORS.error if why else None
            values = (line, row.get("case"), row.get("unit"), row.get("truth"), reason)
            set_row(self.table, shown, values, color=color)
            if why:
                cell(self.table, shown, 4).setToolTip("\n".join(why))
            shown += 1

    def validate(self) -> bool:
        if self.truth.path is None:
            self.note.error("choose the truth table (truth.csv)")
            return False
        if self.result is None:
            self.note.notice("still checking the truth table …")
            return False
        return self.result.ok


class ReadersStep(QWidget):
    """Reader ids and display names, and the two modality names."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        layout = _page(
            self,
            "Readers",
            "One row per reader: the id names the reader in every exported table (letters, "
            "digits, '_', '.', '-'); the display name is what the login screen shows (the id when "
            "left empty).",
        )
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["reader id", "display name"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 220)
        for reader in DEFAULT_READERS:
            self._append(reader, "")
        self.table.itemChanged.connect(lambda _item: self.changed.emit())
        add = QPushButton("Add reader")
        add.clicked.connect(lambda: self._append(f"r{self.table.rowCount() + 1}", ""))
        remove = QPushButton("Remove selected")
        remove.clicked.connect(self._remove)
        buttons = left_row(add, remove)
        self.note = Note()
        self.reference = QLineEdit("unaided")
        self.aided = QLineEdit("aided")
        for edit in (self.reference, self.aided):
            edit.textChanged.connect(lambda _text: self.changed.emit())
        self.modalities_note = Note()
        form = QFormLayout()
        form.addRow("read without AI (the reference)", self.reference)
        form.addRow("read with the AI", self.aided)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.note)
        layout.addWidget(label("Modalities", "section"))
        layout.addLayout(form)
        layout.addWidget(self.modalities_note)

    def _append(self, reader: str, name: str) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(reader))
        self.table.setItem(row, 1, QTableWidgetItem(name))
        self.changed.emit()

    def _remove(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.table.removeRow(row)
            self.changed.emit()

    def set_readers(self, readers: list[tuple[str, str]]) -> None:
        self.table.setRowCount(0)
        for reader, name in readers:
            self._append(reader, name)

    def readers(self) -> list[tuple[str, str]]:
        """(id, display name) of every row with an id."""
        found = []
        for row in range(self.table.rowCount()):
            reader = (self.table.item(row, 0) or QTableWidgetItem()).text().strip()
            name = (self.table.item(row, 1) or QTableWidgetItem()).text().strip()
            if reader:
                found.append((reader, name))
        return found

    def validate(self) -> bool:
        if not self.readers():
            self.note.error("the study needs at least one reader")
            return False
        return True


class DesignStep(QWidget):
    """Design, washout, seed, idle timeout, and a preview of the balance the lock will draw."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        layout = _page(
            self,
            "Design",
            "Sequential (the paper): session 1 reads every case without AI, session 2 with it, "
            "after the washout. Crossover: cases split into two halves balanced on infarct side "
            "and positive units, readers into two groups; every session mixes both modalities.",
        )
        self.sequential = QRadioButton("sequential")
        self.crossover = QRadioButton("crossover")
        self.sequential.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.sequential)
        group.addButton(self.crossover)
        self.washout = QDoubleSpinBox()
        self.washout.setRange(0, 365)
        self.washout.setDecimals(1)
        self.washout.setValue(14)
        self.washout.setSuffix(" days")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.idle = QDoubleSpinBox()
        self.idle.setRange(1, 3600)
        self.idle.setDecimals(0)
        self.idle.setValue(90)
        self.idle.setSuffix(" s")
        for spin in (self.washout, self.seed, self.idle):
            spin.setMinimumWidth(200)
            spin.setMaximumWidth(260)
        for button in (self.sequential, self.crossover):
            button.toggled.connect(lambda _on: self.changed.emit())
        for spinner in (self.washout, self.idle):
            spinner.valueChanged.connect(lambda _value: self.changed.emit())
        self.seed.valueChanged.connect(lambda _value: self.changed.emit())
        self.note = Note()
        kinds = left_row(self.sequential, self.crossover)
        form = QFormLayout()
        form.addRow("design", kinds)
        form.addRow("washout between sessions", self.washout)
        form.addRow("seed (codes, halves, groups, orders)", self.seed)
        form.addRow("idle after", self.idle)
        self.preview_note = Note()
        self.halves = table(("cases", "count", "left", "right", "none", "positive units"))
        self.reads = table(("reader", "group", "session 1", "session 2"))
        self.balance = label("", "muted", wrap=True)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(label("Balance: the schedule the lock will draw", "section"))
        layout.addWidget(self.preview_note)
        layout.addWidget(self.halves)
        layout.addWidget(self.balance)
        layout.addWidget(label("Reads per reader and session", "section"))
        layout.addWidget(self.reads, 1)

    @property
    def design(self) -> Design:
        return Design.CROSSOVER if self.crossover.isChecked() else Design.SEQUENTIAL

    def validate(self) -> bool:
        return not self.note.is_error

    def show_preview(self, spec: StudySpec, truth: TableCheck | None) -> None:
        self.halves.setRowCount(0)
        self.reads.setRowCount(0)
        self.balance.clear()
        if truth is None:
            self.preview_note.notice("the preview needs the truth table (step 2)")
            return
        try:
            preview = balance_preview(spec, truth)
        except ReaderStudyError as exc:
            self.preview_note.error(str(exc))
            return
        self.preview_note.clear()
        for i, half in enumerate(preview.halves):
            sides = [half.sides.get(s, 0) for s in ("left", "right", "none")]
            name = f"half {half.name}" if half.name != "all" else "all cases"
            set_row(self.halves, i, (name, half.cases, *sides, half.positives))
        group_of = {r: g + 1 for g, members in enumerate(preview.groups) for r in members}
        by_reader: dict[str, dict[int, dict[tuple[str, str], int]]] = {}
        for reader, session, counts in preview.reads:
            by_reader.setdefault(reader, {})[session] = counts
        for i, (reader, sessions) in enumerate(by_reader.items()):
            cells = [
                ", ".join(
                    f"{modality}: {'all' if half == 'all' else 'half ' + half} ({n})"
                    for (modality, half), n in sorted(sessions.get(s, {}).items(), key=_by_half)
                )
                for s in (1, 2)
            ]
            set_row(self.reads, i, (reader, group_of.get(reader, ""), *cells))
        fit_height(self.halves)
        self.reads.setColumnHidden(1, preview.design is Design.SEQUENTIAL)
        low, high = preview.aided_first
        readers = len(by_reader)
        if preview.design is Design.SEQUENTIAL:
            order = "every reader reads every case without the AI first (session 1)"
        else:
            many = f"{low}" if low == high else f"{low} to {high}"
            order = f"each case is read with the AI first by {many} of the {readers} readers"
        self.balance.setText(f"Every reader reads every case once per modality; {order}.")


class RatingStep(QWidget):
    """The rating form and where the aided reads' AI outputs come from."""

    changed = Signal()

    def __init__(self, runner: TaskRunner) -> None:
        super().__init__()
        self.runner = runner
        layout = _page(
            self,
            "Rating form and AI",
            "Per unit the reader gives a binary call (abnormal or not) and, where the study "
            "asks, a confidence rating (needed for ROC/AUC). The aided reads show the embedded "
            "model's outputs (computed before reading) or another product's ai_regions.csv.",
        )
        self.binary = QCheckBox("binary call per unit (0/1)")
        self.binary.setChecked(True)
        self.confidence = QComboBox()
        self.confidence.addItems([scale.value for scale in ConfidenceScale])
        self.rating_note = Note()
        self.embedded = QRadioButton("the embedded model, method:")
        self.imported = QRadioButton("another product's ai_regions.csv (masks/ beside it):")
        self.embedded.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.embedded)
        group.addButton(self.imported)
        self.method = QComboBox()
        self.method.addItem("asymmetry")
        self.ai = PathField("file", caption="ai_regions.csv", filter="CSV (*.csv *.tsv *.txt)")
        self.ai_note = Note()
        self.ai_rows = table(("line", "case", "unit", "refused because"))
        self.ai_rows.setMaximumHeight(160)
        self.ai_rows.hide()
        for widget in (self.binary, self.embedded, self.imported):
            widget.toggled.connect(lambda _on: self._changed())
        self.confidence.currentIndexChanged.connect(lambda _i: self._changed())
        self.method.currentIndexChanged.connect(lambda _i: self._changed())
        self.ai.changed.connect(lambda _text: self._changed())
        self.truth_cases: list[str] = []
        form = QFormLayout()
        form.addRow("", self.binary)
        form.addRow("confidence scale", self.confidence)
        layout.addLayout(form)
        layout.addWidget(self.rating_note)
        layout.addWidget(label("AI outputs of the aided reads", "section"))
        grid = QGridLayout()
        grid.addWidget(self.embedded, 0, 0)
        grid.addWidget(self.method, 0, 1)
        grid.addWidget(self.imported, 1, 0)
        grid.addWidget(self.ai, 1, 1)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)
        layout.addWidget(self.ai_note)
        layout.addWidget(self.ai_rows)
        layout.addStretch(1)
        self._methods_loaded = False
        self._changed()

    def load_methods(self) -> None:
        """Fill the method list from the model (imported on a worker thread: it is slow)."""
        if self._methods_loaded:
            return
        self._methods_loaded = True

        def fill(methods: list[str]) -> None:
            current = self.method.currentText()
            self.method.clear()
            self.method.addItems(methods)
            if current in methods:
                self.method.setCurrentText(current)

        self.runner.run(lambda _context: ai_methods(), done=fill)

    def _changed(self) -> None:
        self.method.setEnabled(self.embedded.isChecked())
        self.ai.setEnabled(self.imported.isChecked())
        self.ai_note.clear()
        self.ai_rows.hide()
        if self.imported.isChecked() and self.ai.path is not None and self.truth_cases:
            self._check_ai()
        self.changed.emit()

    def _check_ai(self) -> None:
        path = self.ai.path
        if path is None:
            return
        result = check_ai_table(path, self.truth_cases)
        masks = path.parent / "masks"
        n_masks = len(list(masks.glob("*.nii.gz"))) if masks.is_dir() else 0
        if result.ok:
            shown = (
                f"{n_masks} lesion masks in {masks}"
                if n_masks
                else f"no lesion masks ({masks}): aided reads show the unit probabilities only"
            )
            self.ai_note.ok(f"{len(result.rows)} rows for {len(result.cases)} cases; {shown}")
            return
        lines = result.by_line()
        if not lines:
            self.ai_note.error(result.problems[0].message)
            return
        self.ai_note.error(f"{len(lines)} rows refused: {result.problems[0].message}")
        self.ai_rows.setRowCount(0)
        by_line = dict(enumerate(result.rows, start=2))
        for i, (line, messages) in enumerate(sorted(lines.items())):
            row = by_line[line]
            reason = "; ".join(m.split(": ", 2)[-1] for m in messages)
            set_row(self.ai_rows, i, (line, row.get("case"), row.get("unit"), reason))
        self.ai_rows.show()

    def validate(self) -> bool:
        if self.imported.isChecked() and self.ai.path is None:
            self.ai_note.error("choose the ai_regions.csv to import, or use the embedded model")
            return False
        return not self.ai_note.is_error


class ReviewStep(QWidget):
    """The study folder and name, the study.toml to be written and the same command line."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        layout = _page(
            self,
            "Review",
            "Choose a new folder for the study. This is the study.toml that will be written "
            "(you may still edit it until the study is locked) and the command that creates "
            "the same study.",
        )
        self.folder = PathField("new-dir", caption="New study folder", placeholder="new folder")
        self.folder.changed.connect(lambda _text: self.changed.emit())
        self.folder_note = Note()
        self.name = QLineEdit()
        self.name.setPlaceholderText("the folder's name")
        self.name.editingFinished.connect(self.changed.emit)
        self.name_note = Note()
        self.description = QLineEdit()
        self.description.editingFinished.connect(self.changed.emit)
        form = QFormLayout()
        form.addRow("study folder", self.folder)
        form.addRow("", self.folder_note)
        form.addRow("name", self.name)
        form.addRow("", self.name_note)
        form.addRow("description", self.description)
        self.toml = QPlainTextEdit()
        self.toml.setReadOnly(True)
        self.command = label("", "code", wrap=True)
        self.command.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        _mono(self.toml)
        layout.addLayout(form)
        layout.addWidget(label("study.toml", "section"))
        layout.addWidget(self.toml, 1)
        layout.addWidget(label("The same on the command line", "section"))
        layout.addWidget(self.command)

    def show_spec(self, spec: StudySpec | None, problem: str | None) -> None:
        if spec is None:
            self.toml.setPlainText(problem or "")
            self.command.clear()
            return
        try:
            self.toml.setPlainText(spec.toml())
        except ReaderStudyError as exc:
            self.toml.setPlainText(f"# not valid yet: {exc}")
        self.command.setText(spec.command_line())

    def validate(self) -> bool:
        if self.folder.path is None:
            self.folder_note.error("choose a new folder for the study")
            return False
        return True


class ImportStep(QWidget):
    """The import's progress, then its report."""

    open_requested = Signal(Path)

    def __init__(self) -> None:
        super().__init__()
        layout = _page(
            self,
            "Import",
            "Every DICOM case is de-identified (names, IDs, dates and UIDs remapped, private "
            "tags dropped) into the study under a neutral code; NIfTI cases are copied. "
            "manifest.csv maps the codes back to your case names: keep it with you.",
        )
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.state = label("", "muted")
        self.note = Note()
        self.summary = label("", wrap=True)
        self.table = table(("code", "format", "files", "source case", "content hash"))
        self.next_step = label("", "code", wrap=True)
        self.next_step.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.next_step.hide()
        self.open = QPushButton("Open the study")
        self.open.setProperty("role", "primary")
        self.open.hide()
        self.report: InitReport | None = None
        self.open.clicked.connect(self._open_study)
        layout.addWidget(self.bar)
        layout.addWidget(self.state)
        layout.addWidget(self.note)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.next_step)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.open)
        layout.addLayout(row)

    def _open_study(self) -> None:
        if self.report is not None:
            self.open_requested.emit(self.report.folder)

    def started(self, n_cases: int) -> None:
        self.report = None
        self.bar.setRange(0, max(n_cases, 1))
        self.bar.setValue(0)
        self.state.setText("starting …")
        self.note.clear()
        self.summary.clear()
        self.table.setRowCount(0)
        self.next_step.hide()
        self.open.hide()

    def progress(self, done: int, total: int, text: str) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        self.state.setText(f"{done}/{total} cases: {text}")

    def finished(self, report: InitReport) -> None:
        self.report = report
        self.bar.setValue(self.bar.maximum())
        self.state.setText(f"{len(report.cases)} cases imported")
        self.summary.setText(report.summary())
        for i, case in enumerate(sorted(report.cases, key=lambda c: c["case"])):
            code = case["case"]
            files = report.files.get(code, 0)
            values = (code, case["format"], files, case["source"], case["content_hash"][:16])
            set_row(self.table, i, values)
        self.next_step.setText(f"next: {report.next_step}  (or Open the study, below)")
        self.next_step.show()
        self.open.show()

    def failed(self, message: str) -> None:
        self.state.setText("nothing was written (a failed import leaves no folder behind)")
        self.note.error(message)


class _Checks(Protocol):
    def validate(self) -> bool: ...


class NewStudyWizard(QWidget):
    """The steps of a new study; ``study_created`` carries the new folder."""

    study_created = Signal(Path)
    cancelled = Signal()

    def __init__(self, runner: TaskRunner) -> None:
        super().__init__()
        self.runner = runner
        self.cases = CasesStep(runner)
        self.truth = TruthStep(runner)
        self.readers = ReadersStep()
        self.design = DesignStep()
        self.rating = RatingStep(runner)
        self.review = ReviewStep()
        self.importing = ImportStep()
        # The steps before the import, each checking its own fields before the wizard moves on.
        checked = (self.cases, self.truth, self.readers, self.design, self.rating, self.review)
        self.checks: list[_Checks] = list(checked)
        self.steps: list[QWidget] = [*checked, self.importing]
        self.step_list = QListWidget()
        self.step_list.setProperty("role", "steps")
        self.step_list.setFixedWidth(230)
        self.step_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for i, name in enumerate(STEPS, start=1):
            self.step_list.addItem(QListWidgetItem(f"{i}  {name}"))
        self.step_list.itemClicked.connect(lambda item: self._jump(self.step_list.row(item)))
        self.pages = QStackedWidget()
        for step in self.steps:
            self.pages.addWidget(step)
        self.note = Note()
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.cancelled.emit)
        self.back = QPushButton("Back")
        self.back.clicked.connect(lambda: self.go(self.index - 1))
        self.next = QPushButton("Next")
        self.next.setProperty("role", "primary")
        self.next.clicked.connect(self.advance)
        bar = QHBoxLayout()
        bar.addWidget(self.note, 1)
        bar.addStretch(0)
        for button in (self.cancel, self.back, self.next):
            button.setMinimumWidth(150)
            button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            bar.addWidget(button)
        right = QVBoxLayout()
        right.addWidget(self.pages, 1)
        right.addLayout(bar)
        layout = QHBoxLayout(self)
        layout.addWidget(self.step_list)
        layout.addLayout(right, 1)

        self._fields: dict[str, tuple[int, Note]] = {
            "cases": (0, self.cases.note),
            "truth": (1, self.truth.note),
            "meta": (1, self.truth.meta_note),
            "readers": (2, self.readers.note),
            "modalities": (2, self.readers.modalities_note),
            "design": (3, self.design.note),
            "rating": (4, self.rating.rating_note),
            "ai": (4, self.rating.ai_note),
            "folder": (5, self.review.folder_note),
            "name": (5, self.review.name_note),
        }
        for step in (self.truth, self.readers, self.design, self.rating, self.review):
            step.changed.connect(self._schedule_refresh)
        self.importing.open_requested.connect(self.study_created.emit)
        self.truth.meta.changed.connect(lambda _text: self._check_meta())
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(150)
        self._refresh.timeout.connect(self._refresh_views)
        self.index: int = 0
        self.go(0)

    # -- the inputs --------------------------------------------------------------------------
    def spec(self, *, for_check: bool = False) -> StudySpec:
        """The inputs as ``study init`` takes them (a stand-in folder while none is chosen,
        when only checking)."""
        folder = self.review.folder.path
        if folder is None and for_check:
            folder = CHECK_FOLDER
        readers = self.readers.readers()
        return StudySpec(
            folder=folder or Path(),
            cases=self.cases.folder.path or Path(),
            truth=self.truth.truth.path or Path(),
            readers=tuple(r for r, _ in readers),
            names=tuple(n for _, n in readers),
            meta=self.truth.meta.path,
            design=self.design.design,
            washout_days=self.design.washout.value(),
            seed=self.design.seed.value(),
            idle_timeout_s=self.design.idle.value(),
            modalities=(self.readers.reference.text().strip(), self.readers.aided.text().strip()),
            binary_call=self.rating.binary.isChecked(),
            confidence=ConfidenceScale(self.rating.confidence.currentText()),
            ai=self.rating.ai.path if self.rating.imported.isChecked() else None,
            ai_method=self.rating.method.currentText() or "asymmetry",
            name=self.review.name.text().strip() or None,
            description=self.review.description.text().strip(),
        )

    def field_of(self, message: str, spec: StudySpec) -> str | None:
        """Which field a refusal of ``study init`` is about (None: no single field)."""
        message = message.removeprefix("study init: ")
        head = message.split(":", 1)[0]
        prefixes: list[tuple[str, str]] = [
            ("--readers", "readers"),
            ("--names", "readers"),
            ("--modalities", "modalities"),
            ("--washout-days", "design"),
            ("--seed", "design"),
            ("--idle-timeout", "design"),
            ("--design", "design"),
            ("--confidence", "rating"),
            ("--no-binary-call", "rating"),
            ("--ai-method", "ai"),
            ("--name", "name"),
            ("--cases", "cases"),
            ("case ", "cases"),
            ("--truth", "truth"),
            (str(spec.truth), "truth"),
            ("--meta", "meta"),
            ("--ai", "ai"),
            ("readers", "readers"),
            ("reader id", "readers"),
            ("modalities", "modalities"),
            ("washout_days", "design"),
            ("seed", "design"),
            ("idle_timeout_s", "design"),
            ("design", "design"),
            ("a crossover", "design"),
            ("rating", "rating"),
            ("name", "name"),
            (str(spec.folder), "folder"),
        ]
        if spec.ai is not None:
            prefixes.insert(0, (str(spec.ai), "ai"))
        for prefix, key in prefixes:
            if head.startswith(prefix) or message.startswith(prefix):
                return key
        return None

    def show_refusal(self, message: str, spec: StudySpec) -> int | None:
        """Show ``message`` beside its field; the index of the field's step (None: general)."""
        key = self.field_of(message, spec)
        if key is None:
            self.note.error(message)
            return None
        index, note = self._fields[key]
        note.error(message)
        return index

    # -- navigation --------------------------------------------------------------------------
    def go(self, index: int) -> None:
        index = max(0, min(index, len(self.steps) - 1))
        self.index = index
        self.pages.setCurrentIndex(index)
        self.step_list.setCurrentRow(index)
        for row in range(self.step_list.count()):
            item = self.step_list.item(row)
            color = COLORS.text if row <= index else COLORS.muted
            item.setForeground(QColor(color))
        self.note.clear()
        self.back.setEnabled(0 < index < len(self.steps) - 1)
        self.next.setVisible(index < len(self.steps) - 1)
        self.next.setText("Create the study" if index == 5 else "Next")
        if self.steps[index] is self.rating:
            self.rating.truth_cases = self.truth.result.cases if self.truth.result else []
            self.rating.load_methods()
        self._refresh_views()

    def _jump(self, index: int) -> None:
        if index < self.index and self.index < len(self.steps) - 1:
            self.go(index)
        else:
            self.step_list.setCurrentRow(self.index)

    def advance(self) -> None:
        """Check this step (its own fields, then the command's dry run) and move on."""
        if not self.checks[self.index].validate():
            return
        spec = self.spec(for_check=self.index < 5)
        try:
            spec.check()
        except ReaderStudyError as exc:
            index = self.show_refusal(str(exc), spec)
            if index is None or index <= self.index:
                if index is not None and index < self.index:
                    self.go(index)
                    self.show_refusal(str(exc), spec)
                return
        if self.index == 5:
            self._create_study(spec)
            return
        self.go(self.index + 1)

    def _create_study(self, spec: StudySpec) -> None:
        """Run ``study init`` on a worker thread, the import step showing its progress."""
        self.go(6)
        self.importing.started(len(self.cases.rows) or 1)
        self.cancel.setEnabled(False)

        def failed(message: str, _exc: BaseException) -> None:
            self.importing.failed(message)
            self.show_refusal(message, spec)
            self.cancel.setEnabled(True)
            self.back.setEnabled(True)
            self.back.clicked.disconnect()
            self.back.clicked.connect(self._back_from_import)

        def done(report: InitReport) -> None:
            self.importing.finished(report)
            self.cancel.setEnabled(True)
            self.cancel.setText("Close")

        self.runner.run(
            lambda context: spec.create(progress=context.progress),
            progress=self.importing.progress,
            done=done,
            failed=failed,
        )

    def _back_from_import(self) -> None:
        self.back.clicked.disconnect()
        self.back.clicked.connect(lambda: self.go(self.index - 1))
        self.go(5)

    def _check_meta(self) -> None:
        """cases.csv through the command's checks as soon as it is chosen."""
        note = self.truth.meta_note
        note.clear()
        spec = self.spec(for_check=True)
        if spec.meta is None:
            return
        try:
            spec.check()
        except ReaderStudyError as exc:
            if self.field_of(str(exc), spec) == "meta":
                note.error(str(exc))
            else:
                note.notice("cases.csv is checked once the cases and the truth table are accepted")
            return
        note.ok("cases.csv accepted: every case once, sides left, right or none")

    # -- live views --------------------------------------------------------------------------
    def _schedule_refresh(self) -> None:
        self._refresh.start()

    def _refresh_views(self) -> None:
        """The balance preview and the study.toml follow every change."""
        for note in (self.readers.note, self.readers.modalities_note, self.design.note):
            note.clear()
        self.rating.rating_note.clear()
        self.review.folder_note.clear()
        self.review.name_note.clear()
        spec = self.spec(for_check=True)
        try:
            spec.definition()
        except ReaderStudyError as exc:
            self.show_refusal(str(exc), spec)
            self.review.show_spec(None, f"# not valid yet: {exc}")
            return
        self.design.show_preview(spec, self.truth.result)
        # Until a folder is chosen the preview names the study after a stand-in folder.
        shown = spec if self.review.folder.path else replace(spec, folder=Path("new-study"))
        self.review.show_spec(shown, None)
