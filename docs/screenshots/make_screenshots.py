"""Screenshots of the workstation (docs/rater.md) and the coordinator's console
(docs/coordinator.md), taken from real windows (``make screenshots``).

Run under an X server (``make screenshots`` starts Xvfb at 1920x1080): builds a small study
from synthetic phantoms with the embedded model's AI outputs (cached in
``build/screenshots``), opens the workstation maximised on the xcb platform, drives it with
key presses through Qt's own event path, and grabs the screen after each step into
``docs/screenshots/*.png``. Then the console: the new-study wizard on a dozen DICOM phantoms,
the monitoring of that study while simulated readers are part way through it, and the
quick-look gallery of the workstation's study. Time is simulated so washouts can pass.
``make_screenshots.py console`` (or ``workstation``) takes only those.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
WORK = ROOT / "build" / "screenshots"
N_CASES = 3
SEED = 11
PIN = "2468"
READERS = [{"id": "r1", "name": "Reader 1"}, {"id": "r2", "name": "Reader 2"}]


def build_study() -> Path:
    """A locked 3-case study with AI outputs (phantoms and the model cached in WORK)."""
    from readerstudy.study.definition import Design
    from readerstudy.study.protocol import Study
    from readerstudy.workflows.importer import init_study
    from readerstudy.workflows.phantoms import write_phantom_set
    from readerstudy.workflows.precompute import precompute_ai

    phantoms = WORK / "phantoms"
    if not (phantoms / "truth.csv").is_file():
        shutil.rmtree(phantoms, ignore_errors=True)
        write_phantom_set(phantoms, N_CASES, SEED, fmt="nifti")
    study = WORK / "study"
    ai_cache = WORK / "ai-cache"
    if study.exists():
        if (study / "ai").is_dir() and not ai_cache.exists():
            shutil.move(study / "ai", ai_cache)
        shutil.rmtree(study)
    init_study(
        study,
        cases=phantoms,
        truth=phantoms / "truth.csv",
        meta=phantoms / "cases.csv",
        readers=[r["id"] for r in READERS],
        design=Design.SEQUENTIAL,
        washout_days=14,
        seed=SEED,
        name="screenshots",
        definition_overrides={"readers": READERS},
        salt="readerstudy-screenshots",
    )
    if ai_cache.is_dir():
        shutil.copytree(ai_cache, study / "ai", dirs_exist_ok=True)
    with Study.open(study, create=True) as opened:
        precompute_ai(opened)
        opened.lock()
        for reader in READERS:
            opened.set_pin(reader["id"], PIN)
    return study


def settle(ms: int = 400) -> None:
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    QTest.qWait(ms)
    QApplication.instance().processEvents()


def shot(window, name: str) -> None:
    """The whole screen (the window fills it) into docs/screenshots/<name>.png."""
    settle()
    path = OUT / f"{name}.png"
    window.screen().grabWindow(0).save(str(path))
    print(f"wrote {path.relative_to(ROOT)}")


def workstation_shots(study: Path) -> None:
    """Login, sessions, unaided and aided reads, confirm, help and pause."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from readerstudy.gui.app import close_now, open_window
    from readerstudy.study.clock import SimulatedTime

    time = SimulatedTime()
    window = open_window(study, time=time, keymap_file=Path(os.devnull))
    app = QApplication.instance()
    # Xvfb has no window manager to honour "maximised": take the whole screen explicitly.
    window.setGeometry(window.screen().availableGeometry())
    window.show()

    def key(k, text: str = "", modifier=Qt.KeyboardModifier.NoModifier) -> None:
        target = QApplication.focusWidget() or window
        QTest.keyClick(target, k, modifier)
        app.processEvents()

    def log_in(reader_row: int) -> None:
        view = window.login_view
        view.readers.setCurrentRow(reader_row)
        view.pin.setFocus()
        QTest.keyClicks(view.pin, PIN)
        key(Qt.Key.Key_Return)
        settle(600)

    def read_case(keys=()) -> None:
        time.advance(25)
        for k in keys:
            key(k)
        key(Qt.Key.Key_Return)
        key(Qt.Key.Key_Return)
        settle(200)

    settle(1000)
    window.activateWindow()
    settle()

    # Reader 2 finished session 1 yesterday: their session list shows session 2 locked.
    log_in(1)
    for _ in range(N_CASES):
        read_case()
    key(Qt.Key.Key_Return)
    time.advance(86400)
    window.login_view.readers.setCurrentRow(0)
    window.login_view.pin.setFocus()
    QTest.keyClicks(window.login_view.pin, PIN[:3])
    shot(window, "login")
    window.login_view.pin.clear()
    log_in(1)
    shot(window, "sessions")
    key(Qt.Key.Key_Escape)

    # Reader 1, unaided: a few calls made, the ganglionic level, the stroke window.
    log_in(0)
    viewer = window.read_view.viewer
    volume = viewer.volume
    viewer.set_slice(int(volume.hu.shape[0] * 0.45))
    key(Qt.Key.Key_F3)
    time.advance(20)
    for k in (Qt.Key.Key_S, Qt.Key.Key_D):
        key(k)
    shot(window, "read-unaided")
    key(Qt.Key.Key_Return)
    shot(window, "confirm")
    key(Qt.Key.Key_Escape)
    key(Qt.Key.Key_F1)
    shot(window, "help")
    key(Qt.Key.Key_F1)
    key(Qt.Key.Key_Space)
    shot(window, "pause")
    key(Qt.Key.Key_Space)
    key(Qt.Key.Key_Return)
    key(Qt.Key.Key_Return)
    settle(200)
    for _ in range(N_CASES - 1):
        read_case()
    key(Qt.Key.Key_Return)

    # Session 2 after the washout: aided, with the lesion map and the atlas outlines.
    time.advance(15 * 86400)
    log_in(0)
    read = window.read_view
    for _ in range(N_CASES):
        volume = read.viewer.volume
        if volume.ai_mask is not None and volume.ai_mask.max() > 0.5:
            break
        read_case()
    volume = read.viewer.volume
    if volume.ai_mask is not None:
        per_slice = volume.ai_mask.reshape(volume.ai_mask.shape[0], -1).sum(axis=1)
        read.viewer.set_slice(int(per_slice.argmax()))
    key(Qt.Key.Key_K)  # the reader agrees with the model on M2 of the patient's left
    shot(window, "read-aided")
    workstation = window.workstation
    close_now(window)
    workstation.close()


