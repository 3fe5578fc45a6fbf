"""NIfTI file names and the NIfTI a case folder holds: the one rule the model's training
folders and the app's case folders (:mod:`readerstudy.imaging.cases`) both follow.

It lives here, the lowest layer both may import (``model`` never imports ``readerstudy``), and
imports nothing heavy. Suffixes are matched case-insensitively: ``CASE.NII.GZ`` is a NIfTI file
(archives made on Windows or by some PACS exports spell them so).
"""

from __future__ import annotations

from pathlib import Path

NIFTI_SUFFIXES = (".nii.gz", ".nii")
"""Longest first, so a stem strips ``.nii.gz`` whole."""


def is_nifti(path: Path) -> bool:
    """Whether ``path`` is named as a NIfTI file (the name only; nothing is read)."""
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def nifti_stem(path: Path) -> str:
    """The name of ``path`` without its NIfTI suffix (the name itself for anything else)."""
    name = path.name
    for suffix in NIFTI_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def folder_nifti(folder: Path) -> Path | None:
    """The one NIfTI file under ``folder`` (at any depth), or None when it holds none or
    several: such a folder is read as a DICOM series."""
    found = [p for p in Path(folder).rglob("*") if is_nifti(p) and p.is_file()]
    return found[0] if len(found) == 1 else None
