"""``readerstudy doctor``: qualify a workstation before a study reads on it.

Each check gives one line, OK / WARN / FAIL, and the fix for anything not OK: the display
(screens, resolution, DPI) and OpenGL, the GPU and torch, the model's inference time on a
phantom, the results store (reachable, writable, schema version), free disk, the clock (NTP
offset where it can be read, time zone) and, given a study, its audit chain. A check that
breaks is a FAIL naming the error; the other checks still run. Nothing here uses the network.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from readerstudy.display import display_available
from readerstudy.errors import ReaderStudyError
from readerstudy.provenance import build_info, frozen

SCHEMA = "readerstudy.doctor/1"

MIN_SCREEN = (1024, 768)
"""Logical pixels below which the slice viewer and the ASPECTS form do not both fit."""
READING_SCREEN = (1920, 1080)
"""Pixels of the reading-room displays the workstation is laid out and documented for."""
SLOW_INFERENCE_S = 60.0
"""Seconds per phantom above which precomputing a study's AI outputs takes hours."""
DISK_FAIL_GIB, DISK_WARN_GIB = 1.0, 5.0
CLOCK_WARN_S, CLOCK_FAIL_S = 1.0, 300.0
"""NTP offsets that disorder the audit log across workstations (warn), or shift washout and
reading dates (fail)."""
NETWORK_FILESYSTEMS = frozenset({"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p"})
PHANTOM_SEED, PHANTOM_MATRIX = 2022, 128
QT_PROBE_TIMEOUT_S = 60.0

TIME_SYNC_FIX = (
    "enable time synchronisation against the hospital's NTP server (chrony or "
    "systemd-timesyncd: `timedatectl set-ntp true`; Windows: the Windows Time service), so "
    "washout dates and the audit log agree across workstations"
)


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Report:
    """All checks, in the order they ran."""

    checks: tuple[Check, ...]

    @property
    def failed(self) -> bool:
        return any(c.status is Status.FAIL for c in self.checks)

    @property
    def exit_code(self) -> int:
        """0 when nothing failed, 2 otherwise."""
        return 2 if self.failed else 0

    def counts(self) -> dict[str, int]:
        return {s.value: sum(c.status is s for c in self.checks) for s in Status}

    def to_json(self, about: dict[str, str]) -> dict:
        return {
            "schema": SCHEMA,
            "readerstudy": about,
            "checks": [{**asdict(c), "status": c.status.value} for c in self.checks],
            "summary": self.counts(),
            "exit_code": self.exit_code,
        }


def run_doctor(
    *,
    study: Path | None = None,
    db: str | None = None,
    inference: bool = True,
    on_check: Callable[[Check], None] | None = None,
    debug: bool = False,
) -> Report:
    """Run every check (``inference=False`` skips the phantom inference) and report them;
    ``debug`` lets a check that breaks raise instead of becoming a FAIL line."""
    checks: list[Check] = []
    for check in _all_checks(study, db, inference, debug):
        checks.append(check)
        if on_check is not None:
            on_check(check)
    return Report(tuple(checks))


def _all_checks(
    study: Path | None, db: str | None, inference: bool, debug: bool
) -> Iterator[Check]:
    steps: list[tuple[tuple[str, ...], Callable[[], list[Check]]]] = [
        (("display", "opengl"), display_checks),
        (("gpu",), lambda: [gpu_check()]),
    ]
    if inference:
        steps.append((("inference",), lambda: [inference_check()]))
    steps += [
        (("database",), lambda: [database_check(study, db)]),
        (("disk",), lambda: [disk_check(study)]),
        (("clock", "time zone"), lambda: clock_checks(study, db)),
    ]
    if study is not None:
        steps.append((("audit",), lambda: [audit_check(study, db)]))
    for names, run in steps:
        yield from _guarded(names, run, debug)


