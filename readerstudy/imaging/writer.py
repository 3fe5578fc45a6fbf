"""Write synthetic CT volumes as DICOM series that imitate scanner vendors' habits.

Used by phantoms, tests and the demo. Each vendor profile reproduces what a loader has to
cope with on real data: GE-like signed 16-bit with PixelPaddingValue -2000 outside the
reconstruction circle (intercept -1024, or 0 for ``ge-hu``), Philips-like unsigned 12-bit with
intercept -1024, Siemens-like unsigned 12-bit with its private groups; optionally a gantry-tilted
slice grid, shuffled extension-less file names with scrambled InstanceNumbers, compressed pixel
data (RLE, JPEG 2000 or JPEG-LS lossless), and PHI-looking patient fields for de-identification to
remove. HU are clipped to the 12-bit CT range [-1024, 3071] and rounded to integers.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    UID,
    CTImageStorage,
    EnhancedCTImageStorage,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)

from analysis.files import WriteFailedError, atomic_output
from readerstudy.imaging.cases import is_nifti
from readerstudy.imaging.errors import ImagingError
from readerstudy.imaging.formats import Vendor
from readerstudy.imaging.volume import verify_nifti

HU_RANGE = (-1024, 3071)
COMPRESSIONS = {
    "rle": RLELossless,
    "j2k": JPEG2000Lossless,
    "jpeg2000": JPEG2000Lossless,
    "jpegls": JPEGLSLossless,
}


@dataclass(frozen=True)
class VendorProfile:
    """How one scanner family stores CT pixels and what it writes around them."""

    manufacturer: str
    model: str
    software: str
    kernel: str
    signed: bool
    bits_stored: int
    intercept: float
    padding: int | None  # stored value outside the reconstruction circle (GE)
    private: tuple[tuple[int, str, str], ...]  # (group, creator, a PHI-looking private value)


VENDORS: dict[Vendor, VendorProfile] = {
    Vendor.GE: VendorProfile(
        "GE MEDICAL SYSTEMS",
        "Revolution CT",
        "revo_ct_22ml.8",
        "STANDARD",
        True,
        16,
        -1024.0,
        -2000,
        ((0x0009, "GEMS_IDEN_01", "CTSCAN01 SPRINGFIELD"),),
    ),
    Vendor.GE_HU: VendorProfile(
        "GE MEDICAL SYSTEMS",
        "LightSpeed VCT",
        "LightSpeedverrel",
        "SOFT",
        True,
        16,
        0.0,
        -2000,
        ((0x0009, "GEMS_IDEN_01", "CTSCAN02 SPRINGFIELD"),),
    ),
    Vendor.PHILIPS: VendorProfile(
        "Philips",
        "iCT 256",
        "4.1.6",
        "UB",
        False,
        12,
        -1024.0,
        None,
        ((0x01F1, "ELSCINT1", "PHILIPS-ICT-SN-7781"),),
    ),
    Vendor.SIEMENS: VendorProfile(
        "SIEMENS",
        "SOMATOM Definition AS+",
        "syngo CT VA48A",
        "H31s",
        False,
        12,
        -1024.0,
        None,
        (
            (0x0019, "SIEMENS CT VA0  COAD", "SIEMENS-SN-60213"),
            (0x0029, "SIEMENS CSA HEADER", "DOE^JANE 19480312"),
        ),
    ),
}


def _uid(seed: int | None, *parts: object) -> str:
    if seed is None:
        return generate_uid()
    return generate_uid(entropy_srcs=[str(seed), *map(str, parts)])


def _to_stored(hu: np.ndarray, profile: VendorProfile) -> np.ndarray:
    """Rounded, clipped HU as the vendor's stored integers (padding outside the FOV circle)."""
    clipped = np.clip(np.rint(hu), *HU_RANGE)
    stored = clipped - profile.intercept
    dtype = np.int16 if profile.signed else np.uint16
    stored = stored.astype(dtype)
    if profile.padding is not None:
        rows, columns = hu.shape[-2:]
        y, x = np.ogrid[:rows, :columns]
        radius2 = (min(rows, columns) / 2) ** 2
        outside = (y - (rows - 1) / 2) ** 2 + (x - (columns - 1) / 2) ** 2 > radius2
        # Only air is padded, so a loader that maps padding to -1024 HU gives back the source.
        stored[outside & (clipped <= HU_RANGE[0])] = profile.padding
    return stored


