"""The derived ASPECTS atlas: reproducible build, geometry, export, independent validation."""

from __future__ import annotations

import csv
import json

import numpy as np
import SimpleITK as sitk
from typer.testing import CliRunner

from analysis.units import UNITS, split_unit
from model.anatomy import LABELS, load_atlas, load_ct_template, load_legend, load_tissue_maps
from model.anatomy.build import build
from model.anatomy.labels import ASSETS, TISSUES
from model.anatomy.validate import compare_with_reference, format_table
from readerstudy.cli import app

ASSET_FILES = ("atlas.nii.gz", "ct_template.nii.gz", *(f"tissue_{t}.nii.gz" for t in TISSUES))


def _array(path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


def test_rebuilding_reproduces_the_committed_assets(tmp_path):
    build(tmp_path)
    for name in ASSET_FILES:
        committed, rebuilt = (
            sitk.ReadImage(str(ASSETS / name)),
            sitk.ReadImage(str(tmp_path / name)),
        )
        assert rebuilt.GetPixelID() == committed.GetPixelID(), name
        assert rebuilt.GetOrigin() == committed.GetOrigin(), name
        assert rebuilt.GetSpacing() == committed.GetSpacing(), name
        np.testing.assert_array_equal(
            sitk.GetArrayFromImage(rebuilt), sitk.GetArrayFromImage(committed), err_msg=name
        )
    assert json.loads((tmp_path / "legend.json").read_text()) == load_legend()


def test_assets_stay_small():
    total = sum((ASSETS / name).stat().st_size for name in (*ASSET_FILES, "legend.json"))
    assert total < 10 * 2**20


def test_every_unit_lies_on_the_patients_side():
    atlas = load_atlas()
    assert atlas.GetPixelID() == sitk.sitkUInt8
    labels = sitk.GetArrayFromImage(atlas)
    assert set(np.unique(labels)) == {0, *LABELS.values()}
    for unit in UNITS:
        side = split_unit(unit)[1]
        index = np.argwhere(labels == LABELS[unit]).mean(axis=0)[::-1]
        x_lps = atlas.TransformContinuousIndexToPhysicalPoint([float(i) for i in index])[0]
        # LPS: x grows towards the patient's left.
        assert (x_lps > 0) == (side == "left"), unit


def test_cortical_levels_are_stacked():
    """M4-M6 lie above M1-M3 (Pexman 2001: supraganglionic above ganglionic level)."""
    atlas = load_atlas()
    labels = sitk.GetArrayFromImage(atlas)
    z = {
        u: np.argwhere(labels == v)[:, 0].mean() * atlas.GetSpacing()[2] for u, v in LABELS.items()
    }
    for side in ("left", "right"):
        for low, high in (("M1", "M4"), ("M2", "M5"), ("M3", "M6")):
            assert z[f"{high}_{side}"] - z[f"{low}_{side}"] >= 20.0


def test_ct_template_has_ct_densities():
    ct = sitk.GetArrayFromImage(load_ct_template())
    tissue = load_tissue_maps()
    assert load_ct_template().GetPixelID() == sitk.sitkFloat32
    assert 37 <= np.median(ct[tissue["gm"] > 0.9]) <= 45
    assert 20 <= np.median(ct[tissue["wm"] > 0.9]) <= 30
    assert 0 <= np.median(ct[tissue["csf"] > 0.9]) <= 15
    assert np.median(ct[tissue["bone"] > 0.9]) > 1000
    assert 300 <= np.median(ct[tissue["diploe"] > 0.9]) <= 800
    assert np.median(ct[sum(tissue.values()) < 0.01]) == -1000


def test_atlas_agrees_with_an_independent_atlas(refdata):
    rows = compare_with_reference(load_atlas(), LABELS, refdata / "aspects_atlas_mni152")
    print("\n" + format_table(rows))
    dice = {r.unit: r.dice for r in rows}
    # Targets of issue 4: mean Dice >= 0.6, every region >= 0.4, every centroid within
    # 8 mm. Reached: mean 0.69, lowest 0.41 (caudate), farthest centroid 6.6 mm.
    assert np.mean(list(dice.values())) >= 0.68
    assert min(dice.values()) >= 0.40
    assert all(r.centroid_mm <= 8.0 for r in rows)


def test_atlas_export_writes_one_mask_per_unit(tmp_path):
    result = CliRunner().invoke(app, ["atlas", "export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    labels = sitk.GetArrayFromImage(load_atlas())
    for unit in UNITS:
        mask = sitk.ReadImage(str(out / f"{unit}.nii.gz"))
        assert mask.GetOrigin() == load_atlas().GetOrigin()
        np.testing.assert_array_equal(sitk.GetArrayFromImage(mask), labels == LABELS[unit])
    with (out / "legend.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["unit"] for r in rows] == list(UNITS)
    assert all(float(r["volume_ml"]) > 1.0 for r in rows)
    assert json.loads((out / "legend.json").read_text())["units"][0]["unit"] == UNITS[0]


def test_atlas_export_refuses_a_file_as_folder(tmp_path):
    target = tmp_path / "file"
    target.write_text("not a folder")
    result = CliRunner().invoke(app, ["atlas", "export", str(target)])
    assert result.exit_code == 2