CONSOLE_CASES = 12
CONSOLE_READERS = [
    ("r1", "Dr Ada Berg"),
    ("r2", "Dr Ben Cole"),
    ("r3", "Dr Cleo Dunn"),
    ("r4", "Dr Dev Eze"),
    ("r5", "Dr Eva Fox"),
    ("r6", "Dr Finn Gray"),
]


def console_source() -> Path:
    """A dozen DICOM phantoms (mixed vendors, some tilted), a truth table with two bad rows
    beside the good one, and another product's AI outputs (cached in WORK)."""
    import csv

    from readerstudy.workflows.phantoms import write_phantom_set

    source = WORK / "console-source"
    if not (source / "truth.csv").is_file():
        shutil.rmtree(source, ignore_errors=True)
        write_phantom_set(source, CONSOLE_CASES, SEED + 1, fmt="dicom")
    with (source / "truth.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    bad = [list(r) for r in rows]
    bad[7][1] = "M7_left"
    bad[30][2] = "2"
    write_rows(source / "truth-draft.csv", bad)
    ai = [["case", "unit", "probability", "call"]]
    for case, unit, truth in rows[1:]:
        # a product that finds most lesions: the truth, blurred by the case's position
        probability = 0.75 if truth == "1" else 0.08 + 0.02 * (len(case) % 5)
        ai.append([case, unit, f"{probability:.2f}", str(int(probability >= 0.5))])
    write_rows(WORK / "other-product" / "ai_regions.csv", ai)
    return source


def write_rows(path: Path, rows: list[list[str]]) -> None:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)


def read_part(folder: Path, time, reader: str, n: int, *, leave_open: bool = False) -> None:
    """``reader`` reads ``n`` cases of their current session through the reading API (a
    simulated reader: calls near the truth, reading times around three minutes)."""
    import csv
    import random

    from readerstudy.study.protocol import Study

    rng = random.Random(f"{reader}:{n}")
    with (folder / "schedule.csv").open(newline="") as handle:
        plan = {(r["reader"], r["session"], r["code"]): r["case"] for r in csv.DictReader(handle)}
    with (folder / "truth.csv").open(newline="") as handle:
        truth = {(r["case"], r["unit"]): int(r["truth"]) for r in csv.DictReader(handle)}
    with Study.open(folder, time=time) as study:
        session = study.login(reader, PIN)
        for _ in range(n):
            view = session.current
            if view is None:
                break
            reading, spent = rng.lognormvariate(5.2, 0.35), 0.0
            while spent < reading:  # a slice step every 15 s or so keeps the reader active
                step = min(rng.uniform(5, 25), reading - spent)
                time.advance(step)
                spent += step
                session.record_slice(rng.randrange(0, 30))
            case = plan[(reader, str(view.session), view.code)]
            answers = {}
            for unit in view.units:
                call = truth[(case, unit)] if rng.random() > 0.12 else 1 - truth[(case, unit)]
                answers[unit] = {"call": call, "rating": 4 if call else 2}
            session.submit(answers)
            session.advance()
        if not leave_open:  # a workstation that dies leaves its case open
            session.close()
    time.advance(600)


