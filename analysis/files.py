"""Atomic file output, shared by every layer (it lives in the lowest one, which all may import).

A file is written under a hidden temporary name beside its target, flushed to disk, checked,
and only then renamed over the target. A full disk, a killed process or a failed check leaves
the target as it was (absent, or its previous version) and no partial file behind, so nothing
the product writes is ever half a file that looks whole.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def file_sha256(path: str | Path) -> str:
    """Full sha256 of the file at ``path``, hex."""
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class WriteFailedError(OSError):
    """A file could not be written whole; the target was left untouched."""


STORAGE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG, errno.EIO}
)
"""Operating-system errors a user fixes (disk full, read-only, permissions); any other
OSError is a bug."""


def storage_error(exc: BaseException) -> OSError | None:
    """The disk-full, read-only or permission error behind ``exc``, followed along its causes
    (pydicom, for one, re-raises a failed write as a new OSError without the errno)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in STORAGE_ERRNOS:
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


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


class NotAFolderError(ValueError):
    """An output folder, or a folder above it, is a file."""


def check_output_folder(out: str | Path) -> None:
    """Raise :class:`NotAFolderError` when ``out`` or a folder above it is a file (before
    anything is computed or written)."""
    out = Path(out)
    for folder in (out, *out.parents):
        if folder.exists() and not folder.is_dir():
            where = f"{out} is" if folder == out else f"{out}: {folder} above it is"
            raise NotAFolderError(f"{where} a file; give a folder for the output")


@contextmanager
def staged_folder(out: str | Path) -> Iterator[Path]:
    """Yield a hidden folder beside ``out`` to write a set of files into; on success they
    move into ``out`` (the folder is renamed to it when ``out`` does not exist yet, else
    each file replaces its namesake), on any failure the folder is removed.

    So a set (a report, an export, a phantom set) is never left half-written: ``out`` holds
    the whole new set or what it held before. A disk-full or permission error met while
    writing is raised as :class:`WriteFailedError` naming ``out``, not the removed folder;
    an ``out`` that is a file is :class:`NotAFolderError`, before anything is written.
    """
    out = Path(out)
    check_output_folder(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".partial-{out.name}-", dir=out.parent))
    try:
        yield stage
        _move_into(stage, out)
    except Exception as exc:
        shutil.rmtree(stage, ignore_errors=True)
        cause = storage_error(exc)
        if cause is not None and _written_in(cause, stage):
            raise WriteFailedError(cause.errno, cause.strerror, str(out)) from exc
        raise
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    _fsync_folder(out.parent)


_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
"""Errors only a write meets (a copy names its source first, the target second)."""


def _written_in(error: OSError, stage: Path) -> bool:
    """Whether ``error`` came from writing under ``stage`` (not from reading an input)."""
    if error.filename is None or error.errno in _FULL:
        return True
    names = (error.filename, error.filename2)
    return any(n is not None and Path(os.fsdecode(n)).is_relative_to(stage) for n in names)


def _move_into(stage: Path, out: Path) -> None:
    """Move everything under ``stage`` into ``out``, merging folders that exist in both."""
    if not out.exists():
        os.replace(stage, out)
        return
    for item in stage.iterdir():
        target = out / item.name
        if item.is_dir() and target.is_dir():
            _move_into(item, target)
        else:
            os.replace(item, target)
    stage.rmdir()


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


class UnreadableTableError(ValueError):
    """A file given as a CSV table is not one; the message says what it is instead."""


_ZIP_MAGIC = b"PK\x03\x04"
"""The first bytes of every .xlsx (a zip archive)."""

_DELIMITERS = (",", ";", "\t")
"""Comma, the semicolon Excel writes in locales with a decimal comma, and tab."""


def read_csv_text(path: str | Path) -> tuple[str, str]:
    """The text of a CSV file and its delimiter, as a coordinator's spreadsheet saves it.

    UTF-8 with or without the byte-order mark of Excel's "CSV UTF-8"; a comma, a semicolon
    (Excel in decimal-comma locales) or a tab, whichever the header line holds most of. A
    workbook renamed ``.csv``, non-UTF-8 or binary data and an empty file raise
    :class:`UnreadableTableError` saying so (callers add the file and the table's role).
    """
    raw = Path(path).read_bytes()
    if raw.startswith(_ZIP_MAGIC):
        raise UnreadableTableError(
            "this is an Excel workbook with a .csv name: rename it to .xlsx, or save the sheet "
            "as CSV UTF-8"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableTableError(
            f"not UTF-8 text (byte {exc.start} is 0x{raw[exc.start]:02x}); save it as CSV UTF-8"
        ) from None
    if "\x00" in text:
        raise UnreadableTableError("binary data, not a CSV table")
    header = text.lstrip().split("\n", 1)[0]
    if not header.strip():
        raise UnreadableTableError("the file is empty; expected a header row")
    return text, max(_DELIMITERS, key=header.count)
