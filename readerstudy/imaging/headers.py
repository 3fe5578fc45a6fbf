"""Read DICOM files leniently and turn each image frame into a typed, checked ``FrameRef``.

Scanner files are read with pydicom's lenient defaults (their warnings are collected, never
raised); our own writer is strict. Pixel data is deferred so that discovery parses each file
once and the chosen series decodes its pixels later without a second header parse.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import pydicom
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from readerstudy.imaging.errors import UnreadableFileError

DICOM_SUFFIXES = frozenset({".dcm", ".dicom", ".ima", ".dic"})
"""Files with these suffixes must be DICOM: failing to parse them is an error, not a skip."""

DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
SECONDARY_CAPTURE_PREFIX = "1.2.840.10008.5.1.4.1.1.7"
ENHANCED_CT_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.2.1"
_DEFER = 4096  # bytes: larger values (pixel data) are read only when accessed
_DECIMAL = frozenset({"ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"})


@dataclass(frozen=True)
class FrameRef:
    """One 2-D image frame with the geometry and rescale needed to place it in a volume."""

    path: Path
    frame: int | None  # index inside a multi-frame file; None for a single-frame file
    position: tuple[float, float, float]  # ImagePositionPatient (mm, LPS)
    orientation: tuple[float, float, float, float, float, float]  # ImageOrientationPatient
    rows: int
    columns: int
    pixel_spacing: tuple[float, float]  # (between rows, between columns) in mm
    slope: float
    intercept: float


@dataclass
class Instance:
    """A parsed DICOM file: its dataset (pixel data deferred) and its image frames."""

    path: Path
    dataset: Dataset
    frames: list[FrameRef]
    problem: UnreadableFileError | None = None  # why the frames could not be described
    read_warnings: tuple[str, ...] = ()


def looks_like_dicom(path: Path) -> bool:
    """True when the file has the DICM magic or starts like a preamble-less DICOM data set."""
    try:
        with path.open("rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    if len(head) >= 132 and head[128:132] == b"DICM":
        return True
    # Old scanners write no preamble: the file starts with a group 0x0002 or 0x0008 tag.
    return len(head) >= 8 and head[:2] in (b"\x02\x00", b"\x08\x00") and head[3:4] == b"\x00"


def read_dataset(path: Path) -> tuple[Dataset, tuple[str, ...]]:
    """Parse ``path`` with pixel data deferred; raise UnreadableFileError naming the file."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = pydicom.dcmread(path, defer_size=_DEFER, force=True)
        except Exception as exc:  # pydicom raises many types on corrupt input
            raise UnreadableFileError(
                f"{path}: not a readable DICOM file ({type(exc).__name__}: {exc})"
            ) from exc
    messages = [str(w.message) for w in caught]
    truncated = next((m for m in messages if "End of file" in m or "bytes" in m), None)
    if truncated and _tag("PixelData") not in ds:
        raise UnreadableFileError(f"{path}: truncated file ({truncated})")
    sop_class = str(ds.file_meta.get("MediaStorageSOPClassUID", ""))
    if _tag("SOPClassUID") not in ds and sop_class != DICOMDIR_SOP_CLASS:
        what = "truncated or incomplete header" if sop_class else "not a DICOM file"
        raise UnreadableFileError(f"{path}: {what} (no SOP Class UID in the data set)")
    return ds, tuple(f"{path.name}: {m}" for m in messages)


def is_image(ds: Dataset) -> bool:
    """An image object has pixel data and a size; SR, KO, PR, RT plans and DICOMDIRs do not."""
    sop_class = fast_text(ds, "SOPClassUID") or str(ds.file_meta.get("MediaStorageSOPClassUID", ""))
    if sop_class == DICOMDIR_SOP_CLASS:
        return False
    return _tag("PixelData") in ds and _tag("Rows") in ds and _tag("Columns") in ds


@overload
def _floats(value: Any, count: Literal[1], what: str, path: Path) -> tuple[float]: ...
@overload
def _floats(value: Any, count: Literal[2], what: str, path: Path) -> tuple[float, float]: ...
@overload
def _floats(value: Any, count: Literal[3], what: str, path: Path) -> tuple[float, float, float]: ...
@overload
def _floats(
    value: Any, count: Literal[6], what: str, path: Path
) -> tuple[float, float, float, float, float, float]: ...
def _floats(value: Any, count: int, what: str, path: Path) -> tuple[float, ...]:
    """``count`` finite numbers from a DICOM value (the overloads give each count its shape)."""
    try:
        many = isinstance(value, Sequence) and not isinstance(value, str | bytes)
        values = [float(v) for v in (value if many else [value])]
    except (TypeError, ValueError) as exc:
        raise UnreadableFileError(f"{path}: {what} is not numeric ({value!r})") from exc
    if len(values) != count or not all(math.isfinite(v) for v in values):
        raise UnreadableFileError(f"{path}: {what} needs {count} finite numbers, got {value!r}")
    return tuple(values)


