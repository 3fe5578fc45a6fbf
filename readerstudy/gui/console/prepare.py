"""Before reading: AI outputs, the quick-look gallery, reader PINs and the lock."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from readerstudy.gui.console.tasks import TaskRunner
from readerstudy.gui.console.widgets import (
    Note,
    cell,
    fit_height,
    label,
    left_row,
    panel,
    set_row,
    table,
)
from readerstudy.gui.theme import COLORS
from readerstudy.workflows.coordinator import (
    AISourceKind,
    BatchError,
    Coordinator,
    LockReport,
    PrecomputeReport,
    QuickLook,
    StudyOverview,
)

_T = TypeVar("_T")

THUMB_WIDTH = 300


class Gallery(QWidget):
    """Every case's quick-look (failed cases first, then those with warnings); a click shows
    it large with the case's reason and warnings, to spot a bad registration before anyone
    reads."""

    def __init__(self, runner: TaskRunner) -> None:
        super().__init__()
        self.runner = runner
        self.large = QLabel()
        self.large.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.large.setMinimumHeight(380)
        self.caption = label("", wrap=True)
        self.summary = label("", "muted", wrap=True)
        self.tiles = QListWidget()
        self.tiles.setProperty("role", "gallery")
        self.tiles.setViewMode(QListView.ViewMode.IconMode)
        self.tiles.setResizeMode(QListView.ResizeMode.Adjust)
        self.tiles.setMovement(QListView.Movement.Static)
        icon = QSize(THUMB_WIDTH, THUMB_WIDTH * 48 // 90)  # quick-looks are 900 x 480
        self.tiles.setIconSize(icon)
        self.tiles.setGridSize(QSize(icon.width() + 24, icon.height() + 44))
        self.tiles.setWordWrap(True)
        self.tiles.currentRowChanged.connect(self._current)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.large)
        layout.addWidget(self.caption)
        layout.addWidget(self.summary)
        layout.addWidget(self.tiles, 1)
        self.looks: list[QuickLook] = []
        self._images: dict[str, QImage] = {}

    def load(self, looks: list[QuickLook]) -> None:
        """Show ``looks``; the pictures are read on a worker thread."""
        self.looks = sorted(looks, key=lambda look: (not look.failed, not look.warnings))
        self._images.clear()
        self.tiles.clear()
        failed = sum(look.failed for look in looks)
        pictured = sum(look.image is not None for look in looks)
        warned = sum(bool(look.warnings) for look in looks)
        self.summary.setText(
            f"{len(looks)} cases, {pictured} with a quick-look, {failed} failed, {warned} with "
            "warnings (listed first). Each picture shows the ganglionic and supraganglionic "
            "levels with the registered atlas outline and the model's likelihood: check that "
            "the outline sits on the brain and the levels are the right ones."
        )
        if not pictured:
            self.large.setText("No quick-looks yet: they appear once the AI outputs are computed.")
            self.caption.clear()
        for look in self.looks:
            text = look.case + ("  FAILED" if look.failed else "  warning" if look.warnings else "")
            item = QListWidgetItem(text)
            if look.failed or look.warnings:
                item.setForeground(QColor(COLORS.error if look.failed else COLORS.warning))
            item.setToolTip("\n".join([look.reason or "", *look.warnings]).strip())
            self.tiles.addItem(item)
        if pictured:
            self.tiles.setCurrentRow(0)
        paths = [(look.case, look.image) for look in looks if look.image is not None]

        def read(context) -> None:
            for case, path in paths:
                image = QImage(str(path))
                if not image.isNull():
                    context.partial((case, image))

        self.runner.run(read, partial=self._picture)

    def _picture(self, value: tuple[str, QImage]) -> None:
        case, image = value
        self._images[case] = image
        row = next((i for i, look in enumerate(self.looks) if look.case == case), None)
        if row is None:
            return
        thumb = QPixmap.fromImage(
            image.scaledToWidth(THUMB_WIDTH, Qt.TransformationMode.SmoothTransformation)
        )
        icon = QIcon()
        for mode in (QIcon.Mode.Normal, QIcon.Mode.Selected):  # no selection tint on a scan
            icon.addPixmap(thumb, mode)
        self.tiles.item(row).setIcon(icon)
        self.tiles.doItemsLayout()
        if self.tiles.currentRow() == row:
            self._current(row)

    def _current(self, row: int) -> None:
        if 0 <= row < len(self.looks):
            self.show_case(self.looks[row].case)

    def show_case(self, case: str) -> None:
        """Show one case's quick-look large, with why it failed and its warnings."""
        row = next(i for i, look in enumerate(self.looks) if look.case == case)
        look = self.looks[row]
        if self.tiles.currentRow() != row:
            self.tiles.setCurrentRow(row)
            return
        image = self._images.get(case)
        if image is not None:
            self.large.setPixmap(
                QPixmap.fromImage(
                    image.scaled(
                        max(self.large.width(), 600),
                        max(self.large.height(), 380),
                        Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    )
                )
            )
        elif look.image is None:
            self.large.setText(f"case {case}: no quick-look (the registration drew none)")
        lines = [f"case {case}" + (f": failed: {look.reason}" if look.failed else "")]
        lines += [f"warning: {w}" for w in look.warnings]
        self.caption.setText("\n".join(lines))


