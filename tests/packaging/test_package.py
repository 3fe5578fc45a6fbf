"""Smoke test of the site build: the built binary, not this checkout, runs everything.

Marked ``package`` and left out of the default run (``make package-test`` runs it): it uses
``dist/readerstudy`` (or ``$READERSTUDY_BUILD``), building it first when it is missing, which
takes 10-20 minutes. Each step must exit 0: ``--version``, ``doctor --json``, a headless
demo, a coordinator's study built from the demo's phantoms, and the workstation opened
offscreen, a reader logged in to the first case, logged out and closed. Where the machine
allows it (Linux, root) every step runs without a network (``unshare --net``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.package

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("READERSTUDY_BUILD", ROOT / "dist" / "readerstudy"))
EXE = "readerstudy.exe" if sys.platform == "win32" else "readerstudy"
PIN = "2468"


def _no_network_prefix() -> list[str]:
    """``unshare --net`` where this machine allows it: the binary then runs in a network
    namespace with no interface up, so any reach for the network fails the step."""
    if shutil.which("unshare") is None:
        return []
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True)
    return ["unshare", "--net"] if probe.returncode == 0 else []


NO_NETWORK = _no_network_prefix()


@pytest.fixture(scope="module")
def binary() -> Path:
    exe = BUILD / EXE
    if not exe.is_file():
        if "READERSTUDY_BUILD" in os.environ:
            pytest.fail(f"READERSTUDY_BUILD={BUILD} holds no {EXE}")
        build = [sys.executable, str(ROOT / "packaging" / "build.py"), "--no-archive"]
        subprocess.run(build, check=True, cwd=ROOT, timeout=3600)
    return exe


def run(binary: Path, *args: str, cwd: Path, stdin: str | None = None, timeout: float = 900):
    """The built binary with a clean environment: offscreen Qt, nothing from this checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["QT_QPA_PLATFORM"] = "offscreen"
    done = subprocess.run(
        [*NO_NETWORK, str(binary), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )
    assert done.returncode == 0, f"readerstudy {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("package")


def test_version_names_the_baked_commit_and_the_same_model_as_the_checkout(binary, workdir):
    from model.infer import default_method
    from readerstudy import __version__
    from readerstudy.workflows.ai import method_hash

    lines = run(binary, "--version", cwd=workdir).splitlines()
    assert lines[0] == f"readerstudy {__version__}"
    commit = lines[1].removeprefix("commit ").removesuffix("+dirty")
    assert len(commit) == 40
    assert set(commit) <= set("0123456789abcdef")
    # The build's model files are byte for byte the checkout's, so the hash is the same.
    method = default_method()
    assert lines[2] == f"model {method} {method_hash(method)}"
    assert lines[3].startswith("built ")


def test_doctor_json_has_no_failure(binary, workdir):
    report = json.loads(run(binary, "doctor", "--json", cwd=workdir))
    checks = {c["name"]: c for c in report["checks"]}
    assert report["exit_code"] == 0, checks
    assert not [c for c in checks.values() if c["status"] == "FAIL"]
    assert checks["inference"]["status"] == "OK"
    assert checks["database"]["status"] == "OK"
    assert checks["gpu"]["status"] in ("OK", "WARN")
    assert "torch" in checks["gpu"]["detail"]


@pytest.fixture(scope="module")
def demo(binary, workdir) -> Path:
    out = workdir / "demo"
    text = run(binary, "demo", "--headless", "--cases", "4", "--out", str(out), cwd=workdir)
    assert "report:" in text
    return out


def test_a_headless_demo_reads_and_analyses_the_study(demo):
    results = json.loads((demo / "analysis" / "results.json").read_text())
    assert results["schema"] == "readerstudy.results/1"
    assert {"binary", "reading_time"} <= set(results)
    assert (demo / "analysis" / "report.html").is_file()


@pytest.fixture(scope="module")
def reading_study(binary, demo, workdir) -> Path:
    """A coordinator's one-reader study from the demo's phantoms, through the built CLI."""
    study = workdir / "ws"
    phantoms = demo / "phantoms"
    run(
        binary,
        "study",
        "init",
        str(study),
        "--cases",
        str(phantoms),
        "--truth",
        str(phantoms / "truth.csv"),
        "--readers",
        "r1",
        cwd=workdir,
    )
    run(binary, "study", "precompute", str(study), cwd=workdir)
    run(binary, "study", "pin", str(study), "--reader", "r1", "--pin", PIN, cwd=workdir)
    run(binary, "study", "lock", str(study), cwd=workdir)
    return study


def test_the_workstation_opens_offscreen_logs_in_and_closes(binary, reading_study, workdir):
    out = run(
        binary, "read", str(reading_study), "--probe-login", "r1", stdin=f"{PIN}\n", cwd=workdir
    )
    shown, logged_in, logged_out = out.strip().splitlines()
    assert shown.startswith("login screen shown ")
    assert logged_in.startswith("logged in as r1: case ")
    assert logged_out == "logged out"
    audit = run(binary, "study", "audit", str(reading_study), "--verify", cwd=workdir)
    assert audit.startswith("audit chain OK")


def test_doctor_qualifies_the_study_it_will_read(binary, reading_study, workdir):
    report = json.loads(
        run(
            binary, "doctor", "--json", "--no-inference", "--study", str(reading_study), cwd=workdir
        )
    )
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["database"]["status"] == "OK", checks["database"]
    assert "schema 2" in checks["database"]["detail"]
    assert checks["audit"]["status"] == "OK", checks["audit"]


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed")
def test_on_a_real_x_display_the_xcb_platform_loads(binary, reading_study, workdir):
    xvfb = [*NO_NETWORK, "xvfb-run", "-a", "-s", "-screen 0 1920x1080x24", str(binary)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "QT_QPA"))}
    env.pop("DISPLAY", None)
    report = subprocess.run(
        [*xvfb, "doctor", "--json", "--no-inference"],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        timeout=600,
    )
    assert report.returncode == 0, report.stdout + report.stderr
    checks = {c["name"]: c for c in json.loads(report.stdout)["checks"]}
    assert checks["display"]["status"] == "OK", checks["display"]
    assert "on xcb; primary 1920x1080 px" in checks["display"]["detail"]
    shown = subprocess.run(
        [*xvfb, "read", str(reading_study), "--probe"],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        timeout=600,
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert shown.stdout.startswith("login screen shown ")
