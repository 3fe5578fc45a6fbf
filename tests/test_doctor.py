"""``readerstudy doctor``: each check's OK / WARN / FAIL on real stores, clocks and Qt."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from readerstudy import doctor
from readerstudy.cli import app
from readerstudy.doctor import Check, Status
from readerstudy.store import open_store
from readerstudy.store.probe import probe_store
from readerstudy.store.schema import SCHEMA_VERSION
from readerstudy.study.clock import SimulatedTime
from readerstudy.study.protocol import Study
from tests.study.conftest import PIN, write_study_folder

CHRONYC_TRACKING = """\
Reference ID    : C0A80101 (192.168.1.1)
Stratum         : 3
Ref time (UTC)  : Tue Dec 01 10:12:43 2026
System time     : {seconds} seconds {direction} of NTP time
Last offset     : -0.000031822 seconds
RMS offset      : 0.000045180 seconds
"""

TIMESYNC_STATUS = """\
       Server: 192.168.1.1 (ntp.hospital.example)
Poll interval: 34min 8s (min: 32s; max 34min 8s)
         Leap: normal
      Version: 4
      Stratum: 2
    Reference: C0248F97
    Precision: 1us (-25)
Root distance: 9.874ms (max: 5s)
       Offset: -1.161ms
        Delay: 49.066ms
       Jitter: 2.503ms