def _guarded(names: tuple[str, ...], run: Callable[[], list[Check]], debug: bool) -> list[Check]:
    """The checks ``run`` gives; a check that breaks is a FAIL naming the error."""
    try:
        return list(run())
    except Exception as exc:  # one broken check must not hide the others
        if debug:
            raise
        detail = f"the check itself failed: {type(exc).__name__}: {exc}"
        fix = "run `readerstudy --debug doctor` and send the output to the study's IT contact"
        return [Check(name, Status.FAIL, detail, fix) for name in names]


# -- display and OpenGL ---------------------------------------------------------------------
def self_command() -> list[str]:
    """How to start this readerstudy again (the build's binary, or ``python -m``)."""
    return [sys.executable] if frozen() else [sys.executable, "-m", "readerstudy"]


def display_checks() -> list[Check]:
    """Screens, resolution and DPI, and OpenGL, as a child process's Qt reports them."""
    headless = not display_available()
    env = dict(os.environ)
    if headless:
        # Qt still has to start (it checks the bundled plugins); without a display only the
        # offscreen platform can.
        env["QT_QPA_PLATFORM"] = "offscreen"
    try:
        done = subprocess.run(
            [*self_command(), "doctor", "--qt-probe"],
            capture_output=True,
            text=True,
            env=env,
            timeout=QT_PROBE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return _qt_broken(f"Qt did not start within {QT_PROBE_TIMEOUT_S:.0f} s")
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        # Qt says what failed in its qt.qpa lines (display, missing libraries, plugin).
        said = [line.split(": ", 1)[-1] for line in lines if line.startswith("qt.qpa")]
        reason = "; ".join(said) or (lines[-1] if lines else f"exit status {done.returncode}")
        return _qt_broken(reason)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return [_screen_check(report, headless), _opengl_check(report["opengl"])]


def _qt_broken(reason: str) -> list[Check]:
    fix = (
        "install the display libraries Qt needs (Debian/Ubuntu: libxcb-cursor0 "
        "libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libgl1), or pick a platform with "
        "QT_QPA_PLATFORM (xcb, wayland)"
    )
    return [
        Check("display", Status.FAIL, f"Qt cannot start: {reason}", fix),
        Check("opengl", Status.WARN, "not checked: Qt did not start", fix),
    ]


def _screen_check(report: dict, headless: bool) -> Check:
    platform = report["platform"]
    if headless:
        return Check(
            "display",
            Status.WARN,
            f"no display here (Qt starts on the {platform} platform): screens cannot be checked",
            "run `readerstudy doctor` in the reading room's desktop session",
        )
    screens = report["screens"]
    if not screens:
        return Check("display", Status.FAIL, f"Qt ({platform}) sees no screen", "connect a screen")
    primary = next((s for s in screens if s["primary"]), screens[0])
    width, height = primary["pixels"]
    lw, lh = primary["logical"]
    detail = (
        f"{len(screens)} screen(s) on {platform}; primary {width}x{height} px, scale "
        f"{primary['scale']:g} ({lw}x{lh} logical), {primary['logical_dpi']:.0f} dpi"
    )
    if lw < MIN_SCREEN[0] or lh < MIN_SCREEN[1]:
        return Check(
            "display",
            Status.FAIL,
            f"{detail}: below {MIN_SCREEN[0]}x{MIN_SCREEN[1]} logical, the image and the "
            "ASPECTS form do not both fit",
            "raise the resolution or lower the display scaling",
        )
    if width < READING_SCREEN[0] or height < READING_SCREEN[1]:
        return Check(
            "display",
            Status.WARN,
            f"{detail}: below the {READING_SCREEN[0]}x{READING_SCREEN[1]} the workstation is "
            "laid out for",
            "read on a 1920x1080 (or larger) display at its native resolution",
        )
    return Check("display", Status.OK, detail)


def _opengl_check(gl: dict) -> Check:
    if not gl["available"]:
        return Check(
            "opengl",
            Status.WARN,
            "no OpenGL context: the workstation draws with Qt's raster engine and does not "
            "need one",
            "install the graphics driver (or Mesa) if other viewers on this machine need OpenGL",
        )
    renderer = gl.get("renderer") or "renderer unknown"
    return Check("opengl", Status.OK, f"OpenGL {gl['version']} ({renderer}); not required")


# -- GPU and torch --------------------------------------------------------------------------
def gpu_check() -> Check:
    """CUDA device and torch build; a small convolution proves torch's kernels load."""
    import torch

    layer = torch.nn.Conv3d(1, 2, 3)
    with torch.no_grad():
        out = layer(torch.ones(1, 1, 4, 4, 4))
    if tuple(out.shape) != (1, 2, 2, 2, 2):
        raise ReaderStudyError(f"torch convolution gave shape {tuple(out.shape)}")
    build = f"torch {torch.__version__}"
    if torch.cuda.is_available():
        device = torch.cuda.get_device_properties(0)
        gib = device.total_memory / 2**30
        return Check(
            "gpu",
            Status.OK,
            f"CUDA GPU {device.name} ({gib:.0f} GiB), CUDA {torch.version.cuda}, {build}",
        )
    if torch.version.cuda is not None:
        return Check(
            "gpu",
            Status.WARN,
            f"no CUDA GPU visible to this CUDA build ({build}, CUDA {torch.version.cuda}): "
            "inference runs on CPU",
            "check the NVIDIA driver (`nvidia-smi`); reading itself never waits for the model",
        )
    if _nvidia_present():
        return Check(
            "gpu",
            Status.WARN,
            f"an NVIDIA GPU is present but this is the CPU build ({build}): inference runs on CPU",
            "install the CUDA build (docs/deployment.md) if precomputing AI outputs is too slow",
        )
    return Check(
        "gpu",
        Status.OK,
        f"no CUDA GPU: inference runs on CPU ({build}, CPU build); AI outputs are "
        "precomputed, so reading never waits for the model",
    )


def _nvidia_present() -> bool:
    return Path("/proc/driver/nvidia/gpus").is_dir() or shutil.which("nvidia-smi") is not None


# -- model inference ------------------------------------------------------------------------
def inference_check() -> Check:
    """The app's default method (``auto``: the dual-path network when its weights are
    present, else the asymmetry method) on a small generated phantom, timed."""
    from model.errors import ModelError
    from model.infer import predict
    from model.phantom import PhantomConfig, generate_phantom

    phantom = generate_phantom(PHANTOM_SEED, PhantomConfig(matrix=PHANTOM_MATRIX))
    size = "x".join(str(n) for n in phantom.image.GetSize())
    start = time.perf_counter()
    try:
        prediction = predict(phantom.image, method="auto")
    except ModelError as exc:
        return Check(
            "inference",
            Status.FAIL,
            f"the model failed on a {size} phantom: {exc}",
            "reinstall the build (its model files are damaged or incomplete)",
        )
    elapsed = time.perf_counter() - start
    units = prediction.regions["unit"].nunique()
    if units != len(phantom.truth):
        return Check(
            "inference",
            Status.FAIL,
            f"the model scored {units} of {len(phantom.truth)} ASPECTS units on a phantom",
            "reinstall the build (its model files are damaged or incomplete)",
        )
    detail = (
        f"method {prediction.method} ({prediction.method_hash}) on a {size} phantom: "
        f"{elapsed:.1f} s"
    )
    if elapsed > SLOW_INFERENCE_S:
        return Check(
            "inference",
            Status.WARN,
            f"{detail}, slow: precomputing 100 cases takes about {elapsed * 100 / 3600:.1f} h",
            "precompute the AI outputs on a faster machine (a CUDA build on a GPU) before "
            "reading; reading never waits for the model",
        )
    return Check("inference", Status.OK, detail)


# -- the results store ----------------------------------------------------------------------
def _store_target(study: Path | None, db: str | None) -> tuple[str | Path, bool]:
    """The store to check and whether the study is locked (its store must then exist)."""
    if study is None:
        if db is None:
            raise ValueError("a store check needs a study folder or a database URL")
        return db, False
    from readerstudy.study.definition import load_definition
    from readerstudy.study.protocol import SCHEDULE_FILE

    definition = load_definition(study)
    return db or definition.db or study, (study / SCHEDULE_FILE).is_file()


def database_check(study: Path | None, db: str | None) -> Check:
    """The study's store (or ``db``): reachable, writable, schema version; else SQLite itself."""
    if study is None and db is None:
        return _scratch_sqlite_check()
    from readerstudy.store.errors import SchemaVersionError, StoreError
    from readerstudy.store.probe import probe_store
    from readerstudy.store.schema import SCHEMA_VERSION

    target, locked = _store_target(study, db)
    try:
        probe = probe_store(target)
    except SchemaVersionError as exc:
        return Check(
            "database",
            Status.FAIL,
            str(exc),
            "run every workstation of a study on the readerstudy release that wrote its store "
            "(docs/deployment.md, Upgrading)",
        )
    except StoreError as exc:
        return Check("database", Status.FAIL, str(exc), _store_fix(target))
    where = f"{probe.backend} {probe.name}"
    if probe.version is None:
        if locked:
            return Check(
                "database",
                Status.FAIL,
                f"{where}: the locked study's store is missing ({probe.detail})",
                "restore results.sqlite (or the database) from the backup; do not re-lock",
            )
        status = Status.WARN if probe.writable else Status.FAIL
        return Check(
            "database",
            status,
            f"{where}: {probe.detail}; `readerstudy study lock` creates it",
            "" if probe.writable else _store_fix(target),
        )
    detail = f"{where}: schema {probe.version} (this readerstudy: {SCHEMA_VERSION})"
    if not probe.writable:
        return Check(
            "database", Status.FAIL, f"{detail}, not writable: {probe.detail}", _store_fix(target)
        )
    network = _network_filesystem(Path(probe.name)) if probe.backend == "sqlite" else None
    if network:
        return Check(
            "database",
            Status.WARN,
            f"{detail}, writable, on a {network} network share",
            "SQLite needs every writer on one host: give workstations on other machines a "
            "PostgreSQL store (docs/storage.md)",
        )
    return Check("database", Status.OK, f"{detail}, writable ({probe.detail})")


def _store_fix(target: str | Path) -> str:
    if isinstance(target, str) and target.startswith("postgres"):
        return (
            "check the server address and port, that PostgreSQL runs and pg_hba.conf admits "
            "this host and user, the TLS setting (sslmode), and the grants in "
            "docs/deployment.md"
        )
    return "give the reading account read and write access to the study folder"


def _scratch_sqlite_check() -> Check:
    """Create and open a store in a temporary folder: SQLite, WAL and the triggers work."""
    import sqlite3

    from readerstudy.store import open_store
    from readerstudy.store.schema import SCHEMA_VERSION

    with tempfile.TemporaryDirectory(prefix="readerstudy-doctor-") as folder:
        with open_store(Path(folder), study_id="doctor") as store:
            store.append_event("login", reader="doctor")
            verified = store.verify_audit()
        if not verified.ok:
            return Check(
                "database",
                Status.FAIL,
                f"a scratch store: {verified.reason}",
                "reinstall the build",
            )
    return Check(
        "database",
        Status.OK,
        f"SQLite {sqlite3.sqlite_version}: a scratch store (schema {SCHEMA_VERSION}) was "
        "written and verified; give --study or --db to check the study's own store",
    )


def _network_filesystem(path: Path) -> str | None:
    """The network file-system type ``path`` lies on (Linux mounts, Windows UNC), or None."""
    if str(path).startswith("\\\\"):
        return "SMB"
    try:
        mounts = Path("/proc/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    best, kind = "", None
    resolved = str(path.resolve())
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best):
            best, kind = point, fields[2]
    return kind if kind in NETWORK_FILESYSTEMS else None


# -- disk -----------------------------------------------------------------------------------
def disk_check(study: Path | None) -> Check:
    folder = study if study is not None else Path.cwd()
    free = shutil.disk_usage(folder).free / 2**30
    detail = f"{free:.1f} GiB free at {folder}"
    if free < DISK_FAIL_GIB:
        return Check(
            "disk",
            Status.FAIL,
            detail,
            "free disk space before reading: the store refuses reads it cannot write durably",
        )
    if free < DISK_WARN_GIB:
        return Check(
            "disk",
            Status.WARN,
            detail,
            f"free at least {DISK_WARN_GIB:g} GiB (a study's images, AI outputs and backups)",
        )
    return Check("disk", Status.OK, detail)


# -- clock ----------------------------------------------------------------------------------
def clock_checks(study: Path | None, db: str | None) -> list[Check]:
    return [_clock_check(study, db), _timezone_check()]


def _clock_check(study: Path | None, db: str | None) -> Check:
    now = datetime.now(UTC)
    behind = _clock_behind(now, study, db)
    if behind is not None:
        return Check("clock", Status.FAIL, behind, TIME_SYNC_FIX)
    offset, source = ntp_offset()
    if offset is None:
        return Check("clock", Status.WARN, f"NTP offset cannot be read ({source})", TIME_SYNC_FIX)
    detail = f"NTP offset {offset * 1000:+.1f} ms ({source})"
    if abs(offset) > CLOCK_FAIL_S:
        return Check("clock", Status.FAIL, detail, TIME_SYNC_FIX)
    if abs(offset) > CLOCK_WARN_S:
        return Check("clock", Status.WARN, detail, TIME_SYNC_FIX)
    return Check("clock", Status.OK, detail)


def _clock_behind(now: datetime, study: Path | None, db: str | None) -> str | None:
    """Why the clock is certainly wrong: before the build was made, or before the study's
    last recorded event."""
    info = build_info()
    if info is not None and now < datetime.fromisoformat(info.built_at):
        return (
            f"the clock ({now:%Y-%m-%d %H:%M} UTC) is before this build was made ({info.built_at})"
        )
    if study is None:
        return None
    last = _last_event_at(study, db)
    if last is not None and now < last:
        return (
            f"the clock ({now:%Y-%m-%d %H:%M:%S} UTC) is behind the study's last audit event "
            f"({last:%Y-%m-%d %H:%M:%S} UTC): this workstation's clock is wrong"
        )
    return None


def _last_event_at(study: Path, db: str | None) -> datetime | None:
    from readerstudy.study.protocol import Study

    try:
        opened = Study.open(study, db=db, check_definition=False, read_only=True)
    except ReaderStudyError:
        return None  # the database and audit checks say why
    with opened:
        events = opened.store.events()
    return events[-1].at if events else None


def ntp_offset() -> tuple[float | None, str]:
    """Local clock minus NTP time in seconds and where it was read; None and why not.

    Asks the local time daemon only (chronyc, timedatectl, w32tm); nothing goes to the
    network. Without an offset, the Linux kernel's own synchronisation state is reported.
    """
    for command, parse in _OFFSET_SOURCES:
        if shutil.which(command[0]) is None:
            continue
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            continue
        offset = parse(done.stdout) if done.returncode == 0 else None
        if offset is not None:
            return offset, " ".join(command)
    kernel = _kernel_sync_state()
    reason = "no chronyc, timedatectl or w32tm answered with one"
    return None, f"{reason}; {kernel}" if kernel else reason


_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0}


