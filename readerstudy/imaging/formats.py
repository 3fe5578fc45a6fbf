"""The imaging layer's vocabularies: image formats and the scanner flavours the writer imitates.

StrEnums, so the strings stored in cases.csv, study manifests and on the command line stay
what they were; the CLI's options take these types rather than declaring their own.
"""

from __future__ import annotations

from enum import StrEnum


class ImageFormat(StrEnum):
    """How a case's image is stored."""

    DICOM = "dicom"
    NIFTI = "nifti"


class Vendor(StrEnum):
    """A scanner family :func:`readerstudy.imaging.write_dicom_series` writes like."""

    GE = "ge"
    GE_HU = "ge-hu"
    """GE with intercept 0 (stored values are HU)."""
    PHILIPS = "philips"
    SIEMENS = "siemens"