def _tilted_grid(image: sitk.Image, tilt_deg: float) -> tuple[sitk.Image, np.ndarray, np.ndarray]:
    """Resample ``image`` onto slices tilted by ``tilt_deg`` about its row axis.

    The slices keep the source's table positions (steps along its slice axis) and are large
    enough to cover it. Returns the sheared image (HU) and the tilted row/column directions.
    """
    direction = np.array(image.GetDirection()).reshape(3, 3)
    row, col, normal = direction[:, 0], direction[:, 1], direction[:, 2]
    sx, sy, sz = image.GetSpacing()
    nx, ny, nz = image.GetSize()
    theta = np.radians(tilt_deg)
    tilted_col = np.cos(theta) * col + np.sin(theta) * normal
    ny_t = int(np.ceil((ny - 1) / np.cos(theta) - 1e-9)) + 1
    reach = (ny_t - 1) * sy * abs(np.sin(theta)) / sz
    k_lo = -int(np.ceil(reach - 1e-9)) if theta > 0 else 0
    k_hi = nz - 1 + (int(np.ceil(reach - 1e-9)) if theta < 0 else 0)
    origin = np.array(image.GetOrigin()) + k_lo * sz * normal
    grid = sitk.Image([nx, ny_t, k_hi - k_lo + 1], sitk.sitkFloat32)
    grid.SetSpacing((sx, sy, sz))
    grid.SetOrigin(origin.tolist())
    grid.SetDirection(np.column_stack([row, tilted_col, normal]).ravel().tolist())
    source = sitk.Cast(image, sitk.sitkFloat32)
    sheared = sitk.Resample(
        source, grid, sitk.Transform(), sitk.sitkLinear, float(HU_RANGE[0]), sitk.sitkFloat32
    )
    return sheared, row, tilted_col


def _base_dataset(
    profile: VendorProfile,
    *,
    patient_name: str,
    patient_id: str,
    study_uid: str,
    series_uid: str,
    frame_uid: str,
    series_description: str,
    thickness: float,
    tilt_deg: float,
) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.InstanceCreationDate = "20231105"
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = "20231105"
    ds.StudyTime = "142233"
    ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = "142510"
    ds.AccessionNumber = "A20231105-0815"
    ds.Modality = "CT"
    ds.Manufacturer = profile.manufacturer
    ds.InstitutionName = "Springfield General Hospital"
    ds.InstitutionAddress = "742 Evergreen Terrace, Springfield"
    ds.ReferringPhysicianName = "HIBBERT^JULIUS^^DR"
    ds.StationName = "CTSCAN01"
    ds.StudyDescription = "CT HEAD W/O CONTRAST"
    ds.SeriesDescription = series_description
    ds.InstitutionalDepartmentName = "Emergency Radiology"
    ds.PerformingPhysicianName = "RIVIERA^NICK"
    ds.OperatorsName = "TECH^ANNA"
    ds.ManufacturerModelName = profile.model
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.IssuerOfPatientID = "SGH"
    ds.PatientBirthDate = "19480312"
    ds.PatientSex = "F"
    ds.PatientAge = "075Y"
    ds.PatientWeight = 64
    ds.PatientAddress = "12 Elm Street, Springfield"
    ds.OtherPatientIDs = "SSN-078-05-1120"
    ds.AdditionalPatientHistory = "sudden left arm weakness, onset 13:05"
    ds.BodyPartExamined = "HEAD"
    ds.SliceThickness = f"{thickness:.4g}"
    ds.KVP = "120"
    ds.DataCollectionDiameter = "250"
    ds.DeviceSerialNumber = "SN4711-" + profile.manufacturer.split()[0][:6]
    ds.SoftwareVersions = profile.software
    ds.ProtocolName = "HEAD ROUTINE"
    ds.ReconstructionDiameter = "250"
    ds.GantryDetectorTilt = f"{tilt_deg:.4g}"
    ds.TableHeight = "160"
    ds.RotationDirection = "CW"
    ds.ExposureTime = "1000"
    ds.XRayTubeCurrent = "250"
    ds.Exposure = "300"
    ds.FilterType = "HEAD FILTER"
    ds.ConvolutionKernel = profile.kernel
    ds.PatientPosition = "HFS"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "4711"
    ds.SeriesNumber = 2
    ds.AcquisitionNumber = 1
    ds.FrameOfReferenceUID = frame_uid
    ds.PositionReferenceIndicator = ""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = profile.bits_stored
    ds.HighBit = profile.bits_stored - 1
    ds.PixelRepresentation = 1 if profile.signed else 0
    if profile.padding is not None:
        ds.PixelPaddingValue = profile.padding
    ds.BurnedInAnnotation = "NO"
    for group, creator, value in profile.private:
        ds.private_block(group, creator, create=True).add_new(0x10, "LO", value)
    return ds


