"""Small real studies for the workstation tests: 64x64x12 NIfTI phantoms, AI masks, atlas.

The folder is laid out by the study tests' ``write_study_folder`` (what ``study init``
writes); the placeholder images are replaced by head-like scans on which the case loader
really runs, and each aided case gets a lesion likelihood and a warped-atlas label map on the
scan's grid, as ``study precompute`` writes them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.anatomy.labels import LABELS
from readerstudy.study.clock import SimulatedTime
from readerstudy.study.protocol import Study
from tests.study.conftest import PIN, write_study_folder

SHAPE = (12, 64, 64)
"""(slices, rows, cols) of every test scan."""


def _scan_image(values: np.ndarray):
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(values)
    image.SetSpacing((0.45, 0.45, 5.0))
    image.SetOrigin((-14.4, -14.4, 0.0))
    return image


def write_phantom_scan(path: Path, seed: int) -> None:
    """A skull ring around 35 HU brain with a 24 HU wedge in the patient's left (LPS +x)."""
    import SimpleITK as sitk

    rng = np.random.default_rng(seed)
    n, rows, cols = SHAPE
    yy, xx = np.mgrid[:rows, :cols]
    r = np.hypot(yy - rows / 2, xx - cols / 2)
    plane = np.full((rows, cols), -1000, np.int16)
    plane[r < 26] = 35
    plane[(r >= 26) & (r < 30)] = 1200
    plane[(r < 20) & (xx > 40)] = 24
    values = np.repeat(plane[None], n, axis=0)
    values = values + rng.integers(-3, 4, size=values.shape).astype(np.int16)
    sitk.WriteImage(_scan_image(values), str(path))


def write_ai_images(folder: Path, case: str) -> None:
    """Likelihood over the wedge and two atlas regions (M2 of each side), on the scan grid."""
    import SimpleITK as sitk

    likelihood = np.zeros(SHAPE, np.float32)
    likelihood[:, 24:40, 44:58] = 0.85
    labels = np.zeros(SHAPE, np.uint8)
    labels[:, 16:48, 36:60] = LABELS["M2_left"]
    labels[:, 16:48, 4:28] = LABELS["M2_right"]
    for sub, values in (("masks", likelihood), ("atlas", labels)):
        (folder / "ai" / sub).mkdir(parents=True, exist_ok=True)
        sitk.WriteImage(_scan_image(values), str(folder / "ai" / sub / f"{case}.nii.gz"))


@pytest.fixture
def sim_time() -> SimulatedTime:
    return SimulatedTime()


@pytest.fixture
def gui_study(tmp_path, sim_time):
    """``gui_study(**kw) -> Path``: a locked study of real small scans, PIN 2468 for all."""

    def make(*, n_cases: int = 3, readers=("r1",), confidence: str = "none", **kw) -> Path:
        folder = tmp_path / f"study-{len(list(tmp_path.iterdir()))}"
        spec = write_study_folder(
            folder, n_cases=n_cases, readers=readers, confidence=confidence, **kw
        )
        for i, case in enumerate(sorted(p.name for p in (folder / "cases").iterdir())):
            write_phantom_scan(folder / "cases" / case / "image.nii.gz", seed=i)
            write_ai_images(folder, case)
        with Study.open(folder, time=sim_time, create=True) as study:
            study.lock()
            for reader in spec.reader_ids:
                study.set_pin(reader, PIN)
        return folder

    return make


@pytest.fixture
def open_window(qtbot, sim_time):
    """``open_window(folder) -> WorkstationWindow`` shown offscreen on the simulated clock;
    every window is closed (logging out) at the end unless the test abandoned it."""
    from readerstudy.gui.app import open_window as build

    windows = []

    def make(folder: Path, **kw):
        window = build(folder, time=sim_time, keymap_file=Path("/nonexistent/keymap.toml"), **kw)
        qtbot.addWidget(window)
        window.resize(1600, 900)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=2000)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.workstation.close()
