"""Load a head CT (DICOM series or NIfTI) as a Float32 SimpleITK image in HU with LPS geometry.

DICOM: stored values are decoded (native or compressed), padding pixels become air, each
slice's RescaleSlope/Intercept gives HU, slices are placed by position along the normal, and
a gantry-tilted (sheared) stack is resampled onto an orthogonal grid that contains it, so a
voxel's world coordinate is exact. NIfTI: SimpleITK converts the file's RAS affine to LPS.
"""

from __future__ import annotations

import ctypes
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from pydicom.dataset import Dataset

from readerstudy.imaging.errors import (
    ImagingError,
    SeriesSelectionError,
    UnreadableFileError,
)
from readerstudy.imaging.geometry import StackGeometry
from readerstudy.imaging.headers import (
    FrameRef,
    Instance,
    fast_int,
    padding_range,
    read_instance,
    rescale,
)
from readerstudy.imaging.series import MIN_SLICES, Scan, choose_series, scan_tree

AIR_HU = -1024.0
"""Floor of the HU scale: padding pixels, values below it (GE writes -2000 or -3024 outside the
reconstruction circle, not always declared as padding) and voxels outside a tilted stack."""

NIFTI_SUFFIXES = (".nii", ".nii.gz")
_NATIVE_SYNTAXES = {
    "1.2.840.10008.1.2",  # Implicit VR Little Endian
    "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
    "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian (inflated on reading)
}


@dataclass(frozen=True)
class CTVolume:
    """A CT volume in Hounsfield units on an orthogonal LPS grid."""

    image: sitk.Image  # Float32, HU, LPS world geometry
    source: str
    series_uid: str | None
    tilt_deg: float
    warnings: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.image.GetPixelID() != sitk.sitkFloat32 or self.image.GetDimension() != 3:
            raise TypeError("CTVolume.image must be a 3-D Float32 SimpleITK image")
        direction = np.array(self.image.GetDirection()).reshape(3, 3)
        if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-4):
            raise ValueError(f"CTVolume.image direction is not orthonormal: {direction.tolist()}")

    @property
    def hu(self) -> np.ndarray:
        """The HU voxels as a (z, y, x) float32 array (a copy)."""
        return sitk.GetArrayFromImage(self.image)


def is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def _load_nifti(path: Path) -> CTVolume:
    try:
        image = sitk.ReadImage(str(path), sitk.sitkFloat32)
    except RuntimeError as exc:
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreadable"
        raise UnreadableFileError(f"{path}: not a readable NIfTI file ({message})") from exc
    if image.GetDimension() != 3:
        raise ImagingError(f"{path}: a CT volume must be 3-D, the file is {image.GetDimension()}-D")
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise ImagingError(f"{path}: a CT volume must have one value per voxel")
    warnings_ = ()
    if image.GetSize()[2] < MIN_SLICES:
        warnings_ = (f"only {image.GetSize()[2]} slice(s)",)
    return CTVolume(image, str(path), None, 0.0, warnings_)