def _file_meta(sop_class: str, sop_uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta


def _set_pixels(ds: Dataset, stored: np.ndarray, compression: str | None) -> None:
    ds.PixelData = stored.tobytes()
    if compression is not None:
        ds.compress(COMPRESSIONS[compression], stored)


def _names(n: int, shuffle: bool, rng: np.random.Generator) -> list[str]:
    if not shuffle:
        return [f"CT{i + 1:04d}.dcm" for i in range(n)]
    # Extension-less hex names, as some PACS exports write them; unrelated to slice order.
    return [hashlib.sha1(rng.bytes(16)).hexdigest()[:12].upper() for _ in range(n)]


def write_dicom_series(
    image: sitk.Image,
    out_dir: Path,
    *,
    vendor: Vendor | str = Vendor.GE,
    tilt_deg: float = 0.0,
    shuffle_names: bool = False,
    compression: str | None = None,
    patient_name: str = "DOE^JANE",
    patient_id: str = "MRN0012345",
    study_uid: str | None = None,
    series_description: str = "NCCT HEAD 5mm",
    seed: int | None = None,
    series_uid: str | None = None,
    multiframe: bool = False,
) -> list[Path]:
    """Write a 3-D HU image as a CT series in ``out_dir``; return the files in slice order.

    ``tilt_deg`` resamples the volume onto slices tilted about the row axis (gantry tilt):
    loading the series with tilt correction gives back the source in world coordinates.
    ``multiframe`` writes one Enhanced CT file instead of one file per slice. With ``seed``
    the UIDs, names and instance numbers are reproducible.
    """
    if not isinstance(image, sitk.Image) or image.GetDimension() != 3:
        raise TypeError("image must be a 3-D SimpleITK image")
    if vendor not in set(Vendor):
        raise ValueError(f"vendor must be one of {', '.join(Vendor)}, got {vendor!r}")
    if compression is not None and compression not in COMPRESSIONS:
        raise ValueError(
            f"compression must be None or one of {sorted(COMPRESSIONS)}, got {compression!r}"
        )
    if not 0.0 <= abs(tilt_deg) <= 45.0:
        raise ValueError(f"tilt_deg must be within [-45, 45] degrees, got {tilt_deg}")
    direction = np.array(image.GetDirection()).reshape(3, 3)
    if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-6):
        raise ValueError("image direction must be orthonormal")
    profile = VENDORS[Vendor(vendor)]
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    if tilt_deg:
        sheared, row, col = _tilted_grid(image, tilt_deg)
        hu = sitk.GetArrayFromImage(sheared)
        origin = np.array(sheared.GetOrigin())
        step = direction[:, 2] * image.GetSpacing()[2]
    else:
        hu = sitk.GetArrayFromImage(sitk.Cast(image, sitk.sitkFloat32))
        row, col = direction[:, 0], direction[:, 1]
        origin = np.array(image.GetOrigin())
        step = direction[:, 2] * image.GetSpacing()[2]
    stored = _to_stored(hu, profile)
    n, rows, columns = stored.shape
    sx, sy, sz = image.GetSpacing()
    study_uid = study_uid or _uid(seed, "study")
    series_uid = series_uid or _uid(seed, "series", study_uid, vendor, tilt_deg)
    base = _base_dataset(
        profile,
        patient_name=patient_name,
        patient_id=patient_id,
        study_uid=study_uid,
        series_uid=series_uid,
        frame_uid=_uid(seed, "frame", series_uid),
        series_description=series_description,
        thickness=sz,
        tilt_deg=tilt_deg,
    )
    base.Rows, base.Columns = rows, columns
    base.PixelSpacing = [f"{sy:.6g}", f"{sx:.6g}"]
    orientation = [f"{v:.6f}" for v in (*row, *col)]
    normal = np.cross(row, col)
    positions = [origin + k * step for k in range(n)]
    base.RescaleIntercept = f"{profile.intercept:g}"
    base.RescaleSlope = "1"
    base.RescaleType = "HU"
    base.WindowCenter, base.WindowWidth = "40", "80"

    if multiframe:
        return [_write_enhanced(base, stored, positions, orientation, out_dir, compression, seed)]
    names = _names(n, shuffle_names, rng)
    numbers = rng.permutation(n) + 1 if shuffle_names else np.arange(1, n + 1)
    paths = []
    for k in range(n):
        ds = Dataset()
        ds.update(base)
        sop_uid = _uid(seed, "sop", series_uid, k)
        ds.file_meta = _file_meta(CTImageStorage, sop_uid)
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = sop_uid
        ds.InstanceNumber = int(numbers[k])
        ds.ImagePositionPatient = [f"{v:.6f}" for v in positions[k]]
        ds.ImageOrientationPatient = orientation
        ds.SliceLocation = f"{positions[k] @ normal:.6f}"
        _set_pixels(ds, stored[k], compression)
        path = out_dir / names[k]
        with atomic_output(path) as temporary:
            ds.save_as(temporary, enforce_file_format=True)
        paths.append(path)
    return paths


