"""Linear registration of the CT head template (and its ASPECTS atlas) to a patient NCCT.

Method, in the order it runs:

1. **Head detection.** The scan is resampled to a coarse working grid (about 3 mm in plane),
   thresholded at -400 HU and the largest connected object is kept and hole-filled. A head
   needs air around it, a plausible volume and a skull (bone above 300 HU); otherwise
   :class:`RegistrationError` says which of these is missing.
2. **Initialisation.** Head centres are matched (template to scan), and the in-plane principal
   axis of the head outline gives the initial yaw (the long axis of a head is antero-posterior),
   refined by a left-right symmetry search: the yaw and lateral shift at which the scan best
   matches its own mirror image define the first mid-sagittal plane estimate.
3. **Rigid, then affine.** Both stages maximise the correlation of HU clipped to a
   soft-tissue window (``WINDOW_HU``: brain, CSF and scalp keep their contrast, bone
   saturates), on two resolution levels with random sampling and a fixed seed, so the result is
   deterministic.
4. **Outputs.** The atlas is resampled onto the scan grid with nearest-neighbour
   interpolation; the template's mid-sagittal plane (x = 0 in MNI) and its ganglionic and
   supraganglionic levels (:func:`model.anatomy.level_points`: the centroids of the M1-M3 and
   M4-M6 regions) are mapped into the scan. The quality score is the correlation between
   the scan and the warped template inside the head; below ``MIN_QUALITY`` the registration
   is rejected.

The transform maps scan (fixed) points to template (moving) points, as SimpleITK
registrations do; world coordinates are LPS throughout.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import SimpleITK as sitk

from model.errors import RegistrationError

WINDOW_HU = (-100.0, 150.0)
"""HU window the metric sees: air below, bone above saturate; soft tissue keeps contrast."""

MIN_QUALITY = 0.6
"""Lowest accepted correlation between scan and warped template inside the head."""

WORK_SPACING_MM = 3.0
"""In-plane spacing of the working grid (slices keep their own spacing, at least this)."""

AFFINE_LR = 0.5
"""Initial step of the affine stage: small, since matrix entries are unitless."""


@dataclass(frozen=True)
class MidsagittalPlane:
    """A plane in LPS world coordinates (mm): a point on it and its unit normal."""

    point: tuple[float, float, float]
    normal: tuple[float, float, float]

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance (mm) of ``(n, 3)`` LPS points from the plane."""
        return (np.asarray(points, float) - self.point) @ np.asarray(self.normal)


@dataclass(frozen=True)
class Registration:
    """The template mapped onto one scan."""

    transform: sitk.Transform
    """Maps scan (fixed) LPS points to template (moving) LPS points."""
    atlas: sitk.Image
    """The ASPECTS label map on the scan grid (UInt8, nearest neighbour)."""
    midsagittal: MidsagittalPlane
    levels: dict[str, int]
    """Axial (k) indices of the ``ganglionic`` and ``supraganglionic`` levels in the scan."""
    quality: float
    """Correlation of scan and warped template in the soft-tissue window, inside the head."""
    head_mask: sitk.Image
    """Head (body) mask on the scan grid."""
    seconds: float


@dataclass(frozen=True)
class _Template:
    image: sitk.Image  # windowed, on a coarse grid
    atlas: sitk.Image
    centroid: np.ndarray
    level_points: dict[str, np.ndarray]


def _windowed(image: sitk.Image) -> sitk.Image:
    return sitk.Clamp(sitk.Cast(image, sitk.sitkFloat32), sitk.sitkFloat32, *WINDOW_HU)


def _resample_to_spacing(image: sitk.Image, spacing: tuple[float, float, float]) -> sitk.Image:
    """Smooth (anti-alias) and resample onto a grid with the given spacing, same extent."""
    old_spacing = np.array(image.GetSpacing())
    new_spacing = np.maximum(np.array(spacing), old_spacing)
    size = [
        max(1, round(n * s / t))
        for n, s, t in zip(image.GetSize(), old_spacing, new_spacing, strict=True)
    ]
    sigma = np.sqrt(np.maximum(new_spacing**2 - old_spacing**2, 0.0)) / 2.355
    if np.any(sigma > 0):
        image = sitk.SmoothingRecursiveGaussian(image, [float(max(s, 1e-3)) for s in sigma])
    origin = np.array(image.GetOrigin())
    direction = np.array(image.GetDirection()).reshape(3, 3)
    # Keep the physical extent: shift the origin by half the change of voxel size.
    origin = origin + direction @ ((new_spacing - old_spacing) / 2.0)
    return sitk.Resample(
        image,
        size,
        sitk.Transform(),
        sitk.sitkLinear,
        origin.tolist(),
        new_spacing.tolist(),
        image.GetDirection(),
        float(WINDOW_HU[0]),
        sitk.sitkFloat32,
    )


