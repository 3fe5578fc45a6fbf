"""``readerstudy phantom generate``: case folders, truth and case tables, masks, reproducibility."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import SimpleITK as sitk
from typer.testing import CliRunner

from analysis.units import UNITS
from model.phantom import PhantomConfig, generate_phantom
from readerstudy.cli import app
from readerstudy.imaging import load_volume
from readerstudy.workflows.phantoms import case_ids, case_seed, write_phantom_set

runner = CliRunner()


def _rows(path) -> list[dict]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_nifti_set_is_reproducible_and_matches_the_generator(tmp_path):
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        result = runner.invoke(
            app,
            [
                "phantom",
                "generate",
                "--n",
                "2",
                "--out",
                str(out),
                "--seed",
                "7",
                "--format",
                "nifti",
            ],
        )
        assert result.exit_code == 0, result.output
    assert (outs[0] / "truth.csv").read_text() == (outs[1] / "truth.csv").read_text()
    assert (outs[0] / "cases.csv").read_text() == (outs[1] / "cases.csv").read_text()
    truth = _rows(outs[0] / "truth.csv")
    assert [(r["case"], r["unit"]) for r in truth] == [(c, u) for c in case_ids(2) for u in UNITS]
    cases = _rows(outs[0] / "cases.csv")
    assert [c["case"] for c in cases] == ["case001", "case002"]
    assert {"side", "vendor", "lesion_volume_ml", "hu_drop", "noise_sd", "yaw_deg"} <= set(cases[0])
    phantom = generate_phantom(case_seed(7, 1))
    image = sitk.ReadImage(str(outs[0] / "case002" / "image.nii.gz"))
    np.testing.assert_allclose(
        sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(phantom.image), atol=1e-3
    )
    mask = sitk.ReadImage(str(outs[0] / "masks" / "case002.nii.gz"))
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(mask), sitk.GetArrayFromImage(phantom.lesion_mask)
    )
    assert {r["unit"]: int(r["truth"]) for r in truth if r["case"] == "case002"} == phantom.truth
    assert cases[1]["side"] == phantom.meta.side


def test_dicom_set_loads_back_in_hu(tmp_path):
    out = tmp_path / "dicom"
    result = runner.invoke(app, ["phantom", "generate", "--n", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    phantom = generate_phantom(case_seed(0, 0))
    volume = load_volume(out / "case001")
    loaded = sitk.GetArrayFromImage(volume.image)
    assert loaded.shape == sitk.GetArrayFromImage(phantom.image).shape
    # Stored as integers by the vendor's rescale: within one HU of the generator's image.
    assert np.abs(loaded - sitk.GetArrayFromImage(phantom.image)).max() <= 1.0
    np.testing.assert_allclose(volume.image.GetOrigin(), phantom.image.GetOrigin(), atol=1e-3)
    assert _rows(out / "cases.csv")[0]["vendor"] == phantom.meta.vendor


def test_a_folder_holding_a_set_is_refused_with_one_line(tmp_path):
    out = tmp_path / "set"
    args = ["phantom", "generate", "--n", "1", "--out", str(out), "--format", "nifti"]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 2
    assert "already holds a phantom set" in again.output


def test_zero_phantoms_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["phantom", "generate", "--n", "0", "--out", str(tmp_path)])
    assert result.exit_code == 2


def test_gantry_tilt_is_written_by_the_dicom_writer_and_undone_on_loading(tmp_path):
    config = PhantomConfig(tilt_deg=(12.0, 12.0))
    write_phantom_set(tmp_path / "tilted", 1, 3, config=config)
    phantom = generate_phantom(case_seed(3, 0), config)
    assert phantom.meta.tilt_deg == 12.0
    volume = load_volume(tmp_path / "tilted" / "case001")
    assert abs(volume.tilt_deg) == 12.0
    assert _rows(tmp_path / "tilted" / "cases.csv")[0]["tilt_deg"] == "12.0"


NIFTI = ("--format", "nifti")


@pytest.mark.slow
def test_anatomy_and_variety_options(tmp_path):
    from model.phantom import varied_config

    for args, config in (
        (["--anatomy", "scct"], PhantomConfig(anatomy="scct")),
        (["--varied"], varied_config()),
    ):
        out = tmp_path / args[0].strip("-")
        result = runner.invoke(
            app,
            ["phantom", "generate", "--n", "1", "--out", str(out), "--seed", "4", *NIFTI, *args],
        )
        assert result.exit_code == 0, result.output
        phantom = generate_phantom(case_seed(4, 0), config)
        row = _rows(out / "cases.csv")[0]
        assert row["anatomy"] == phantom.meta.anatomy
        assert float(row["head_scale"]) == phantom.meta.head_scale
        image = sitk.ReadImage(str(out / "case001" / "image.nii.gz"))
        np.testing.assert_allclose(
            sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(phantom.image), atol=1e-3
        )
    assert _rows(tmp_path / "anatomy" / "cases.csv")[0]["anatomy"] == "scct"
    bad = runner.invoke(app, ["phantom", "generate", "--n", "1", "--out", "x", "--anatomy", "ct"])
    assert bad.exit_code == 2


def test_the_phantom_vocabularies_are_the_imaging_layers(tmp_path):
    """Every vendor the phantom model draws is one the DICOM writer imitates (the model spells
    vendors as plain strings: it never imports readerstudy), and --format offers ImageFormat."""
    from model.phantom import varied_config
    from readerstudy.imaging import ImageFormat, Vendor

    for config in (PhantomConfig(), varied_config()):
        assert {vendor for vendor, _ in config.vendor_mix} <= set(Vendor)
    args = ["phantom", "generate", "--n", "1", "--out", str(tmp_path / "set"), "--format", "x"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert all(f"'{f.value}'" in result.output for f in ImageFormat)


def test_cases_csv_columns_follow_the_phantom_record(monkeypatch):
    """cases.csv has a column for every field of PhantomMeta: a field the model renames (here
    noise_sd -> noise_sd_hu) is written under its new name, never dropped."""
    import dataclasses
    from types import SimpleNamespace

    import model.phantom
    from readerstudy.workflows import phantoms

    phantom = generate_phantom(case_seed(3, 0))
    row = phantoms._case_row("case001", phantom)
    assert tuple(row) == phantoms.case_columns()
    assert row["noise_sd"] == phantom.meta.noise_sd
    assert (row["shift_x_mm"], row["shift_y_mm"], row["shift_z_mm"]) == phantom.meta.shift_mm
    assert row["ganglionic_index"] == phantom.levels["ganglionic"]

    values = dataclasses.asdict(phantom.meta)
    values["noise_sd_hu"] = values.pop("noise_sd")
    renamed = dataclasses.make_dataclass(
        "RenamedMeta", [(name, object) for name in values], frozen=True
    )
    monkeypatch.setattr(model.phantom, "PhantomMeta", renamed)
    row = phantoms._case_row(
        "case001", SimpleNamespace(meta=renamed(**values), levels=phantom.levels)
    )
    assert tuple(row) == phantoms.case_columns()
    assert row["noise_sd_hu"] == phantom.meta.noise_sd
    assert "noise_sd" not in phantoms.case_columns()
