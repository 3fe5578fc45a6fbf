"""Find the image series in a folder tree (or DICOMDIR), describe them, and pick one to read."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset

from readerstudy.imaging.errors import (
    ImagingError,
    SeriesSelectionError,
    UnreadableFileError,
)
from readerstudy.imaging.geometry import StackGeometry, analyse_stack, orientation_label
from readerstudy.imaging.headers import (
    DICOM_SUFFIXES,
    DICOMDIR_SOP_CLASS,
    Instance,
    fast_text,
    looks_like_dicom,
    read_instance,
    text,
)

Progress = Callable[[int, int], None]

MIN_SLICES = 5
PREFERRED_THICKNESS_MM = (3.0, 6.0)
# Sharp kernels by name (GE BONE/EDGE/LUNG) or Siemens-style letter(s) + strength >= 50.
_SHARP_KERNEL = re.compile(r"BONE|EDGE|LUNG|SHARP|DETAIL|SKULL|\b[A-Z]{1,2}([5-9]\d)[A-Z]?\b")


@dataclass(frozen=True)
class SeriesInfo:
    """What a coordinator needs to know about one image series before reading it."""

    uid: str
    modality: str
    description: str
    n_slices: int
    thickness_mm: float | None
    spacing_mm: float | None  # between slice positions along the normal
    orientation: str  # axial, coronal, sagittal, oblique (or invalid)
    tilt_deg: float | None
    transfer_syntax: str
    image_type: tuple[str, ...]
    kernel: str
    files: tuple[Path, ...]
    warnings: tuple[str, ...]
    study_uid: str = ""
    patient_id: str = ""
    manufacturer: str = ""
    sop_class: str = ""
    rows: int | None = None
    columns: int | None = None
    problem: str | None = None  # why this series cannot be read as a volume (None: it can)

    @property
    def is_original(self) -> bool:
        return bool(self.image_type) and self.image_type[0].upper() == "ORIGINAL"

    @property
    def sharp_kernel(self) -> bool:
        """Bone/lung/edge kernels (GE BONE, Siemens H60+/Hr64, ...) rather than soft tissue."""
        return bool(_SHARP_KERNEL.search(self.kernel.upper())) or (
            "BONE" in self.description.upper()
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "uid": self.uid,
            "study_uid": self.study_uid,
            "modality": self.modality,
            "description": self.description,
            "manufacturer": self.manufacturer,
            "n_slices": self.n_slices,
            "rows": self.rows,
            "columns": self.columns,
            "thickness_mm": self.thickness_mm,
            "spacing_mm": self.spacing_mm,
            "orientation": self.orientation,
            "tilt_deg": self.tilt_deg,
            "transfer_syntax": self.transfer_syntax,
            "image_type": list(self.image_type),
            "kernel": self.kernel,
            "n_files": len(self.files),
            "warnings": list(self.warnings),
            "problem": self.problem,
        }


@dataclass
class Scan:
    """Everything discovery found: series (with their parsed files) and unreadable files."""

    series: list[SeriesInfo]
    instances: dict[str, list[Instance]] = field(default_factory=dict)
    geometry: dict[str, StackGeometry] = field(default_factory=dict)
    errors: dict[str, ImagingError] = field(default_factory=dict)  # why a series is unreadable
    unreadable: list[tuple[Path, str]] = field(default_factory=list)  # (file, reason)
    skipped: int = 0  # non-DICOM files and non-image objects


def _dicomdir_files(path: Path) -> list[Path] | None:
    """Files a DICOMDIR references (its ReferencedFileID records); None if it is not one."""
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:
        return None
    if str(ds.file_meta.get("MediaStorageSOPClassUID", "")) != DICOMDIR_SOP_CLASS:
        return None
    files = []
    for record in ds.get("DirectoryRecordSequence", []):
        parts = record.get("ReferencedFileID")
        if parts:
            parts = [parts] if isinstance(parts, str) else list(parts)
            files.append(path.parent.joinpath(*parts))
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise UnreadableFileError(
            f"{path}: DICOMDIR lists {len(missing)} missing file(s), e.g. {missing[0]}"
        )
    return files


def candidate_files(root: Path) -> list[Path]:
    """Files under ``root`` to try as DICOM (a DICOMDIR lists its own; hidden files skipped)."""
    if not root.exists():
        raise ImagingError(f"{root}: no such file or folder")
    if root.is_file():
        listed = _dicomdir_files(root) if root.name.upper() == "DICOMDIR" else None
        return listed if listed is not None else [root]
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def _thickness(ds: Dataset) -> float | None:
    """SliceThickness (top level, else Enhanced CT shared pixel measures); None if unusable."""
    try:
        value = ds.get("SliceThickness")
        if value in (None, "") and ds.get("SharedFunctionalGroupsSequence"):
            measures = ds.SharedFunctionalGroupsSequence[0].get("PixelMeasuresSequence")
            value = measures[0].get("SliceThickness") if measures else None
        thickness = float(value) if value not in (None, "") else None
    except Exception:  # corrupt values fail in many ways inside pydicom
        return None
    return thickness if thickness is not None and 0 < thickness < 1e3 else None


def _series_info(
    uid: str, instances: list[Instance]
) -> tuple[SeriesInfo, StackGeometry | ImagingError]:
    ds = instances[0].dataset
    frames = [f for inst in instances for f in inst.frames]
    warnings_: list[str] = []
    for inst in instances:
        warnings_.extend(inst.read_warnings)
    error: ImagingError | None = next((i.problem for i in instances if i.problem), None)
    geometry = None
    thickness = _thickness(ds)
    if thickness is None and text(ds, "SliceThickness"):
        warnings_.append(f"SliceThickness {text(ds, 'SliceThickness')!r} is not usable")
    label = f"series {uid}"
    if error is None:
        try:
            geometry = analyse_stack(frames, label, single_thickness_mm=thickness or 1.0)
        except ImagingError as exc:
            error = exc
    modality = text(ds, "Modality")
    if modality != "CT":
        warnings_.append(f"modality is {modality or 'missing'}, not CT")
    if len(frames) < MIN_SLICES:
        warnings_.append(f"only {len(frames)} slice(s); a head CT volume needs {MIN_SLICES}")
    if geometry is not None and geometry.tilted:
        warnings_.append(f"gantry tilt {geometry.tilt_deg:.2f} deg (corrected on loading)")
    if geometry is not None and geometry.zoned:
        zones = "; ".join(zone.describe() for zone in geometry.zones)
        warnings_.append(
            f"slice spacing changes along the series: {zones} "
            f"(resampled to {geometry.spacing_mm:.2f} mm on loading)"
        )
    transfer_syntax = instances[0].dataset.file_meta.get("TransferSyntaxUID")
    info = SeriesInfo(
        uid=uid,
        modality=modality,
        description=text(ds, "SeriesDescription"),
        n_slices=len(frames),
        thickness_mm=thickness,
        spacing_mm=None if geometry is None or len(frames) < 2 else geometry.spacing_mm,
        orientation=orientation_label(frames[0].orientation) if frames else "unknown",
        tilt_deg=None if geometry is None else geometry.tilt_deg,
        transfer_syntax=getattr(transfer_syntax, "name", str(transfer_syntax or "")),
        image_type=tuple(t for t in text(ds, "ImageType").split("\\") if t),
        kernel=text(ds, "ConvolutionKernel"),
        files=tuple(inst.path for inst in instances),
        warnings=tuple(dict.fromkeys(warnings_)),
        study_uid=text(ds, "StudyInstanceUID"),
        patient_id=text(ds, "PatientID"),
        manufacturer=text(ds, "Manufacturer"),
        sop_class=text(ds, "SOPClassUID"),
        rows=frames[0].rows if frames else None,
        columns=frames[0].columns if frames else None,
        problem=None if error is None else str(error),
    )
    if error is not None:
        return info, error
    assert geometry is not None  # analyse_stack returned: it raises on every failure
    return info, geometry


def scan(paths: Iterable[Path], *, progress: Progress | None = None) -> Scan:
    """Parse candidate files once (pixel data deferred) and group image frames by series."""
    paths = list(paths)
    result = Scan(series=[])
    grouped: dict[str, list[Instance]] = {}
    for done, path in enumerate(paths, start=1):
        must_be_dicom = path.suffix.lower() in DICOM_SUFFIXES
        if must_be_dicom or looks_like_dicom(path):
            try:
                instance = read_instance(path)
            except UnreadableFileError as exc:
                result.unreadable.append((path, str(exc)))
                instance = None
            else:
                if instance is None:
                    result.skipped += 1
                else:
                    uid = (
                        fast_text(instance.dataset, "SeriesInstanceUID")
                        or f"(no UID) {path.parent}"
                    )
                    grouped.setdefault(uid, []).append(instance)
        else:
            result.skipped += 1
        if progress is not None:
            progress(done, len(paths))
    for uid, instances in grouped.items():
        info, geometry = _series_info(uid, instances)
        result.series.append(info)
        result.instances[uid] = instances
        if isinstance(geometry, ImagingError):
            result.errors[uid] = geometry
        else:
            result.geometry[uid] = geometry
    result.series.sort(key=lambda s: (s.study_uid, s.description, s.uid))
    return result


def scan_tree(root: Path, *, progress: Progress | None = None) -> Scan:
    """:func:`scan` over every candidate file under ``root`` (or listed by a DICOMDIR)."""
    return scan(candidate_files(Path(root)), progress=progress)


def discover_series(
    root: Path, *, progress: Progress | None = None, strict: bool = True
) -> list[SeriesInfo]:
    """Describe every image series under ``root`` (folder tree, single file or DICOMDIR).

    Non-DICOM files without a DICOM suffix and non-image objects are skipped. A file that
    should be DICOM (``.dcm`` or DICM magic) but cannot be parsed raises
    UnreadableFileError naming it, unless ``strict`` is False.
    """
    result = scan_tree(root, progress=progress)
    if strict and result.unreadable:
        more = f" (and {len(result.unreadable) - 1} more)" if len(result.unreadable) > 1 else ""
        raise UnreadableFileError(result.unreadable[0][1] + more)
    return result.series


def _rank(info: SeriesInfo) -> tuple[bool, bool, bool, bool, bool, bool, int]:
    lo, hi = PREFERRED_THICKNESS_MM
    thickness = info.thickness_mm if info.thickness_mm is not None else info.spacing_mm
    return (
        info.problem is None,
        info.orientation == "axial",
        info.is_original,
        thickness is not None and lo <= thickness <= hi,
        not info.sharp_kernel,
        info.n_slices >= MIN_SLICES,
        info.n_slices,
    )


def choose_series(series: Sequence[SeriesInfo]) -> SeriesInfo:
    """The default series to read: readable axial ORIGINAL CT, 3-6 mm, soft kernel, most slices.

    Criteria are applied in that order of importance, so a soft-tissue kernel wins over a
    bone kernel with more slices. Raises SeriesSelectionError when no CT series exists.
    """
    ct = [s for s in series if s.modality == "CT"]
    if not ct:
        found = ", ".join(sorted({s.modality or "?" for s in series})) or "no image series"
        raise SeriesSelectionError(f"no CT image series found (found: {found})")
    return max(ct, key=_rank)
