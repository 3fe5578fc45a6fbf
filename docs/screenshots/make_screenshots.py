"""Screenshots of the workstation for docs/rater.md, taken from real windows (``make screenshots``).

Run under an X server (``make screenshots`` starts Xvfb at 1920x1080): builds a small study
from synthetic phantoms with the embedded model's AI outputs (cached in
``build/screenshots``), opens the workstation maximised on the xcb platform, drives it with
key presses through Qt's own event path, and grabs the screen after each step into
``docs/screenshots/*.png``. Time is simulated so session 2's washout can pass.
"""

from __future__ import annotations

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
    from readerstudy.phantoms import write_phantom_set
    from readerstudy.study.definition import Design
    from readerstudy.study.importer import init_study
    from readerstudy.study.precompute import precompute_ai
    from readerstudy.study.protocol import Study

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


def main() -> int:
    if not os.environ.get("DISPLAY"):
        print("make_screenshots: no X display; run it through `make screenshots` (Xvfb)")
        return 2
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    study = build_study()

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from readerstudy.gui.app import open_window
    from readerstudy.study.clock import SimulatedTime

    time = SimulatedTime()
    window = open_window(study, time=time, keymap_file=Path(os.devnull))
    app = QApplication.instance()
    # Xvfb has no window manager to honour "maximised": take the whole screen explicitly.
    window.setGeometry(window.screen().availableGeometry())
    window.show()
    OUT.mkdir(parents=True, exist_ok=True)

    def settle(ms: int = 400) -> None:
        QTest.qWait(ms)
        app.processEvents()

    def shot(name: str) -> None:
        settle()
        path = OUT / f"{name}.png"
        window.screen().grabWindow(0).save(str(path))
        print(f"wrote {path.relative_to(ROOT)}")

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
    shot("login")
    window.login_view.pin.clear()
    log_in(1)
    shot("sessions")
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
    shot("read-unaided")
    key(Qt.Key.Key_Return)
    shot("confirm")
    key(Qt.Key.Key_Escape)
    key(Qt.Key.Key_F1)
    shot("help")
    key(Qt.Key.Key_F1)
    key(Qt.Key.Key_Space)
    shot("pause")
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
    shot("read-aided")
    window.close()
    window.workstation.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
