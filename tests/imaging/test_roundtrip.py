"""Writer -> loader round trips: every vendor flavour, shuffled names, compression, tilt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from readerstudy.imaging import load_volume, write_dicom_series


def _resampled_at_source(volume_image: sitk.Image, source: sitk.Image) -> np.ndarray:
    """Loaded HU sampled at the source's physical voxel centres (world geometry check)."""
    out = sitk.Resample(volume_image, source, sitk.Transform(), sitk.sitkLinear, np.nan)
    return sitk.GetArrayFromImage(out)


def _interior(source: sitk.Image, margin: int) -> np.ndarray:
    """Voxels whose neighbourhood of ``margin`` voxels holds a single HU value.

    Interpolation (tilting in the writer, untilting in the loader) mixes neighbours, so exact
    agreement is expected away from edges and from the volume border (outside is not data).
    """
    hu = sitk.GetArrayFromImage(source)
    footprint = np.ones((2 * margin + 1,) * 3, dtype=bool)
    lo = ndimage.minimum_filter(hu, footprint=footprint, mode="constant", cval=-1e6)
    hi = ndimage.maximum_filter(hu, footprint=footprint, mode="constant", cval=1e6)
    return lo == hi


@pytest.mark.parametrize("vendor", ["ge", "ge-hu", "philips", "siemens"])
@pytest.mark.parametrize("compression", [None, "rle", "j2k", "jpegls"])
def test_untilted_round_trip_is_exact(
    tmp_path: Path, phantom: sitk.Image, vendor: str, compression: str | None
) -> None:
    write_dicom_series(
        phantom, tmp_path, vendor=vendor, compression=compression, shuffle_names=True, seed=3
    )
    volume = load_volume(tmp_path)
    assert volume.tilt_deg == 0.0
    assert volume.image.GetSize() == phantom.GetSize()
    np.testing.assert_allclose(volume.image.GetOrigin(), phantom.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(volume.image.GetSpacing(), phantom.GetSpacing(), atol=1e-4)
    np.testing.assert_allclose(volume.image.GetDirection(), phantom.GetDirection(), atol=1e-6)
    np.testing.assert_allclose(volume.hu, sitk.GetArrayFromImage(phantom), atol=0.5)


@pytest.mark.parametrize("tilt", [7.5, 18.0, 30.0, -22.0])
def test_tilted_series_is_corrected_to_source_world_geometry(
    tmp_path: Path, phantom: sitk.Image, tilt: float
) -> None:
    files = write_dicom_series(phantom, tmp_path, vendor="ge", tilt_deg=tilt, seed=5)
    volume = load_volume(tmp_path)
    assert volume.tilt_deg == pytest.approx(abs(tilt), abs=0.01)
    direction = np.array(volume.image.GetDirection()).reshape(3, 3)
    np.testing.assert_allclose(direction.T @ direction, np.eye(3), atol=1e-6)
    # The series really is tilted: its orientation is not the source's.
    import pydicom

    iop = [float(v) for v in pydicom.dcmread(files[0]).ImageOrientationPatient]
    assert abs(iop[4] - np.cos(np.radians(tilt))) < 1e-5
    loaded = _resampled_at_source(volume.image, phantom)
    source = sitk.GetArrayFromImage(phantom)
    inside = _interior(phantom, margin=2)
    # A fifth of all voxels, covering air, brain, ventricles and the lesion, not a sliver.
    assert inside.mean() > 0.2
    assert {-1024.0, 35.0, 5.0, 22.0} <= set(np.unique(source[inside]).tolist())
    np.testing.assert_allclose(loaded[inside], source[inside], atol=0.5)


def test_tilt_correction_differs_from_ignoring_the_tilt(tmp_path: Path, phantom: sitk.Image):
    """Stacking tilted slices as if orthogonal would misplace the lesion: the check has teeth."""
    write_dicom_series(phantom, tmp_path, vendor="ge", tilt_deg=25.0, seed=5)
    volume = load_volume(tmp_path)
    loaded = _resampled_at_source(volume.image, phantom)
    source = sitk.GetArrayFromImage(phantom)
    sheared = np.roll(source, 3, axis=0)  # what a shear of a few slices looks like
    inside = _interior(phantom, margin=2)
    assert np.abs(loaded[inside] - source[inside]).max() <= 0.5
    assert np.abs(sheared[inside] - source[inside]).max() > 100


def test_multiframe_enhanced_ct_round_trip(tmp_path: Path, phantom: sitk.Image) -> None:
    files = write_dicom_series(phantom, tmp_path, vendor="philips", multiframe=True, seed=2)
    assert len(files) == 1
    volume = load_volume(files[0])
    np.testing.assert_allclose(volume.image.GetOrigin(), phantom.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(volume.hu, sitk.GetArrayFromImage(phantom), atol=0.5)


@pytest.mark.parametrize("compression", ["rle", "jpegls"])
def test_multiframe_compressed_tilted(tmp_path: Path, phantom: sitk.Image, compression: str):
    write_dicom_series(
        phantom, tmp_path, vendor="siemens", multiframe=True, compression=compression, tilt_deg=12
    )
    volume = load_volume(tmp_path)
    assert volume.tilt_deg == pytest.approx(12.0, abs=0.01)
    inside = _interior(phantom, margin=2)
    loaded = _resampled_at_source(volume.image, phantom)
    np.testing.assert_allclose(loaded[inside], sitk.GetArrayFromImage(phantom)[inside], atol=0.5)


def test_rotated_source_direction_is_preserved(tmp_path: Path, phantom: sitk.Image) -> None:
    """A source with a non-identity direction (a rotated head grid) keeps its world geometry."""
    angle = np.radians(10.0)
    rot = np.array(
        [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    )
    phantom.SetDirection(rot.ravel().tolist())
    write_dicom_series(phantom, tmp_path, vendor="ge-hu", shuffle_names=True, seed=9)
    volume = load_volume(tmp_path)
    np.testing.assert_allclose(volume.image.GetDirection(), phantom.GetDirection(), atol=1e-5)
    np.testing.assert_allclose(volume.hu, sitk.GetArrayFromImage(phantom), atol=0.5)


def test_writer_habits_are_in_the_headers(tmp_path: Path, phantom: sitk.Image) -> None:
    import pydicom

    ge = pydicom.dcmread(write_dicom_series(phantom, tmp_path / "ge", vendor="ge", seed=1)[0])
    assert (ge.PixelRepresentation, ge.PixelPaddingValue, float(ge.RescaleIntercept)) == (
        1,
        -2000,
        -1024.0,
    )
    assert (ge.pixel_array == -2000).any()  # padding outside the reconstruction circle
    ph = pydicom.dcmread(write_dicom_series(phantom, tmp_path / "ph", vendor="philips")[0])
    assert (ph.PixelRepresentation, ph.BitsStored, float(ph.RescaleIntercept)) == (0, 12, -1024)
    assert list(ge.ImageType) == ["ORIGINAL", "PRIMARY", "AXIAL"]
    assert (ge.Modality, ge.ConvolutionKernel, float(ge.KVP)) == ("CT", "STANDARD", 120.0)
    files = write_dicom_series(phantom, tmp_path / "sh", shuffle_names=True, seed=4)
    assert all(f.suffix == "" for f in files)
    numbers = [int(pydicom.dcmread(f).InstanceNumber) for f in files]
    assert numbers != sorted(numbers)  # instance numbers scrambled too: sorting must ignore them
    again = write_dicom_series(phantom, tmp_path / "sh2", shuffle_names=True, seed=4)
    assert [f.name for f in again] == [f.name for f in files]


def test_writer_rejects_bad_arguments(tmp_path: Path, phantom: sitk.Image) -> None:
    with pytest.raises(ValueError, match="vendor must be one of"):
        write_dicom_series(phantom, tmp_path, vendor="toshiba")
    with pytest.raises(ValueError, match="compression must be"):
        write_dicom_series(phantom, tmp_path, compression="zip")
    with pytest.raises(ValueError, match="tilt_deg"):
        write_dicom_series(phantom, tmp_path, tilt_deg=60)
    with pytest.raises(TypeError, match="3-D SimpleITK image"):
        write_dicom_series(sitk.GetArrayFromImage(phantom), tmp_path)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "syntax",
    [
        "1.2.840.10008.1.2",  # Implicit VR Little Endian
        "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian
    ],
)
def test_other_native_syntaxes_give_the_same_hu(tmp_path: Path, phantom: sitk.Image, syntax):
    """Pixel data read straight from the file (implicit VR) or after inflating (deflated)."""
    import pydicom

    files = write_dicom_series(phantom, tmp_path / "src", vendor="ge", shuffle_names=True)
    expected = load_volume(tmp_path / "src").hu
    (tmp_path / "out").mkdir()
    for f in files:
        ds = pydicom.dcmread(f)
        ds.file_meta.TransferSyntaxUID = syntax
        ds.save_as(tmp_path / "out" / f.name, implicit_vr=syntax == "1.2.840.10008.1.2")
    written = pydicom.dcmread(tmp_path / "out" / files[0].name, stop_before_pixels=True)
    assert written.file_meta.TransferSyntaxUID == syntax
    np.testing.assert_array_equal(load_volume(tmp_path / "out").hu, expected)
