"""Which entries of a folder are cases, what each is called and which image it is read from.

The one rule for a folder of cases (``study init --cases``, ``model predict-many``, labelled
and phantom folders):

- a case is a sub-folder or a NIfTI file directly inside; hidden entries and the folders a
  phantom set or a study keeps beside its cases (``masks/``, ``ai/``, in any case) are not;
- a NIfTI file's case is its name without ``.nii``/``.nii.gz`` (in any case), a folder's is
  its name;
- a folder holding one NIfTI file (at any depth) is read from that file, any other folder as
  a DICOM series (:func:`model.nifti.folder_nifti`, the rule training folders follow too).

Nothing here reads an image, so listing a folder of cases costs neither SimpleITK nor pydicom.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from model.nifti import NIFTI_SUFFIXES, folder_nifti, is_nifti, nifti_stem
from readerstudy.imaging.formats import ImageFormat

__all__ = [
    "NIFTI_SUFFIXES",
    "NOT_CASES",
    "SourceCase",
    "find_cases",
    "is_nifti",
    "nifti_stem",
    "source_case",
]

NOT_CASES = frozenset({"masks", "ai"})
"""Folder names (lower case) beside the cases that are not cases: a phantom set's lesion masks,
a study's AI outputs."""


@dataclass(frozen=True)
class SourceCase:
    """One case of a folder of cases: its name and the image it is read from."""

    name: str
    path: Path
    """A NIfTI file, or the folder of a DICOM series."""
    format: ImageFormat


def _is_case(entry: Path) -> bool:
    if entry.name.startswith("."):
        return False
    if entry.is_dir():
        return entry.name.lower() not in NOT_CASES
    return entry.is_file() and is_nifti(entry)


def source_case(entry: Path) -> SourceCase:
    """The case a folder or file holds, and the image it is read from (a file that is not
    NIfTI, such as one DICOM file or a DICOMDIR, is read as DICOM)."""
    entry = Path(entry)
    if entry.is_dir():
        nifti = folder_nifti(entry)
        if nifti is not None:
            return SourceCase(entry.name, nifti, ImageFormat.NIFTI)
        return SourceCase(entry.name, entry, ImageFormat.DICOM)
    image_format = ImageFormat.NIFTI if is_nifti(entry) else ImageFormat.DICOM
    return SourceCase(nifti_stem(entry), entry, image_format)


def find_cases(folder: Path) -> list[SourceCase]:
    """The cases directly inside ``folder`` (module docstring), sorted by entry name."""
    return [source_case(entry) for entry in sorted(Path(folder).iterdir()) if _is_case(entry)]
