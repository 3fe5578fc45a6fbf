"""De-identification (PS3.15 Basic Profile) and the content hash that must survive it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.data import get_testdata_file

from readerstudy.imaging import (
    ImagingError,
    content_hash,
    deidentify_tree,
    load_volume,
    write_dicom_series,
    write_nifti,
)
from readerstudy.imaging.deid import EMPTY, REMOVE, REPLACE

PHI_VALUES = (  # strings the writer puts in headers; none may survive, in any element
    "DOE^JANE",
    "MRN0012345",
    "19480312",
    "Springfield",
    "SPRINGFIELD",
    "HIBBERT",
    "RIVIERA",
    "TECH^ANNA",
    "A20231105-0815",
    "SSN-078",
    "Elm Street",
    "left arm weakness",
    "SN4711",
    "CTSCAN01",
    "20231105",
)


def _all_text(ds: pydicom.Dataset) -> str:
    parts = []
    for elem in ds.iterall():
        if elem.tag == 0x7FE00010:
            continue
        parts.append(str(elem.value))
    parts.extend(str(e.value) for e in ds.file_meta)
    return "\n".join(parts)


@pytest.fixture
def tree(tmp_path: Path, phantom: sitk.Image) -> Path:
    src = tmp_path / "DOE_JANE_MRN0012345"
    for vendor in ("ge", "siemens", "philips"):
        write_dicom_series(
            phantom, src / vendor, vendor=vendor, seed=len(vendor), study_uid="1.2.3.4.5.6"
        )
    return src


def test_every_phi_value_is_gone_and_pixels_untouched(tmp_path: Path, tree: Path) -> None:
    out = tmp_path / "anon"
    report = deidentify_tree(tree, out, salt="study-secret")
    outputs = sorted(out.rglob("*.dcm"))
    assert len(outputs) == len(report.files) == 60
    assert not any("DOE" in str(p) or "MRN" in str(p) for p in outputs)  # names carry no PHI
    for change in report.files:
        before = pydicom.dcmread(tree / change.source)
        after = pydicom.dcmread(out / change.output)
        text = _all_text(after)
        leaked = [v for v in PHI_VALUES if v in text]
        assert not leaked, f"{change.output} still holds {leaked}"
        assert after.PixelData == before.PixelData
        assert after.PatientIdentityRemoved == "YES"
        assert after.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
        assert not any(elem.tag.is_private for elem in after)
        for keyword in REMOVE:
            assert keyword not in after, keyword
        for keyword in EMPTY:
            assert after.get(keyword, "") in ("", None), keyword
        for keyword in REPLACE:
            assert str(after[keyword].value).startswith("ANON-")
        assert after.SOPInstanceUID == after.file_meta.MediaStorageSOPInstanceUID
        assert after.SOPInstanceUID != before.SOPInstanceUID
        assert after.SOPClassUID == before.SOPClassUID  # class UIDs are not instances
    assert report.salt_fingerprint not in ("", "study-secret")


def test_uids_are_remapped_consistently_and_deterministically(tmp_path: Path, tree: Path) -> None:
    one = deidentify_tree(tree, tmp_path / "one", salt="s1")
    two = deidentify_tree(tree, tmp_path / "two", salt="s1")
    other = deidentify_tree(tree, tmp_path / "other", salt="s2")
    assert [f.output for f in one.files] == [f.output for f in two.files]
    assert {f.output for f in one.files}.isdisjoint({f.output for f in other.files})
    studies = {pydicom.dcmread(tmp_path / "one" / f.output).StudyInstanceUID for f in one.files}
    series = {Path(f.output).parent.name for f in one.files}
    assert len(studies) == 1  # three series of one study stay one study
    assert len(series) == 3
    ids = {pydicom.dcmread(tmp_path / "one" / f.output).PatientID for f in one.files}
    assert len(ids) == 1


def test_deidentified_series_loads_to_the_same_content_hash(tmp_path: Path, tree: Path) -> None:
    out = tmp_path / "anon"
    deidentify_tree(tree, out, salt="x")
    for vendor_dir in sorted(tree.iterdir()):
        uid = pydicom.dcmread(next(vendor_dir.iterdir())).SeriesInstanceUID
        before = content_hash(tree, series_uid=uid)
        new_uid = next(
            d.name
            for d in out.iterdir()
            if load_volume(out, series_uid=d.name).hu.tobytes()
            == load_volume(tree, series_uid=uid).hu.tobytes()
        )
        assert content_hash(out, series_uid=new_uid) == before


def test_private_creators_can_be_whitelisted(tmp_path: Path, tree: Path) -> None:
    report = deidentify_tree(tree, tmp_path / "a", salt="x", whitelist_private=["GEMS_IDEN_01"])
    kept = [
        pydicom.dcmread(tmp_path / "a" / f.output)
        for f in report.files
        if f.source.startswith("ge/")
    ]
    assert all(ds.private_block(0x0009, "GEMS_IDEN_01")[0x10].value for ds in kept)
    assert kept[0].DeidentificationMethodCodeSequence[1].CodeValue == "113111"
    siemens = next(f for f in report.files if f.source.startswith("siemens/"))
    assert siemens.private_removed == 4  # two creators, two values
    ds = pydicom.dcmread(tmp_path / "a" / siemens.output)
    assert not any(elem.tag.is_private for elem in ds)


def test_burned_in_annotation_and_secondary_capture_are_flagged(
    tmp_path: Path, phantom: sitk.Image
) -> None:
    src = tmp_path / "src"
    files = write_dicom_series(phantom, src, seed=1)
    ds = pydicom.dcmread(files[0])
    ds.BurnedInAnnotation = "YES"
    ds.save_as(files[0])
    sc = pydicom.dcmread(get_testdata_file("SC_rgb_small_odd.dcm", download=False))
    sc.save_as(src / "screenshot.dcm")
    (src / "notes.txt").write_text("not dicom")
    report = deidentify_tree(src, tmp_path / "out", salt="x")
    flagged = {f.source: f.flags for f in report.flagged}
    assert set(flagged) == {"CT0001.dcm", "screenshot.dcm"}
    assert "BurnedInAnnotation=YES" in flagged["CT0001.dcm"][0]
    assert "secondary capture" in flagged["screenshot.dcm"][0]
    assert report.skipped == ["notes.txt: not DICOM"]
    saved = json.loads(report.to_json(tmp_path / "report.json").read_text())
    assert saved["n_flagged"] == 2
    assert "DOE^JANE" not in json.dumps(saved)  # the report names attributes, not values


def test_real_slice_loses_its_phi(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    original = get_testdata_file("693_UNCR.dcm", download=False)
    if original is None:
        pytest.skip("pydicom-data is not installed")
    shutil.copy(original, src / "693.dcm")
    before = pydicom.dcmread(src / "693.dcm")
    report = deidentify_tree(src, tmp_path / "out", salt="x")
    after = pydicom.dcmread(tmp_path / "out" / report.files[0].output)
    for elem in before.iterall():
        keyword = elem.keyword
        if elem.VR == "PN" and elem.value:
            assert str(after.get(keyword, "")) in ("", str(after.PatientName)), keyword
        if keyword in REMOVE:
            assert keyword not in after
        if elem.VR in ("DA", "DT") and keyword in after:
            assert str(after[keyword].value) == "", keyword
    assert after.PixelData == before.PixelData
    assert not any(elem.tag.is_private for elem in after)


def test_deidentify_rejects_bad_requests(tmp_path: Path, tree: Path) -> None:
    with pytest.raises(ImagingError, match="non-empty study secret"):
        deidentify_tree(tree, tmp_path / "x", salt="")
    with pytest.raises(ImagingError, match="outside the source"):
        deidentify_tree(tree, tree / "inside", salt="x")
    with pytest.raises(ImagingError, match="no such file or folder"):
        deidentify_tree(tmp_path / "missing", tmp_path / "x", salt="x")


def test_content_hash_ignores_storage_but_not_content(tmp_path: Path, phantom: sitk.Image):
    write_dicom_series(phantom, tmp_path / "plain", vendor="ge", seed=1)
    write_dicom_series(
        phantom, tmp_path / "other", vendor="philips", shuffle_names=True, compression="rle"
    )
    nifti = write_nifti(load_volume(tmp_path / "plain").image, tmp_path / "case.nii.gz")
    reference = content_hash(tmp_path / "plain")
    assert len(reference) == 64
    assert content_hash(tmp_path / "other") == reference
    assert content_hash(nifti) == reference
    changed = sitk.Image(phantom)
    changed[10, 10, 10] = 50.0
    write_dicom_series(changed, tmp_path / "changed", seed=1)
    assert content_hash(tmp_path / "changed") != reference
    moved = sitk.Image(phantom)
    moved.SetOrigin((0.0, 0.0, 0.0))
    write_dicom_series(moved, tmp_path / "moved", seed=1)
    assert content_hash(tmp_path / "moved") != reference


def test_nifti_input_is_lps_like_dicom(tmp_path: Path, phantom: sitk.Image) -> None:
    """A NIfTI written by nibabel (RAS affine) loads in LPS, matching the DICOM of the same CT."""
    import nibabel as nib

    hu = sitk.GetArrayFromImage(phantom)  # (z, y, x)
    sx, sy, sz = phantom.GetSpacing()
    ox, oy, oz = phantom.GetOrigin()  # LPS
    # Voxel (i, j, k) lies at LPS (ox + i sx, oy + j sy, oz + k sz) = RAS (-x, -y, z).
    affine = np.array(
        [[-sx, 0, 0, -ox], [0, -sy, 0, -oy], [0, 0, sz, oz], [0, 0, 0, 1]], dtype=float
    )
    img = nib.Nifti1Image(np.transpose(hu, (2, 1, 0)).astype(np.int16), affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    nib.save(img, tmp_path / "case.nii.gz")
    volume = load_volume(tmp_path / "case.nii.gz")
    np.testing.assert_allclose(volume.image.GetOrigin(), phantom.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(volume.image.GetDirection(), np.eye(3).ravel(), atol=1e-6)
    np.testing.assert_array_equal(volume.hu, hu)
    write_dicom_series(phantom, tmp_path / "dcm", seed=1)
    assert content_hash(tmp_path / "case.nii.gz") == content_hash(tmp_path / "dcm")


def test_nifti_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"not a nifti")
    with pytest.raises(ImagingError, match=r"bad\.nii\.gz: not a readable NIfTI file"):
        load_volume(bad)
    with pytest.raises(ValueError, match=r"must end in \.nii or \.nii\.gz"):
        write_nifti(sitk.Image([4, 4, 4], sitk.sitkFloat32), tmp_path / "x.nrrd")


def test_references_inside_sequences_follow_the_remapping(tmp_path: Path, phantom: sitk.Image):
    src = tmp_path / "src"
    files = write_dicom_series(phantom, src, seed=1)
    target = pydicom.dcmread(files[0])
    ds = pydicom.dcmread(files[1])
    ref = pydicom.Dataset()
    ref.ReferencedSOPClassUID = target.SOPClassUID
    ref.ReferencedSOPInstanceUID = target.SOPInstanceUID
    ref.ReferencedFrameNumber = 1
    ds.ReferencedImageSequence = pydicom.Sequence([ref])
    ds.save_as(files[1])
    report = deidentify_tree(src, tmp_path / "out", salt="x")
    outputs = {c.source: pydicom.dcmread(tmp_path / "out" / c.output) for c in report.files}
    new_ref = outputs["CT0002.dcm"].ReferencedImageSequence[0]
    assert new_ref.ReferencedSOPInstanceUID == outputs["CT0001.dcm"].SOPInstanceUID
    assert new_ref.ReferencedSOPClassUID == target.SOPClassUID
    change = next(c for c in report.files if c.source == "CT0002.dcm")
    assert "ReferencedImageSequence[0].ReferencedSOPInstanceUID" in change.uids_remapped


def test_inspect_nifti_and_dicom_progress(tmp_path: Path, phantom: sitk.Image) -> None:
    from typer.testing import CliRunner

    from readerstudy.cli import build_app

    path = write_nifti(phantom, tmp_path / "case.nii.gz")
    result = CliRunner().invoke(build_app(), ["dicom", "inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["size"] == [64, 64, 20]
    assert info["pixel_type"] == "float32"  # a floating-point NIfTI stays so, whole values or not
    assert info["origin_mm"] == pytest.approx(list(phantom.GetOrigin()))
