"""The case loader: what the viewer shows of one read, as a typed, read-only display volume.

The scan is converted once into display orientation (slice 0 most inferior, row 0 anterior,
column 0 the screen's left: patient right in radiological orientation, patient left in
neurological), so the viewer never copies or flips a volume per frame. In aided reads the AI
lesion likelihood and the warped-atlas label map come on the same grid, after a grid check;
in unaided reads the loader is never given a path under ``ai/``, so it cannot open one.

Loading runs on one background thread (:mod:`concurrent.futures`): when a case opens, the
loader starts on it and on the next case, so showing the next case does not wait on disk.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from readerstudy.errors import ReaderStudyError
from readerstudy.study.definition import Orientation, Viewer

if TYPE_CHECKING:
    import SimpleITK as sitk

LEVELS = ("ganglionic", "supraganglionic")
"""The two ASPECTS levels a study may offer jump keys to."""

_DISPLAY_AXES = {Orientation.RADIOLOGICAL: "LPS", Orientation.NEUROLOGICAL: "RPS"}
"""SimpleITK/DICOM orientation codes (the patient direction each axis points to) giving
column 0 = patient right (radiological) or patient left (neurological), row 0 anterior,
slice 0 inferior."""

_GRID_TOLERANCE = 1e-4

_FOR_COORDINATOR = "the coordinator finds the case by this code in schedule.csv and runs"
"""Load errors reach the reader's screen, so they name the neutral code, never the case id or
a path (the original error stays attached as ``__cause__`` for the log)."""


class CaseLoadError(ReaderStudyError):
    """A case cannot be shown: its scan is unreadable, or an AI file is not on the scan's grid."""


@dataclass(frozen=True)
class ViewerOptions:
    """How the viewer shows images (``[viewer]`` in study.toml), identical in every modality."""

    orientation: str
    """``"radiological"`` (patient right on screen left, the default) or ``"neurological"``."""
    level_jumps: bool
    window: tuple[float, float]
    """Default (center, width) in HU."""
    keymap: dict[str, str | tuple[str, ...]]
    """Action -> key sequence (or several) overrides (may be empty)."""

    @classmethod
    def from_definition(cls, viewer: Viewer) -> ViewerOptions:
        return cls(
            orientation=viewer.orientation.value,
            level_jumps=viewer.level_jumps,
            window=(viewer.window_center, viewer.window_width),
            keymap=dict(viewer.keymap),
        )

    @property
    def screen_left(self) -> str:
        """Which patient side is on screen left: ``"R"`` or ``"L"``."""
        return "R" if self.orientation == Orientation.RADIOLOGICAL.value else "L"


@dataclass(frozen=True)
class DisplayVolume:
    """One case as the viewer shows it; every array is read-only and on the same grid."""

    code: str
    """Neutral per-session code, e.g. ``S1-003``."""
    hu: np.ndarray
    """(n_slices, rows, cols) HU, int16 or float32, in display orientation."""
    spacing: tuple[float, float, float]
    """(slice, row, col) mm."""
    z_mm: tuple[float, ...]
    """Each slice's position on the patient's inferior-superior axis (mm, superior positive)."""
    window: tuple[float, float]
    screen_left: str
    levels: dict[str, int] | None
    """Display slice of each level, only where the study offers level jumps and they are known."""
    ai_mask: np.ndarray | None
    """Aided reads: float32 lesion likelihood 0-1."""
    regions: np.ndarray | None
    """Aided reads: uint8 warped-atlas labels (0 = none)."""
    region_units: dict[int, str]
    """Label value -> unit code (``"M5_left"``) of ``regions``; empty without one."""


@dataclass(frozen=True)
class CaseFiles:
    """What the loader reads for one read: built by the study, never shown to the reader."""

    code: str
    image: Path
    ai_mask: Path | None = None
    """Only for aided reads."""
    atlas: Path | None = None
    """Only for aided reads, when precompute wrote a label map."""
    levels: Mapping[str, int] | None = None
    """Slice indices on the scan's own grid (``levels.csv``), when the study offers jumps."""


def _read_scan(path: Path) -> sitk.Image:
    from readerstudy.imaging import load_volume

    return load_volume(path).image