def _decimal_strings(ds: Dataset, keyword: str) -> Any:
    """A DS/IS value as its strings, parsed straight from the raw element when possible.

    pydicom's DS conversion validates each number and costs more than the whole pixel read
    for a slice; the strings are checked by :func:`_floats` instead.
    """
    elem = ds.get_item(_tag(keyword))
    if elem is None:
        return None
    if isinstance(elem, RawDataElement) and elem.VR in (None, "DS", "IS"):
        raw = elem.value or b""
        text = raw.decode("latin-1").strip(" \x00")
        return text.split("\\") if text else None
    return ds.get(keyword)


def _required(ds: Dataset, keyword: str, path: Path) -> Any:
    value = _decimal_strings(ds, keyword) if keyword in _DECIMAL else ds.get(keyword)
    if value is None or value == "" or value == []:
        raise UnreadableFileError(f"{path}: {keyword} is missing")
    return value


def rescale(ds: Dataset, path: Path) -> tuple[float, float]:
    """RescaleSlope and RescaleIntercept (1 and 0 when absent)."""
    slope = _decimal_strings(ds, "RescaleSlope")
    intercept = _decimal_strings(ds, "RescaleIntercept")
    slope = 1.0 if slope in (None, "") else _floats(slope, 1, "RescaleSlope", path)[0]
    intercept = (
        0.0 if intercept in (None, "") else _floats(intercept, 1, "RescaleIntercept", path)[0]
    )
    if slope == 0.0:
        raise UnreadableFileError(f"{path}: RescaleSlope is 0")
    return slope, intercept


def _size(ds: Dataset, path: Path) -> tuple[int, int]:
    try:
        rows, columns = fast_int(ds, "Rows"), fast_int(ds, "Columns")
    except (TypeError, ValueError) as exc:
        raise UnreadableFileError(f"{path}: Rows/Columns are not numbers") from exc
    if rows is None or columns is None:
        raise UnreadableFileError(f"{path}: Rows or Columns is missing")
    if rows < 1 or columns < 1:
        raise UnreadableFileError(f"{path}: image size {rows}x{columns} is empty")
    return rows, columns


def _functional_item(ds: Dataset, index: int, sequence: str) -> Dataset | None:
    """The item of a functional-group ``sequence`` for frame ``index`` (per-frame, else shared)."""
    for groups in ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"):
        items = ds.get(groups)
        if not items:
            continue
        group = items[index] if groups.startswith("PerFrame") else items[0]
        seq = group.get(sequence)
        if seq:
            return seq[0]
    return None


def _single_frame(ds: Dataset, path: Path) -> list[FrameRef]:
    rows, columns = _size(ds, path)
    slope, intercept = rescale(ds, path)
    return [
        FrameRef(
            path=path,
            frame=None,
            position=_floats(_required(ds, "ImagePositionPatient", path), 3, "IPP", path),
            orientation=_floats(_required(ds, "ImageOrientationPatient", path), 6, "IOP", path),
            rows=rows,
            columns=columns,
            pixel_spacing=_floats(_required(ds, "PixelSpacing", path), 2, "PixelSpacing", path),
            slope=slope,
            intercept=intercept,
        )
    ]


def _multi_frame(ds: Dataset, path: Path, n_frames: int) -> list[FrameRef]:
    """Frames of an enhanced (functional-group) multi-frame image, e.g. Enhanced CT."""
    if _tag("PerFrameFunctionalGroupsSequence") not in ds:
        raise UnreadableFileError(
            f"{path}: multi-frame image without per-frame functional groups (no slice positions)"
        )
    if len(ds.PerFrameFunctionalGroupsSequence) != n_frames:
        raise UnreadableFileError(
            f"{path}: {n_frames} frames but {len(ds.PerFrameFunctionalGroupsSequence)} "
            "per-frame functional group items"
        )
    rows, columns = _size(ds, path)
    frames = []
    for i in range(n_frames):
        position = _functional_item(ds, i, "PlanePositionSequence")
        orientation = _functional_item(ds, i, "PlaneOrientationSequence")
        measures = _functional_item(ds, i, "PixelMeasuresSequence")
        if position is None or orientation is None or measures is None:
            raise UnreadableFileError(
                f"{path}: frame {i + 1} lacks plane position, orientation or pixel measures"
            )
        transform = _functional_item(ds, i, "PixelValueTransformationSequence")
        slope, intercept = rescale(transform if transform is not None else ds, path)
        frames.append(
            FrameRef(
                path=path,
                frame=i,
                position=_floats(_required(position, "ImagePositionPatient", path), 3, "IPP", path),
                orientation=_floats(
                    _required(orientation, "ImageOrientationPatient", path), 6, "IOP", path
                ),
                rows=rows,
                columns=columns,
                pixel_spacing=_floats(
                    _required(measures, "PixelSpacing", path), 2, "PixelSpacing", path
                ),
                slope=slope,
                intercept=intercept,
            )
        )
    return frames


