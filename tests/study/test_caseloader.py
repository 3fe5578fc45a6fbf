"""The case loader: display orientation, grids, levels, read-only arrays, prefetch, blinding."""

from __future__ import annotations

import builtins
import io
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from analysis.units import UNITS
from readerstudy.study.caseloader import (
    CaseFiles,
    CaseLoader,
    CaseLoadError,
    ViewerOptions,
    load_case,
)
from readerstudy.study.definition import Viewer
from readerstudy.study.workstation import Workstation

from .conftest import PIN, SCAN_SIZE, all_negative, write_scan

RADIOLOGICAL = ViewerOptions.from_definition(Viewer())
NEUROLOGICAL = ViewerOptions.from_definition(Viewer(orientation="neurological"))

# LPS directions: identity; stored right-to-left and posterior-to-anterior (as RAS-minded
# tools write NIfTI); stored superior-to-inferior.
DIRECTIONS = {
    "lps": (1, 0, 0, 0, 1, 0, 0, 0, 1),
    "ras": (-1, 0, 0, 0, -1, 0, 0, 0, 1),
    "top_down": (1, 0, 0, 0, 1, 0, 0, 0, -1),
}


def _block(hu: np.ndarray) -> tuple[set, set, set]:
    """Slices, rows and columns of the phantom's 70 HU block."""
    z, y, x = np.nonzero(hu == 70)
    return set(z.tolist()), set(y.tolist()), set(x.tolist())


@pytest.mark.parametrize("stored", DIRECTIONS)
def test_a_left_sided_feature_is_on_screen_right_in_radiological_orientation(tmp_path, stored):
    path = write_scan(tmp_path / "scan.nii.gz", direction=DIRECTIONS[stored])
    cols = SCAN_SIZE[0]
    shown = load_case(CaseFiles("S1-001", path), RADIOLOGICAL)
    slices, rows, columns = _block(shown.hu)
    assert shown.screen_left == "R"
    assert columns == {cols - 3, cols - 2, cols - 1}  # patient left on the screen's right
    assert rows == {0, 1, 2}  # anterior at the top
    assert slices == {0}  # the most inferior slice first
    assert shown.z_mm == tuple(sorted(shown.z_mm))
    assert shown.spacing == pytest.approx((5.0, 0.9, 0.8))
    neuro = load_case(CaseFiles("S1-001", path), NEUROLOGICAL)
    assert neuro.screen_left == "L"
    assert _block(neuro.hu)[2] == {0, 1, 2}
    assert np.array_equal(neuro.hu, shown.hu[:, :, ::-1])


def test_a_grid_turned_45_degrees_still_loads_on_the_nearest_axes(tmp_path):
    c = 2**-0.5
    path = write_scan(tmp_path / "scan.nii.gz", direction=(c, -c, 0, c, c, 0, 0, 0, 1))
    jumps = ViewerOptions.from_definition(Viewer(level_jumps=True))
    files = CaseFiles("S1-001", path, levels={"ganglionic": 1, "supraganglionic": 4})
    shown = load_case(files, jumps)
    assert sorted(shown.hu.shape[1:]) == sorted(SCAN_SIZE[:2])
    assert shown.hu.shape[0] == SCAN_SIZE[2]
    assert shown.levels == {"ganglionic": 1, "supraganglionic": 4}
    assert shown.z_mm == pytest.approx((10.0, 15.0, 20.0, 25.0, 30.0))


def test_slice_positions_are_the_superior_coordinate_in_mm(tmp_path):
    path = write_scan(tmp_path / "scan.nii.gz", direction=DIRECTIONS["top_down"])
    shown = load_case(CaseFiles("S1-001", path), RADIOLOGICAL)
    # stored top-down from z = 10 mm in 5 mm steps: slices at -10 ... 10 mm, inferior first
    assert shown.z_mm == pytest.approx((-10.0, -5.0, 0.0, 5.0, 10.0))


def test_the_arrays_are_converted_once_and_read_only(tmp_path):
    path = write_scan(tmp_path / "scan.nii.gz")
    shown = load_case(CaseFiles("S1-001", path), RADIOLOGICAL)
    assert shown.hu.dtype == np.int16
    assert shown.hu.shape == SCAN_SIZE[::-1]
    assert shown.window == (40.0, 80.0)
    with pytest.raises(ValueError, match="read-only"):
        shown.hu[0, 0, 0] = 1
    floats = load_case(
        CaseFiles("S1-001", write_scan(tmp_path / "f.nii.gz", pixel="f")), NEUROLOGICAL
    )
    assert floats.hu.dtype == np.float32


