"""Writing onto a full disk: one line naming the problem, exit 2, and nothing half-written
left behind (no temporary file, no partial file or set of files that could pass for a whole
one). Runs on a small tmpfs, which needs root; skipped elsewhere."""

from __future__ import annotations

import os
import subprocess
import uuid

import numpy as np
import pytest
import SimpleITK as sitk
from typer.testing import CliRunner

from analysis.files import atomic_output, staged_folder, write_text
from readerstudy.cli import build_app
from tests.analysis.synthetic import paper_study
from tests.robustness.refusal import assert_one_line, snapshot
from tests.study.conftest import write_study_folder

runner = CliRunner()


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs at ``tmp_path/disk``."""
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


FILLER = "filler.bin"


def _files(folder) -> list[str]:
    """Every file and folder under ``folder`` but the filler."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name != FILLER)


def _fill(disk, free: int) -> None:
    """Leave about ``free`` bytes on ``disk`` (tmpfs counts whole 4 KiB pages)."""
    stat = os.statvfs(disk)
    size = stat.f_bavail * stat.f_frsize - free
    (disk / FILLER).write_bytes(b"\0" * max(size, 0))


def _full_disk_refusal(result, out) -> str:
    """One line naming the output (not a temporary beside it) and the full disk."""
    return assert_one_line(
        result, f"error: {out}: No space left on device", "nothing was left half-written"
    )


def test_dicom_convert_onto_a_full_disk_leaves_nothing(tmp_path, tiny_disk):
    rng = np.random.default_rng(0)
    volume = sitk.GetImageFromArray(rng.normal(0, 300, (40, 96, 96)).astype(np.float32))
    source = tmp_path / "big.nii.gz"
    sitk.WriteImage(volume, str(source))
    out = tiny_disk / "converted.nii.gz"
    result = runner.invoke(build_app(), ["dicom", "convert", str(source), str(out)])
    assert_one_line(result, "converted.nii.gz", "No space left", "could not be written whole")
    assert "wrote" not in result.output
    assert _files(tiny_disk) == []


def _analyze_into(tmp_path, out):
    """``readerstudy analyze`` of a 4-reader, 40-case study with its reports in ``out``."""
    tables = paper_study(readers=4, cases=40, seed=2)
    for name in ("ratings", "truth", "times"):
        tables[name].to_csv(tmp_path / f"{name}.csv", index=False)
    args = ["analyze", str(tmp_path / "ratings.csv"), "--truth", str(tmp_path / "truth.csv")]
    return runner.invoke(
        build_app(), [*args, "--times", str(tmp_path / "times.csv"), "--out", str(out)]
    )


def test_analyze_onto_a_full_disk_leaves_no_partial_report(tmp_path, tiny_disk):
    out = tiny_disk / "analysis"
    _full_disk_refusal(_analyze_into(tmp_path, out), out)
    assert _files(tiny_disk) == []


def test_analyze_into_a_full_disk_keeps_the_previous_reports_whole(tmp_path, tiny_disk):
    out = tiny_disk / "analysis"
    out.mkdir()
    old = {"results.json": '{"old": true}\n', "report.html": "<p>old</p>\n"}
    for name, text in old.items():
        write_text(out / name, text)
    _full_disk_refusal(_analyze_into(tmp_path, out), out)
    assert _files(tiny_disk) == ["analysis", "analysis/report.html", "analysis/results.json"]
    assert {name: (out / name).read_text() for name in old} == old


def test_study_init_onto_a_full_disk_leaves_nothing(tmp_path, tiny_disk):
    from analysis.units import UNITS

    source = tmp_path / "src"
    rng = np.random.default_rng(1)
    for case in ("anna", "bert", "carl"):
        (source / case).mkdir(parents=True)
        values = rng.normal(30, 300, (30, 64, 64)).astype(np.int16)
        sitk.WriteImage(sitk.GetImageFromArray(values), str(source / case / "scan.nii.gz"))
    rows = [f"{case},{unit},0" for case in ("anna", "bert", "carl") for unit in UNITS]
    (source / "truth.csv").write_text("case,unit,truth\n" + "\n".join(rows) + "\n")
    args = ["study", "init", str(tiny_disk / "study"), "--cases", str(source)]
    result = runner.invoke(
        build_app(), [*args, "--truth", str(source / "truth.csv"), "--readers", "r1,r2"]
    )
    _full_disk_refusal(result, tiny_disk / "study")
    assert _files(tiny_disk) == []


