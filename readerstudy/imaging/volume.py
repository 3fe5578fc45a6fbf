"""Load a head CT (DICOM series or NIfTI) as a SimpleITK image in HU with LPS geometry.

DICOM: stored values are decoded (native or compressed), padding pixels become air, each
slice's RescaleSlope/Intercept gives HU, slices are placed by position along the normal, and
a gantry-tilted (sheared) stack is resampled onto an orthogonal grid that contains it, so a
voxel's world coordinate is exact; a stack whose spacing changes in zones (thin posterior
fossa, thicker above) is resampled along the normal to its finest spacing. NIfTI: SimpleITK
converts the file's RAS affine to LPS.

The image is Int16 when every voxel is a whole HU value, as it is for nearly every CT
(integral slope and intercept, no resampling): that is how scanners store CT, what
SimpleITK's own series reader returns for most, and half the memory of Float32. Otherwise
(fractional rescale, interpolated tilt or zone correction, floating-point NIfTI) it is
Float32, so no value is ever rounded.
"""

from __future__ import annotations

import ctypes
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from readerstudy.imaging.cases import is_nifti
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
MAX_WHOLE_HU = 32767
"""Ceiling of an Int16 volume; the extended CT scale for metal stops near 30000 HU."""
MAX_SLOPE = 1e3
MAX_ABS_INTERCEPT = 1e6
"""CT stores HU with slope 1 (rarely 0.5 or 2) and intercept 0, -1024 or -8192; a slope that
is not positive or rescale values far beyond these bounds are a corrupt header, not a scanner
habit."""

PIXEL_DATA_TAG = 0x7FE00010
UNDEFINED_LENGTH = 0xFFFFFFFF
DEFLATED_SYNTAX = "1.2.840.10008.1.2.1.99"
_NATIVE_SYNTAXES = {
    "1.2.840.10008.1.2",  # Implicit VR Little Endian
    "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
    DEFLATED_SYNTAX,  # Deflated Explicit VR Little Endian (inflated on reading)
}


@dataclass(frozen=True)
class CTVolume:
    """A CT volume in Hounsfield units on an orthogonal LPS grid."""

    image: sitk.Image  # HU (Int16 when every voxel is a whole HU value, else Float32), LPS
    source: str
    series_uid: str | None
    tilt_deg: float
    warnings: tuple[str, ...]

    def __post_init__(self) -> None:
        if (
            self.image.GetPixelID() not in (sitk.sitkInt16, sitk.sitkFloat32)
            or self.image.GetDimension() != 3
        ):
            raise TypeError("CTVolume.image must be a 3-D Int16 or Float32 SimpleITK image")
        direction = np.array(self.image.GetDirection()).reshape(3, 3)
        if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-4):
            raise ValueError(f"CTVolume.image direction is not orthonormal: {direction.tolist()}")

    @property
    def pixel_type(self) -> str:
        """'int16' or 'float32': how the image stores HU (see the module docstring)."""
        return "int16" if self.image.GetPixelID() == sitk.sitkInt16 else "float32"

    @property
    def hu(self) -> np.ndarray:
        """The HU voxels as a (z, y, x) float32 array (a copy), whatever the image's type."""
        return sitk.GetArrayViewFromImage(self.image).astype(np.float32)


def _load_nifti(path: Path) -> CTVolume:
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreadable"
        raise UnreadableFileError(f"{path}: not a readable NIfTI file ({message})") from exc
    if image.GetDimension() != 3:
        raise ImagingError(f"{path}: a CT volume must be 3-D, the file is {image.GetDimension()}-D")
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise ImagingError(f"{path}: a CT volume must have one value per voxel")
    image = sitk.Cast(image, sitk.sitkInt16 if _whole_hu_fits_int16(image) else sitk.sitkFloat32)
    warnings_: tuple[str, ...] = ()
    if image.GetSize()[2] < MIN_SLICES:
        warnings_ = (f"only {image.GetSize()[2]} slice(s)",)
    return CTVolume(image, str(path), None, 0.0, warnings_)