def parse_chronyc(text: str) -> float | None:
    """``System time : 0.000012 seconds fast of NTP time`` (chronyc tracking)."""
    match = re.search(r"System time\s*:\s*([0-9.]+) seconds (fast|slow)", text)
    if match is None:
        return None
    value = float(match.group(1))
    return value if match.group(2) == "fast" else -value


def parse_timedatectl(text: str) -> float | None:
    """``Offset: -1.161ms`` (timedatectl timesync-status)."""
    match = re.search(r"^\s*Offset:\s*([+-]?[0-9.]+)\s*(ns|us|µs|ms|s|min)\b", text, re.M)
    return None if match is None else float(match.group(1)) * _UNITS[match.group(2)]


def parse_w32tm(text: str) -> float | None:
    """``Phase Offset: 0.0001234s`` (w32tm /query /status /verbose)."""
    match = re.search(r"Phase Offset:\s*([+-]?[0-9.]+)s", text)
    return None if match is None else float(match.group(1))


_OFFSET_SOURCES = (
    (("chronyc", "-n", "tracking"), parse_chronyc),
    (("timedatectl", "timesync-status"), parse_timedatectl),
    (("w32tm", "/query", "/status", "/verbose"), parse_w32tm),
)

TIME_ERROR = 5
"""``adjtimex`` clock state: not synchronised."""


