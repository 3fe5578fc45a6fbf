"""Loading a 40-slice 512x512 CT series: readerstudy vs a bare pydicom loop vs SimpleITK/GDCM."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np


def _series(folder: Path) -> list[Path]:
    import SimpleITK as sitk

    from readerstudy.imaging import write_dicom_series

    rng = np.random.default_rng(0)
    hu = rng.normal(35.0, 20.0, size=(40, 512, 512)).astype(np.float32)
    image = sitk.GetImageFromArray(hu)
    image.SetSpacing((0.45, 0.45, 5.0))
    return write_dicom_series(image, folder, vendor="ge", shuffle_names=True, seed=0)


def run() -> None:
    import pydicom
    import SimpleITK as sitk

    from benchmarks.harness import compare
    from readerstudy.imaging import load_volume

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = _series(folder)

        def candidate() -> None:
            load_volume(folder)

        def bare_pydicom() -> None:
            np.stack([pydicom.dcmread(f).pixel_array for f in files])

        def itk_series_reader() -> None:
            reader = sitk.ImageSeriesReader()
            reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder)))
            reader.Execute()

        compare("load_volume_vs_pydicom_loop", candidate, bare_pydicom, repeats=15, target=1.3)
        compare(
            "load_volume_vs_sitk_series_reader", candidate, itk_series_reader, repeats=9, target=1.0
        )