def verify_nifti(path: Path) -> None:
    """Refuse a NIfTI file that is cut short, damaged or holds non-finite voxels.

    SimpleITK reads a truncated ``.nii.gz`` without complaint and fills the rest with zeros
    (and writes one without complaint on a full disk), so the stream is decompressed in full
    and its length checked against the voxel count the header promises.
    """
    import gzip
    import zlib

    import nibabel

    path = Path(path)
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                raw = handle.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableFileError(f"{path} is damaged or cut short ({exc})") from None
    try:
        image = nibabel.Nifti1Image.from_bytes(raw)
    except Exception as exc:  # nibabel raises several unrelated types for a bad header
        raise UnreadableFileError(f"{path} is not a NIfTI-1 image ({exc})") from None
    header = image.header
    offset = int(header.get_data_offset())
    expected = int(np.prod(header.get_data_shape())) * int(header.get_data_dtype().itemsize)
    if len(raw) < offset + expected:
        missing = 100 * (offset + expected - len(raw)) / max(expected, 1)
        raise UnreadableFileError(
            f"{path} is cut short: {len(raw)} of {offset + expected} bytes ({missing:.0f}% of "
            "the voxels missing)"
        )
    data = np.asanyarray(image.dataobj)
    if np.issubdtype(data.dtype, np.floating) and not np.isfinite(data).all():
        bad = int(np.count_nonzero(~np.isfinite(data)))
        raise ImagingError(f"{path} has {bad} voxel(s) that are NaN or infinite")


_INTEGER_PIXEL_TYPES = frozenset(
    {
        *(sitk.sitkInt8, sitk.sitkUInt8, sitk.sitkInt16, sitk.sitkUInt16),
        *(sitk.sitkInt32, sitk.sitkUInt32, sitk.sitkInt64, sitk.sitkUInt64),
    }
)


def _whole_hu_fits_int16(image: sitk.Image) -> bool:
    """True for an integer-typed image whose values all fit Int16 (a float image is kept)."""
    if image.GetPixelID() not in _INTEGER_PIXEL_TYPES:
        return False
    extremes = sitk.MinimumMaximumImageFilter()
    extremes.Execute(image)
    return extremes.GetMinimum() >= -32768 and extremes.GetMaximum() <= MAX_WHOLE_HU


class PixelBuffer:
    """Memory reused for the pixel data of every file of a series.

    Reading each slice into fresh memory costs a page fault per 4 KiB, more than the read.
    An array it returns is valid until the next read.
    """

    def __init__(self) -> None:
        self._memory = np.empty(0, dtype=np.uint8)

    def read(self, filename: str, offset: int, size: int) -> np.ndarray:
        """Up to ``size`` bytes of ``filename`` from ``offset`` (fewer at the end of the file)."""
        if self._memory.size < size:
            self._memory = np.empty(size, dtype=np.uint8)
        with open(filename, "rb") as fh:
            fh.seek(offset)
            count = fh.readinto(self._memory.data[:size])
        return self._memory[:count]


def _native_pixel_bytes(
    ds: Dataset, path: Path, syntax: str, expected: int, buffer: PixelBuffer | None
) -> bytes | np.ndarray:
    """Uncompressed pixel data, read straight from the file when discovery deferred it.

    pydicom's deferred read re-parses the element from the file, which costs as much as
    decoding the slice; its offset is known, so one seek and one read suffice.
    """
    elem = ds.get_item(PIXEL_DATA_TAG, keep_deferred=True)
    if not (
        isinstance(elem, RawDataElement)
        and elem.value is None
        and elem.length != UNDEFINED_LENGTH
        and syntax != DEFLATED_SYNTAX  # its offsets count inflated bytes
        and isinstance(ds.filename, str)
    ):
        return ds.PixelData
    timestamp = getattr(ds, "timestamp", None)
    if timestamp is not None and os.stat(ds.filename).st_mtime != timestamp:
        raise UnreadableFileError(f"{path}: the file changed after it was scanned; load it again")
    return (buffer or PixelBuffer()).read(ds.filename, elem.value_tell, min(elem.length, expected))


