"""Broken series give one clear ImagingError naming the file, series or gap; never a crash."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from readerstudy.imaging import (
    GeometryError,
    ImagingError,
    SeriesSelectionError,
    UnreadableFileError,
    choose_series,
    discover_series,
    load_volume,
    write_dicom_series,
)


def _series(tmp_path: Path, image: sitk.Image, **kwargs) -> list[Path]:
    return write_dicom_series(image, tmp_path, seed=kwargs.pop("seed", 1), **kwargs)


def test_missing_slices_name_the_gap_in_mm(tmp_path: Path, phantom: sitk.Image) -> None:
    files = _series(tmp_path, phantom)  # z = 20, 25, ..., 115 mm
    for f in files[6:8]:  # z = 50 and 55 mm
        f.unlink()
    with pytest.raises(GeometryError, match=r"2 slices missing between z=45\.0 and z=60\.0 mm"):
        load_volume(tmp_path)


def test_one_missing_slice(tmp_path: Path, phantom: sitk.Image) -> None:
    files = _series(tmp_path, phantom, shuffle_names=True)
    files[10].unlink()  # z = 70 mm
    with pytest.raises(GeometryError, match=r"1 slice missing between z=65\.0 and z=75\.0 mm"):
        load_volume(tmp_path)


def test_duplicated_slice_names_both_files(tmp_path: Path, phantom: sitk.Image) -> None:
    files = _series(tmp_path, phantom)
    copy = pydicom.dcmread(files[4])
    copy.SOPInstanceUID = copy.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    copy.save_as(tmp_path / "COPY.dcm")
    with pytest.raises(GeometryError, match=r"duplicated slice position z=40\.00 mm") as err:
        load_volume(tmp_path)
    assert "CT0005.dcm" in str(err.value)
    assert "COPY.dcm" in str(err.value)


def test_mixed_orientation_in_one_series(tmp_path: Path, phantom: sitk.Image) -> None:
    files = _series(tmp_path, phantom)
    ds = pydicom.dcmread(files[3])
    ds.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]
    ds.save_as(files[3])
    with pytest.raises(GeometryError, match=r"mixed orientations in one series.*CT0004\.dcm"):
        load_volume(tmp_path)


def test_mixed_sizes_in_one_series(tmp_path: Path, phantom: sitk.Image) -> None:
    files = _series(tmp_path, phantom)
    small = phantom[:32, :32, :]
    other = write_dicom_series(small, tmp_path / "small", seed=1)
    ds = pydicom.dcmread(other[5])  # same series UID (same seed), z = 45 mm, 32x32 pixels
    ds.ImagePositionPatient[2] = "200"
    ds.save_as(tmp_path / "ODD.dcm")
    shutil.rmtree(tmp_path / "small")
    assert len(files) == 20
    with pytest.raises(GeometryError, match=r"mixed image sizes.*64x64 and 32x32 \(ODD\.dcm\)"):
        load_volume(tmp_path)


def test_irregular_spacing(tmp_path: Path, phantom: sitk.Image) -> None:
    files = _series(tmp_path, phantom)
    ds = pydicom.dcmread(files[9])
    ds.ImagePositionPatient[2] = f"{float(ds.ImagePositionPatient[2]) + 1.2:.3f}"
    ds.save_as(files[9])
    with pytest.raises(GeometryError, match=r"irregular slice spacing: 6\.20 mm"):
        load_volume(tmp_path)


def test_mr_series_is_refused(tmp_path: Path, phantom: sitk.Image) -> None:
    for f in _series(tmp_path, phantom):
        ds = pydicom.dcmread(f)
        ds.Modality = "MR"
        ds.save_as(f)
    (info,) = discover_series(tmp_path)
    assert "modality is MR, not CT" in info.warnings
    with pytest.raises(SeriesSelectionError, match=r"no CT image series found \(found: MR\)"):
        load_volume(tmp_path)
    with pytest.raises(SeriesSelectionError, match=rf"series {info.uid}: modality is MR, not CT"):
        load_volume(tmp_path, series_uid=info.uid)


def test_too_few_slices(tmp_path: Path, phantom: sitk.Image) -> None:
    _series(tmp_path, phantom[:, :, :4])
    with pytest.raises(SeriesSelectionError, match=r"only 4 slice\(s\); at least 5 are needed"):
        load_volume(tmp_path)
    assert load_volume(tmp_path, min_slices=1).image.GetSize()[2] == 4


def test_truncated_file_is_named(tmp_path: Path, phantom: sitk.Image) -> None:
    files = _series(tmp_path, phantom)
    data = files[7].read_bytes()
    files[7].write_bytes(data[: len(data) - 3000])
    with pytest.raises(UnreadableFileError, match=r"CT0008\.dcm: pixel data truncated"):
        load_volume(tmp_path)


def test_truncated_compressed_file_is_named(tmp_path: Path, phantom: sitk.Image) -> None:
    files = _series(tmp_path, phantom, compression="j2k")
    data = files[2].read_bytes()
    files[2].write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableFileError, match=r"CT0003\.dcm"):
        load_volume(tmp_path)


def test_random_bytes_named_dcm(tmp_path: Path, phantom: sitk.Image) -> None:
    _series(tmp_path, phantom)
    rng = np.random.default_rng(0)
    (tmp_path / "noise.dcm").write_bytes(rng.bytes(5000))
    with pytest.raises(UnreadableFileError, match=r"noise\.dcm: not a .*DICOM file"):
        load_volume(tmp_path)
    with pytest.raises(UnreadableFileError, match=r"noise\.dcm"):
        discover_series(tmp_path)
    # Lenient discovery still describes the good series.
    (info,) = discover_series(tmp_path, strict=False)
    assert info.n_slices == 20


def test_non_dicom_files_without_extension_and_non_images_are_ignored(
    tmp_path: Path, phantom: sitk.Image
) -> None:
    _series(tmp_path / "a", phantom, shuffle_names=True)
    (tmp_path / "README").write_text("scanner export notes\n")
    (tmp_path / "a" / ".DS_Store").write_bytes(b"\x00\x01junk")
    sr = pydicom.dcmread(pydicom.data.get_testdata_file("test-SR.dcm", download=False))
    sr.save_as(tmp_path / "report.dcm")
    (info,) = discover_series(tmp_path)
    assert info.n_slices == 20


def test_empty_or_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ImagingError, match="no such file or folder"):
        load_volume(tmp_path / "nope")
    with pytest.raises(SeriesSelectionError, match="no DICOM image series found"):
        load_volume(tmp_path)
    _series(tmp_path, sitk.Image([32, 32, 6], sitk.sitkFloat32))
    with pytest.raises(SeriesSelectionError, match=r"no series 1\.2\.3 \(found: "):
        load_volume(tmp_path, series_uid="1.2.3")


def test_discovery_describes_and_chooses_like_a_radiologist(
    tmp_path: Path, phantom: sitk.Image
) -> None:
    """Soft-tissue 5 mm axial ORIGINAL wins over thin, bone, derived and tilted-away series."""
    study = "1.2.826.0.1.3680043.8.498.1"
    soft = write_dicom_series(phantom, tmp_path / "s1", seed=1, study_uid=study)
    bone = write_dicom_series(
        phantom, tmp_path / "s2", seed=2, study_uid=study, series_description="HEAD BONE"
    )
    for f in bone:
        ds = pydicom.dcmread(f)
        ds.ConvolutionKernel = "BONEPLUS"
        ds.save_as(f)
    thin = sitk.Resample(
        phantom,
        [64, 64, 40],
        sitk.Transform(),
        sitk.sitkNearestNeighbor,
        phantom.GetOrigin(),
        (3.5, 3.5, 1.25),
        phantom.GetDirection(),
    )
    write_dicom_series(thin, tmp_path / "s3", seed=3, study_uid=study, series_description="THIN")
    derived = write_dicom_series(phantom, tmp_path / "s4", seed=4, study_uid=study)
    for f in derived:
        ds = pydicom.dcmread(f)
        ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
        ds.save_as(f)
    series = discover_series(tmp_path)
    assert len(series) == 4
    chosen = choose_series(series)
    assert chosen.uid == pydicom.dcmread(soft[0]).SeriesInstanceUID
    by_kernel = {s.kernel: s for s in series}
    assert by_kernel["BONEPLUS"].sharp_kernel
    assert not by_kernel["STANDARD"].sharp_kernel
    thin_info = next(s for s in series if s.description == "THIN")
    assert (thin_info.n_slices, thin_info.spacing_mm) == (40, pytest.approx(1.25))
    assert chosen.orientation == "axial"
    assert chosen.transfer_syntax == "Explicit VR Little Endian"
    bone_uid = by_kernel["BONEPLUS"].uid
    assert load_volume(tmp_path, series_uid=bone_uid).series_uid == bone_uid


def test_real_dicomdir_is_followed() -> None:
    """pydicom's DICOMDIR test set: CT, CR and MR studies; the one regular axial CT is chosen."""
    dicomdir = Path(pydicom.data.get_testdata_file("DICOMDIR", download=False))
    series = discover_series(dicomdir, strict=False)
    assert {s.modality for s in series} == {"CT", "CR", "MR"}
    chosen = choose_series(series)
    assert (chosen.modality, chosen.orientation, chosen.n_slices) == ("CT", "axial", 5)
    volume = load_volume(dicomdir)
    assert volume.series_uid == chosen.uid
    assert volume.image.GetSize()[2] == 5
    gappy = next(s for s in series if s.modality == "CT" and s.n_slices == 4)
    assert "161 slices missing between z=-99.5 and z=103.0 mm" in gappy.problem


