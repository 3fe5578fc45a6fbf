"""The one rule for a folder of cases (readerstudy.imaging.cases), against the layouts that made
its former copies disagree: an ``ai/`` folder, ``Masks/`` in upper case, ``.NII.GZ``, a folder
holding one NIfTI file, a folder holding a DICOM series."""

from __future__ import annotations

from pathlib import Path

import pytest

from readerstudy.imaging import load_volume, write_dicom_series, write_nifti
from readerstudy.imaging.cases import find_cases, source_case
from tests.imaging.conftest import head_phantom


@pytest.fixture(scope="module")
def cases_dir(tmp_path_factory) -> Path:
    """One entry of every kind beside the folders that are not cases."""
    root = tmp_path_factory.mktemp("cases")
    image = head_phantom(size=(16, 16, 6))
    # ITK writes only lower-case NIfTI names (it reads any): an archive renamed them.
    write_nifti(image, root / "upper.nii.gz").rename(root / "upper.NII.GZ")
    write_nifti(image, root / "plain.nii")
    write_nifti(image, root / "folder_nifti" / "scan" / "image.nii.gz")
    write_dicom_series(image, root / "series", seed=1)
    write_nifti(image, root / "two_nifti" / "a.nii.gz")
    write_nifti(image, root / "two_nifti" / "b.nii.gz")
    for not_a_case in ("ai", "Masks", "AI", ".hidden"):
        write_nifti(image, root / not_a_case / "x.nii.gz")
    (root / "notes.txt").write_text("not an image")
    (root / ".trash.nii.gz").write_bytes(b"")
    return root


def test_a_folder_of_cases_lists_sub_folders_and_nifti_files_only(cases_dir):
    found = {case.name: case for case in find_cases(cases_dir)}

    assert sorted(found) == ["folder_nifti", "plain", "series", "two_nifti", "upper"]
    assert [case.name for case in find_cases(cases_dir)] == sorted(found, key=str.lower)


def test_nifti_names_match_in_any_case(cases_dir):
    upper = source_case(cases_dir / "upper.NII.GZ")

    assert (upper.name, upper.path, upper.format) == ("upper", cases_dir / "upper.NII.GZ", "nifti")


def test_a_folder_holding_one_nifti_file_is_read_from_it(cases_dir):
    case = source_case(cases_dir / "folder_nifti")

    assert case.format == "nifti"
    assert case.path == cases_dir / "folder_nifti" / "scan" / "image.nii.gz"


def test_a_folder_holding_a_dicom_series_or_several_niftis_is_read_as_dicom(cases_dir):
    series = source_case(cases_dir / "series")
    several = source_case(cases_dir / "two_nifti")

    assert (series.format, series.path) == ("dicom", cases_dir / "series")
    assert (several.format, several.path) == ("dicom", cases_dir / "two_nifti")
    assert load_volume(series.path).image.GetSize() == (16, 16, 6)


def test_every_reader_of_a_cases_folder_follows_the_rule(cases_dir):
    """study init, model predict-many and training name the same cases from the same images."""
    from model.train import read_image
    from readerstudy.workflows.ai import find_cases as predict_cases
    from readerstudy.workflows.importer import discover_cases

    rule = find_cases(cases_dir)

    assert list(discover_cases(cases_dir).values()) == rule
    assert predict_cases(cases_dir) == rule
    folder = read_image(cases_dir / "folder_nifti")
    assert folder.GetSize() == (16, 16, 6)