def _stored_values(
    ds: Dataset, path: Path, n_frames: int, buffer: PixelBuffer | None = None
) -> np.ndarray:
    """Stored pixel values as (frames, rows, cols), in the file's pixel representation (valid
    until ``buffer``'s next read when one is given)."""
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
            expected = rows * columns * n_frames * 2
            data = _native_pixel_bytes(ds, path, syntax, expected, buffer)
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


def _fill_hu(
    instance: Instance, planes: list[np.ndarray], buffer: PixelBuffer | None = None
) -> None:
    """Write the HU of each frame of one file into ``planes`` (one 2-D view per frame).

    HU = stored x slope + intercept per frame; padding pixels and anything below air become
    -1024 HU. ``planes`` are Int16 (integral slope and intercept) or Float32. This is the hot
    loop, so each frame takes two passes at most besides the padding mask.
    """
    ds = instance.dataset
    stored = _stored_values(ds, instance.path, len(instance.frames), buffer)
    padding = padding_range(ds)
    rescale_into = _rescale_whole if planes[0].dtype == np.int16 else _rescale_float
    for values, frame, out in zip(stored, instance.frames, planes, strict=True):
        rescale_into(values, frame, out)
        if padding is not None:
            lo, hi = padding
            # Padding that rescales to air or below is handled by the clamp; test only the rest.
            if max(lo * frame.slope, hi * frame.slope) + frame.intercept > AIR_HU:
                out[(values >= lo) & (values <= hi)] = AIR_HU


def _rescale_float(values: np.ndarray, frame: FrameRef, out: np.ndarray) -> None:
    if frame.slope == 1.0:
        np.add(values, np.float32(frame.intercept), out=out, casting="unsafe")
    else:
        np.multiply(values, np.float32(frame.slope), out=out, casting="unsafe")
        out += np.float32(frame.intercept)
    np.maximum(out, np.float32(AIR_HU), out=out)


def _rescale_whole(values: np.ndarray, frame: FrameRef, out: np.ndarray) -> None:
    """Integral rescale into Int16 HU, clamped to [-1024, 32767].

    With slope 1 the stored values are first clamped to the range that maps inside that scale,
    then the intercept is added in 16 bits: the sum is exact modulo 2**16 and lies in Int16's
    range, so its bits read as Int16 are the HU, with no wider temporary array.
    """
    slope, intercept = int(frame.slope), int(frame.intercept)
    info = np.iinfo(values.dtype)
    floor = max(int(AIR_HU) - intercept, info.min)
    ceiling = min(MAX_WHOLE_HU - intercept, info.max)
    if slope != 1 or info.bits != 16 or floor > ceiling:
        wide = values.astype(np.int64) * slope + intercept
        _warn_saturated(int(np.count_nonzero(wide > MAX_WHOLE_HU)))
        np.clip(wide, int(AIR_HU), MAX_WHOLE_HU, out=out, casting="unsafe")
        return
    if ceiling < info.max and values.max() > ceiling:
        _warn_saturated(int(np.count_nonzero(values > ceiling)))
    kind = values.dtype.type  # numpy scalars keep clip on its fast same-type loop
    np.clip(values, kind(floor), kind(ceiling), out=out.view(values.dtype))
    bits = out.view(np.uint16)
    np.add(bits, np.uint16(intercept % 2**16), out=bits)


def _warn_saturated(count: int) -> None:
    if count:
        warnings.warn(
            f"{count} voxel(s) above {MAX_WHOLE_HU} HU kept as {MAX_WHOLE_HU}", stacklevel=3
        )


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
        n_frames, rows, columns = stored.shape
        stub = FrameRef(
            path,
            None,
            (0.0, 0.0, 0.0),
            (1, 0, 0, 0, 1, 0),
            rows,
            columns,
            (1.0, 1.0),
            slope,
            intercept,
        )
        instance = Instance(path, ds, [stub] * n_frames)
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