def _stored_values(ds: Dataset, path: Path, n_frames: int) -> np.ndarray:
    """Stored pixel values as (frames, rows, cols), in the file's pixel representation."""
    syntax = str(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2"))
    try:
        rows, columns = fast_int(ds, "Rows", 0), fast_int(ds, "Columns", 0)
        samples = fast_int(ds, "SamplesPerPixel", 1)
        bits = fast_int(ds, "BitsAllocated", 16)
        bits_stored = fast_int(ds, "BitsStored", bits)
        signed = fast_int(ds, "PixelRepresentation", 0) == 1
        if samples != 1:
            raise UnreadableFileError(f"{path}: {samples} samples per pixel; CT is greyscale")
        if syntax in _NATIVE_SYNTAXES and bits == 16:
            data = ds.PixelData
            expected = rows * columns * n_frames * 2
            if len(data) < expected:
                raise UnreadableFileError(
                    f"{path}: pixel data truncated ({len(data)} of {expected} bytes)"
                )
            array = np.frombuffer(data, dtype="<i2" if signed else "<u2", count=expected // 2)
            if signed and 0 < bits_stored < 16:
                # Sign-extend from the high bit, as pydicom does for signed stored values.
                shift = 16 - bits_stored
                array = (array << shift) >> shift
        else:
            array = ds.pixel_array
    except ImagingError:
        raise
    except Exception as exc:  # decoders and header conversions fail in many ways
        name = getattr(ds.file_meta.get("TransferSyntaxUID"), "name", syntax)
        raise UnreadableFileError(
            f"{path}: pixel data cannot be decoded ({name}; {type(exc).__name__}: {exc})"
        ) from exc
    if array.size != rows * columns * n_frames:
        raise UnreadableFileError(
            f"{path}: decoded {array.size} pixels, expected {n_frames}x{rows}x{columns}"
        )
    return array.reshape(n_frames, rows, columns)


def _fill_hu(instance: Instance, planes: list[np.ndarray]) -> None:
    """Write the HU of each frame of one file into ``planes`` (one 2-D float32 view per frame).

    HU = stored x slope + intercept per frame; padding pixels and anything below air become
    -1024 HU. Done in place, one pass where the slope is 1, because this is the hot loop.
    """
    ds = instance.dataset
    stored = _stored_values(ds, instance.path, len(instance.frames))
    padding = padding_range(ds)
    air = np.float32(AIR_HU)
    for values, frame, out in zip(stored, instance.frames, planes, strict=True):
        if frame.slope == 1.0:
            np.add(values, np.float32(frame.intercept), out=out, casting="unsafe")
        else:
            np.multiply(values, np.float32(frame.slope), out=out, casting="unsafe")
            out += np.float32(frame.intercept)
        if padding is not None:
            lo, hi = padding
            # Padding that rescales to air or below is handled by the clamp; test only the rest.
            if max(lo * frame.slope, hi * frame.slope) + frame.intercept > AIR_HU:
                out[(values >= lo) & (values <= hi)] = air
        np.maximum(out, air, out=out)


def _frames_hu(instance: Instance) -> np.ndarray:
    """HU of every frame of one file as (frames, rows, cols)."""
    first = instance.frames[0]
    out = np.empty((len(instance.frames), first.rows, first.columns), dtype=np.float32)
    _fill_hu(instance, list(out))
    return out


def read_frames_hu(path: Path) -> np.ndarray:
    """HU of every frame of one DICOM image file as (frames, rows, cols), geometry unchecked."""
    path = Path(path)
    instance = read_instance(path)
    if instance is None:
        raise UnreadableFileError(f"{path}: not an image object")
    if instance.problem:
        # Geometry is not needed here: rescale from the top-level header is enough.
        ds = instance.dataset
        slope, intercept = rescale(ds, path)
        stored = _stored_values(ds, path, int(ds.get("NumberOfFrames") or 1))
        stub = FrameRef(
            path,
            None,
            (0.0, 0.0, 0.0),
            (1, 0, 0, 0, 1, 0),
            *stored.shape[1:],
            (1.0, 1.0),
            slope,
            intercept,
        )
        instance = Instance(path, ds, [stub] * stored.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _frames_hu(instance)


def _orthogonal_grid(geometry: StackGeometry) -> sitk.Image:
    """An orthogonal grid holding a tilted stack: slice axis along the stacking direction."""
    e3 = geometry.step / np.linalg.norm(geometry.step)
    e1 = geometry.row_dir - (geometry.row_dir @ e3) * e3
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(e3, e1)
    axes = np.column_stack([e1, e2, e3])
    spacing = np.array([*geometry.pixel_spacing, float(np.linalg.norm(geometry.step))])
    nx, ny, nz = geometry.size
    corners = np.array(
        [
            geometry.origin
            + i * geometry.pixel_spacing[0] * geometry.row_dir
            + j * geometry.pixel_spacing[1] * geometry.col_dir
            + k * geometry.step
            for i in (0, nx - 1)
            for j in (0, ny - 1)
            for k in (0, nz - 1)
        ]
    )
    local = (corners - geometry.origin) @ axes / spacing
    lo = np.floor(local.min(axis=0) + 1e-6)
    hi = np.ceil(local.max(axis=0) - 1e-6)
    grid = sitk.Image([int(v) for v in hi - lo + 1], sitk.sitkFloat32)
    grid.SetSpacing(spacing.tolist())
    grid.SetOrigin((geometry.origin + axes @ (lo * spacing)).tolist())
    grid.SetDirection(axes.ravel().tolist())
    return grid


def _stack_image(geometry: StackGeometry) -> tuple[sitk.Image, np.ndarray]:
    """An empty Float32 image for the stack on its own (possibly sheared) grid, and a
    writable (z, y, x) numpy view of its pixel buffer.

    Decoding straight into the image's buffer saves a 4-bytes-per-voxel allocation and copy
    (``GetImageFromArray``), the largest cost after parsing. SimpleITK only hands out
    read-only views, so the writable one is made from the buffer address; it is valid while
    ``image`` lives and nothing else shares its buffer (a new image shares nothing).
    """
    columns, rows, n = geometry.size
    image = sitk.Image([columns, rows, n], sitk.sitkFloat32)
    length = float(np.linalg.norm(geometry.step))
    image.SetSpacing((*geometry.pixel_spacing, length))
    image.SetOrigin(geometry.origin.tolist())
    axes = np.column_stack([geometry.row_dir, geometry.col_dir, geometry.step / length])
    image.SetDirection(axes.ravel().tolist())
    view = sitk.GetArrayViewFromImage(image)
    buffer = (ctypes.c_float * view.size).from_address(view.__array_interface__["data"][0])
    return image, np.frombuffer(buffer, dtype=np.float32).reshape(view.shape)


def _untilt(image: sitk.Image, geometry: StackGeometry) -> sitk.Image:
    """Resample a sheared stack onto the orthogonal grid that contains it (linear)."""
    grid = _orthogonal_grid(geometry)
    return sitk.Resample(image, grid, sitk.Transform(), sitk.sitkLinear, AIR_HU, sitk.sitkFloat32)


def volume_from_scan(
    result: Scan, uid: str, source: str, *, min_slices: int = MIN_SLICES
) -> CTVolume:
    """Decode the series ``uid`` of a scan into a CTVolume (checks first, pixels second)."""
    info = next(s for s in result.series if s.uid == uid)
    label = f"series {uid}"
    if uid in result.errors:
        raise result.errors[uid]
    if info.modality != "CT":
        raise SeriesSelectionError(
            f"{label}: modality is {info.modality or 'missing'}, not CT ({info.files[0]})"
        )
    if info.n_slices < min_slices:
        raise SeriesSelectionError(
            f"{label}: only {info.n_slices} slice(s); at least {min_slices} are needed"
        )
    geometry = result.geometry[uid]
    instances = result.instances[uid]
    frames: list[FrameRef] = [f for inst in instances for f in inst.frames]
    image, hu = _stack_image(geometry)
    slot = {id(frames[k]): z for z, k in enumerate(geometry.order)}
    decode_warnings: list[str] = []
    for inst in instances:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _fill_hu(inst, [hu[slot[id(frame)]] for frame in inst.frames])
        decode_warnings.extend(f"{inst.path.name}: {w.message}" for w in caught)
    del hu  # the view must not outlive the image, which _untilt may replace
    if geometry.tilted:
        image = _untilt(image, geometry)
    return CTVolume(
        image=image,
        source=source,
        series_uid=uid,
        tilt_deg=round(geometry.tilt_deg, 4) if geometry.tilted else 0.0,
        warnings=tuple(dict.fromkeys([*info.warnings, *decode_warnings])),
    )


def load_volume(
    path: Path,
    *,
    series_uid: str | None = None,
    min_slices: int = MIN_SLICES,
    progress: Callable[[int, int], None] | None = None,
) -> CTVolume:
    """Load a head CT in HU: a DICOM folder, file or DICOMDIR, or a .nii/.nii.gz file.

    For DICOM the series is ``series_uid`` or else :func:`choose_series`'s default. Raises
    ImagingError (naming the file, series or gap) for unreadable files, geometry problems,
    non-CT series and series with fewer than ``min_slices`` slices.
    """
    path = Path(path)
    if path.is_file() and is_nifti(path):
        return _load_nifti(path)
    result = scan_tree(path, progress=progress)
    if not result.series:
        if result.unreadable:
            raise UnreadableFileError(result.unreadable[0][1])
        raise SeriesSelectionError(f"{path}: no DICOM image series found")
    if series_uid is None:
        uid = choose_series(result.series).uid
    elif any(s.uid == series_uid for s in result.series):
        uid = series_uid
    else:
        known = ", ".join(s.uid for s in result.series)
        raise SeriesSelectionError(f"{path}: no series {series_uid} (found: {known})")
    folders = {inst.path.parent for inst in result.instances[uid]}
    beside = [reason for file, reason in result.unreadable if file.parent in folders]
    if beside:
        # An unreadable file in the chosen series' folder may well be one of its slices.
        raise UnreadableFileError(beside[0])
    return volume_from_scan(result, uid, str(path), min_slices=min_slices)
