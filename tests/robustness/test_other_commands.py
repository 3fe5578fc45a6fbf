"""Bad input to the other commands, found by trying them as the issue asks ("the list is a
sample"): each refusal is one line naming the problem, exit 2, and writes nothing."""

from __future__ import annotations

import os

import numpy as np
import pytest
import SimpleITK as sitk
from typer.testing import CliRunner

from readerstudy.cli import build_app
from readerstudy.imaging import write_dicom_series
from tests.analysis.synthetic import paper_study
from tests.robustness.refusal import assert_one_line, digests

runner = CliRunner()


def _cli(*args):
    return runner.invoke(build_app(), [str(a) for a in args])


def _listing(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def scan(tmp_path):
    path = tmp_path / "scan.nii.gz"
    values = np.random.default_rng(0).normal(30, 5, (6, 24, 24)).astype(np.int16)
    sitk.WriteImage(sitk.GetImageFromArray(values), str(path))
    return path


@pytest.mark.parametrize("command", ["predict", "predict-many"])
def test_model_out_that_is_a_file_is_refused(tmp_path, scan, command):
    (tmp_path / "out.txt").write_text("keep me")
    source = scan if command == "predict" else scan.parent
    before = _listing(tmp_path)
    result = _cli("model", command, source, "--out", tmp_path / "out.txt")
    assert_one_line(result, f"{tmp_path / 'out.txt'} is a file", "give a folder")
    assert (tmp_path / "out.txt").read_text() == "keep me"
    assert _listing(tmp_path) == before


@pytest.mark.parametrize(
    ("make", "needles"),
    [
        (lambda p: p.mkdir(), ("no DICOM image series found",)),
        (lambda p: p.write_text("hello"), ("no DICOM image series found", "1 non-DICOM")),
        (
            lambda p: p.with_suffix(".dcm").write_bytes(b"\0" * 128 + b"DICM" + os.urandom(200)),
            ("not a DICOM file", "no DICOM image series found", "1 file(s) unreadable"),
        ),
    ],
    ids=["empty-folder", "text-file", "fake-dicom"],
)
@pytest.mark.parametrize("command", ["inspect", "convert"])
def test_dicom_on_no_series_is_one_line(tmp_path, make, needles, command):
    target = tmp_path / "input"
    make(target)
    target = next(tmp_path.iterdir())
    extra = [tmp_path / "out.nii.gz"] if command == "convert" else []
    assert_one_line(_cli("dicom", command, target, *extra), str(target), needles[0])
    if command == "inspect":
        assert_one_line(_cli("dicom", command, target), *needles)
    assert not (tmp_path / "out.nii.gz").exists()


def test_deidentify_of_nothing_writes_nothing(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "notes.txt").write_text("no images here")
    result = _cli("dicom", "deidentify", tmp_path / "src", tmp_path / "out", "--salt", "s")
    assert_one_line(result, "no DICOM files to de-identify", "notes.txt: not DICOM", "nothing")
    assert _listing(tmp_path) == ["src", "src/notes.txt"]


def test_deidentify_stopped_by_a_bad_file_leaves_no_partial_copy(tmp_path):
    image = sitk.GetImageFromArray(np.full((6, 16, 16), 30, np.int16))
    files = write_dicom_series(image, tmp_path / "src", seed=1)
    files[3].write_bytes(b"\0" * 128 + b"DICM" + os.urandom(200))
    before = digests(tmp_path / "src")
    result = _cli("dicom", "deidentify", tmp_path / "src", tmp_path / "out", "--salt", "s")
    assert_one_line(result, files[3].name, "not a DICOM file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]
    assert digests(tmp_path / "src") == before


def test_deidentify_into_a_file_is_refused(tmp_path):
    image = sitk.GetImageFromArray(np.full((6, 16, 16), 30, np.int16))
    write_dicom_series(image, tmp_path / "src", seed=1)
    (tmp_path / "out").write_text("keep me")
    result = _cli("dicom", "deidentify", tmp_path / "src", tmp_path / "out", "--salt", "s")
    assert_one_line(result, f"{tmp_path / 'out'} is a file")
    assert (tmp_path / "out").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]


def test_phantom_seed_below_zero_is_one_line(tmp_path):
    result = _cli("phantom", "generate", "--n", "1", "--out", tmp_path / "set", "--seed", "-1")
    assert_one_line(result, "--seed must be 0 or more", "got -1")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def mask_study(tmp_path):
    """Tables with AI outputs and two mask folders of blank 4x8x8 masks."""
    tables = paper_study(readers=2, cases=6, seed=1)
    for name in ("ratings", "truth", "times", "ai"):
        tables[name].to_csv(tmp_path / f"{name}.csv", index=False)
    cases = sorted(tables["truth"]["case"].unique())
    for folder in ("masks", "truth_masks"):
        (tmp_path / folder).mkdir()
        for case in cases:
            blank = sitk.GetImageFromArray(np.zeros((4, 8, 8), np.float32))
            sitk.WriteImage(blank, str(tmp_path / folder / f"{case}.nii.gz"))
    return tmp_path, cases[0]


def _damage_nan(path):
    values = np.zeros((4, 8, 8), np.float32)
    values[1, 2, 3] = np.nan
    sitk.WriteImage(sitk.GetImageFromArray(values), str(path))


MASK_DAMAGE = {
    "random-bytes": (lambda p: p.write_bytes(os.urandom(300)), "not a readable NIfTI file"),
    "cut-short": (lambda p: p.write_bytes(p.read_bytes()[:60]), "not a readable NIfTI file"),
    "nan": (_damage_nan, "1 voxel(s) are NaN or infinite"),
    "other-grid": (
        lambda p: sitk.WriteImage(sitk.Image([8, 8, 5], sitk.sitkFloat32), str(p)),
        "mask shapes differ",
    ),
}


@pytest.mark.parametrize("damage", MASK_DAMAGE, ids=list(MASK_DAMAGE))
def test_a_damaged_lesion_mask_is_named(mask_study, damage):
    folder, case = mask_study
    change, needle = MASK_DAMAGE[damage]
    change(folder / "masks" / f"{case}.nii.gz")
    before = digests(folder)
    args = ["analyze", folder / "ratings.csv", "--truth", folder / "truth.csv"]
    args += ["--ai", folder / "ai.csv", "--masks", folder / "masks"]
    result = _cli(*args, "--truth-masks", folder / "truth_masks", "--no-figures")
    where = "" if damage == "other-grid" else f"{folder / 'masks' / case}.nii.gz"
    assert_one_line(result, case, where, needle)
    assert digests(folder) == before
    assert not (folder / "analysis").exists()


def test_a_study_toml_that_is_not_utf8_is_one_line(tmp_path):
    from tests.study.conftest import write_study_folder

    write_study_folder(tmp_path / "study")
    toml = tmp_path / "study" / "study.toml"
    toml.write_bytes(toml.read_bytes().replace(b"teststudy", b"test\xe9study"))
    for command in (["study", "lock"], ["study", "status"], ["analyze"]):
        result = _cli(*command, tmp_path / "study")
        assert_one_line(result, "study.toml is not UTF-8 text", "byte", "0xe9")
    assert not (tmp_path / "study" / "results.sqlite").exists()
