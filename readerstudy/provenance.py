"""Where this readerstudy comes from: version, git commit and the embedded model's hash.

A site build carries ``_build.json`` beside this module, written once at build time by
:func:`write_build_info` (the frozen app has no git); a checkout asks git, when git and the
repository are there.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from readerstudy import __version__

BUILD_INFO = Path(__file__).resolve().parent / "_build.json"
"""The build's provenance, present only in a PyInstaller build."""

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The checkout this module runs from (not a repository in a build)."""

UNKNOWN = "unknown"


@dataclass(frozen=True)
class BuildInfo:
    """What a site build was made from."""

    version: str
    commit: str
    """Full commit hash, with ``+dirty`` when the tree had uncommitted changes."""
    built_at: str
    python: str
    platform: str
    torch: str


def git_commit(root: Path = REPO_ROOT) -> str:
    """The checkout's commit (``+dirty`` with uncommitted changes), or ``unknown`` without git."""
    if not (root / ".git").exists():
        return UNKNOWN
    try:
        head = _git(root, "rev-parse", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    return f"{head}+dirty" if dirty else head


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout.strip()


def frozen() -> bool:
    """True inside a PyInstaller build."""
    return bool(getattr(sys, "frozen", False))


def build_info() -> BuildInfo | None:
    """The baked provenance of a site build, or None when running from a checkout."""
    try:
        return BuildInfo(**json.loads(BUILD_INFO.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None


def commit() -> str:
    """The build's baked commit, else the checkout's."""
    info = build_info()
    return info.commit if info is not None else git_commit()


def write_build_info(path: Path, *, root: Path = REPO_ROOT) -> BuildInfo:
    """Write the provenance a build bakes in (called by the PyInstaller spec)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        torch = version("torch")
    except PackageNotFoundError:
        torch = UNKNOWN
    info = BuildInfo(
        version=__version__,
        commit=git_commit(root),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        python=platform.python_version(),
        platform=f"{platform.system()}-{platform.machine()}",
        torch=torch,
    )
    path.write_text(json.dumps(asdict(info), indent=2) + "\n", encoding="utf-8")
    return info


def describe() -> dict[str, str]:
    """Version, commit, the default model method and its hash (and the build's date)."""
    from readerstudy.errors import ReaderStudyError
    from readerstudy.workflows.ai import method_hash, resolved

    method = resolved().name  # `auto` named by the method it stands for here
    try:
        model_hash = method_hash(method)
    except ReaderStudyError as exc:
        model_hash = f"unavailable ({exc})"
    about = {"version": __version__, "commit": commit(), "model": method, "model_hash": model_hash}
    info = build_info()
    if info is not None:
        about |= {"built_at": info.built_at, "platform": info.platform, "python": info.python}
    return about


def version_lines(about: dict[str, str] | None = None) -> list[str]:
    """What ``readerstudy --version`` prints."""
    about = describe() if about is None else about
    lines = [
        f"readerstudy {about['version']}",
        f"commit {about['commit']}",
        f"model {about['model']} {about['model_hash']}",
    ]
    if "built_at" in about:
        lines.append(f"built {about['built_at']} ({about['platform']}, Python {about['python']})")
    return lines
