"""Atomic file output, shared by every layer (it lives in the lowest one, which all may import).

A file is written under a hidden temporary name beside its target, flushed to disk, checked,
and only then renamed over the target. A full disk, a killed process or a failed check leaves
the target as it was (absent, or its previous version) and no partial file behind, so nothing
the product writes is ever half a file that looks whole.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class WriteFailedError(OSError):
    """A file could not be written whole; the target was left untouched."""


def _fsync(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def atomic_output(
    path: str | Path, *, check: Callable[[Path], None] | None = None
) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s content to; rename it into place on success.

    The temporary name ends with ``path``'s own name, so writers that choose a format by the
    suffix (SimpleITK's ``.nii.gz``, pandas' ``.xlsx``) behave as for the target. ``check``
    gets the finished temporary file and raises if it is not what was meant to be written
    (SimpleITK, for one, truncates silently on a full disk).
    """
    path = Path(path)
    temporary = path.with_name(f".partial-{secrets.token_hex(4)}-{path.name}")
    try:
        yield temporary
        if not temporary.is_file():
            raise WriteFailedError(f"{path}: nothing was written")
        _fsync(temporary)
        if check is not None:
            check(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """``Path.write_text``, atomically."""
    with atomic_output(path) as temporary:
        temporary.write_text(text, encoding=encoding)
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """``Path.write_bytes``, atomically."""
    with atomic_output(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)