def _write_enhanced(
    base: Dataset,
    stored: np.ndarray,
    positions: Sequence[np.ndarray],
    orientation: list[str],
    out_dir: Path,
    compression: str | None,
    seed: int | None,
) -> Path:
    """One Enhanced CT file: geometry and rescale in the functional-group sequences."""
    ds = Dataset()
    ds.update(base)
    sop_uid = _uid(seed, "enhanced", base.SeriesInstanceUID)
    ds.file_meta = _file_meta(EnhancedCTImageStorage, sop_uid)
    ds.SOPClassUID = EnhancedCTImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.InstanceNumber = 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    ds.NumberOfFrames = len(positions)
    measures, plane, transform = Dataset(), Dataset(), Dataset()
    measures.PixelSpacing = base.PixelSpacing
    measures.SliceThickness = base.SliceThickness
    plane.ImageOrientationPatient = orientation
    transform.RescaleIntercept = base.RescaleIntercept
    transform.RescaleSlope = base.RescaleSlope
    transform.RescaleType = "HU"
    shared = Dataset()
    shared.PixelMeasuresSequence = DicomSequence([measures])
    shared.PlaneOrientationSequence = DicomSequence([plane])
    shared.PixelValueTransformationSequence = DicomSequence([transform])
    ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
    per_frame = []
    for k, position in enumerate(positions):
        item, pos, content = Dataset(), Dataset(), Dataset()
        pos.ImagePositionPatient = [f"{v:.6f}" for v in position]
        content.InStackPositionNumber = k + 1
        item.PlanePositionSequence = DicomSequence([pos])
        item.FrameContentSequence = DicomSequence([content])
        per_frame.append(item)
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(per_frame)
    for keyword in (
        "PixelSpacing",
        "SliceThickness",
        "RescaleIntercept",
        "RescaleSlope",
        "RescaleType",
        "SliceLocation",
    ):
        if keyword in ds:
            del ds[keyword]
    _set_pixels(ds, stored, compression)
    path = out_dir / "ENHANCED_CT.dcm"
    with atomic_output(path) as temporary:
        ds.save_as(temporary, enforce_file_format=True)
    return path


def _written_whole(written: Path, target: Path, needed: int) -> None:
    """SimpleITK reports no error when the disk fills up: read the file back to be sure.

    A file cut short on a disk with less room left than the raw voxels (``needed`` bytes)
    is the full disk: that is raised as the operating system would have (ENOSPC), so the
    caller's storage-error handling applies."""
    try:
        verify_nifti(written)
    except ImagingError as exc:
        if shutil.disk_usage(written.parent).free < needed:
            raise WriteFailedError(
                errno.ENOSPC,
                f"{os.strerror(errno.ENOSPC)}: the image could not be written whole",
                str(target),
            ) from None
        raise ImagingError(
            f"{target} could not be written whole; nothing was left "
            f"behind ({str(exc).replace(f'{written} ', '')})"
        ) from None


def write_nifti(image: sitk.Image, path: Path) -> Path:
    """Write ``image`` to ``path`` (.nii or .nii.gz; SimpleITK stores LPS as the RAS affine)."""
    path = Path(path)
    if not is_nifti(path):
        raise ValueError(f"a NIfTI path must end in .nii or .nii.gz, got {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    needed = image.GetNumberOfPixels() * image.GetSizeOfPixelComponent()
    needed *= image.GetNumberOfComponentsPerPixel()
    with atomic_output(path, check=lambda done: _written_whole(done, path, needed)) as temporary:
        sitk.WriteImage(image, str(temporary), useCompression=path.name.lower().endswith(".gz"))
    return path