def _image_like(scan_path: Path, out: Path, values: np.ndarray, **changes) -> Path:
    scan = sitk.ReadImage(str(scan_path))
    image = sitk.GetImageFromArray(values)
    image.CopyInformation(scan)
    for name, value in changes.items():
        getattr(image, f"Set{name}")(value)
    sitk.WriteImage(image, str(out))
    return out


def test_ai_images_come_on_the_display_grid_and_off_grid_ones_are_refused(tmp_path):
    scan = write_scan(tmp_path / "scan.nii.gz", direction=DIRECTIONS["ras"])
    # the likelihood marks exactly the phantom's block, by voxel (same grid)
    block = sitk.GetArrayFromImage(sitk.ReadImage(str(scan))) == 70
    mask = _image_like(scan, tmp_path / "mask.nii.gz", block.astype(np.float32) * 0.8)
    labels = _image_like(scan, tmp_path / "atlas.nii.gz", block.astype(np.uint8) * 7)
    shown = load_case(CaseFiles("S2-004", scan, ai_mask=mask, atlas=labels), RADIOLOGICAL)
    assert shown.ai_mask.dtype == np.float32
    assert np.array_equal(shown.ai_mask > 0, shown.hu == 70)
    assert np.array_equal(shown.regions == 7, shown.hu == 70)
    assert shown.region_units == {i + 1: unit for i, unit in enumerate(UNITS)}
    assert not shown.ai_mask.flags.writeable
    assert not shown.regions.flags.writeable

    values = np.zeros(SCAN_SIZE[::-1], np.float32)
    for name, change in (
        ("spacing", {"Spacing": (0.8, 0.9, 4.0)}),
        ("origin", {"Origin": (0.0, 0.0, 0.0)}),
        ("direction", {"Direction": DIRECTIONS["lps"]}),
    ):
        off = _image_like(scan, tmp_path / f"off-{name}.nii.gz", values, **change)
        with pytest.raises(
            CaseLoadError, match=rf"S2-004: the AI mask is not on the scan's grid \({name}"
        ):
            load_case(CaseFiles("S2-004", scan, ai_mask=off), RADIOLOGICAL)
    small = tmp_path / "small.nii.gz"
    sitk.WriteImage(sitk.Image(4, 4, 4, sitk.sitkFloat32), str(small))
    with pytest.raises(CaseLoadError, match=r"S2-004: the atlas label map is not on .* \(size"):
        load_case(CaseFiles("S2-004", scan, atlas=small), RADIOLOGICAL)
    percent = _image_like(scan, tmp_path / "pct.nii.gz", values + 80)
    with pytest.raises(CaseLoadError, match="values 80-80, not a likelihood in 0-1"):
        load_case(CaseFiles("S2-004", scan, ai_mask=percent), RADIOLOGICAL)


def test_levels_map_to_display_slices_only_where_the_study_offers_jumps(tmp_path):
    scan = write_scan(tmp_path / "scan.nii.gz", direction=DIRECTIONS["top_down"])
    levels = {"ganglionic": 1, "supraganglionic": 3}  # indices on the stored, top-down grid
    jumps = ViewerOptions.from_definition(Viewer(level_jumps=True))
    shown = load_case(CaseFiles("S1-001", scan, levels=levels), jumps)
    n = SCAN_SIZE[2]
    assert shown.levels == {"ganglionic": n - 1 - 1, "supraganglionic": n - 1 - 3}
    assert load_case(CaseFiles("S1-001", scan, levels=levels), RADIOLOGICAL).levels is None
    with pytest.raises(CaseLoadError, match="ganglionic level is slice 9, outside the scan's 5"):
        load_case(CaseFiles("S1-001", scan, levels={**levels, "ganglionic": 9}), jumps)


def test_an_unreadable_scan_is_a_load_error_naming_the_code(tmp_path):
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(b"not an image")
    with pytest.raises(CaseLoadError, match="S1-002: the scan cannot be loaded") as info:
        load_case(CaseFiles("S1-002", broken), RADIOLOGICAL)
    assert str(tmp_path) not in str(info.value)  # shown to the reader: no path, no case id
    assert "schedule.csv" in str(info.value)
    assert str(broken) in str(info.value.__cause__)  # kept for the log