def _head_mask(image: sitk.Image) -> sitk.Image:
    """Largest connected object above -400 HU, holes filled (per axial slice and in 3D)."""
    body = sitk.BinaryThreshold(image, -400.0, 1e9, 1, 0)
    components = sitk.RelabelComponent(sitk.ConnectedComponent(body), sortByObjectSize=True)
    largest = sitk.BinaryThreshold(components, 1, 1, 1, 0)
    return sitk.BinaryFillhole(largest)


def _voxel_points(image: sitk.Image, mask: np.ndarray) -> np.ndarray:
    """LPS coordinates ``(n, 3)`` of the voxels where ``mask`` (z, y, x array) is set."""
    kji = np.argwhere(mask)
    ijk = kji[:, ::-1].astype(float)
    direction = np.array(image.GetDirection()).reshape(3, 3)
    return (ijk * np.array(image.GetSpacing())) @ direction.T + np.array(image.GetOrigin())


def _check_head(image: sitk.Image, mask: sitk.Image, scan: sitk.Image) -> np.ndarray:
    """Raise RegistrationError unless ``mask`` outlines a head; return the head's points.

    ``image`` is the working image ``mask`` belongs to; bone is counted on the full-resolution
    ``scan``, since a thin skull blurs below 300 HU on the coarse grid.
    """
    values = sitk.GetArrayViewFromImage(image)
    head = sitk.GetArrayFromImage(mask).astype(bool)
    voxel_ml = float(np.prod(image.GetSpacing())) / 1000.0
    volume_ml = head.sum() * voxel_ml
    if volume_ml < 500.0:
        raise RegistrationError(
            f"no head found: the largest object above -400 HU is {volume_ml:.0f} ml "
            "(a head is 2000-6000 ml)"
        )
    air = float(np.mean(values < -500.0))
    if air < 0.05:
        raise RegistrationError(
            f"no head found: only {100 * air:.1f}% of the volume is air (< -500 HU); "
            "is this a CT of a head in HU?"
        )
    scan_voxel_ml = float(np.prod(scan.GetSpacing())) / 1000.0
    bone_ml = float(np.count_nonzero(sitk.GetArrayViewFromImage(scan) > 300.0)) * scan_voxel_ml
    if bone_ml < 0.02 * volume_ml:
        raise RegistrationError(
            f"no head found: no skull ({bone_ml:.0f} ml above 300 HU for an object of "
            f"{volume_ml:.0f} ml; a head has a bone shell)"
        )
    return _voxel_points(image, head)


def _principal_yaw(points: np.ndarray) -> float:
    """Angle (rad) from the LPS y axis to the head's in-plane long axis, in (-pi/4, pi/4)."""
    xy = points[:, :2] - points[:, :2].mean(axis=0)
    eigvals, eigvecs = np.linalg.eigh(np.cov(xy.T))
    axis = eigvecs[:, np.argmax(eigvals)]
    if axis[1] < 0:
        axis = -axis
    yaw = float(np.arctan2(axis[0], axis[1]))
    if abs(yaw) > np.pi / 4 or eigvals.max() < 1.1 * eigvals.min():
        return 0.0  # an almost round outline says nothing about the yaw
    return yaw


def mirror_transform(point: np.ndarray, normal: np.ndarray) -> sitk.AffineTransform:
    """Reflection about the plane through ``point`` with unit ``normal``."""
    n = normal / np.linalg.norm(normal)
    matrix = np.eye(3) - 2.0 * np.outer(n, n)
    mirror = sitk.AffineTransform(3)
    mirror.SetMatrix(matrix.ravel().tolist())
    mirror.SetTranslation((2.0 * float(point @ n) * n).tolist())
    return mirror


