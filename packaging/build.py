"""Build the one-folder site build: PyInstaller, prune, strip, notices, check, archive.

    python packaging/build.py                # dist/readerstudy/ and dist/readerstudy-*.tar.zst
    python packaging/build.py --reuse        # prune/check/archive an existing dist/readerstudy

``make package`` runs this, then the packaging smoke test. The PyInstaller spec
(``packaging/readerstudy.spec``) decides what goes in; this script takes out what PyInstaller
cannot leave out (``excludes=`` drops modules, never shared libraries or data), writes the
licence notices beside the executable, checks that the pruned build still starts, and
records sizes and timings in ``dist/BUILD-REPORT.json``.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import json
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "readerstudy.spec"
NOTICES = ROOT / "packaging" / "THIRD_PARTY_NOTICES.md"
LICENCE_TEXTS = ROOT / "packaging" / "licenses"
ASSET_NOTICES = ROOT / "model" / "anatomy" / "assets" / "THIRD_PARTY_NOTICES.md"
NAME = "readerstudy"
EXE = f"{NAME}.exe" if sys.platform == "win32" else NAME
REPORT = "BUILD-REPORT.json"
"""Sizes, timings and what was pruned, beside the folder in the dist folder."""

# (pattern relative to _internal, what it is). fnmatch patterns; "**" spans folders.
PRUNE: tuple[tuple[str, str], ...] = (
    ("torch/test", "torch's C++ test binaries"),
    ("torch/bin/*", "torch's developer tools (torch_shm_manager is kept: torch needs it)"),
    ("torch/include", "C++ headers"),
    ("torch/share", "CMake files"),
    ("torch/lib/libjitbackend_test.*", "torch test library"),
    ("torch/lib/libtorchbind_test.*", "torch test library"),
    ("torch/lib/libbackend_with_compiler.*", "torch test library"),
    ("torch/lib/libaoti_custom_ops.*", "torch test library"),
    ("torchvision*", "stray torchvision (not used)"),
    ("torchaudio*", "stray torchaudio (not used)"),
    ("PySide6/Qt/translations", "Qt translations (the workstation is English only)"),
    ("PySide6/Qt/qml", "QML modules (the workstation uses widgets)"),
    ("PySide6/Qt/lib/libQt6Qml*", "QML libraries"),
    ("PySide6/Qt/lib/libQt6Quick*", "Qt Quick libraries"),
    ("PySide6/Qt/lib/libQt6Pdf*", "Qt PDF"),
    ("PySide6/Qt/lib/libQt6Network.*", "Qt Network (only the VNC and TUIO plugins use it)"),
    ("PySide6/Qt/lib/libQt6EglFS*", "EGLFS (embedded full-screen) support"),
    ("PySide6/Qt/plugins/platforms/libqvnc.*", "VNC platform"),
    ("PySide6/Qt/plugins/platforms/libqeglfs.*", "EGLFS platform"),
    ("PySide6/Qt/plugins/platforms/libqlinuxfb.*", "framebuffer platform"),
    ("PySide6/Qt/plugins/platforms/libqminimalegl.*", "minimal EGL platform"),
    ("PySide6/Qt/plugins/platforms/libqvkkhrdisplay.*", "Vulkan display platform"),
    ("PySide6/Qt/plugins/egldeviceintegrations", "EGLFS device integrations"),
    ("PySide6/Qt/plugins/generic/libqtuiotouchplugin.*", "TUIO touch over the network"),
)
KEEP = ("torch/bin/torch_shm_manager",)
"""Matched by a prune pattern but needed at run time."""

STRIP = ("torch/lib/libtorch_cpu.so", "torch/lib/libtorch_python.so")
"""Shared libraries shipped with their symbol tables (about 90 MB in libtorch_cpu); their
dynamic symbols stay. Wheels repaired by auditwheel are left alone: strip can break them."""

ZSTD_LEVEL = 12

QUICK_CHECKS = (("--version",), ("doctor", "--json"))
"""Run on the pruned build before it is archived (the smoke test runs the rest)."""


@dataclass
class Report:
    """What BUILD-REPORT.json records."""

    version: str = ""
    commit: str = ""
    platform: str = f"{platform.system()}-{platform.machine()}"
    pyinstaller_s: float | None = None
    raw_bytes: int = 0
    pruned: list[dict] = field(default_factory=list)
    stripped: list[dict] = field(default_factory=list)
    folder_bytes: int = 0
    checks: list[dict] = field(default_factory=list)
    archive: str | None = None
    archive_bytes: int | None = None
    archive_s: float | None = None


def size_of(path: Path) -> int:
    """Bytes of a file, or of every file below a folder (links not followed)."""
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def run_pyinstaller(dist: Path, work: Path) -> float:
    start = time.monotonic()
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
    command += ["--distpath", str(dist), "--workpath", str(work), str(SPEC)]
    subprocess.run(command, check=True, cwd=ROOT)
    return time.monotonic() - start


def prune(internal: Path) -> list[dict]:
    """Delete what PRUNE lists (except KEEP); one entry per pattern with the bytes removed."""
    removed = []
    entries = sorted(
        (p.relative_to(internal).as_posix(), p) for p in internal.rglob("*") if p.exists()
    )
    for pattern, why in PRUNE:
        freed, count = 0, 0
        for rel, path in entries:
            if rel in KEEP or not fnmatch.fnmatch(rel, pattern) or not path.exists():
                continue
            if any(keep.startswith(rel + "/") for keep in KEEP):
                continue  # a folder that holds something kept: prune its other contents
            freed += size_of(path)
            count += 1
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        if count:
            removed.append({"pattern": pattern, "what": why, "entries": count, "bytes": freed})
    return removed


def strip_libraries(internal: Path) -> list[dict]:
    tool = shutil.which("strip")
    if tool is None or not sys.platform.startswith("linux"):
        return []
    done = []
    for rel in STRIP:
        path = internal / rel
        if not path.is_file() or path.is_symlink():
            continue
        before = path.stat().st_size
        subprocess.run([tool, "--strip-unneeded", str(path)], check=True)
        done.append({"file": rel, "before": before, "after": path.stat().st_size})
    return done


def _licence_files(dist: metadata.Distribution) -> list[Path]:
    names = ("LICEN", "COPYING", "NOTICE", "AUTHORS")
    found = []
    for file in dist.files or ():
        parts = Path(str(file)).parts
        in_meta = parts and parts[0].endswith((".dist-info", ".egg-info"))
        if in_meta and (file.name.upper().startswith(names) or "licenses" in parts):
            path = Path(dist.locate_file(file))
            if path.is_file():
                found.append(path)
    return found


def bundled_top_levels(internal: Path, work: Path) -> set[str]:
    """Top-level names of what the build holds: files in ``_internal`` and the modules of
    the PYZ archive (pure-Python packages leave no folder behind)."""
    names = {p.name.split(".")[0] for p in internal.iterdir()}
    toc = work / NAME / "PYZ-00.toc"
    if toc.is_file():
        _, modules = ast.literal_eval(toc.read_text(encoding="utf-8"))
        names |= {module[0].split(".")[0] for module in modules}
    return names


def write_notices(folder: Path, internal: Path, work: Path) -> int:
    """THIRD_PARTY_NOTICES.md beside the executable; under ``licenses/`` the anatomy
    notices, the LGPL/GPL texts Qt is under, Python's licence and the licence files of every
    bundled distribution. Returns the number of distributions."""
    target = folder / "licenses"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir()
    shutil.copy2(NOTICES, folder / "THIRD_PARTY_NOTICES.md")
    shutil.copy2(ASSET_NOTICES, target / "anatomy-assets-NOTICES.md")
    for text in LICENCE_TEXTS.iterdir():
        shutil.copy2(text, target / text.name)
    python_licence = Path(sysconfig.get_path("stdlib")) / "LICENSE.txt"
    if python_licence.is_file():
        shutil.copy2(python_licence, target / f"Python-{platform.python_version()}-LICENSE.txt")
    owners = metadata.packages_distributions()
    bundled = bundled_top_levels(internal, work)
    names = sorted({d for top in bundled & set(owners) for d in owners[top]} - {NAME})
    for name in names:
        dist = metadata.distribution(name)
        folder_name = target / f"{dist.metadata['Name']}-{dist.version}"
        folder_name.mkdir()
        files = _licence_files(dist)
        for path in files:
            rel = path.name if "licenses" not in path.parts else _after(path, "licenses")
            (folder_name / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, folder_name / rel)
        if not files:
            # Some wheels (PySide6, shiboken6) ship no licence file, only the metadata field.
            licence = dist.metadata.get("License-Expression") or dist.metadata.get("License")
            (folder_name / "LICENSE-METADATA.txt").write_text(
                f"{dist.metadata['Name']} {dist.version} ships no licence file; its metadata "
                f"says: License: {licence or 'not stated'}\n",
                encoding="utf-8",
            )
    return len(names)


def _after(path: Path, part: str) -> Path:
    parts = path.parts
    return Path(*parts[len(parts) - parts[::-1].index(part) :])


def quick_checks(folder: Path) -> list[dict]:
    """The pruned binary answers ``--version`` and ``doctor --json`` with exit status 0."""
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    results = []
    for args in QUICK_CHECKS:
        start = time.monotonic()
        done = subprocess.run(
            [str(folder / EXE), *args], capture_output=True, text=True, env=env, timeout=900
        )
        results.append(
            {"args": list(args), "exit": done.returncode, "s": round(time.monotonic() - start, 2)}
        )
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"the pruned build failed `{NAME} {' '.join(args)}`")
    return results


def archive(folder: Path, stem: str) -> Path:
    """``<stem>.tar.zst`` where zstd exists, else ``<stem>.zip``.

    zstd level 12 with a 128 MiB window (plain ``zstd -d`` and ``tar -I zstd`` unpack it):
    level 19 is about 8 % smaller and 10 times slower on the torch and SimpleITK libraries.
    """
    zstd = shutil.which("zstd")
    if zstd is None or shutil.which("tar") is None:
        return Path(shutil.make_archive(str(folder.parent / stem), "zip", folder.parent, NAME))
    out = folder.parent / f"{stem}.tar.zst"
    tar = subprocess.Popen(
        ["tar", "-C", str(folder.parent), "-cf", "-", NAME], stdout=subprocess.PIPE
    )
    with out.open("wb") as handle:
        subprocess.run(
            [zstd, f"-{ZSTD_LEVEL}", "-T0", "--long=27", "-q", "-c"],
            stdin=tar.stdout,
            stdout=handle,
            check=True,
        )
    if tar.wait() != 0:
        raise SystemExit("tar failed while archiving the build")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller")
    parser.add_argument("--reuse", action="store_true", help="skip PyInstaller")
    parser.add_argument("--no-archive", action="store_true")
    args = parser.parse_args(argv)

    folder = args.dist / NAME
    report = Report()
    if not args.reuse:
        report.pyinstaller_s = round(run_pyinstaller(args.dist, args.work), 1)
    internal = folder / "_internal"
    if not internal.is_dir():
        raise SystemExit(f"no build at {folder}: run without --reuse")
    report.raw_bytes = size_of(folder)
    report.pruned = prune(internal)
    report.stripped = strip_libraries(internal)
    distributions = write_notices(folder, internal, args.work)
    info = json.loads((internal / "readerstudy" / "_build.json").read_text())
    report.version, report.commit = info["version"], info["commit"]
    report.checks = quick_checks(folder)
    report.folder_bytes = size_of(folder)
    if not args.no_archive:
        start = time.monotonic()
        stem = f"{NAME}-{report.version}-{report.platform.lower()}"
        for old in args.dist.glob(f"{stem}.*"):
            old.unlink()
        out = archive(folder, stem)
        report.archive, report.archive_bytes = out.name, out.stat().st_size
        report.archive_s = round(time.monotonic() - start, 1)
    (args.dist / REPORT).write_text(json.dumps(asdict(report), indent=2) + "\n")
    mib = 2**20
    print(
        f"{folder}: {report.folder_bytes / mib:.0f} MiB (raw {report.raw_bytes / mib:.0f} MiB, "
        f"pruned {sum(p['bytes'] for p in report.pruned) / mib:.0f} MiB, stripped "
        f"{sum(s['before'] - s['after'] for s in report.stripped) / mib:.0f} MiB); licence "
        f"files of {distributions} distributions in {folder / 'licenses'}"
    )
    if report.archive:
        print(f"archive: {args.dist / report.archive}: {report.archive_bytes / mib:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
