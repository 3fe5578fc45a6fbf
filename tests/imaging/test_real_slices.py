"""Real CT slices shipped with pydicom and pydicom-data: decoding, HU, geometry.

Files are located with ``get_testdata_file(..., download=False)``: pydicom-data installs
them locally, and a test skips (never downloads) where one is absent.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from readerstudy.imaging import load_volume, read_frames_hu


def real_file(name: str) -> Path:
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is not installed (pydicom-data); nothing is downloaded")
    return Path(path)


def test_693_uncompressed_and_jpeg2000_give_identical_hu() -> None:
    raw, j2k = real_file("693_UNCR.dcm"), real_file("693_J2KR.dcm")
    assert pydicom.dcmread(j2k).file_meta.TransferSyntaxUID == pydicom.uid.JPEG2000Lossless
    hu_raw, hu_j2k = read_frames_hu(raw), read_frames_hu(j2k)
    np.testing.assert_array_equal(hu_raw, hu_j2k)
    # Padding (-2000 stored) is air, the head holds brain (~20-40 HU) and bone.
    ds = pydicom.dcmread(raw)
    assert ds.PixelPaddingValue == -2000
    assert (ds.pixel_array == -2000).any()
    assert hu_raw.min() == -1024.0
    brain = hu_raw[0, 200:300, 200:300]
    assert 0 < np.median(brain) < 80
    assert hu_raw.max() > 1000


def test_693_loads_with_geometry_from_its_header(tmp_path: Path) -> None:
    raw = real_file("693_UNCR.dcm")
    shutil.copy(raw, tmp_path / "slice")
    volume = load_volume(tmp_path, min_slices=1)
    ds = pydicom.dcmread(raw)
    np.testing.assert_allclose(
        volume.image.GetOrigin(), [float(v) for v in ds.ImagePositionPatient]
    )
    spacing = [float(v) for v in ds.PixelSpacing]
    np.testing.assert_allclose(volume.image.GetSpacing()[:2], spacing[::-1])
    assert volume.image.GetSpacing()[2] == pytest.approx(float(ds.SliceThickness))
    np.testing.assert_array_equal(volume.hu, read_frames_hu(raw))


def test_j2k_pixel_representation_mismatch_decodes_signed_hu() -> None:
    """The codestream says unsigned, the header says signed: HU must still be sane."""
    path = real_file("J2K_pixelrep_mismatch.dcm")
    hu = read_frames_hu(path)[0]
    assert hu.min() == -1024.0  # GE's undeclared -2000 outside the FOV is clamped to air
    assert hu.max() > 1000  # skull
    centre = hu[200:312, 200:312]
    assert -100 < np.median(centre) < 100  # soft tissue, not 65536-wrapped garbage


def test_j2k_pixelrep_mismatch_slice_reports_its_tilted_orientation(tmp_path: Path) -> None:
    path = real_file("J2K_pixelrep_mismatch.dcm")
    shutil.copy(path, tmp_path / "a.dcm")
    volume = load_volume(tmp_path, min_slices=1)
    direction = np.array(volume.image.GetDirection()).reshape(3, 3)
    np.testing.assert_allclose(direction[:, 1], [0.0, 0.9272, -0.3746], atol=1e-3)


@pytest.mark.parametrize(
    "compressed",
    ["MR_small_jpeg_ls_lossless.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm"],
)
def test_lossless_syntaxes_decode_to_the_uncompressed_values(compressed: str) -> None:
    """JPEG-LS, RLE and JPEG 2000 decoding (pydicom's MR twins; HU logic is modality-free)."""
    np.testing.assert_array_equal(
        read_frames_hu(real_file(compressed)), read_frames_hu(real_file("MR_small.dcm"))
    )


def test_jpeg_lossless_process14_decodes() -> None:
    path = real_file("JPEG-LL.dcm")
    ds = pydicom.dcmread(path)
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.JPEGLosslessSV1
    hu = read_frames_hu(path)
    assert hu.shape == (1, ds.Rows, ds.Columns)
    assert hu.std() > 0


def test_real_enhanced_ct_multiframe(tmp_path: Path) -> None:
    path = real_file("eCT_Supplemental.dcm")
    shutil.copy(path, tmp_path / "ect.dcm")
    volume = load_volume(tmp_path, min_slices=2)
    assert volume.image.GetSize() == (512, 512, 2)
    assert volume.image.GetSpacing()[2] == pytest.approx(10.0)
    # IOP row direction is -x: the LPS direction matrix keeps it.
    assert volume.image.GetDirection()[0] == pytest.approx(-1.0)