def test_the_next_case_is_loaded_in_the_background_before_it_is_asked_for(tmp_path):
    paths = [write_scan(tmp_path / f"c{i}.nii.gz") for i in range(2)]
    calls: list[tuple[str, Path]] = []
    loaded_next = threading.Event()

    def read_scan(path: Path) -> sitk.Image:
        calls.append((threading.current_thread().name, path))
        if path == paths[1]:
            loaded_next.set()
        return sitk.ReadImage(str(path))

    loader = CaseLoader(RADIOLOGICAL, read_scan=read_scan)
    first, second = CaseFiles("S1-001", paths[0]), CaseFiles("S1-002", paths[1])
    loader.opened(first, second)
    assert loaded_next.wait(10), "the next case was not prefetched"
    assert loader.volume(first, second).code == "S1-001"
    loader.opened(second, None)
    assert loader.volume(second, None).code == "S1-002"
    # each scan read once, both on the loader's thread, none on the caller's
    assert [p for _, p in calls] == paths
    assert all(name.startswith("caseloader") for name, _ in calls)
    loader.close()


def test_without_prefetch_nothing_is_read_until_asked(tmp_path):
    path = write_scan(tmp_path / "c.nii.gz")
    calls = []
    loader = CaseLoader(
        RADIOLOGICAL, prefetch=False, read_scan=lambda p: calls.append(p) or sitk.ReadImage(str(p))
    )
    loader.opened(CaseFiles("S1-001", path), None)
    assert calls == []
    assert loader.volume(CaseFiles("S1-001", path), None).hu.shape == SCAN_SIZE[::-1]
    assert calls == [path]
    loader.close()


@pytest.fixture
def opened_files(monkeypatch) -> list[str]:
    """Every path opened through Python's open or read by SimpleITK, from any thread."""
    seen: list[str] = []
    real_open, real_read = builtins.open, sitk.ReadImage

    def spy_open(file, *args, **kwargs):
        seen.append(str(file))
        return real_open(file, *args, **kwargs)

    def spy_read(path, *args, **kwargs):
        seen.append(str(path))
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(io, "open", spy_open)
    monkeypatch.setattr(sitk, "ReadImage", spy_read)
    return seen


def _read_session(session, sim_time) -> list:
    volumes = []
    while session.current is not None:
        volumes.append(session.display_volume())
        sim_time.advance(10)
        session.submit(all_negative(session.current))
        session.advance()
    return volumes


def test_no_ai_file_is_opened_in_unaided_reads_and_all_are_in_aided_ones(
    make_study, sim_time, opened_files
):
    study = make_study(images=True, viewer={"level_jumps": True})
    ai_dir = str(study.ai_dir)
    opened_files.clear()  # what the coordinator's lock read (it hashes the AI outputs)
    station = Workstation.open(study.path, time=sim_time)
    unaided = _read_session(station.login("r1", PIN), sim_time)
    assert len(unaided) == 6
    assert [p for p in opened_files if p.startswith(ai_dir)] == []
    assert any(p.startswith(str(study.path / "cases")) for p in opened_files)  # the spy works
    assert all(v.ai_mask is None and v.regions is None and v.region_units == {} for v in unaided)

    sim_time.advance(15 * 86400)
    opened_files.clear()
    aided = _read_session(station.login("r1", PIN), sim_time)
    ai_reads = {Path(p).parent.name for p in opened_files if p.startswith(ai_dir)}
    assert ai_reads == {"masks", "atlas", "ai"}  # ai/ai_regions.csv, masks and label maps
    assert all(v.ai_mask is not None and v.regions is not None for v in aided)
    # level jumps come from levels.csv at the study root: the same in both modalities
    assert {str(v.levels) for v in unaided + aided} == {"{'ganglionic': 1, 'supraganglionic': 3}"}
    station.close()


def test_aided_reads_without_atlas_or_levels_load_cleanly(make_study, sim_time):
    study = make_study(images=True, n_cases=2, viewer={"level_jumps": True})
    shutil.rmtree(study.ai_dir / "atlas")
    (study.path / "levels.csv").unlink()
    with Workstation.open(study.path, time=sim_time) as station:
        unaided = _read_session(station.login("r1", PIN), sim_time)
        sim_time.advance(15 * 86400)
        aided = _read_session(station.login("r1", PIN), sim_time)
    assert [v.levels for v in unaided + aided] == [None] * 4
    assert all(v.ai_mask is not None for v in aided)
    assert all(v.regions is None and v.region_units == {} for v in aided)