def console_shots(workstation_study: Path) -> None:
    """The wizard's steps, monitoring part way through a study, the quick-look gallery."""
    from readerstudy.gui.app import close_now
    from readerstudy.gui.console.app import open_console
    from readerstudy.study.clock import SimulatedTime
    from readerstudy.study.protocol import LoginError, Study

    source = console_source()
    folder = WORK / "console-study"
    shutil.rmtree(folder, ignore_errors=True)
    time = SimulatedTime()
    window = open_console(time=time)
    window.setGeometry(window.screen().availableGeometry())
    window.show()
    settle(800)

    def until(condition, ms: int = 120000) -> None:
        waited = 0
        while not condition() and waited < ms:
            settle(100)
            waited += 100
        if not condition():
            raise RuntimeError("make_screenshots: the console did not get there in time")

    wizard = window.new_study()
    wizard.cases.folder.set_path(source)
    until(lambda: len(wizard.cases.rows) == CONSOLE_CASES)
    shot(window, "console-wizard-cases")
    wizard.advance()
    wizard.truth.truth.set_path(source / "truth-draft.csv")
    until(lambda: wizard.truth.result is not None)
    shot(window, "console-wizard-truth")
    wizard.truth.truth.set_path(source / "truth.csv")
    until(lambda: wizard.truth.result is not None)
    wizard.truth.meta.set_path(source / "cases.csv")
    wizard.advance()
    wizard.readers.set_readers(CONSOLE_READERS)
    wizard.advance()
    wizard.design.crossover.setChecked(True)
    wizard.design.seed.setValue(2022)
    settle(600)
    shot(window, "console-wizard-design")
    wizard.advance()
    wizard.rating.confidence.setCurrentText("1-5")
    wizard.rating.imported.setChecked(True)
    wizard.rating.ai.set_path(WORK / "other-product" / "ai_regions.csv")
    settle()
    shot(window, "console-wizard-rating")
    wizard.advance()
    wizard.review.folder.set_path(folder)
    wizard.review.description.setText("pilot with the other product, crossover")
    wizard.review.description.editingFinished.emit()
    settle(600)
    shot(window, "console-wizard-review")
    wizard.advance()
    until(lambda: wizard.importing.report is not None, ms=900000)
    shot(window, "console-wizard-import")
    wizard.importing.open.click()
    settle(800)

    # Before reading: PINs and the lock, through the console.
    study = window.study
    prepare = study.prepare
    study.tabs.setCurrentWidget(prepare)
    for reader, _ in CONSOLE_READERS:
        prepare.pin_reader.setCurrentText(reader)
        prepare.pin.setText(PIN)
        prepare.pin_again.setText(PIN)
        prepare.set_pin()
        until(lambda r=reader: prepare.pin_note.text() == f"PIN set for reader {r}")
    prepare.lock()
    until(lambda: prepare.lock_note.text().startswith("locked"))
    settle(600)
    shot(window, "console-prepare-imported")

    # Part way through: who read what, a crash, a wrong PIN, an early session 2.
    for reader, n in (("r1", 12), ("r2", 12), ("r3", 12), ("r5", 3)):
        read_part(folder, time, reader, n)
    read_part(folder, time, "r4", 5, leave_open=True)
    read_part(folder, time, "r4", 3)  # logs in again after the crash
    with Study.open(folder, time=time) as opened, contextlib.suppress(LoginError):
        opened.login("r6", "0000")  # a wrong PIN
    time.advance(2 * 86400)
    monitor = study.monitor
    study.tabs.setCurrentWidget(monitor)
    until(lambda: monitor.snapshot is not None and monitor.snapshot.reads == 47)
    row = next(
        i for i, s in enumerate(monitor.snapshot.sessions) if (s.reader, s.session) == ("r3", 2)
    )
    monitor.sessions.selectRow(row)
    monitor.reason.setText("on leave from next week")
    monitor.override()
    until(lambda: monitor.override_note.text().startswith("session 2 of reader r3"))
    read_part(folder, time, "r3", 4)
    until(lambda: monitor.snapshot.reads == 51)
    monitor.verify()
    until(lambda: monitor.verify_button.isEnabled())
    monitor.sessions.clearSelection()
    shot(window, "console-monitor")

    # The quick-look gallery of the workstation's study (the embedded model's outputs).
    window.open_study(workstation_study)
    window.study.tabs.setCurrentWidget(window.study.prepare)
    tiles = window.study.prepare.gallery.tiles
    # The thumbnails are read on a worker thread: wait for every one, not a fixed time.
    until(
        lambda: (
            tiles.count() and all(not tiles.item(i).icon().isNull() for i in range(tiles.count()))
        )
    )
    shot(window, "console-gallery")
    close_now(window)


def main(argv: list[str]) -> int:
    if not os.environ.get("DISPLAY"):
        print("make_screenshots: no X display; run it through `make screenshots` (Xvfb)")
        return 2
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    parts = argv or ["workstation", "console"]
    OUT.mkdir(parents=True, exist_ok=True)
    study = build_study()
    if "workstation" in parts:
        workstation_shots(study)
    if "console" in parts:
        console_shots(study)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