"""


def _by_name(checks) -> dict[str, Check]:
    return {c.name: c for c in checks}


@pytest.fixture
def locked_study(tmp_path):
    """``locked_study(time=None) -> Path``: a locked two-reader study (SQLite) with PINs."""

    def make(time: SimulatedTime | None = None) -> Path:
        folder = tmp_path / f"study{len(list(tmp_path.iterdir()))}"
        spec = write_study_folder(folder)
        with Study.open(folder, time=time or SimulatedTime(), create=True) as study:
            study.lock()
            for reader in spec.reader_ids:
                study.set_pin(reader, PIN)
        return folder

    return make


# -- the whole report -------------------------------------------------------------------------
@pytest.mark.slow
def test_doctor_json_offscreen_without_a_gpu_passes_with_warnings(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "readerstudy", "doctor", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["schema"] == "readerstudy.doctor/1"
    assert report["exit_code"] == 0
    checks = _by_name(Check(**{**c, "status": Status(c["status"])}) for c in report["checks"])
    assert list(checks) == [
        "display",
        "opengl",
        "gpu",
        "inference",
        "database",
        "disk",
        "clock",
        "time zone",
    ]
    assert checks["display"].status is Status.WARN
    assert "offscreen" in checks["display"].detail
    import torch

    if not torch.cuda.is_available():
        assert checks["gpu"].status in (Status.OK, Status.WARN)
        assert checks["gpu"].detail.startswith("no CUDA GPU: inference runs on CPU")
    assert checks["inference"].status is Status.OK
    from model.infer import default_method

    assert f"method {default_method()} " in checks["inference"].detail
    assert checks["database"].status is Status.OK
    assert "scratch store" in checks["database"].detail
    for check in checks.values():
        assert check.status is Status.OK or check.fix, check
    assert report["readerstudy"]["model_hash"] in checks["inference"].detail
    assert sum(report["summary"].values()) == len(checks)


def test_a_failed_check_gives_exit_status_2_and_the_fix(locked_study, monkeypatch):
    folder = locked_study()
    (folder / "results.sqlite").unlink()
    monkeypatch.setattr(doctor, "display_checks", list)
    result = CliRunner().invoke(app, ["doctor", "--study", str(folder), "--no-inference"])
    assert result.exit_code == 2, result.output
    line = next(li for li in result.output.splitlines() if " database " in li)
    assert line.startswith("FAIL")
    assert "the locked study's store is missing" in line
    assert "fix: restore results.sqlite" in result.output
    assert "a check FAILED" in result.output.splitlines()[-1]


def test_a_check_that_breaks_is_a_fail_and_the_others_still_run(monkeypatch):
    def broken(_study):
        raise PermissionError("/mnt/study is not readable")

    monkeypatch.setattr(doctor, "disk_check", broken)
    monkeypatch.setattr(doctor, "display_checks", list)
    report = doctor.run_doctor(inference=False)
    checks = _by_name(report.checks)
    assert checks["disk"].status is Status.FAIL
    assert checks["disk"].detail == (
        "the check itself failed: PermissionError: /mnt/study is not readable"
    )
    assert {"gpu", "database", "clock", "time zone"} <= set(checks)
    assert report.exit_code == 2


def test_debug_shows_the_broken_checks_traceback(monkeypatch):
    def broken(_study):
        raise PermissionError("/mnt/study is not readable")

    monkeypatch.setattr(doctor, "disk_check", broken)
    monkeypatch.setattr(doctor, "display_checks", list)
    result = CliRunner().invoke(app, ["--debug", "doctor", "--no-inference"])
    assert isinstance(result.exception, PermissionError)


# -- display and OpenGL ---------------------------------------------------------------------
def _screen(pixels, scale=1.0):
    logical = [round(p / scale) for p in pixels]
    return {
        "platform": "xcb",
        "screens": [
            {
                "name": "DP-1",
                "logical": logical,
                "pixels": list(pixels),
                "scale": scale,
                "logical_dpi": 96.0 * scale,
                "physical_dpi": 93.0,
                "primary": True,
            }
        ],
        "opengl": {"available": False},
    }


@pytest.mark.parametrize(
    ("pixels", "scale", "status"),
    [
        ((1920, 1080), 1.0, Status.OK),
        ((3840, 2160), 1.5, Status.OK),
        ((1366, 768), 1.0, Status.WARN),
        ((1920, 1080), 2.0, Status.FAIL),  # 960x540 logical: the form does not fit
        ((800, 600), 1.0, Status.FAIL),
    ],
)
def test_screen_resolution_and_scaling_are_judged(pixels, scale, status):
    check = doctor._screen_check(_screen(pixels, scale), headless=False)
    assert check.status is status, check
    assert f"primary {pixels[0]}x{pixels[1]} px, scale {scale:g}" in check.detail


def test_a_qt_platform_that_cannot_load_is_a_fail_not_a_crash(monkeypatch):
    monkeypatch.setattr(doctor, "display_available", lambda: True)
    monkeypatch.setenv("QT_QPA_PLATFORM", "no-such-platform")
    display, opengl = doctor.display_checks()
    assert display.status is Status.FAIL
    assert display.detail.startswith(
        'Qt cannot start: Could not find the Qt platform plugin "no-such-platform"'
    )
    assert "libxcb-cursor0" in display.fix
    assert opengl.status is Status.WARN


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed")
def test_a_real_x_display_reports_resolution_dpi_and_opengl(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    done = subprocess.run(
        [
            "xvfb-run",
            "-a",
            "-s",
            "-screen 0 1920x1080x24",
            sys.executable,
            "-m",
            "readerstudy",
            "doctor",
            "--json",
            "--no-inference",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["display"]["status"] == "OK"
    assert "primary 1920x1080 px, scale 1" in checks["display"]["detail"]
    assert " dpi" in checks["display"]["detail"]
    assert checks["opengl"]["status"] in ("OK", "WARN")


# -- GPU ------------------------------------------------------------------------------------
def test_no_gpu_on_the_cpu_build_is_not_a_failure(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(doctor, "_nvidia_present", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    check = doctor.gpu_check()
    assert check.status is Status.OK
    assert check.detail.startswith("no CUDA GPU: inference runs on CPU")


def test_a_cuda_build_that_sees_no_gpu_warns_with_the_driver_fix(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    check = doctor.gpu_check()
    assert check.status is Status.WARN
    assert "CUDA 12.4" in check.detail
    assert "nvidia-smi" in check.fix


# -- the results store ----------------------------------------------------------------------
def test_a_locked_sqlite_study_store_is_writable_with_its_schema(locked_study):
    folder = locked_study()
    check = doctor.database_check(folder, None)
    assert check.status is Status.OK, check
    assert check.detail.startswith(f"sqlite {folder.resolve() / 'results.sqlite'}: schema 2")
    assert "writable (write lock taken and released)" in check.detail


def test_a_store_whose_write_lock_is_held_elsewhere_is_not_writable(locked_study, monkeypatch):
    from readerstudy.store import engine

    folder = locked_study()
    monkeypatch.setattr(engine, "BUSY_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(folder / "results.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        check = doctor.database_check(folder, None)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert check.status is Status.FAIL
    assert "not writable: the write lock is refused: database is locked" in check.detail


def test_a_store_written_by_a_newer_readerstudy_fails_with_the_upgrade_fix(locked_study):
    folder = locked_study()
    with sqlite3.connect(folder / "results.sqlite") as conn:
        conn.execute("UPDATE readerstudy_schema SET version = 3")
    check = doctor.database_check(folder, None)
    assert check.status is Status.FAIL
    assert "has schema 3, this readerstudy reads 2: upgrade readerstudy" in check.detail
    assert "release that wrote its store" in check.fix


def test_an_unlocked_study_without_a_store_warns_that_lock_creates_it(tmp_path):
    folder = tmp_path / "new"
    write_study_folder(folder)
    check = doctor.database_check(folder, None)
    assert check.status is Status.WARN
    assert "no store yet" in check.detail
    assert "`readerstudy study lock` creates it" in check.detail


def test_an_unreachable_postgresql_server_fails_with_the_connection_fix():
    check = doctor.database_check(None, "postgresql+psycopg://postgres@127.0.0.1:1/test")
    assert check.status is Status.FAIL
    assert check.detail.startswith("cannot reach the results store postgresql+psycopg://")
    assert "pg_hba.conf" in check.fix


@pytest.fixture
def pg_schema(postgres_url):
    """A fresh PostgreSQL schema with a readerstudy store created by the owner account."""
    schema = f"rs_doctor_{uuid.uuid4().hex[:10]}"
    with open_store(postgres_url, study_id="doc", schema=schema) as store:
        store.append_event("login", reader="r1")
    yield schema
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


@pytest.mark.requires_postgres
def test_a_postgresql_store_reports_its_schema_and_privileges(postgres_url, pg_schema):
    url = f"{postgres_url}?options=-csearch_path%3D{pg_schema}"
    check = doctor.database_check(None, url)
    assert check.status is Status.OK, check
    assert "postgresql" in check.detail
    assert "schema 2 (this readerstudy: 2), writable" in check.detail
    assert "user postgres holds the reading privileges" in check.detail


@pytest.mark.requires_postgres
def test_a_postgresql_account_without_the_grants_is_not_writable(postgres_url, pg_schema):
    role = f"rs_ro_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {pg_schema} TO {role}")
        conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA {pg_schema} TO {role}")
    try:
        url = sa.make_url(postgres_url).set(username=role, password="pw")
        probe = probe_store(url.render_as_string(hide_password=False), schema=pg_schema)
        assert probe.version == SCHEMA_VERSION
        assert not probe.writable
        assert "INSERT on reads" in probe.detail
        assert "UPDATE on audit_chain_head" in probe.detail
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


@pytest.mark.requires_postgres
def test_a_missing_postgresql_schema_is_no_store_yet(postgres_url):
    probe = probe_store(postgres_url, schema=f"rs_absent_{uuid.uuid4().hex[:8]}")
    assert probe.version is None
    assert probe.writable  # the test account owns the database
    assert "does not exist" in probe.detail


# -- disk -----------------------------------------------------------------------------------
def test_free_disk_thresholds(tmp_path, monkeypatch):
    def usage(gib):
        return lambda _path: shutil._ntuple_diskusage(100 * 2**30, 0, int(gib * 2**30))

    expected = {0.5: Status.FAIL, 3.0: Status.WARN, 40.0: Status.OK}
    for gib, status in expected.items():
        monkeypatch.setattr(doctor.shutil, "disk_usage", usage(gib))
        check = doctor.disk_check(tmp_path)
        assert check.status is status
        assert check.detail == f"{gib:.1f} GiB free at {tmp_path}"


# -- clock ----------------------------------------------------------------------------------
def test_the_ntp_offset_parsers_read_the_daemons_outputs():
    fast = CHRONYC_TRACKING.format(seconds="0.000012345", direction="fast")
    slow = CHRONYC_TRACKING.format(seconds="2.500000000", direction="slow")
    assert doctor.parse_chronyc(fast) == pytest.approx(12.345e-6)
    assert doctor.parse_chronyc(slow) == pytest.approx(-2.5)
    assert doctor.parse_timedatectl(TIMESYNC_STATUS) == pytest.approx(-1.161e-3)
    assert doctor.parse_w32tm("Phase Offset: -0.0312500s\nClockRate: 0.0156250s") == -0.03125
    assert doctor.parse_chronyc("506 Cannot talk to daemon") is None
    assert doctor.parse_timedatectl("") is None


def _fake_chronyc(folder: Path, seconds: str, direction: str) -> None:
    script = folder / "chronyc"
    output = CHRONYC_TRACKING.format(seconds=seconds, direction=direction)
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}EOF\n")
    script.chmod(0o755)


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for chronyc")
@pytest.mark.parametrize(
    ("seconds", "direction", "status"),
    [
        ("0.000200000", "fast", Status.OK),
        ("2.5", "slow", Status.WARN),
        ("600", "fast", Status.FAIL),
    ],
)
def test_the_clock_offset_from_chronyc_is_judged(tmp_path, monkeypatch, seconds, direction, status):
    _fake_chronyc(tmp_path, seconds, direction)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    clock, zone = doctor.clock_checks(None, None)
    assert clock.status is status
    sign = "+" if direction == "fast" else "-"
    assert clock.detail == f"NTP offset {sign}{float(seconds) * 1000:.1f} ms (chronyc -n tracking)"
    assert zone.status is Status.OK


def test_an_unreadable_offset_is_a_warning_with_the_time_sync_fix(monkeypatch):
    monkeypatch.setattr(doctor, "_OFFSET_SOURCES", ())
    clock = doctor.clock_checks(None, None)[0]
    assert clock.status is Status.WARN
    assert clock.detail.startswith("NTP offset cannot be read (")
    assert clock.fix == doctor.TIME_SYNC_FIX


def test_a_clock_behind_the_studys_last_audit_event_fails(locked_study, monkeypatch):
    monkeypatch.setattr(doctor, "_OFFSET_SOURCES", ())
    ahead = SimulatedTime(datetime.now(UTC) + timedelta(days=2))
    folder = locked_study(ahead)
    clock = doctor.clock_checks(folder, None)[0]
    assert clock.status is Status.FAIL
    assert "is behind the study's last audit event" in clock.detail


# -- audit chain ----------------------------------------------------------------------------
def test_an_intact_study_audit_chain_is_ok(locked_study):
    folder = locked_study()
    check = doctor.audit_check(folder, None)
    assert check.status is Status.OK, check
    assert check.detail.startswith("audit chain OK: ")


def test_a_tampered_audit_log_fails(locked_study):
    folder = locked_study()
    with sqlite3.connect(folder / "results.sqlite") as conn:
        conn.execute("DROP TRIGGER audit_events_no_update")
        conn.execute("UPDATE audit_events SET reader = 'r9' WHERE seq = 2")
    check = doctor.audit_check(folder, None)
    assert check.status is Status.FAIL
    assert check.detail.startswith("audit chain BROKEN at event 2")
    assert "tell the coordinator" in check.fix