@pytest.fixture
def read_study(tmp_path):
    """A locked study with every read submitted (simulated)."""
    folder = tmp_path / "study"
    write_study_folder(folder, n_cases=12)
    assert runner.invoke(build_app(), ["study", "lock", str(folder)]).exit_code == 0
    assert runner.invoke(build_app(), ["simulate", str(folder)]).exit_code == 0
    return folder


@pytest.mark.parametrize("free", [0, 12 * 1024, 40 * 1024])
def test_study_export_onto_a_full_disk_leaves_nothing(read_study, tiny_disk, free):
    _fill(tiny_disk, free)
    before = snapshot(read_study)
    result = runner.invoke(
        build_app(), ["study", "export", str(read_study), "--out", str(tiny_disk / "export")]
    )
    _full_disk_refusal(result, tiny_disk / "export")
    assert _files(tiny_disk) == []
    assert snapshot(read_study) == before


def test_study_export_into_a_full_folder_keeps_the_previous_export(read_study, tiny_disk):
    out = tiny_disk / "export"
    out.mkdir()
    write_text(out / "ratings.csv", "reader,case\nold,old\n")
    _fill(tiny_disk, 8 * 1024)
    result = runner.invoke(build_app(), ["study", "export", str(read_study), "--out", str(out)])
    _full_disk_refusal(result, out)
    assert _files(tiny_disk) == ["export", "export/ratings.csv"]
    assert (out / "ratings.csv").read_text() == "reader,case\nold,old\n"


@pytest.mark.parametrize("fmt", ["nifti", "dicom"])
def test_phantom_generate_onto_a_full_disk_leaves_nothing(tiny_disk, fmt):
    out = tiny_disk / "phantoms"
    result = runner.invoke(
        build_app(), ["phantom", "generate", "--n", "2", "--out", str(out), "--format", fmt]
    )
    _full_disk_refusal(result, out)
    assert "wrote" not in result.output
    assert _files(tiny_disk) == []


def test_atomic_output_keeps_the_previous_version_when_the_write_fails(tiny_disk):
    target = tiny_disk / "results.json"
    write_text(target, '{"version": 1}\n')
    with pytest.raises(OSError, match="No space left"), atomic_output(target) as temporary:
        temporary.write_bytes(b"x" * (512 * 1024))
    assert target.read_text() == '{"version": 1}\n'
    assert _files(tiny_disk) == ["results.json"]


def test_a_failed_check_keeps_the_target_untouched(tmp_path):
    target = tmp_path / "mask.nii.gz"
    target.write_bytes(b"old")

    def refuse(path):
        raise ValueError(f"{path.name} is not what was meant")

    with (
        pytest.raises(ValueError, match="is not what was meant"),
        atomic_output(target, check=refuse) as temporary,
    ):
        temporary.write_bytes(b"new")
    assert target.read_bytes() == b"old"
    assert _files(tmp_path) == ["mask.nii.gz"]


def test_an_interrupted_set_leaves_nothing_and_keeps_the_old_one(tmp_path):
    out = tmp_path / "set"
    out.mkdir()
    (out / "truth.csv").write_text("old")

    def interrupted() -> None:
        with staged_folder(out) as stage:
            (stage / "truth.csv").write_text("new")
            (stage / "case001").mkdir()
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert _files(tmp_path) == ["set", "set/truth.csv"]
    assert (out / "truth.csv").read_text() == "old"
    with staged_folder(out) as stage:
        (stage / "truth.csv").write_text("new")
        (stage / "case001").mkdir()
    assert _files(tmp_path) == ["set", "set/case001", "set/truth.csv"]
    assert (out / "truth.csv").read_text() == "new"
