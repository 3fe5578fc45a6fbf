"""Head-CT I/O: DICOM/NIfTI discovery, loading in HU, gantry tilt, de-identification, writing.

The names below are re-exported lazily (module ``__getattr__``) so that importing
``readerstudy.imaging`` -- which ``readerstudy.study`` does -- costs neither SimpleITK nor
pydicom until a function is actually used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from readerstudy.imaging.errors import (
    GeometryError,
    ImagingError,
    SeriesSelectionError,
    UnreadableFileError,
)
from readerstudy.imaging.formats import ImageFormat, Vendor

if TYPE_CHECKING:
    from readerstudy.imaging.deid import DeidReport, deidentify_tree
    from readerstudy.imaging.hashing import content_hash
    from readerstudy.imaging.series import SeriesInfo, choose_series, discover_series
    from readerstudy.imaging.volume import CTVolume, load_volume, read_frames_hu, verify_nifti
    from readerstudy.imaging.writer import write_dicom_series, write_nifti

_LAZY = {
    "SeriesInfo": "series",
    "discover_series": "series",
    "choose_series": "series",
    "CTVolume": "volume",
    "load_volume": "volume",
    "read_frames_hu": "volume",
    "verify_nifti": "volume",
    "write_dicom_series": "writer",
    "write_nifti": "writer",
    "deidentify_tree": "deid",
    "DeidReport": "deid",
    "content_hash": "hashing",
}

__all__ = [
    "CTVolume",
    "DeidReport",
    "GeometryError",
    "ImageFormat",
    "ImagingError",
    "SeriesInfo",
    "SeriesSelectionError",
    "UnreadableFileError",
    "Vendor",
    "choose_series",
    "content_hash",
    "deidentify_tree",
    "discover_series",
    "load_volume",
    "read_frames_hu",
    "verify_nifti",
    "write_dicom_series",
    "write_nifti",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'readerstudy.imaging' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"readerstudy.imaging.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