def _symmetry_plane(
    image: sitk.Image, centre: np.ndarray, yaw0: float
) -> tuple[np.ndarray, np.ndarray]:
    """Vertical plane (point, normal) about which the scan best matches its own mirror image.

    A coarse grid search over yaw (+-12 degrees around ``yaw0``) and lateral shift (+-12 mm),
    scored by mean squared difference between the image and its reflection.
    """
    arr_ref = sitk.GetArrayViewFromImage(image)
    best = (np.inf, yaw0, 0.0)
    for dyaw in np.deg2rad(np.arange(-12.0, 12.1, 3.0)):
        yaw = yaw0 + dyaw
        normal = np.array([np.cos(yaw), -np.sin(yaw), 0.0])
        for shift in np.arange(-12.0, 12.1, 3.0):
            point = centre + shift * normal
            mirrored = sitk.Resample(
                image, image, mirror_transform(point, normal), sitk.sitkLinear, WINDOW_HU[0]
            )
            cost = float(np.mean((sitk.GetArrayViewFromImage(mirrored) - arr_ref) ** 2))
            if cost < best[0]:
                best = (cost, yaw, shift)
    _, yaw, shift = best
    normal = np.array([np.cos(yaw), -np.sin(yaw), 0.0])
    return centre + shift * normal, normal


@lru_cache(maxsize=1)
def _reference() -> _Template:
    """The committed template and atlas of :mod:`model.anatomy`, prepared once."""
    from model.anatomy import level_points, load_atlas, load_ct_template

    template = load_ct_template()
    coarse = _resample_to_spacing(
        _windowed(template), (WORK_SPACING_MM, WORK_SPACING_MM, WORK_SPACING_MM)
    )
    head = sitk.GetArrayFromImage(_head_mask(template)).astype(bool)
    centroid = _voxel_points(template, head).mean(axis=0)
    levels = {level: np.asarray(point) for level, point in level_points().items()}
    return _Template(coarse, load_atlas(), centroid, levels)


def _register(
    fixed: sitk.Image,
    moving: sitk.Image,
    initial: sitk.Transform,
    *,
    shrink: list[int],
    sigmas: list[float],
    iterations: int,
    fixed_mask: sitk.Image,
    learning_rate: float,
) -> tuple[sitk.Transform, str]:
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsCorrelation()
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(0.3, seed=20220101)
    method.SetMetricFixedMask(fixed_mask)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=learning_rate,
        minStep=0.01,
        numberOfIterations=iterations,
        relaxationFactor=0.6,
        gradientMagnitudeTolerance=1e-6,
    )
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel(shrink)
    method.SetSmoothingSigmasPerLevel(sigmas)
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    method.SetInitialTransform(initial, inPlace=False)
    result = method.Execute(fixed, moving)
    return result, method.GetOptimizerStopConditionDescription()


def _affine_parts(transform: sitk.Transform) -> tuple[np.ndarray, np.ndarray]:
    """(A, b) with transform(x) = A x + b, read off the transform numerically."""
    origin = np.array(transform.TransformPoint((0.0, 0.0, 0.0)))
    columns = [np.array(transform.TransformPoint(tuple(e))) - origin for e in np.eye(3)]
    return np.stack(columns, axis=1), origin


def _as_affine(transform: sitk.Transform, centre: np.ndarray) -> sitk.AffineTransform:
    """The same linear map as an AffineTransform centred at ``centre``."""
    matrix, offset = _affine_parts(transform)
    affine = sitk.AffineTransform(3)
    affine.SetCenter(centre.tolist())
    affine.SetMatrix(matrix.ravel().tolist())
    affine.SetTranslation((offset + matrix @ centre - centre).tolist())
    return affine


def _quality(fixed: sitk.Image, moving: sitk.Image, transform: sitk.Transform, mask) -> float:
    warped = sitk.Resample(moving, fixed, transform, sitk.sitkLinear, WINDOW_HU[0])
    inside = sitk.GetArrayViewFromImage(mask).astype(bool)
    a = sitk.GetArrayViewFromImage(fixed)[inside]
    b = sitk.GetArrayViewFromImage(warped)[inside]
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _axial_index(scan: sitk.Image, point: np.ndarray) -> int:
    index = scan.TransformPhysicalPointToContinuousIndex(tuple(float(v) for v in point))
    return int(np.clip(round(index[2]), 0, scan.GetSize()[2] - 1))


