"""Writing onto a full disk: one line naming the problem, exit 2, and no partial file left
that could pass for a whole one. Runs on a small tmpfs, which needs root; skipped elsewhere."""

from __future__ import annotations

import json
import subprocess
import uuid

import numpy as np
import pytest
import SimpleITK as sitk
from typer.testing import CliRunner

from analysis.files import atomic_output, write_text
from readerstudy.cli import build_app
from tests.analysis.synthetic import paper_study
from tests.robustness.refusal import assert_one_line

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


def _files(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_dicom_convert_onto_a_full_disk_leaves_nothing(tmp_path, tiny_disk):
    rng = np.random.default_rng(0)
    volume = sitk.GetImageFromArray(rng.normal(0, 300, (40, 96, 96)).astype(np.float32))
    source = tmp_path / "big.nii.gz"
    sitk.WriteImage(volume, str(source))
    out = tiny_disk / "converted.nii.gz"
    result = runner.invoke(build_app(), ["dicom", "convert", str(source), str(out)])
    assert_one_line(result, "converted.nii.gz", "could not be written whole", "disk full")
    assert "wrote" not in result.output
    assert _files(tiny_disk) == []


def test_analyze_onto_a_full_disk_leaves_no_partial_report(tmp_path, tiny_disk):
    tables = paper_study(readers=4, cases=40, seed=2)
    for name in ("ratings", "truth", "times"):
        tables[name].to_csv(tmp_path / f"{name}.csv", index=False)
    out = tiny_disk / "analysis"
    args = ["analyze", str(tmp_path / "ratings.csv"), "--truth", str(tmp_path / "truth.csv")]
    result = runner.invoke(
        build_app(), [*args, "--times", str(tmp_path / "times.csv"), "--out", str(out)]
    )
    assert_one_line(result, "No space left on device", "nothing was left half-written")
    left = _files(tiny_disk)
    assert not [name for name in left if ".partial-" in name]
    if "analysis/results.json" in left:  # written before the disk filled: it must be whole
        json.loads((out / "results.json").read_text())


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