def _read_image(path: Path) -> sitk.Image:
    import SimpleITK as sitk

    return sitk.ReadImage(str(path))


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _grid(
    image: sitk.Image,
) -> tuple[tuple[int, ...], tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    return (image.GetSize(), image.GetSpacing(), image.GetOrigin(), image.GetDirection())


def _check_grid(code: str, what: str, scan: sitk.Image, other: sitk.Image) -> None:
    """Refuse an AI image not on the scan's voxel grid (naming what differs)."""
    names = ("size", "spacing", "origin", "direction")
    for name, mine, theirs in zip(names, _grid(scan), _grid(other), strict=True):
        if len(mine) != len(theirs) or not all(
            math.isclose(a, b, rel_tol=_GRID_TOLERANCE, abs_tol=_GRID_TOLERANCE)
            for a, b in zip(mine, theirs, strict=True)
        ):
            raise CaseLoadError(
                f"{code}: the {what} is not on the scan's grid ({name} "
                f"{tuple(round(v, 4) for v in theirs)} vs the scan's "
                f"{tuple(round(v, 4) for v in mine)}); {_FOR_COORDINATOR} "
                "`readerstudy study precompute --force`"
            )


@dataclass(frozen=True)
class _Display:
    """How a grid's voxel array maps to display order: which image axis (x=0, y=1, z=2)
    becomes the slice, row and column axis, and which of them run backwards."""

    axes: tuple[int, int, int]
    flips: tuple[bool, bool, bool]

    @classmethod
    def of(cls, image: sitk.Image, orientation: Orientation) -> _Display | None:
        """None for a grid tilted about 45 degrees, where no image axis is nearest to one
        patient axis."""
        direction = np.array(image.GetDirection()).reshape(3, 3)
        nearest = np.abs(direction).argmax(axis=0)  # patient axis (L, P, S) of each image axis
        if sorted(nearest.tolist()) != [0, 1, 2]:
            return None
        slice_axis, row_axis, col_axis = (
            int(np.flatnonzero(nearest == patient)[0]) for patient in (2, 1, 0)
        )
        axes = (slice_axis, row_axis, col_axis)
        # slices run to S, rows to P, columns to L (radiological) or R (neurological)
        wanted = (1.0, 1.0, 1.0 if orientation is Orientation.RADIOLOGICAL else -1.0)
        slice_flip, row_flip, col_flip = (
            bool(np.sign(direction[patient, axis]) != want)
            for patient, axis, want in zip((2, 1, 0), axes, wanted, strict=True)
        )
        return cls(axes, (slice_flip, row_flip, col_flip))

    def array(self, image: sitk.Image, dtype: type | None = None) -> np.ndarray:
        """The image's voxels in display order: one copy, read-only."""
        import SimpleITK as sitk

        view = sitk.GetArrayViewFromImage(image)  # (z, y, x): numpy axis = 2 - image axis
        ordered = np.transpose(view, [2 - axis for axis in self.axes])
        steps = tuple(slice(None, None, -1) if flip else slice(None) for flip in self.flips)
        return _frozen(np.array(ordered[steps], dtype=dtype or view.dtype))

    def slice_of(self, image: sitk.Image, index: float) -> float:
        """The display slice of a (continuous) index along the image's slice axis."""
        n = image.GetSize()[self.axes[0]]
        return n - 1 - index if self.flips[0] else index


def load_case(
    files: CaseFiles,
    options: ViewerOptions,
    *,
    read_scan: Callable[[Path], sitk.Image] = _read_scan,
    read_image: Callable[[Path], sitk.Image] = _read_image,
) -> DisplayVolume:
    """Read and convert one case (blocking); see the module docstring for the orientation.

    Each array is copied once, from the image's own memory into display order.
    """
    import SimpleITK as sitk

    code = files.code
    try:
        scan = read_scan(files.image)
    except (ReaderStudyError, RuntimeError, OSError) as exc:
        raise CaseLoadError(
            f"{code}: the scan cannot be loaded ({type(exc).__name__}); {_FOR_COORDINATOR} "
            "`readerstudy dicom inspect` on the case folder"
        ) from exc
    if scan.GetDimension() != 3 or scan.GetNumberOfComponentsPerPixel() != 1:
        raise CaseLoadError(f"{code}: the scan is not a 3-D volume of one value per voxel")
    orientation = Orientation(options.orientation)
    ai_images = [
        _aligned(path, what, code, scan, read_image)
        for path, what in ((files.ai_mask, "AI mask"), (files.atlas, "atlas label map"))
        if path is not None
    ]
    stored = scan
    display = _Display.of(scan, orientation)
    if display is None:
        # near 45 degrees: SimpleITK picks the nearest axes for the scan and its AI images alike
        code_axes = _DISPLAY_AXES[orientation]
        scan, *ai_images = (sitk.DICOMOrient(i, code_axes) for i in (scan, *ai_images))
        display = _Display((2, 1, 0), (False, False, False))
    whole_or_float = scan.GetPixelID() in (sitk.sitkInt16, sitk.sitkFloat32)
    hu = display.array(scan, None if whole_or_float else np.float32)
    size = scan.GetSize()
    center = [(n - 1) / 2 for n in size]
    slice_axis = display.axes[0]

    def z_of(index: float) -> float:
        return float(
            scan.TransformContinuousIndexToPhysicalPoint(
                [index if axis == slice_axis else center[axis] for axis in range(3)]
            )[2]
        )

    z_mm = tuple(z_of(display.slice_of(scan, k)) for k in range(size[slice_axis]))
    slice_mm, row_mm, col_mm = (float(scan.GetSpacing()[axis]) for axis in display.axes)
    spacing = (slice_mm, row_mm, col_mm)

    ai_mask = regions = None
    region_units: dict[int, str] = {}
    images = iter(ai_images)
    if files.ai_mask is not None:
        ai_mask = display.array(next(images), np.float32)
        low, high = float(ai_mask.min()), float(ai_mask.max())
        if low < 0.0 or high > 1.0:
            raise CaseLoadError(
                f"{code}: the AI mask holds values {low:g}-{high:g}, not a likelihood in 0-1"
            )
    if files.atlas is not None:
        from model.anatomy.labels import LABELS

        atlas = next(images)
        top = max(LABELS.values())
        extremes = sitk.MinimumMaximumImageFilter()
        extremes.Execute(atlas)
        if extremes.GetMinimum() < 0 or extremes.GetMaximum() > top:
            raise CaseLoadError(
                f"{code}: the atlas label map holds labels {extremes.GetMinimum():g}-"
                f"{extremes.GetMaximum():g}, outside 0-{top}"
            )
        regions = display.array(atlas, np.uint8)
        region_units = {label: unit for unit, label in LABELS.items()}

    levels = None
    if options.level_jumps and files.levels is not None:
        levels = {}
        n_stored = stored.GetSize()[2]
        middle = [(n - 1) / 2 for n in stored.GetSize()[:2]]
        for level in LEVELS:
            k = files.levels[level]
            if not 0 <= k < n_stored:
                raise CaseLoadError(
                    f"{code}: the {level} level is slice {k}, outside the scan's "
                    f"{n_stored} slices (levels.csv)"
                )
            # the display slice nearest to the stored slice k, by its S position
            z = float(stored.TransformContinuousIndexToPhysicalPoint((*middle, k))[2])
            levels[level] = int(np.abs(np.array(z_mm) - z).argmin())

    return DisplayVolume(
        code=code,
        hu=hu,
        spacing=spacing,
        z_mm=z_mm,
        window=options.window,
        screen_left=options.screen_left,
        levels=levels,
        ai_mask=ai_mask,
        regions=regions,
        region_units=region_units,
    )


def _aligned(
    path: Path, what: str, code: str, scan: sitk.Image, read_image: Callable[[Path], sitk.Image]
) -> sitk.Image:
    try:
        image = read_image(path)
    except (RuntimeError, OSError) as exc:
        raise CaseLoadError(
            f"{code}: the {what} cannot be read ({type(exc).__name__}); {_FOR_COORDINATOR} "
            "`readerstudy study precompute --force`"
        ) from exc
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise CaseLoadError(f"{code}: the {what} must have one value per voxel")
    _check_grid(code, what, scan, image)
    return image


class CaseLoader:
    """Loads display volumes on one background thread, the next case ahead of time.

    ``prefetch=False`` loads only when a volume is asked for (simulations and scripts that
    never show images pay nothing). ``read_scan``/``read_image`` replace the readers (tests).
    Call it from one thread (the session's); the work runs on the loader's own.
    """

    def __init__(
        self,
        options: ViewerOptions,
        *,
        prefetch: bool = True,
        read_scan: Callable[[Path], sitk.Image] = _read_scan,
        read_image: Callable[[Path], sitk.Image] = _read_image,
    ) -> None:
        self.options = options
        self.prefetch = prefetch
        self._read_scan = read_scan
        self._read_image = read_image
        self._pool: ThreadPoolExecutor | None = None
        self._jobs: dict[str, Future[DisplayVolume]] = {}

    def _job(self, files: CaseFiles) -> Future[DisplayVolume]:
        job = self._jobs.get(files.code)
        if job is None:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="caseloader")
            job = self._pool.submit(
                load_case,
                files,
                self.options,
                read_scan=self._read_scan,
                read_image=self._read_image,
            )
            self._jobs[files.code] = job
        return job

    def opened(self, current: CaseFiles, upcoming: CaseFiles | None) -> None:
        """A case opened: forget other cases' volumes, start on this one and the next."""
        keep = {current.code} | ({upcoming.code} if upcoming else set())
        for code in set(self._jobs) - keep:
            self._jobs.pop(code).cancel()
        if self.prefetch:
            self._job(current)
            if upcoming is not None:
                self._job(upcoming)

    def volume(self, current: CaseFiles, upcoming: CaseFiles | None) -> DisplayVolume:
        """The current case's volume (waits only if it is not loaded yet); then prefetches the
        next. A failed load raises CaseLoadError and is tried again on the next call."""
        job = self._job(current)
        try:
            volume = job.result()
        except Exception:
            self._jobs.pop(current.code, None)
            raise
        if upcoming is not None:
            self._job(upcoming)
        return volume

    def close(self) -> None:
        """Drop every volume and stop the thread (a load in progress finishes in the background)."""
        for job in self._jobs.values():
            job.cancel()
        self._jobs.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