def _stack_image(geometry: StackGeometry, pixel_type: int) -> tuple[sitk.Image, np.ndarray]:
    """An empty image of ``pixel_type`` for the stack on its own (possibly sheared) grid, and a
    writable (z, y, x) numpy view of its pixel buffer.

    Decoding straight into the image's buffer saves an allocation and copy of the volume
    (``GetImageFromArray``), the largest cost after parsing. SimpleITK only hands out
    read-only views, so the writable one is made from the buffer address; it is valid while
    ``image`` lives and nothing else shares its buffer (a new image shares nothing).
    """
    columns, rows, n = geometry.size
    image = sitk.Image([columns, rows, n], pixel_type)
    length = float(np.linalg.norm(geometry.step))
    image.SetSpacing((*geometry.pixel_spacing, length))
    image.SetOrigin(geometry.origin.tolist())
    axes = np.column_stack([geometry.row_dir, geometry.col_dir, geometry.step / length])
    image.SetDirection(axes.ravel().tolist())
    view = sitk.GetArrayViewFromImage(image)
    buffer = (ctypes.c_char * view.nbytes).from_address(view.__array_interface__["data"][0])
    return image, np.frombuffer(memoryview(buffer), dtype=view.dtype).reshape(view.shape)


def _untilt(image: sitk.Image, geometry: StackGeometry) -> sitk.Image:
    """Resample a sheared stack onto the orthogonal grid that contains it (linear)."""
    grid = _orthogonal_grid(geometry)
    return sitk.Resample(image, grid, sitk.Transform(), sitk.sitkLinear, AIR_HU, sitk.sitkFloat32)


def _check_rescale(frames: list[FrameRef]) -> None:
    for frame in frames:
        if not 0 < frame.slope <= MAX_SLOPE or abs(frame.intercept) > MAX_ABS_INTERCEPT:
            raise UnreadableFileError(
                f"{frame.path}: RescaleSlope {frame.slope:g} and RescaleIntercept "
                f"{frame.intercept:g} cannot be a CT rescale (a corrupt header?)"
            )


def _resample_zones(image: sitk.Image, geometry: StackGeometry) -> sitk.Image:
    """A stack whose slice spacing changes in zones, on a regular grid at the finest spacing.

    Linear along the normal; a target slice that falls on a source slice is that slice. The
    spacing is shrunk slightly where needed so that the grid ends on the last slice.
    """
    offsets = np.asarray(geometry.offsets_mm)
    steps = int(np.ceil(offsets[-1] / geometry.spacing_mm - 1e-6))
    spacing = offsets[-1] / steps
    target = np.arange(steps + 1) * spacing
    below = np.clip(np.searchsorted(offsets, target + 1e-3, side="right") - 1, 0, len(offsets) - 2)
    weight = (target - offsets[below]) / (offsets[below + 1] - offsets[below])
    source = sitk.GetArrayViewFromImage(image)
    out = np.empty((len(target), *source.shape[1:]), dtype=np.float32)
    for k, (i, w) in enumerate(zip(below, weight, strict=True)):
        if w < 1e-4:
            out[k] = source[i]
        else:
            np.multiply(source[i + 1], np.float32(w), out=out[k], casting="unsafe")
            out[k] += np.float32(1.0 - w) * source[i]
    regular = sitk.GetImageFromArray(out)
    regular.SetOrigin(image.GetOrigin())
    regular.SetDirection(image.GetDirection())
    regular.SetSpacing((*image.GetSpacing()[:2], float(spacing)))
    return regular


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
    _check_rescale(frames)
    whole = all(f.slope.is_integer() and f.intercept.is_integer() for f in frames)
    image, hu = _stack_image(geometry, sitk.sitkInt16 if whole else sitk.sitkFloat32)
    slot = {id(frames[k]): z for z, k in enumerate(geometry.order)}
    decode_warnings: list[str] = []
    buffer = PixelBuffer()
    for inst in instances:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _fill_hu(inst, [hu[slot[id(frame)]] for frame in inst.frames], buffer)
        decode_warnings.extend(f"{inst.path.name}: {w.message}" for w in caught)
    del hu  # the view must not outlive the image, which _untilt may replace
    if geometry.tilted:
        image = _untilt(image, geometry)
    elif geometry.zoned:
        image = _resample_zones(image, geometry)
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
