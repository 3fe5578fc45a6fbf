"""The alignment quick-look cuts through the warped template, wherever it lies in the scan."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from model.quicklook import registration_quicklook


def _image(values: np.ndarray, spacing: float, origin: tuple[float, float, float]) -> sitk.Image:
    image = sitk.GetImageFromArray(values.astype(np.float32))
    image.SetSpacing((spacing,) * 3)
    image.SetOrigin(origin)
    return image


def test_the_panels_cut_through_the_template_brain_not_the_scan_middle():
    # A 300 mm field of view; the template (a 30 HU ball in an 80 HU shell, 20 mm radius)
    # sits in one corner of it, far from every mid-slice of the scan.
    scan = _image(np.full((60, 60, 60), -1000.0), 5.0, (0.0, 0.0, 0.0))
    z, y, x = np.mgrid[0:40, 0:40, 0:40]
    r = np.sqrt((x - 20) ** 2 + (y - 20) ** 2 + (z - 20) ** 2)
    template = _image(np.where(r < 16, 30.0, np.where(r < 20, 80.0, 0.0)), 1.0, (20.0,) * 3)
    picture = registration_quicklook(scan, template, sitk.Transform())
    red = (picture[..., 0] > 200) & (picture[..., 1] < 80)
    yellow = (picture[..., 0] > 200) & (picture[..., 1] > 200) & (picture[..., 2] < 80)
    for cols in np.array_split(np.arange(picture.shape[1]), 3):
        assert red[:, cols].sum() > 20
        assert yellow[:, cols].sum() > 20