class _Timex(ctypes.Structure):
    """The head of Linux's ``struct timex`` (``adjtimex(2)``), read-only use."""

    _fields_ = (
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("rest", ctypes.c_long * 32),  # the remaining fields, never read
    )


def _kernel_sync_state() -> str | None:
    """Whether the Linux kernel counts its clock as NTP-synchronised (modes 0 changes nothing)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        timex = _Timex()
        state = libc.adjtimex(ctypes.byref(timex))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    if state == TIME_ERROR:
        return "the kernel counts the clock as not synchronised by NTP"
    return (
        f"the kernel counts the clock as synchronised (estimated error "
        f"{timex.esterror / 1000:.1f} ms)"
    )


def _timezone_check() -> Check:
    local = datetime.now().astimezone()
    zone = os.environ.get("TZ") or _zone_name() or local.tzname()
    offset = local.strftime("%z")
    return Check(
        "time zone",
        Status.OK,
        f"{zone} (UTC{offset[:3]}:{offset[3:]}); the store keeps UTC, so workstations in "
        "different zones agree",
    )


def _zone_name() -> str | None:
    link = Path("/etc/localtime")
    try:
        target = str(link.resolve())
    except OSError:
        return None
    return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else None


# -- the study's audit chain ----------------------------------------------------------------
def audit_check(study: Path, db: str | None) -> Check:
    """The hash chain, the stored reads and (once locked) the design, as `study audit --verify`."""
    from readerstudy.study.protocol import Study

    try:
        opened = Study.open(study, db=db, check_definition=False, read_only=True)
    except ReaderStudyError as exc:
        if _store_target(study, db)[1]:
            return Check(
                "audit",
                Status.FAIL,
                f"cannot open the audit log: {exc}",
                "see the database line; restore the store from the backup",
            )
        return Check(
            "audit",
            Status.WARN,
            f"no audit log yet: {exc}",
            "lock the study (`readerstudy study lock`) before anyone reads",
        )
    with opened:
        result = opened.store.verify_audit()
        design = opened.design_problems() if opened.locked else []
    fix = (
        "stop reading at this study, leave the store as it is and tell the coordinator "
        "(docs/coordinator.md, audit verification)"
    )
    if not result.ok:
        where = f"event {result.first_broken}" if result.first_broken is not None else "the log"
        return Check("audit", Status.FAIL, f"audit chain BROKEN at {where}: {result.reason}", fix)
    if design:
        return Check("audit", Status.FAIL, f"locked design BROKEN: {design[0]}", fix)
    head = (result.head_hash or "")[:16]
    return Check(
        "audit",
        Status.OK,
        f"audit chain OK: {result.n_events} events, {result.n_reads} reads; head {head}",
    )