def test_two_series_mixed_in_one_folder_are_told_apart(tmp_path: Path, phantom: sitk.Image) -> None:
    """Shuffled, extension-less files of two series in one folder: grouped by UID, not by name."""
    write_dicom_series(phantom, tmp_path, shuffle_names=True, seed=1, vendor="ge")
    shifted = sitk.Image(phantom)
    shifted.SetOrigin((0.0, 0.0, 0.0))
    write_dicom_series(
        shifted, tmp_path, shuffle_names=True, seed=2, vendor="siemens", series_description="BONE"
    )
    calls: list[tuple[int, int]] = []
    series = discover_series(tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (40, 40)
    assert sorted(s.n_slices for s in series) == [20, 20]
    assert all(s.problem is None for s in series)
    volume = load_volume(tmp_path)
    assert volume.series_uid == choose_series(series).uid
    np.testing.assert_allclose(volume.image.GetOrigin(), phantom.GetOrigin(), atol=1e-4)


def test_tilt_on_a_rotated_grid(tmp_path: Path, phantom: sitk.Image) -> None:
    """Tilt about a rotated row axis still lands every voxel where the source has it."""
    angle = np.radians(8.0)
    rot = np.array(
        [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    )
    phantom.SetDirection(rot.ravel().tolist())
    write_dicom_series(phantom, tmp_path, tilt_deg=15.0, seed=3)
    volume = load_volume(tmp_path)
    assert volume.tilt_deg == pytest.approx(15.0, abs=0.01)
    loaded = sitk.GetArrayFromImage(
        sitk.Resample(volume.image, phantom, sitk.Transform(), sitk.sitkLinear, np.nan)
    )
    source = sitk.GetArrayFromImage(phantom)
    from scipy import ndimage

    footprint = np.ones((5, 5, 5), dtype=bool)
    lo = ndimage.minimum_filter(source, footprint=footprint, mode="constant", cval=-1e6)
    hi = ndimage.maximum_filter(source, footprint=footprint, mode="constant", cval=1e6)
    inside = lo == hi
    assert inside.mean() > 0.2
    np.testing.assert_allclose(loaded[inside], source[inside], atol=0.5)


def test_a_file_changed_between_scan_and_decode_is_named(tmp_path: Path, phantom: sitk.Image):
    """Pixel data is read after discovery; a slice rewritten in between is not silently mixed."""
    import os

    from readerstudy.imaging.series import scan_tree
    from readerstudy.imaging.volume import volume_from_scan

    files = _series(tmp_path, phantom)
    scanned = scan_tree(tmp_path)
    stat = files[5].stat()
    os.utime(files[5], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(UnreadableFileError, match=r"CT0006\.dcm: the file changed after it was"):
        volume_from_scan(scanned, scanned.series[0].uid, str(tmp_path))


def _two_zone_series(tmp_path: Path, **kwargs) -> tuple[sitk.Image, list[Path]]:
    """A 2.5 mm phantom series with every other slice from the tenth on removed: slices 0-8
    at 2.5 mm, then 10, 12, ... at 5 mm, as sequential head CT reconstructs them."""
    from tests.imaging.conftest import head_phantom

    source = head_phantom(spacing=(3.5, 3.5, 2.5))
    files = _series(tmp_path, source, **kwargs)
    for index in range(9, len(files), 2):
        files[index].unlink()
    return source, [f for f in files if f.exists()]


def test_spacing_that_changes_in_zones_is_resampled_to_the_finest(tmp_path: Path) -> None:
    source, _ = _two_zone_series(tmp_path)
    (info,) = discover_series(tmp_path)
    assert info.problem is None
    assert info.spacing_mm == pytest.approx(2.5)
    assert any(
        "slice spacing changes along the series: 2.50 mm from z=20.0 to z=40.0 mm (9 slices); "
        "5.00 mm from z=40.0 to z=65.0 mm (6 slices) (resampled to 2.50 mm on loading)" in w
        for w in info.warnings
    )
    volume = load_volume(tmp_path)
    assert volume.image.GetSize() == (64, 64, 19)
    np.testing.assert_allclose(volume.image.GetSpacing(), (3.5, 3.5, 2.5))
    np.testing.assert_allclose(volume.image.GetOrigin(), source.GetOrigin(), atol=1e-4)
    assert volume.pixel_type == "float32"
    hu = sitk.GetArrayFromImage(source)[:19]
    expected = hu.copy()
    for k in range(9, 19, 2):  # the slices the 5 mm zone lacks: halfway between neighbours
        expected[k] = (hu[k - 1] + hu[k + 1]) / 2
    np.testing.assert_allclose(volume.hu, expected, atol=1e-3)
    assert not np.allclose(expected[9:19:2], hu[9:19:2])  # interpolation is not the truth


def test_one_spacing_in_two_runs_is_missing_slices_not_zones(tmp_path: Path, phantom) -> None:
    files = _series(tmp_path, phantom)  # z = 20, 25, ..., 115 mm
    for index in (6, 8, 10):
        files[index].unlink()  # 5 mm, then three 10 mm steps, then 5 mm again
    with pytest.raises(GeometryError, match=r"1 slice missing between z=45\.0 and z=55\.0 mm"):
        load_volume(tmp_path)


def test_a_short_wide_run_is_missing_slices_not_a_zone(tmp_path: Path) -> None:
    from tests.imaging.conftest import head_phantom

    files = _series(tmp_path, head_phantom(spacing=(3.5, 3.5, 2.5)))
    for index in (17, 19):
        files[index].unlink()  # two 5 mm steps at the top: too short for a zone
    with pytest.raises(GeometryError, match=r"1 slice missing between z=60\.0 and z=65\.0 mm"):
        load_volume(tmp_path)


def test_tilt_with_spacing_zones_is_refused(tmp_path: Path) -> None:
    _two_zone_series(tmp_path, tilt_deg=15.0)
    with pytest.raises(GeometryError, match=r"gantry tilt \(15\.00 deg\) together with slice"):
        load_volume(tmp_path)


@settings(max_examples=200, deadline=None)
@given(
    spacings=st.lists(st.sampled_from([0.625, 1.0, 1.25, 2.5, 3.0, 5.0]), min_size=2, max_size=3),
    steps=st.lists(st.integers(3, 30), min_size=3, max_size=3),
    start=st.floats(-200, 200),
)
def test_spacing_zones_are_recovered(spacings: list[float], steps: list[int], start: float):
    from readerstudy.imaging.geometry import spacing_zones

    assume(all(a != b for a, b in itertools.combinations(spacings, 2)))
    gaps = np.concatenate([np.full(n, s) for s, n in zip(spacings, steps, strict=False)])
    z = start + np.concatenate([[0.0], np.cumsum(gaps)])
    zones = spacing_zones(z)
    assert [zone.spacing_mm for zone in zones] == pytest.approx(spacings)
    assert [zone.n_slices for zone in zones] == [n + 1 for n in steps[: len(spacings)]]
    assert zones[0].start_mm == pytest.approx(z[0])
    assert zones[-1].end_mm == pytest.approx(z[-1])


@settings(max_examples=200, deadline=None)
@given(n=st.integers(8, 60), spacing=st.sampled_from([1.0, 2.5, 5.0]), data=st.data())
def test_a_missing_slice_is_never_a_zone(n: int, spacing: float, data) -> None:
    from readerstudy.imaging.geometry import spacing_zones

    z = np.arange(n) * spacing
    gone = data.draw(st.integers(1, n - 2))
    assert spacing_zones(np.delete(z, gone)) == ()
