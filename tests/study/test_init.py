"""``readerstudy study init``: importing NIfTI and DICOM cases, truth and AI validation."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from typer.testing import CliRunner

from analysis.units import UNITS
from readerstudy.cli import build_app
from readerstudy.study.definition import AISourceKind, load_definition
from readerstudy.study.protocol import Study
from tests.files import write_table

runner = CliRunner()
SOURCES = ("patient-smith", "patient-jones", "patient-wu", "patient-ali")


def _volume(seed: int) -> sitk.Image:
    rng = np.random.default_rng(seed)
    image = sitk.GetImageFromArray(rng.normal(30, 5, (6, 24, 24)).astype(np.float32))
    image.SetSpacing((1.0, 1.0, 5.0))
    return image


@pytest.fixture
def source(tmp_path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for i, name in enumerate(SOURCES):
        if i == 3:
            sitk.WriteImage(_volume(i), str(src / f"{name}.nii.gz"))  # a bare NIfTI file
        else:
            (src / name).mkdir()
            sitk.WriteImage(_volume(i), str(src / name / "scan.nii.gz"))
    truth = [
        (name, u, int(i == 0 and u in ("M2_left", "I_left")))
        for i, name in enumerate(SOURCES)
        for u in UNITS
    ]
    write_table(src / "truth.csv", ("case", "unit", "truth"), truth)
    write_table(
        src / "cases.csv",
        ("case", "side", "vendor"),
        [(n, "left" if i == 0 else "none", "ge") for i, n in enumerate(SOURCES)],
    )
    return src


def _init(app_args, tmp_path):
    return runner.invoke(build_app(), ["study", "init", str(tmp_path / "study"), *app_args])


def test_init_imports_nifti_cases_under_neutral_codes(source, tmp_path):
    result = _init(
        [
            "--cases",
            str(source),
            "--truth",
            str(source / "truth.csv"),
            "--meta",
            str(source / "cases.csv"),
            "--readers",
            "r1,r2,r3,r4",
            "--seed",
            "9",
            "--confidence",
            "1-5",
        ],
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    assert "next: readerstudy study precompute" in result.output
    study = tmp_path / "study"
    definition = load_definition(study)
    assert definition.reader_ids == ("r1", "r2", "r3", "r4")
    assert definition.seed == 9
    assert definition.rating.confidence.value == "1-5"
    folders = sorted(p.name for p in (study / "cases").iterdir())
    assert folders == ["C01", "C02", "C03", "C04"]
    assert not any(name in str(p) for p in study.rglob("*") for name in SOURCES)
    with (study / "manifest.csv").open() as handle:
        manifest = list(csv.DictReader(handle))
    assert {m["source"] for m in manifest} == set(SOURCES)
    assert len({m["content_hash"] for m in manifest}) == 4
    code_of = {m["source"]: m["case"] for m in manifest}
    with (study / "truth.csv").open() as handle:
        truth = list(csv.DictReader(handle))
    positives = {(r["case"], r["unit"]) for r in truth if r["truth"] == "1"}
    assert positives == {
        (code_of["patient-smith"], "M2_left"),
        (code_of["patient-smith"], "I_left"),
    }
    with (study / "cases.csv").open() as handle:
        meta = {r["case"]: r for r in csv.DictReader(handle)}
    assert meta[code_of["patient-smith"]]["side"] == "left"
    assert meta[code_of["patient-wu"]]["vendor"] == "ge"
    # the imported image is what the reading API loads
    with Study.open(study, create=True) as opened:
        image = opened.image_path(code_of["patient-ali"])
        assert image.name == "image.nii.gz"
        from readerstudy.imaging import load_volume

        assert load_volume(image).image.GetSize() == (24, 24, 6)


def test_reference_lesion_masks_follow_their_cases_under_neutral_codes(source, tmp_path):
    (source / "masks").mkdir()
    mask = sitk.GetImageFromArray(np.zeros((6, 24, 24), np.uint8))
    mask[5, 6, 2] = 1  # one lesion voxel at x=5, y=6, z=2
    sitk.WriteImage(mask, str(source / "masks" / "patient-smith.nii.gz"))
    args = ["--cases", str(source), "--truth", str(source / "truth.csv"), "--readers", "r1,r2"]
    result = _init(args, tmp_path)
    assert result.exit_code == 0, result.output
    study = tmp_path / "study"
    with (study / "manifest.csv").open() as handle:
        code_of = {m["source"]: m["case"] for m in csv.DictReader(handle)}
    copied = sorted(p.name for p in (study / "truth_masks").iterdir())
    assert copied == [f"{code_of['patient-smith']}.nii.gz"]
    back = sitk.GetArrayFromImage(sitk.ReadImage(str(study / "truth_masks" / copied[0])))
    assert np.argwhere(back).tolist() == [[2, 6, 5]]
    assert "masks" not in {p.name for p in (study / "cases").iterdir()}


def test_init_refuses_an_existing_study(source, tmp_path):
    args = ["--cases", str(source), "--truth", str(source / "truth.csv"), "--readers", "r1"]
    assert _init(args, tmp_path).exit_code == 0
    again = _init(args, tmp_path)
    assert again.exit_code == 2
    assert "never re-initialised" in again.output


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda rows: rows[:-1], "case patient-ali lacks 1 of 20 units (M6_right)"),
        (lambda rows: [*rows[:-1], [*rows[-1][:2], "2"]], "truth must be 0 or 1, got '2'"),
        (lambda rows: [*rows, ["patient-ali", "M7_left", "0"]], "unknown unit 'M7_left'"),
    ],
)
def test_truth_is_validated_against_the_units(source, tmp_path, edit, message):
    with (source / "truth.csv").open() as handle:
        rows = list(csv.reader(handle))
    write_table(source / "truth.csv", rows[0], edit(rows[1:]))
    result = _init(
        ["--cases", str(source), "--truth", str(source / "truth.csv"), "--readers", "r1"], tmp_path
    )
    assert result.exit_code == 2
    assert message in result.output


def test_missing_images_are_named(source, tmp_path):
    (source / "patient-ali.nii.gz").unlink()
    result = _init(
        ["--cases", str(source), "--truth", str(source / "truth.csv"), "--readers", "r1"], tmp_path
    )
    assert result.exit_code == 2
    assert "no images for 1 case(s) of the truth table: patient-ali" in result.output


def _ai_rows(probability=0.2):
    return [(n, u, probability, int(probability >= 0.5)) for n in SOURCES for u in UNITS]


def test_imported_ai_outputs_replace_the_embedded_model(source, tmp_path):
    ai = write_table(
        tmp_path / "ai_regions.csv", ("case", "unit", "probability", "call"), _ai_rows()
    )
    (tmp_path / "masks").mkdir()
    sitk.WriteImage(_volume(0) > 40, str(tmp_path / "masks" / "patient-wu.nii.gz"))
    result = _init(
        [
            "--cases",
            str(source),
            "--truth",
            str(source / "truth.csv"),
            "--readers",
            "r1,r2",
            "--ai",
            str(ai),
        ],
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    assert "next: readerstudy study lock" in result.output
    study = tmp_path / "study"
    definition = load_definition(study)
    assert definition.ai.source is AISourceKind.IMPORTED
    assert len(definition.ai.model_hash) == 64
    with (study / "ai" / "ai_regions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {r["case"] for r in rows} == {"C01", "C02", "C03", "C04"}
    assert len(list((study / "ai" / "masks").iterdir())) == 1
    lock = runner.invoke(build_app(), ["study", "lock", str(study)])
    assert lock.exit_code == 0, lock.output


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (_ai_rows(1.5), "probability must be in [0, 1], got 1.5"),
        (_ai_rows()[:-1], "1 case/unit rows missing, first case patient-ali, unit M6_right"),
        ([*_ai_rows(), ("patient-x", "C_left", 0.1, 0)], "case is not in the truth table"),
    ],
)
def test_imported_ai_outputs_are_validated(source, tmp_path, rows, message):
    ai = write_table(tmp_path / "ai_regions.csv", ("case", "unit", "probability", "call"), rows)
    result = _init(
        [
            "--cases",
            str(source),
            "--truth",
            str(source / "truth.csv"),
            "--readers",
            "r1",
            "--ai",
            str(ai),
        ],
        tmp_path,
    )
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "study").exists()


def test_dicom_cases_are_deidentified(tmp_path):
    from readerstudy.imaging import write_dicom_series

    src = tmp_path / "src"
    write_dicom_series(
        _volume(1), src / "smith-john", vendor="siemens", patient_name="SMITH^JOHN", seed=1
    )
    write_table(src / "truth.csv", ("case", "unit", "truth"), [("smith-john", u, 0) for u in UNITS])
    result = _init(
        ["--cases", str(src), "--truth", str(src / "truth.csv"), "--readers", "r1"], tmp_path
    )
    assert result.exit_code == 0, result.output
    import pydicom

    files = list((tmp_path / "study" / "cases" / "C01").rglob("*.dcm"))
    assert files
    header = pydicom.dcmread(files[0], stop_before_pixels=True)
    assert "SMITH" not in str(header.get("PatientName", ""))
    assert "MRN0012345" not in str(header.get("PatientID", ""))