class PrepareView(QWidget):
    """AI outputs, quick-looks, PINs and the lock, each with the CLI's refusals beside it."""

    changed = Signal()
    """The study changed (AI outputs, PINs, lock): the header and other tabs re-read it."""

    def __init__(self, coordinator: Coordinator, runner: TaskRunner) -> None:
        super().__init__()
        self.coordinator = coordinator
        self.runner = runner
        self.overview: StudyOverview | None = None

        ai, ai_layout = panel("AI outputs for the aided reads")
        self.ai_state = label("", wrap=True)
        self.force = QCheckBox("recompute every case (--force)")
        self.precompute_button = QPushButton("Precompute AI outputs")
        self.precompute_button.setProperty("role", "primary")
        self.precompute_button.clicked.connect(self.precompute)
        self.ai_bar = QProgressBar()
        self.ai_bar.hide()
        self.ai_note = Note()
        self.failed = table(("case", "reason"))
        self.failed.setMaximumHeight(180)
        self.failed.hide()
        self.failed.cellClicked.connect(
            lambda row, _col: self.gallery.show_case(cell(self.failed, row, 0).text())
        )
        self.warnings = label("", "muted", wrap=True)
        buttons = left_row(self.precompute_button, self.force)
        for widget in (self.ai_state,):
            ai_layout.addWidget(widget)
        ai_layout.addLayout(buttons)
        ai_layout.addWidget(self.ai_bar)
        ai_layout.addWidget(self.ai_note)
        ai_layout.addWidget(self.failed)
        ai_layout.addWidget(self.warnings)

        pins, pins_layout = panel("Reader PINs")
        self.pin_table = table(("reader", "name", "PIN"))
        self.pin_table.setMaximumHeight(320)
        self.pin_reader = QComboBox()
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setPlaceholderText("4-32 characters")
        self.pin_again = QLineEdit()
        self.pin_again.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_again.setPlaceholderText("the same again")
        self.pin_button = QPushButton("Set PIN")
        self.pin_button.clicked.connect(self.set_pin)
        self.pin_again.returnPressed.connect(self.set_pin)
        self.pin_note = Note()
        form = QFormLayout()
        form.addRow("reader", self.pin_reader)
        form.addRow("new PIN", self.pin)
        form.addRow("repeat", self.pin_again)
        pins_layout.addWidget(self.pin_table)
        pins_layout.addLayout(form)
        pins_layout.addLayout(left_row(self.pin_button))
        pins_layout.addWidget(self.pin_note)

        lock, lock_layout = panel("Lock")
        self.lock_state = label("", wrap=True)
        self.lock_state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.lock_button = QPushButton("Lock the study")
        self.lock_button.setProperty("role", "primary")
        self.lock_button.clicked.connect(self.lock)
        self.lock_note = Note()
        self.create_store = QCheckBox("start a new results store at the shared URL (--create)")
        self.create_store.hide()
        lock_layout.addWidget(
            label(
                "Draws the seeded schedule and records the design hash over the definition, "
                "schedule, cases, truth and AI outputs. Until the first read you may edit "
                "study.toml and lock again; after it nothing can change.",
                "muted",
                wrap=True,
            )
        )
        lock_layout.addWidget(self.lock_state)
        lock_layout.addLayout(left_row(self.lock_button, self.create_store))
        lock_layout.addWidget(self.lock_note)

        gallery, gallery_layout = panel("Quick-look gallery")
        self.gallery: Gallery = Gallery(runner)
        gallery_layout.addWidget(self.gallery, 1)

        left = QVBoxLayout()
        left.addWidget(ai)
        left.addWidget(pins)
        left.addWidget(lock)
        left.addStretch(1)
        column = QWidget()
        column.setLayout(left)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(column)
        scroll.setFixedWidth(660)
        self.gallery_panel = gallery
        layout = QHBoxLayout(self)
        layout.addWidget(scroll, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(gallery, 1)

    # -- state -------------------------------------------------------------------------------
    def show_overview(self, overview: StudyOverview) -> None:
        self.overview = overview
        definition = overview.definition
        imported = definition.ai.source is AISourceKind.IMPORTED
        self.precompute_button.setVisible(not imported)
        self.force.setVisible(not imported)
        self.gallery_panel.setVisible(not imported)
        if imported:
            self.ai_state.setText(
                f"Imported AI outputs ({overview.folder}/ai/ai_regions.csv, SHA-256 "
                f"{definition.ai.model_hash[:12]}): nothing to precompute, and no quick-looks "
                "(the other product gives none)."
            )
        else:
            ready = "ready" if overview.ai_ready else "not computed yet"
            frozen = (
                " Reading has started: they are part of the locked design and stay as they are."
                if overview.reading_started
                else ""
            )
            self.ai_state.setText(
                f"Embedded model, method {definition.ai.method}: AI outputs {ready} for "
                f"{overview.cases} cases (cached by case and model version; a rerun only "
                f"computes what changed).{frozen}"
            )
            self.precompute_button.setEnabled(not overview.reading_started)
        self.pin_table.setRowCount(0)
        current = self.pin_reader.currentText()
        self.pin_reader.clear()
        for i, reader in enumerate(overview.readers):
            state = "set" if reader.has_pin else "not set"
            color = None if reader.has_pin else COLORS.warning
            set_row(self.pin_table, i, (reader.id, reader.name, state), color=color)
            self.pin_reader.addItem(reader.id)
        fit_height(self.pin_table, limit=320)
        if current:
            self.pin_reader.setCurrentText(current)
        if overview.locked:
            design_hash = overview.design_hash or ""
            groups = " ".join(design_hash[i : i + 16] for i in range(0, len(design_hash), 16))
            started = "; reading has started, nothing can change" * overview.reading_started
            self.lock_state.setText(f"Locked{started}. Design hash:\n{groups}")
        else:
            self.lock_state.setText("Not locked yet.")
        self.create_store.setVisible(self.coordinator.db is not None and overview.store is None)
        self.lock_button.setEnabled(not overview.reading_started)
        self.lock_button.setText("Lock again" if overview.locked else "Lock the study")
        self.lock_button.setProperty("role", "" if overview.locked else "primary")
        self.lock_button.setToolTip(
            "after editing study.toml; an unchanged design is left as it is"
            if overview.locked
            else ""
        )
        self.lock_button.style().unpolish(self.lock_button)
        self.lock_button.style().polish(self.lock_button)

    def showEvent(self, event) -> None:
        # Row heights are known once the table is styled and shown.
        fit_height(self.pin_table, limit=320)
        super().showEvent(event)

    def load_gallery(self) -> None:
        self.gallery.load(self.coordinator.quicklooks())

    # -- actions -----------------------------------------------------------------------------
    def precompute(self) -> None:
        """``study precompute`` on a worker thread, with a progress bar."""
        self.ai_note.clear()
        self.failed.hide()
        self.warnings.clear()
        self.ai_bar.setRange(0, 0)
        self.ai_bar.show()
        self.precompute_button.setEnabled(False)
        force = self.force.isChecked()

        def progress(done: int, total: int, text: str) -> None:
            self.ai_bar.setRange(0, total)
            self.ai_bar.setValue(done)
            self.ai_bar.setFormat(f"%v/%m  {text}")

        def done(report: PrecomputeReport) -> None:
            self._finished_precompute()
            self.ai_note.ok(report.summary(self.coordinator.folder))
            self.warnings.setText("\n".join(f"warning: {w}" for w in report.warnings))

        def failed(message: str, exc: BaseException) -> None:
            self._finished_precompute()
            self.ai_note.error(message)
            if isinstance(exc, BatchError):
                self.failed.setRowCount(0)
                for i, failure in enumerate(exc.failures):
                    set_row(self.failed, i, (failure.case, failure.reason), color=COLORS.error)
                self.failed.show()

        self.runner.run(
            lambda context: self.coordinator.precompute(force=force, progress=context.progress),
            progress=progress,
            done=done,
            failed=failed,
        )

    def _finished_precompute(self) -> None:
        self.ai_bar.hide()
        self.precompute_button.setEnabled(True)
        self.load_gallery()
        self.changed.emit()

    def set_pin(self) -> None:
        """``study pin``; a mismatch is refused as the command's prompt refuses it."""
        reader, pin = self.pin_reader.currentText(), self.pin.text()
        if pin != self.pin_again.text():
            self.pin_note.error("Error: The two entered values do not match.")
            return
        self._run(
            lambda: self.coordinator.set_pin(reader, pin),
            self.pin_note,
            lambda _result: f"PIN set for reader {reader}",
        )
        self.pin.clear()
        self.pin_again.clear()

    def lock(self) -> None:
        """``study lock``; locking an unchanged design again says so and changes nothing."""

        def said(report: LockReport) -> str:
            return report.summary()

        create = self.create_store.isChecked()
        self._run(lambda: self.coordinator.lock(create=create), self.lock_note, said)

    def _run(self, action: Callable[[], _T], note: Note, said: Callable[[_T], str]) -> None:
        note.notice("…")

        def done(result: _T) -> None:
            note.ok(said(result))
            self.changed.emit()

        self.runner.run(
            lambda _context: action(),
            done=done,
            failed=lambda message, _exc: note.error(message),
        )
