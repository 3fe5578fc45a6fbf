"""``readerstudy study init`` on damaged sources: every refusal is one line that names the
coordinator's own case and file, and a failed init leaves nothing behind, so the corrected
rerun goes through."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from typer.testing import CliRunner

from analysis.units import UNITS
from readerstudy.cli import build_app
from readerstudy.imaging import write_dicom_series
from tests.files import noise_volume, write_table
from tests.robustness.refusal import assert_one_line, digests

runner = CliRunner()
CASES = ("anna", "bert", "carl")


@pytest.fixture
def source(tmp_path) -> Path:
    src = tmp_path / "src"
    for i, name in enumerate(CASES):
        (src / name).mkdir(parents=True)
        sitk.WriteImage(noise_volume(i), str(src / name / "scan.nii.gz"))
    write_table(
        src / "truth.csv", ("case", "unit", "truth"), [(n, u, 0) for n in CASES for u in UNITS]
    )
    return src


def _init(tmp_path, source, *extra, truth=None):
    args = ["study", "init", str(tmp_path / "study"), "--cases", str(source)]
    args += ["--truth", str(truth or source / "truth.csv"), "--readers", "r1,r2", *extra]
    return runner.invoke(build_app(), args)


def _refused(result, tmp_path, *needles) -> str:
    assert result.exit_code == 2, result.output
    line = " ".join(result.output.split())
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in line, line
    # Nothing left behind: neither the study nor its temporary build folder.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]
    return line


def test_truncated_nifti_is_refused_and_the_rerun_succeeds(source, tmp_path):
    good = (source / "bert" / "scan.nii.gz").read_bytes()
    (source / "bert" / "scan.nii.gz").write_bytes(good[: len(good) * 2 // 3])
    _refused(_init(tmp_path, source), tmp_path, "case bert", "scan.nii.gz", "cut short")
    (source / "bert" / "scan.nii.gz").write_bytes(good)
    assert _init(tmp_path, source).exit_code == 0
    assert (tmp_path / "study" / "study.toml").is_file()


def test_nifti_with_a_complete_stream_but_missing_voxels_is_refused(source, tmp_path):
    path = source / "carl" / "scan.nii.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[: len(raw) - 3000]))
    _refused(_init(tmp_path, source), tmp_path, "case carl", "cut short", "% of the voxels")


def test_nifti_with_nan_voxels_is_refused(source, tmp_path):
    image = sitk.Cast(noise_volume(5), sitk.sitkFloat32)
    values = sitk.GetArrayFromImage(image)
    values[2, 4, 4] = np.nan
    sitk.WriteImage(sitk.GetImageFromArray(values), str(source / "anna" / "scan.nii.gz"))
    _refused(_init(tmp_path, source), tmp_path, "case anna", "1 voxel(s) that are NaN")


def test_dicom_error_names_the_source_file_not_the_deidentified_copy(source, tmp_path):
    folder = source / "bert"
    (folder / "scan.nii.gz").unlink()
    files = write_dicom_series(noise_volume(1, slices=10), folder, seed=1)
    gap = sorted(files)[4]
    gap.unlink()
    line = _refused(_init(tmp_path, source), tmp_path, "case bert", str(folder))
    assert "2.25." not in line, line


def test_second_patient_nested_in_a_case_folder_is_refused(source, tmp_path):
    folder = source / "carl"
    (folder / "scan.nii.gz").unlink()
    write_dicom_series(noise_volume(2), folder / "a", patient_id="MRN-1", seed=2)
    write_dicom_series(noise_volume(3), folder / "b", patient_id="MRN-2", seed=3)
    _refused(_init(tmp_path, source), tmp_path, "case carl", "more than one patient", "MRN-2")


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ([("anna", "left"), ("anna", "none")], "line 3: case anna: the case appears twice"),
        ([("anna", "left"), ("zoe", "none")], "line 3: case zoe: the case is not in the truth"),
    ],
)
def test_meta_duplicates_and_unknown_cases_are_refused(source, tmp_path, rows, needle):
    meta = write_table(source / "cases.csv", ("case", "side"), rows)
    _refused(_init(tmp_path, source, "--meta", str(meta)), tmp_path, needle)


def _truth_bytes(source) -> bytes:
    return (source / "truth.csv").read_bytes()


def test_truth_saved_by_excel_with_bom_and_semicolons_is_read(source, tmp_path):
    text = _truth_bytes(source).decode().replace(",", ";")
    truth = source / "excel.csv"
    truth.write_bytes(b"\xef\xbb\xbf" + text.encode())
    result = _init(tmp_path, source, truth=truth)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (bytes(range(256)) * 3, "not UTF-8 text"),
        (b"PK\x03\x04rest of a workbook", "is an Excel workbook"),
        (b"case,unit,truth\nanna,C_left\n", "line 2: 2 field(s) where the header has 3"),
        (b"case,unit,truth\nanna,C_left,0,1\n", "line 2: 4 field(s) where the header has 3"),
    ],
    ids=["binary", "workbook", "short-row", "long-row"],
)
def test_unreadable_truth_is_named(source, tmp_path, content, needle):
    truth = source / "bad.csv"
    truth.write_bytes(content)
    _refused(_init(tmp_path, source, truth=truth), tmp_path, "--truth", "bad.csv", needle)


def test_study_path_that_is_a_file_is_refused(source, tmp_path):
    (tmp_path / "study").write_text("not a folder")
    result = _init(tmp_path, source)
    assert result.exit_code == 2, result.output
    assert "is a file" in result.output
    assert (tmp_path / "study").read_text() == "not a folder"


@pytest.mark.parametrize(
    ("readers", "extra", "needles"),
    [
        ("r1,r1", (), ("--readers", "reader ids must be unique; repeated: r1")),
        ("r1,r 2", (), ("--readers", "reader id 'r 2' must be 1-64 letters")),
        ("../../etc", (), ("--readers", "reader id '../../etc' must be")),
        ("rë1", (), ("--readers", "reader id 'rë1' must be")),
        (",", (), ("--readers", "the study needs at least one reader")),
        ("r" * 70, (), ("--readers", "must be 1-64 letters")),
        ("r1,r2", ("--name", "../../x"), ("--name", "study name '../../x' must be")),
        ("r1,r2", ("--washout-days", "-3"), ("--washout-days", "from 0 to 365 days, got -3")),
        ("r1,r2", ("--washout-days", "inf"), ("--washout-days", "from 0 to 365 days, got inf")),
        ("r1,r2", ("--seed", "-1"), ("--seed", "must be from 0 to")),
        ("r1", ("--design", "crossover"), ("--design", "crossover design needs at least two")),
        ("r1,r2", ("--design", "latin"), ("--design", "'sequential' or 'crossover'")),
        ("r1,r2", ("--confidence", "1-10"), ("--confidence", "'none', '1-5' or '0-100'")),
    ],
    ids=[
        "duplicate",
        "space",
        "path",
        "non-ascii",
        "comma-only",
        "70-chars",
        "name-path",
        "negative-washout",
        "infinite-washout",
        "negative-seed",
        "crossover-one-reader",
        "unknown-design",
        "unknown-scale",
    ],
)
def test_bad_options_are_one_line_naming_the_option(source, tmp_path, readers, extra, needles):
    before = digests(source)
    args = ["study", "init", str(tmp_path / "study"), "--cases", str(source)]
    args += ["--truth", str(source / "truth.csv"), "--readers", readers, *extra]
    line = assert_one_line(runner.invoke(build_app(), args), "study init:", *needles)
    assert "ValidationError" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]
    assert digests(source) == before


def test_a_folder_name_that_cannot_be_a_study_name_asks_for_name(source, tmp_path):
    args = ["study", "init", str(tmp_path / "my study"), "--cases", str(source)]
    args += ["--truth", str(source / "truth.csv"), "--readers", "r1,r2"]
    assert_one_line(runner.invoke(build_app(), args), "--name (the folder name by default)")
    args += ["--name", "my_study"]
    assert runner.invoke(build_app(), args).exit_code == 0


@pytest.mark.parametrize("option", ["--ai", "--meta"])
@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (bytes(range(256)) * 3, "not UTF-8 text"),
        (b"PK\x03\x04rest of a workbook", "is an Excel workbook with a .csv name"),
        (b"case,unit\n\x00\x00\x01", "binary data, not a CSV table"),
        (b"", "the file is empty"),
    ],
    ids=["binary", "workbook", "nul-bytes", "empty"],
)
def test_unreadable_ai_or_metadata_table_is_named(source, tmp_path, option, content, needle):
    table = source / "table.csv"
    table.write_bytes(content)
    before = digests(source)
    assert_one_line(_init(tmp_path, source, option, str(table)), option, "table.csv", needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]
    assert digests(source) == before