def describe_frames(ds: Dataset, path: Path) -> list[FrameRef]:
    """The image frames of one file; UnreadableFileError names what is missing or malformed."""
    try:
        n_frames = int(ds.get("NumberOfFrames") or 1)
    except (TypeError, ValueError) as exc:
        raise UnreadableFileError(f"{path}: NumberOfFrames is not a number") from exc
    if n_frames < 1:
        raise UnreadableFileError(f"{path}: NumberOfFrames is {n_frames}")
    if n_frames == 1 and _tag("PerFrameFunctionalGroupsSequence") not in ds:
        return _single_frame(ds, path)
    return _multi_frame(ds, path, n_frames)


def read_instance(path: Path) -> Instance | None:
    """Parse one file; None for a non-image object (SR, presentation state, DICOMDIR ...)."""
    ds, read_warnings = read_dataset(path)
    if not is_image(ds):
        if (
            _tag("Rows") in ds
            and _tag("PixelData") not in ds
            and _tag("DirectoryRecordSequence") not in ds
        ):
            raise UnreadableFileError(f"{path}: image header without pixel data (truncated?)")
        return None
    try:
        frames = describe_frames(ds, path)
    except UnreadableFileError as exc:
        return Instance(path, ds, [], problem=exc, read_warnings=read_warnings)
    except Exception as exc:  # malformed values of any kind must end as a domain error
        error = UnreadableFileError(f"{path}: malformed header ({type(exc).__name__}: {exc})")
        return Instance(path, ds, [], problem=error, read_warnings=read_warnings)
    return Instance(path, ds, frames, read_warnings=read_warnings)


@cache
def _tag(keyword: str) -> int:
    """The tag of a dictionary keyword, cached: pydicom's lookup by keyword costs more than the
    membership test or element access it feeds."""
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(f"{keyword!r} is not a DICOM dictionary keyword")
    return tag


@overload
def fast_int(ds: Dataset, keyword: str, default: int) -> int: ...
@overload
def fast_int(ds: Dataset, keyword: str, default: None = None) -> int | None: ...
def fast_int(ds: Dataset, keyword: str, default: int | None = None) -> int | None:
    """A single US value, unpacked from the raw element when possible (pydicom's conversion
    costs more than the rest of a header check); pydicom's value otherwise."""
    elem = ds.get_item(_tag(keyword))
    if elem is None:
        return default
    if isinstance(elem, RawDataElement) and elem.VR in (None, "US") and len(elem.value or b"") == 2:
        return int.from_bytes(elem.value, "little" if elem.is_little_endian else "big")
    value = ds.get(keyword)
    return default if value is None or value == "" else int(value)


def fast_text(ds: Dataset, keyword: str) -> str:
    """A UI or CS value as text, decoded from the raw element when possible ('' if absent)."""
    try:
        elem = ds.get_item(_tag(keyword))
    except Exception:
        return ""
    if isinstance(elem, RawDataElement) and elem.VR in (None, "UI", "CS"):
        return (elem.value or b"").decode("ascii", "replace").strip("\x00 ")
    return text(ds, keyword)


def text(ds: Dataset, keyword: str) -> str:
    """A header value as a plain string ('' when absent or unreadable)."""
    try:
        value = ds.get(keyword)
    except Exception:  # a corrupt raw element fails on conversion
        return ""
    if value is None:
        return ""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "\\".join(str(v) for v in value)
    return str(value)


def padding_range(ds: Dataset) -> tuple[int, int] | None:
    """Stored-value range flagged by PixelPaddingValue (and PixelPaddingRangeLimit), if any."""
    try:
        value = ds.get("PixelPaddingValue")
        limit = ds.get("PixelPaddingRangeLimit")
        signed = fast_int(ds, "PixelRepresentation", 0) == 1
        bits = fast_int(ds, "BitsAllocated", 16) or 16
    except Exception as exc:  # corrupt raw values fail in many ways inside pydicom
        raise UnreadableFileError(f"{ds.filename}: unreadable pixel padding ({exc})") from exc
    if value is None or value == "":
        return None

    def as_stored(v: Any) -> int:
        v = int(v)
        # US/SS ambiguity: the value is written in the pixel representation's range.
        if signed and v >= 2 ** (bits - 1):
            v -= 2**bits
        if not signed and v < 0:
            v += 2**bits
        return v

    lo = as_stored(value)
    hi = as_stored(limit) if limit not in (None, "") else lo
    return (min(lo, hi), max(lo, hi))


def frames_array(positions: Sequence[FrameRef]) -> np.ndarray:
    """Positions of frames as an (n, 3) array."""
    return np.array([f.position for f in positions], dtype=float)
