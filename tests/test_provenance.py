"""Version provenance: the checkout's git commit, or the commit a site build baked in."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from readerstudy import __version__, provenance


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_checkout_reports_its_git_commit():
    if not (provenance.REPO_ROOT / ".git").exists():
        pytest.skip("not running from a git checkout")
    head = subprocess.run(
        ["git", "-C", str(provenance.REPO_ROOT), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert provenance.git_commit().removesuffix("+dirty") == head


def test_a_folder_without_git_has_an_unknown_commit(tmp_path):
    assert provenance.git_commit(tmp_path) == "unknown"


def test_a_build_reports_the_commit_baked_in_at_build_time(tmp_path, monkeypatch):
    baked = tmp_path / "_build.json"
    info = provenance.write_build_info(baked)
    stored = json.loads(baked.read_text())
    assert stored["version"] == __version__
    assert stored["commit"] == provenance.git_commit()
    # The frozen app has no repository: the commit must come from the baked file.
    baked.write_text(json.dumps({**stored, "commit": "feedface" * 5}))
    monkeypatch.setattr(provenance, "BUILD_INFO", baked)
    about = provenance.describe()
    assert about["commit"] == "feedface" * 5
    lines = provenance.version_lines(about)
    assert lines[1] == f"commit {'feedface' * 5}"
    assert lines[3] == f"built {info.built_at} ({info.platform}, Python {info.python})"
