"""Fixtures for imaging tests: a small piecewise-constant head phantom in HU."""

from __future__ import annotations

import numpy as np
import pytest

sitk = pytest.importorskip("SimpleITK")


def head_phantom(
    size: tuple[int, int, int] = (64, 64, 20),
    spacing: tuple[float, float, float] = (3.5, 3.5, 5.0),
    origin: tuple[float, float, float] = (-110.0, -115.0, 20.0),
) -> sitk.Image:
    """Air, a 1000 HU skull shell, 35 HU brain, 5 HU ventricles and a 22 HU lesion (x, y, z)."""
    nx, ny, nz = size
    z, y, x = np.mgrid[:nz, :ny, :nx].astype(float)
    r = ((x - nx / 2) / (0.42 * nx)) ** 2 + ((y - ny / 2) / (0.45 * ny)) ** 2
    r = r + ((z - nz / 2) / (0.6 * nz)) ** 2
    hu = np.full((nz, ny, nx), -1024.0, dtype=np.float32)
    hu[r < 1.0] = 1000.0
    hu[r < 0.75] = 35.0
    hu[(r < 0.12)] = 5.0
    lesion = ((x - 0.65 * nx) / 6) ** 2 + ((y - 0.45 * ny) / 7) ** 2 + ((z - nz / 2) / 3) ** 2
    hu[lesion < 1.0] = 22.0
    image = sitk.GetImageFromArray(hu)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    return image


@pytest.fixture
def phantom() -> sitk.Image:
    return head_phantom()