def register_to_scan(scan: sitk.Image) -> Registration:
    """Register the CT template to ``scan`` (Float32 HU, LPS) and map the atlas onto it.

    Raises :class:`RegistrationError` when no head is found or the result is implausible.
    """
    if not isinstance(scan, sitk.Image):
        raise TypeError(f"scan must be a SimpleITK.Image, got {type(scan).__name__}")
    if scan.GetDimension() != 3 or scan.GetNumberOfComponentsPerPixel() != 1:
        raise ValueError(
            f"scan must be a 3-D scalar image, got {scan.GetDimension()}-D with "
            f"{scan.GetNumberOfComponentsPerPixel()} components"
        )
    if min(scan.GetSize()) < 2:
        raise RegistrationError(f"no head found: the scan has size {scan.GetSize()}")
    start = time.perf_counter()
    ref = _reference()

    z_spacing = max(scan.GetSpacing()[2], WORK_SPACING_MM)
    work = _resample_to_spacing(
        sitk.Cast(scan, sitk.sitkFloat32), (WORK_SPACING_MM, WORK_SPACING_MM, z_spacing)
    )
    mask = _head_mask(work)
    points = _check_head(work, mask, scan)
    centre = points.mean(axis=0)
    fixed = _windowed(work)

    plane_point, plane_normal = _symmetry_plane(fixed, centre, _principal_yaw(points))
    yaw = float(np.arctan2(-plane_normal[1], plane_normal[0]))
    # Initial rigid transform: rotate by the yaw about the head centre, move centre to centre.
    lateral_offset = float((centre - plane_point) @ plane_normal)
    rigid = sitk.Euler3DTransform()
    rigid.SetCenter(centre.tolist())
    rigid.SetRotation(0.0, 0.0, yaw)
    target = ref.centroid.copy()
    target[0] += lateral_offset
    rigid.SetTranslation((target - centre).tolist())

    dilated = sitk.BinaryDilate(mask, [2, 2, 1])
    rigid_result, _ = _register(
        fixed,
        ref.image,
        rigid,
        shrink=[2, 1],
        sigmas=[4.0, 2.0],
        iterations=60,
        fixed_mask=dilated,
        learning_rate=2.0,
    )
    affine = _as_affine(rigid_result, centre)
    result, stop = _register(
        fixed,
        ref.image,
        affine,
        shrink=[2, 1],
        sigmas=[2.0, 1.0],
        iterations=60,
        fixed_mask=dilated,
        learning_rate=AFFINE_LR,
    )
    transform = _as_affine(result, centre)
    quality = _quality(fixed, ref.image, transform, mask)
    rigid_quality = _quality(fixed, ref.image, rigid_result, mask)
    if rigid_quality > quality:
        # The affine stage may wander off on a noisy scan; the rigid fit is then kept.
        transform, quality = _as_affine(rigid_result, centre), rigid_quality
    matrix, offset = _affine_parts(transform)
    det = float(np.linalg.det(matrix))
    if not 0.6 < det < 1.7:
        raise RegistrationError(
            f"registration did not converge: the template would be scaled by {det:.2f} in "
            f"volume (expected 0.6-1.7; optimizer: {stop})"
        )
    if quality < MIN_QUALITY:
        raise RegistrationError(
            f"registration did not converge: correlation with the template {quality:.2f} "
            f"< {MIN_QUALITY} (optimizer: {stop})"
        )

    warped_atlas = sitk.Resample(
        ref.atlas, scan, transform, sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8
    )
    # Mid-sagittal plane: the scan points mapped onto x = 0 of the template.
    m = matrix.T @ np.array([1.0, 0.0, 0.0])
    point = centre - ((m @ centre + offset[0]) / (m @ m)) * m
    inverse = transform.GetInverse()
    levels = {
        level: _axial_index(scan, np.array(inverse.TransformPoint(tuple(p.tolist()))))
        for level, p in ref.level_points.items()
    }
    head_mask = sitk.Resample(mask, scan, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    return Registration(
        transform=transform,
        atlas=warped_atlas,
        midsagittal=MidsagittalPlane(
            tuple(float(v) for v in point), tuple(float(v) for v in m / np.linalg.norm(m))
        ),
        levels=levels,
        quality=quality,
        head_mask=head_mask,
        seconds=time.perf_counter() - start,
    )
