"""Slice geometry: order frames along the slice normal, check the stack, measure gantry tilt.

Frames are ordered by ImagePositionPatient projected on the slice normal (row x column
direction), never by file name or InstanceNumber. The stack must be regular: one orientation,
one matrix size, one pixel spacing, no duplicated positions and no gaps. Gantry tilt shows as
a stacking direction (from one slice position to the next) that is not parallel to the normal.

One irregularity is a protocol, not an accident: sequential head CT often reconstructs the
posterior fossa thinner than the cerebrum (2.5 mm then 5 mm) in one series. Spacing that
changes in such zones (each spacing one contiguous run of at least ``MIN_ZONE_STEPS`` steps)
is accepted and described; the loader resamples it to the finest spacing. An isolated wide
step is still a missing slice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from readerstudy.imaging.errors import GeometryError
from readerstudy.imaging.headers import FrameRef

ORIENTATION_TOL = 1e-3  # max difference between IOP components of one series
SPACING_REL_TOL = 0.05  # allowed relative deviation of a slice gap from the median gap
MISSING_FACTOR = 1.5  # a gap this many times the median gap means slices are missing
DUPLICATE_TOL_MM = 0.01
TILT_TOL_DEG = 0.01  # below this the stack is treated as orthogonal
LINE_TOL_MM = 0.5  # max distance of a slice position from the stacking line
MIN_ZONE_STEPS = 3  # a spacing zone spans at least this many slice steps


@dataclass(frozen=True)
class SpacingZone:
    """A run of slices with one spacing, as positions along the normal (mm)."""

    spacing_mm: float
    start_mm: float
    end_mm: float
    n_slices: int

    def describe(self) -> str:
        return (
            f"{self.spacing_mm:.2f} mm from z={self.start_mm:.1f} to z={self.end_mm:.1f} mm "
            f"({self.n_slices} slices)"
        )


@dataclass(frozen=True)
class StackGeometry:
    """A checked slice stack: frame order and the (possibly sheared) voxel grid it spans."""

    order: tuple[int, ...]  # indices into the frames, in ascending position along the normal
    row_dir: np.ndarray  # unit vector along a row (increasing column index), LPS
    col_dir: np.ndarray  # unit vector down a column (increasing row index), LPS
    normal: np.ndarray  # row_dir x col_dir
    pixel_spacing: tuple[float, float]  # (along row_dir, along col_dir) in mm
    origin: np.ndarray  # position of the first ordered frame
    step: np.ndarray  # mean vector from one slice position to the next (mm)
    size: tuple[int, int, int]  # (columns, rows, slices)
    zones: tuple[SpacingZone, ...] = ()  # two or more when the spacing changes in zones
    offsets_mm: tuple[float, ...] = ()  # with zones: each ordered slice's distance from the first

    @property
    def zoned(self) -> bool:
        return len(self.zones) > 1

    @property
    def spacing_mm(self) -> float:
        """Distance between slices along the normal (the finest zone's, when zoned)."""
        if self.zoned:
            return min(zone.spacing_mm for zone in self.zones)
        return float(abs(self.step @ self.normal))

    @property
    def tilt_deg(self) -> float:
        """Angle between the stacking direction and the slice normal (gantry tilt)."""
        length = float(np.linalg.norm(self.step))
        if length == 0.0:
            return 0.0
        cos = min(1.0, abs(float(self.step @ self.normal)) / length)
        return float(np.degrees(np.arccos(cos)))

    @property
    def tilted(self) -> bool:
        return self.tilt_deg > TILT_TOL_DEG


def orientation_label(orientation: Sequence[float]) -> str:
    """'axial', 'coronal' or 'sagittal' after the dominant normal axis; 'oblique' otherwise."""
    row, col = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
    normal = np.cross(row, col)
    norm = np.linalg.norm(normal)
    if norm == 0.0:
        return "invalid"
    normal = np.abs(normal / norm)
    axis = int(np.argmax(normal))
    if normal[axis] < 0.8:
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


def _unit_axes(orientation: Sequence[float], label: str) -> tuple[np.ndarray, np.ndarray]:
    row, col = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
    if min(np.linalg.norm(row), np.linalg.norm(col)) < 0.5:
        raise GeometryError(f"{label}: ImageOrientationPatient {list(orientation)} is degenerate")
    row, col = row / np.linalg.norm(row), col / np.linalg.norm(col)
    if abs(row @ col) > 0.01:
        raise GeometryError(
            f"{label}: ImageOrientationPatient {list(orientation)} has non-orthogonal axes"
        )
    # Orthogonalise the column axis against the row axis (IOP is written with ~6 digits).
    col = col - (row @ col) * row
    return row, col / np.linalg.norm(col)


def _check_uniform(frames: Sequence[FrameRef], label: str) -> None:
    """One orientation, one matrix size and one pixel spacing in the whole stack."""
    first = frames[0]
    for attr, what in (("orientation", "orientations"), ("pixel_spacing", "pixel spacings")):
        ref = np.asarray(getattr(first, attr))
        odd = [f for f in frames if np.max(np.abs(np.asarray(getattr(f, attr)) - ref)) > 1e-3]
        if odd:
            raise GeometryError(
                f"{label}: mixed {what} in one series: {list(getattr(first, attr))} "
                f"({first.path.name}) and {list(getattr(odd[0], attr))} ({odd[0].path.name})"
            )
    sizes = Counter((f.rows, f.columns) for f in frames)
    if len(sizes) > 1:
        (a, _), (b, _) = sizes.most_common(2)
        example = next(f for f in frames if (f.rows, f.columns) == b)
        raise GeometryError(
            f"{label}: mixed image sizes in one series: {a[0]}x{a[1]} and {b[0]}x{b[1]} "
            f"({example.path.name})"
        )


def _frame_name(frame: FrameRef) -> str:
    return frame.path.name if frame.frame is None else f"{frame.path.name}#{frame.frame + 1}"


def spacing_zones(z: np.ndarray) -> tuple[SpacingZone, ...]:
    """Zones of constant spacing along sorted positions ``z``; () unless there are several and
    each spacing is one contiguous run of at least MIN_ZONE_STEPS steps."""
    gaps = np.diff(z)
    runs: list[tuple[int, int]] = []  # (first step, last step) of each run
    first = 0
    for i in range(1, len(gaps)):
        if abs(gaps[i] - gaps[first]) > SPACING_REL_TOL * gaps[first] + 1e-3:
            runs.append((first, i - 1))
            first = i
    runs.append((first, len(gaps) - 1))
    if len(runs) < 2 or any(last - first + 1 < MIN_ZONE_STEPS for first, last in runs):
        return ()
    spacings = [float(np.median(gaps[first : last + 1])) for first, last in runs]
    for i, a in enumerate(spacings):
        if any(abs(a - b) <= SPACING_REL_TOL * min(a, b) for b in spacings[i + 1 :]):
            return ()  # one spacing in two runs: slices are missing in between, not a protocol
    return tuple(
        SpacingZone(spacing, float(z[first]), float(z[last + 1]), last - first + 2)
        for spacing, (first, last) in zip(spacings, runs, strict=True)
    )


def _check_gaps(z: np.ndarray, frames: Sequence[FrameRef], label: str) -> tuple[SpacingZone, ...]:
    """No duplicated positions, no missing slices, no irregular spacing (z sorted ascending);
    spacing zones are returned (empty for a uniform stack)."""
    gaps = np.diff(z)
    dup = np.flatnonzero(gaps < DUPLICATE_TOL_MM)
    if dup.size:
        i = int(dup[0])
        raise GeometryError(
            f"{label}: duplicated slice position z={z[i]:.2f} mm "
            f"({_frame_name(frames[i])} and {_frame_name(frames[i + 1])}; "
            f"{dup.size} duplicate(s) in all)"
        )
    zones = spacing_zones(z)
    if zones:
        return zones
    median = float(np.median(gaps))
    missing = np.flatnonzero(gaps > MISSING_FACTOR * median)
    if missing.size:
        parts = []
        for i in missing[:3]:
            n = max(1, round(gaps[i] / median) - 1)
            parts.append(
                f"{n} slice{'s' if n > 1 else ''} missing between z={z[i]:.1f} and "
                f"z={z[i + 1]:.1f} mm"
            )
        more = f" (and {missing.size - 3} more gaps)" if missing.size > 3 else ""
        raise GeometryError(f"{label}: {'; '.join(parts)}{more}")
    irregular = np.flatnonzero(np.abs(gaps - median) > SPACING_REL_TOL * median + 1e-3)
    if irregular.size:
        i = int(irregular[0])
        raise GeometryError(
            f"{label}: irregular slice spacing: {gaps[i]:.2f} mm between z={z[i]:.1f} and "
            f"z={z[i + 1]:.1f} mm where the series has {median:.2f} mm"
        )
    return ()


def analyse_stack(
    frames: Sequence[FrameRef], label: str, *, single_thickness_mm: float = 1.0
) -> StackGeometry:
    """Order and check the frames of one series; GeometryError says what is wrong and where.

    A single frame has no stacking direction: it gets ``single_thickness_mm`` along its normal.
    """
    if not frames:
        raise GeometryError(f"{label}: no image frames")
    _check_uniform(frames, label)
    row, col = _unit_axes(frames[0].orientation, label)
    normal = np.cross(row, col)
    positions = np.array([f.position for f in frames], dtype=float)
    z = positions @ normal
    order = np.argsort(z, kind="stable")
    z, positions = z[order], positions[order]
    ordered = [frames[i] for i in order]
    n = len(frames)
    zones: tuple[SpacingZone, ...] = ()
    if n > 1:
        zones = _check_gaps(z, ordered, label)
        step = (positions[-1] - positions[0]) / (n - 1)
        # Where each slice should lie on the line from the first to the last position.
        along = (z - z[0]) / (z[-1] - z[0]) if zones else np.arange(n) / (n - 1)
        expected = positions[0] + np.outer(along, positions[-1] - positions[0])
        off_line = float(np.max(np.linalg.norm(positions - expected, axis=1)))
        if off_line > LINE_TOL_MM:
            raise GeometryError(
                f"{label}: slice positions do not lie on one line "
                f"(up to {off_line:.2f} mm off; a mix of stacks?)"
            )
    else:
        step = normal * single_thickness_mm
    row_spacing, col_spacing = frames[0].pixel_spacing
    if row_spacing <= 0 or col_spacing <= 0:
        raise GeometryError(f"{label}: PixelSpacing {frames[0].pixel_spacing} is not positive")
    geometry = StackGeometry(
        order=tuple(int(i) for i in order),
        row_dir=row,
        col_dir=col,
        normal=normal,
        # DICOM PixelSpacing is (distance between rows, distance between columns).
        pixel_spacing=(col_spacing, row_spacing),
        origin=positions[0],
        step=step,
        size=(frames[0].columns, frames[0].rows, n),
        zones=zones,
        offsets_mm=tuple(float(v) for v in z - z[0]) if zones else (),
    )
    if geometry.zoned and geometry.tilted:
        raise GeometryError(
            f"{label}: gantry tilt ({geometry.tilt_deg:.2f} deg) together with slice spacing "
            f"that changes ({'; '.join(zone.describe() for zone in zones)}) is not supported; "
            "export each zone as its own series"
        )
    return geometry
