"""Imaging errors: each names the file, series or gap a coordinator has to look at."""

from __future__ import annotations

from readerstudy.errors import ReaderStudyError


class ImagingError(ReaderStudyError):
    """Base of every imaging problem (unreadable file, bad geometry, no usable series)."""


class UnreadableFileError(ImagingError):
    """A file that should be DICOM or NIfTI cannot be parsed or decoded."""


class GeometryError(ImagingError):
    """Slice positions, orientations or sizes do not form one regular volume."""


class SeriesSelectionError(ImagingError):
    """No series, or not the requested one, can be read as a head-CT volume."""
