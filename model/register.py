"""Linear registration of a real-CT head template (and the ASPECTS atlas) to a patient NCCT.

The template is Rorden's scct head CT in HU (:mod:`model.anatomy.ct_template`, MNI world
coordinates); the ASPECTS atlas (:func:`model.anatomy.load_atlas`, nilearn MNI152 2009) is
carried onto it by a measured alignment (step 5), so one transform takes both onto the scan.
Method, in the order it runs:

1. **Working grid and masks.** The scan is resampled (anti-aliased) to ``WORK_MM`` in plane,
   slices kept (at least ``WORK_MM``). Bone is found at full resolution. The head is the
   largest object above -400 HU after an opening that cuts headrests and tables
   (:func:`model.brain.head_mask`); the brain is the largest soft-tissue body behind the skull
   (:func:`model.brain.brain_mask`). The same functions give the template's masks. No head, no
   skull, no brain, a "brain" not enclosed by bone or too large for one (a trunk), or fewer
   than 40 mm of slices is a refusal that says which.
2. **Mid-sagittal plane by symmetry.** The brain-windowed scan is registered rigidly to its own
   mirror image, counting only brain voxels whose mirror is brain too (yaw and roll starts
   within 18 degrees, the best three optimised, the best of those refined on the fine level);
   the reflection that maps the scan onto itself gives the plane, whatever the pitch and
   whatever the template. It is
   the result's ``midsagittal`` plane and fixes yaw and roll for the next step.
3. **Multi-start.** Mattes mutual information (``BINS`` bins over the brain window) is
   evaluated for pitch starts ``PITCH_STARTS_DEG`` and superior-inferior offsets
   ``DZ_STARTS_MM`` (brain centroids differ with the field of view and with how much face and
   neck the brain mask takes in); per pitch the best ``KEEP_STARTS`` offsets are optimised
   rigidly on the coarse level (``COARSE_MM``) and the best of those is refined.
4. **Scaled rigid refinement** (rotation, translation and three scales along the template's
   axes: head size and shape vary, shear does not) on the fine level, repeated from its own
   result (the scan's grid re-oriented by the rotation found, :func:`_refine`) until a pass
   moves the brain by less than ``FINE_CONVERGED_MM``, Mattes mutual information of images
   clipped to the brain window ``WINDOW_HU`` (CSF, brain and blood keep their contrast, bone
   saturates), measured only inside the scan's brain grown by ``MARGIN_MM`` (the inner
   table). Mutual information tolerates the contrast differences between scanners, heads and
   the template (a mean of older adults' CTs); correlation did not (it failed on a
   different-source head). Random sampling with a fixed seed keeps it deterministic.
5. **Atlas.** The atlas's own CT template (MNI152 2009) is registered to the scct template by
   this method (one fine pass) once per process (:func:`_atlas`); the measured alignment
   carries the labels and the ASPECTS levels (:func:`model.anatomy.level_points`) onto the
   template and from there onto the scan (nearest neighbour for labels).
6. **Checks.** Quality is the mutual information of scan and warped template inside the
   scan's brain. A quality below ``MIN_QUALITY``, a scale outside ``SCALE_RANGE``, or a level
   more than ``LEVEL_TOLERANCE_MM`` outside the scan's slices is a refusal
   (:class:`RegistrationError`) with an RGB quick-look of the failed alignment
   (:mod:`model.quicklook`) attached; a field of view that cuts the vertex (levels still
   inside), or a level placed less than that beyond the slices (taken to be on the edge
   slice), is a warning.

The transform maps scan (fixed) points to template (moving) points, as SimpleITK
registrations do; world coordinates are LPS throughout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from model.brain import BONE_HU, SKULL_HU, as_image, brain_mask, head_mask
from model.errors import RegistrationError, ScanError

WINDOW_HU = (0.0, 80.0)
"""HU window the metric sees: CSF, brain and blood keep their contrast; bone saturates."""

MIN_QUALITY = 0.05
"""Lowest accepted mutual information (nats) of scan and warped template inside the brain."""

WORK_MM = 2.5
"""In-plane spacing of the working grid (slices keep their own spacing, at least this)."""

MARGIN_MM = 5.0
"""The metric's region: the scan's brain grown by this (the inner table of the skull)."""

PITCH_STARTS_DEG = (-40.0, -30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0, 40.0)
DZ_STARTS_MM = (-40.0, -30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0, 40.0)
KEEP_STARTS = 1
"""Offsets optimised per pitch start. Every pitch is optimised: before optimisation the right
pitch's start can score below starts of three other pitches (a different-source brain 30
degrees nose-up, or a cut field of view), after it it wins."""

MIN_ENCLOSED = 0.5
"""Least share of the brain's surface within 10 mm of bone (the skull encloses a brain)."""

MAX_BRAIN_ML = 3000.0
MIN_BRAIN_ML = 150.0
"""Less enclosed soft tissue than this is no brain (or a head cut to a sliver)."""

LEVEL_TOLERANCE_MM = 5.0
"""A level placed up to this far beyond the first or last slice is taken to be on it (with a
warning): on heads of another source the levels are placed to about 5 mm, and a field of view
that ends just above a level must not be refused for it. Farther is a refusal."""

SCALE_RANGE = (0.75, 1.33)
"""Accepted range of each axis scale of the template (head sizes of adults)."""

COARSE_MM = 5.0
"""Spacing of the multi-start level."""

FINE_SIGMA_MM = 1.0
SAMPLING = 0.2
FINE_ITERATIONS = 100
FINE_RELAXATION = 0.8
"""Step shrink of the fine optimiser on a direction change: 0.6 stopped it after 10-20
iterations, short of the optimum."""
FINE_PASSES = 5
FINE_CONVERGED_MM = 1.0
"""The fine refinement is repeated from its own result, up to ``FINE_PASSES`` times, until a
pass moves no brain voxel by ``FINE_CONVERGED_MM`` or more: the noisy metric shrinks the step to
its minimum in about 20 iterations, a few mm of travel, and each pass re-aligns the scale axes
with the rotation found. A phantom and an scct head stopped after two passes; a miplab head
36 degrees nose-up moved 6.3, 5.3, 1.5, 1.2 and 0.4 mm."""
SYMMETRY_STARTS_DEG = (-18.0, -9.0, 0.0, 9.0, 18.0)
"""Yaw and roll starts of the mid-sagittal plane search (real heads lie up to 15 degrees off)."""
SYMMETRY_KEEP = 3
SEED = 20220101
COARSE_METRIC = "mattes"
FINE_METRIC = "mattes"
BINS = 32


@dataclass(frozen=True)
class MidsagittalPlane:
    """A plane in LPS world coordinates (mm): a point on it and its unit normal."""

    point: tuple[float, float, float]
    normal: tuple[float, float, float]

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance (mm) of ``(n, 3)`` LPS points from the plane."""
        distance: np.ndarray = (np.asarray(points, float) - self.point) @ np.asarray(self.normal)
        return distance


def xyz(vector: np.ndarray) -> tuple[float, float, float]:
    """A 3-vector as the plain float triple :class:`MidsagittalPlane` holds."""
    x, y, z = (float(v) for v in vector)
    return x, y, z


@dataclass(frozen=True)
class Registration:
    """The template mapped onto one scan."""

    transform: sitk.Transform
    """Maps scan (fixed) LPS points to atlas (MNI152 2009) LPS points."""
    atlas: sitk.Image
    """The ASPECTS label map on the scan grid (UInt8, nearest neighbour)."""
    midsagittal: MidsagittalPlane
    levels: dict[str, int]
    """Axial (k) indices of the ``ganglionic`` and ``supraganglionic`` levels in the scan."""
    quality: float
    """Mutual information (nats, ``BINS`` bins over the brain window) of scan and warped
    template inside the scan's brain."""
    head_mask: sitk.Image
    """Head mask on the scan grid."""
    seconds: float
    warnings: tuple[str, ...] = ()
    """What the caller should know but that did not stop the registration."""


@dataclass(frozen=True)
class _Template:
    image: sitk.Image  # brain-windowed, Float32
    fine: sitk.Image  # smoothed as the scan's fine level
    coarse: sitk.Image  # smoothed as the scan's coarse level
    brain_centroid: np.ndarray
    brain_top_z: float


def _windowed(image: sitk.Image) -> sitk.Image:
    windowed: sitk.Image = sitk.Clamp(
        sitk.Cast(image, sitk.sitkFloat32), sitk.sitkFloat32, *WINDOW_HU
    )
    return windowed


def _resample_to_spacing(
    image: sitk.Image, spacing: tuple[float, float, float], default: float
) -> sitk.Image:
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
        default,
        sitk.sitkFloat32,
    )


def _voxel_points(image: sitk.Image, mask: np.ndarray) -> np.ndarray:
    """LPS coordinates ``(n, 3)`` of the voxels where ``mask`` (z, y, x array) is set."""
    kji = np.argwhere(mask)
    ijk = kji[:, ::-1].astype(float)
    direction = np.array(image.GetDirection()).reshape(3, 3)
    physical: np.ndarray = (ijk * np.array(image.GetSpacing())) @ direction.T + np.array(
        image.GetOrigin()
    )
    return physical


@dataclass(frozen=True)
class _Level:
    """A brain-windowed image, smoothed for its spacing, and the metric's mask on it."""

    image: sitk.Image
    mask: sitk.Image
    inside: np.ndarray  # the mask as a (z, y, x) bool array


def _level(windowed: sitk.Image, mask: np.ndarray, spacing_mm: float) -> _Level:
    """``windowed`` smoothed and resampled to ``spacing_mm`` in plane (slices at least that)."""
    z_mm = max(windowed.GetSpacing()[2], spacing_mm)
    image = _resample_to_spacing(windowed, (spacing_mm, spacing_mm, z_mm), WINDOW_HU[0])
    grid = sitk.Resample(as_image(mask, windowed), image, sitk.Transform(), sitk.sitkLinear)
    inside = sitk.GetArrayFromImage(grid) > 0.5
    return _Level(image, as_image(inside, image), inside)


@dataclass(frozen=True)
class _Prepared:
    work: sitk.Image  # HU on the working grid
    fine: _Level
    coarse: _Level
    head: np.ndarray
    brain: np.ndarray
    centroid: np.ndarray  # brain centroid, LPS
    warnings: tuple[str, ...]


def _too_thin(z_cm: float, scan: sitk.Image) -> None:
    raise RegistrationError(
        f"the scan covers {10 * z_cm:.0f} mm along its slices ({scan.GetSize()[2]} "
        "slice(s)): both ASPECTS levels (about 40 mm apart) cannot be in it"
    )


def _prepare(scan: sitk.Image) -> _Prepared:
    """Working image, head and brain masks of the scan; refuses what is not a head."""
    if min(scan.GetSize()[:2]) < 16:
        raise RegistrationError(f"no head found: the scan is only {scan.GetSize()} voxels")
    z_cm = scan.GetSize()[2] * scan.GetSpacing()[2] / 10.0
    if scan.GetSize()[2] < 4:
        _too_thin(z_cm, scan)
    warnings: list[str] = []
    scan = sitk.Cast(scan, sitk.sitkFloat32)
    values = sitk.GetArrayFromImage(scan)
    z_mm = max(scan.GetSpacing()[2], WORK_MM)
    work = _resample_to_spacing(scan, (WORK_MM, WORK_MM, z_mm), -1000.0)
    spacing = work.GetSpacing()
    work_values = sitk.GetArrayFromImage(work)
    voxel_ml = float(np.prod(spacing)) / 1000.0
    head = head_mask(work_values, spacing)
    volume_ml = head.sum() * voxel_ml
    # A head's cross-section is 100-250 cm^2: a slab of it holds at least ~50 ml per cm.
    if volume_ml < min(500.0, 50.0 * z_cm):
        raise RegistrationError(
            f"no head found: the largest object above -400 HU is {volume_ml:.0f} ml "
            "(a head is 2000-6000 ml)"
        )
    air = float(np.mean(work_values < -500.0))
    if air < 0.05:
        raise RegistrationError(
            f"no head found: only {100 * air:.1f}% of the volume is air (< -500 HU); "
            "is this a CT of a head in HU?"
        )
    # Bone at full resolution: a thin skull blurs below BONE_HU on the working grid.
    bone_full = sitk.Cast(scan > BONE_HU, sitk.sitkFloat32)
    bone_ml = float(np.count_nonzero(values > BONE_HU)) * np.prod(scan.GetSpacing()) / 1000.0
    if bone_ml < 0.02 * volume_ml:
        raise RegistrationError(
            f"no head found: no skull ({bone_ml:.0f} ml above {BONE_HU:.0f} HU for an object "
            f"of {volume_ml:.0f} ml; a head has a bone shell)"
        )
    if z_cm < 4.0:
        _too_thin(z_cm, scan)
    bone = sitk.GetArrayFromImage(sitk.Resample(bone_full, work, sitk.Transform())) > 0.25
    brain = brain_mask(work_values, spacing, bone & head) & head
    brain_ml = brain.sum() * voxel_ml
    if brain_ml > MAX_BRAIN_ML:
        raise RegistrationError(
            f"no head found: the largest soft-tissue body behind bone is {brain_ml:.0f} ml "
            f"(a brain with its CSF is 1000-2000 ml; more than {MAX_BRAIN_ML:.0f} ml is a "
            "trunk or a limb)"
        )
    if brain_ml < MIN_BRAIN_ML:
        raise RegistrationError(
            f"no brain found: {brain_ml:.0f} ml of soft tissue enclosed by the skull (a brain "
            f"is 1000-1600 ml; at least {MIN_BRAIN_ML:.0f} ml must be in the field of view)"
        )
    surface = brain & ~ndimage.binary_erosion(brain)
    skull = bone | (work_values > SKULL_HU)
    near_bone = ndimage.binary_dilation(skull, iterations=max(1, round(10.0 / spacing[0])))
    enclosed = float(near_bone[surface].mean())
    if enclosed < MIN_ENCLOSED:
        raise RegistrationError(
            f"no head found: the largest soft-tissue body ({brain_ml:.0f} ml) is not enclosed "
            f"by bone ({100 * enclosed:.0f}% of its surface lies within 10 mm of bone; a brain "
            f"inside a skull has at least {100 * MIN_ENCLOSED:.0f}%)"
        )
    grown = ndimage.binary_dilation(brain, iterations=max(1, round(MARGIN_MM / spacing[0])))
    windowed = _windowed(work)
    fine = _Level(
        sitk.SmoothingRecursiveGaussian(windowed, FINE_SIGMA_MM),
        as_image(grown & head, work),
        grown & head,
    )
    centroid = _voxel_points(work, brain).mean(axis=0)
    coarse = _level(windowed, grown & head, COARSE_MM)
    return _Prepared(work, fine, coarse, head, brain, centroid, tuple(warnings))


@lru_cache(maxsize=1)
def _template() -> _Template:
    """The real-CT template and its brain, prepared once."""
    from model.anatomy.ct_template import ct_template_hu

    template = ct_template_hu()
    values = sitk.GetArrayFromImage(template)
    spacing = template.GetSpacing()
    brain = brain_mask(values, spacing) & head_mask(values, spacing)
    points = _voxel_points(template, brain)
    windowed = _windowed(template)
    return _Template(
        image=windowed,
        fine=sitk.SmoothingRecursiveGaussian(windowed, FINE_SIGMA_MM),
        coarse=_resample_to_spacing(windowed, (COARSE_MM,) * 3, WINDOW_HU[0]),
        brain_centroid=points.mean(axis=0),
        brain_top_z=float(points[:, 2].max()),
    )


@dataclass(frozen=True)
class _Atlas:
    labels: sitk.Image
    level_points: dict[str, np.ndarray]
    to_template: np.ndarray  # 4 x 4: atlas (MNI152 2009) point -> template point


@lru_cache(maxsize=1)
def _atlas() -> _Atlas:
    """The atlas and where its coordinates lie on the template.

    Both are in MNI space, but MNI152 2009 (the atlas's nilearn template) and the SPM MNI
    space of the scct template differ by a few per cent in size. The atlas's own CT template
    (:func:`model.anatomy.load_ct_template`, same anatomy as the labels) is registered to the
    scct template with this very method; that transform carries the labels over.
    """
    from model.anatomy import level_points, load_atlas, load_ct_template

    # One fine pass: the two templates start aligned; further passes walk 1.8 mm to a 1.1
    # degree pitch that the phantoms (the atlas's own anatomy) disagree with (docs).
    matrix = _homogeneous(_fit(load_ct_template(), passes=1)[0])
    return _Atlas(
        labels=load_atlas(),
        level_points={level: np.asarray(p) for level, p in level_points().items()},
        to_template=matrix,
    )


def _homogeneous(transform: sitk.Transform) -> np.ndarray:
    matrix, offset = _affine_parts(transform)
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = matrix, offset
    return out


def _affine(matrix: np.ndarray) -> sitk.AffineTransform:
    affine = sitk.AffineTransform(3)
    affine.SetMatrix(matrix[:3, :3].ravel().tolist())
    affine.SetTranslation(matrix[:3, 3].tolist())
    return affine


def mirror_transform(point: np.ndarray, normal: np.ndarray) -> sitk.AffineTransform:
    """Reflection about the plane through ``point`` with unit ``normal``."""
    n = normal / np.linalg.norm(normal)
    matrix = np.eye(3) - 2.0 * np.outer(n, n)
    mirror = sitk.AffineTransform(3)
    mirror.SetMatrix(matrix.ravel().tolist())
    mirror.SetTranslation((2.0 * float(point @ n) * n).tolist())
    return mirror


def _method(
    mask: sitk.Image,
    *,
    iterations: int,
    learning_rate: float,
    sampling: float,
    metric: str,
    relaxation: float = 0.6,
) -> sitk.ImageRegistrationMethod:
    method = sitk.ImageRegistrationMethod()
    if metric == "mattes":
        method.SetMetricAsMattesMutualInformation(BINS)
    else:
        method.SetMetricAsCorrelation()
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(sampling, seed=SEED)
    method.SetMetricFixedMask(mask)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=learning_rate,
        minStep=0.02,
        numberOfIterations=iterations,
        relaxationFactor=relaxation,
        gradientMagnitudeTolerance=1e-6,
    )
    method.SetOptimizerScalesFromPhysicalShift()
    return method


def _similarity(
    level: _Level, moving: sitk.Image, transform: sitk.Transform, metric: str = "correlation"
) -> float:
    """Correlation of ``level`` and ``moving`` (warped by ``transform``) inside its mask."""
    warped = sitk.Resample(moving, level.image, transform, sitk.sitkLinear, WINDOW_HU[0])
    a = sitk.GetArrayViewFromImage(level.image)[level.inside]
    b = sitk.GetArrayViewFromImage(warped)[level.inside]
    if a.size < 2 or a.std() == 0 or b.std() == 0:
        return 0.0
    if metric == "mattes":
        return _mutual_information(a, b)
    return float(np.corrcoef(a, b)[0, 1])


def _mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    joint, _, _ = np.histogram2d(a, b, bins=BINS, range=[WINDOW_HU, WINDOW_HU])
    joint /= joint.sum()
    pa, pb = joint.sum(axis=1), joint.sum(axis=0)
    nz = joint > 0
    return float(np.sum(joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz])))


def _run(
    method: sitk.ImageRegistrationMethod,
    fixed: sitk.Image,
    moving: sitk.Image,
    initial: sitk.Transform,
) -> tuple[sitk.Transform, float]:
    method.SetInitialTransform(initial, inPlace=False)
    with _one_itk_thread():
        result = method.Execute(fixed, moving)
    return result, float(method.GetMetricValue())


_ONE_THREAD = threading.Lock()


@contextmanager
def _one_itk_thread() -> Iterator[None]:
    """SimpleITK's default thread count at one while a registration runs (its metric reads
    the default, not the method's own setting). With more, ITK adds the metric's per-thread
    parts in an order that varies from run to run, the optimiser's path follows those last
    bits, and the same scan mapped differently on a second run (0.02 in the affine matrix,
    hundreds of atlas voxels, on 2 threads). Serialised, so concurrent callers restore the
    caller's count."""
    with _ONE_THREAD:
        threads = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
        try:
            yield
        finally:
            sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)


def _mirrored(level: _Level, flip: sitk.Transform) -> _Level:
    """``level`` reflected by ``flip``, its mask with it."""
    image = sitk.Resample(level.image, level.image, flip, sitk.sitkLinear, WINDOW_HU[0])
    mask = sitk.Resample(level.mask, level.mask, flip, sitk.sitkNearestNeighbor, 0)
    return _Level(image, mask, sitk.GetArrayFromImage(mask) > 0)


def _both_brain(level: _Level, mirrored: _Level, transform: sitk.Transform) -> _Level:
    """``level`` restricted to the voxels whose mirror (through ``transform``) is brain too.

    A field of view cut oblique to the head, or a head near the edge, leaves brain whose
    mirror is not in the image: it would pull the plane towards the cut.
    """
    moved = sitk.Resample(mirrored.mask, level.mask, transform, sitk.sitkNearestNeighbor, 0)
    inside = level.inside & (sitk.GetArrayViewFromImage(moved) > 0)
    return _Level(level.image, as_image(inside, level.image), inside)


def _symmetry_plane(
    prep: _Prepared, start_plane: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The plane (point, unit normal) about which the scan's brain best matches its mirror.

    The scan is reflected about the scanner's x plane through the brain centroid (``F``); a
    rigid registration ``R`` of scan to reflection gives the symmetry ``S = F o R`` of the
    scan, whose linear part is ``I - 2 n n^T`` for the plane's normal ``n``. Only brain voxels
    whose mirror is brain too are compared. Without ``start_plane`` yaw and roll starts within
    18 degrees are scored on the coarse level, the best ``SYMMETRY_KEEP`` optimised there, and
    the best of those refined on the fine level; with it, the refinement starts from the
    reflection about that plane (``R = F o M``).
    """
    c = prep.centroid
    direction = np.array(prep.work.GetDirection()).reshape(3, 3)
    axis = direction[:, 0] / np.linalg.norm(direction[:, 0])
    flip = mirror_transform(c, axis)
    if start_plane is None:
        level = prep.coarse
        mirrored = _mirrored(level, flip)
        starts = []
        for yaw in SYMMETRY_STARTS_DEG:
            for roll in SYMMETRY_STARTS_DEG:
                start = sitk.Euler3DTransform()
                start.SetCenter(c.tolist())
                start.SetRotation(0.0, np.radians(roll), np.radians(yaw))
                both = _both_brain(level, mirrored, start)
                starts.append((_similarity(both, mirrored.image, start), start))
        starts.sort(key=lambda s: -s[0])
        scored = []
        for _, start in starts[:SYMMETRY_KEEP]:
            both = _both_brain(level, mirrored, start)
            method = _method(
                both.mask, iterations=40, learning_rate=1.0, sampling=0.5, metric="correlation"
            )
            result, _ = _run(method, level.image, mirrored.image, start)
            both = _both_brain(level, mirrored, result)
            scored.append((_similarity(both, mirrored.image, result), result))
        rigid = max(scored, key=lambda s: s[0])[1]
    else:
        reflect = _homogeneous(flip) @ _homogeneous(mirror_transform(*start_plane))
        rigid = sitk.Euler3DTransform()
        rigid.SetCenter(c.tolist())
        rigid.SetMatrix(reflect[:3, :3].ravel().tolist())
        rigid.SetTranslation((reflect[:3, :3] @ c + reflect[:3, 3] - c).tolist())
    # Refine on the fine level (the reflection there is of the fine image).
    fine = prep.fine
    mirrored = _mirrored(fine, flip)
    both = _both_brain(fine, mirrored, rigid)
    method = _method(
        both.mask, iterations=30, learning_rate=0.5, sampling=0.2, metric="correlation"
    )
    rigid, _ = _run(method, fine.image, mirrored.image, rigid)
    matrix, offset = _affine_parts(rigid)
    flip_m, flip_b = _affine_parts(flip)
    linear = flip_m @ matrix
    sym = (np.eye(3) - 0.5 * (linear + linear.T)) / 2.0
    values, vectors = np.linalg.eigh(sym)
    normal = vectors[:, int(np.argmax(values))]
    if normal @ axis < 0:
        normal = -normal
    image_of_c = flip_m @ (matrix @ c + offset) + flip_b
    return (c + image_of_c) / 2.0, normal


def _rotation_to_x(normal: np.ndarray) -> np.ndarray:
    """The smallest rotation taking unit ``normal`` to (1, 0, 0)."""
    ex = np.array([1.0, 0.0, 0.0])
    v = np.cross(normal, ex)
    s, c = np.linalg.norm(v), float(normal @ ex)
    if s < 1e-9:
        return np.eye(3)
    k = np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]]) / s
    rotation: np.ndarray = np.eye(3) + s * k + (1.0 - c) * (k @ k)
    return rotation


def _pitch(angle_deg: float) -> np.ndarray:
    a = np.radians(angle_deg)
    return np.array([[1.0, 0.0, 0.0], [0.0, np.cos(a), -np.sin(a)], [0.0, np.sin(a), np.cos(a)]])


def _start(
    prep: _Prepared,
    ref: _Template,
    plane: tuple[np.ndarray, np.ndarray],
    pitch_deg: float,
    dz: float,
) -> sitk.Euler3DTransform:
    """Rigid scan -> template start: plane onto x = 0, brain centroids matched, then pitch."""
    point, normal = plane
    rotation = _pitch(pitch_deg) @ _rotation_to_x(normal)
    c = prep.centroid
    target = ref.brain_centroid + np.array([float((c - point) @ normal), 0.0, dz])
    rigid = sitk.Euler3DTransform()
    rigid.SetCenter(c.tolist())
    rigid.SetMatrix(rotation.ravel().tolist())
    rigid.SetTranslation((target - c).tolist())
    return rigid


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


def _quality(prep: _Prepared, ref: _Template, transform: sitk.Transform) -> float:
    brain = _Level(prep.fine.image, prep.fine.mask, prep.brain)
    return _similarity(brain, ref.fine, transform, FINE_METRIC)


def _align(
    prep: _Prepared, ref: _Template, plane: tuple[np.ndarray, np.ndarray], passes: int
) -> sitk.AffineTransform:
    """Multi-start rigid alignment on the coarse level, then a scaled rigid one on the fine."""
    kept: list[sitk.Euler3DTransform] = []
    for pitch in PITCH_STARTS_DEG:
        scored = []
        for dz in DZ_STARTS_MM:
            start = _start(prep, ref, plane, pitch, dz)
            scored.append((_similarity(prep.coarse, ref.coarse, start, COARSE_METRIC), start))
        scored.sort(key=lambda s: -s[0])
        kept.extend(start for _, start in scored[:KEEP_STARTS])
    coarse = _method(
        prep.coarse.mask, iterations=30, learning_rate=2.0, sampling=0.5, metric=COARSE_METRIC
    )
    candidates = [_run(coarse, prep.coarse.image, ref.coarse, start)[0] for start in kept]
    rigid = max(candidates, key=lambda t: _similarity(prep.coarse, ref.coarse, t, COARSE_METRIC))
    to_template = _homogeneous(rigid)
    brain = _voxel_points(prep.work, prep.brain)
    for _ in range(passes):
        refined = _refine(prep, ref, to_template)
        step = refined - to_template
        moved = brain @ step[:3, :3].T + step[:3, 3]
        to_template = refined
        if np.abs(moved).max() < FINE_CONVERGED_MM:
            break
    return _as_affine(_affine(to_template), prep.centroid)


def _carried(image: sitk.Image, rotation: np.ndarray, offset: np.ndarray) -> sitk.Image:
    """``image`` with its grid moved by ``x -> rotation x + offset`` (voxels not resampled)."""
    moved = sitk.Image(image)
    direction = np.array(image.GetDirection()).reshape(3, 3)
    moved.SetOrigin((rotation @ np.array(image.GetOrigin()) + offset).tolist())
    moved.SetDirection((rotation @ direction).ravel().tolist())
    return moved


def _refine(prep: _Prepared, ref: _Template, to_template: np.ndarray) -> np.ndarray:
    """One pass of the scaled rigid refinement from the 4 x 4 ``to_template``, scales along
    the template's axes.

    ITK's ScaleVersor3DTransform is ``R + S - I``, not a rotation and a scaling: 30 degrees
    from identity it cannot hold a head whose shape differs from the template's along the
    head's own axes. The pass therefore starts at identity rotation: the scan's fine level is
    carried by the rotation part of ``to_template`` (its grid moved, its voxels untouched),
    the template's scales are the start's, and the result is composed back.
    """
    u, _, vt = np.linalg.svd(to_template[:3, :3])
    rotation = u @ vt
    centre = to_template[:3, :3] @ prep.centroid + to_template[:3, 3]
    offset = centre - rotation @ prep.centroid
    method = _method(
        _carried(prep.fine.mask, rotation, offset),
        iterations=FINE_ITERATIONS,
        learning_rate=1.0,
        sampling=SAMPLING,
        metric=FINE_METRIC,
        relaxation=FINE_RELAXATION,
    )
    scaled = sitk.ScaleVersor3DTransform()
    scaled.SetCenter(centre.tolist())
    scaled.SetScale(np.diag(to_template[:3, :3] @ rotation.T).tolist())
    refined, _ = _run(method, _carried(prep.fine.image, rotation, offset), ref.fine, scaled)
    carry = np.eye(4)
    carry[:3, :3], carry[:3, 3] = rotation, offset
    result: np.ndarray = _homogeneous(refined) @ carry
    return result


def _axial_index(scan: sitk.Image, point: np.ndarray) -> float:
    z_index: float = scan.TransformPhysicalPointToContinuousIndex(tuple(float(v) for v in point))[2]
    return z_index


def _fit(scan: sitk.Image, passes: int = FINE_PASSES) -> tuple[sitk.AffineTransform, _Prepared]:
    """Scan -> template affine transform and the prepared scan."""
    prep = _prepare(scan)
    return _align(prep, _template(), _symmetry_plane(prep), passes), prep


def _problem(quality: float, matrix: np.ndarray) -> str | None:
    scales = np.linalg.svd(matrix, compute_uv=False)
    if quality < MIN_QUALITY:
        return (
            f"registration did not converge: mutual information with the template inside "
            f"the brain {quality:.3f} < {MIN_QUALITY}"
        )
    if scales.min() < SCALE_RANGE[0] or scales.max() > SCALE_RANGE[1]:
        return (
            f"registration did not converge: the template would be scaled by "
            f"{1 / scales.max():.2f}-{1 / scales.min():.2f} (expected "
            f"{1 / SCALE_RANGE[1]:.2f}-{1 / SCALE_RANGE[0]:.2f})"
        )
    return None


def check_scan(scan: sitk.Image) -> None:
    """Raise ``TypeError`` unless ``scan`` is a SimpleITK image, :class:`ScanError` unless it is
    a 3-D scalar volume."""
    if not isinstance(scan, sitk.Image):
        raise TypeError(f"scan must be a SimpleITK.Image, got {type(scan).__name__}")
    if scan.GetDimension() != 3 or scan.GetNumberOfComponentsPerPixel() != 1:
        raise ScanError(
            f"a scan is a 3-D scalar volume, got {scan.GetDimension()}-D with "
            f"{scan.GetNumberOfComponentsPerPixel()} component(s) per voxel"
        )


def register_to_scan(scan: sitk.Image) -> Registration:
    """Register the CT template to ``scan`` (HU, LPS) and map the atlas onto it.

    Raises :class:`RegistrationError` (with ``quicklook`` where an alignment was attempted)
    when no head is found, a level is outside the scan, or the result is implausible, and
    :func:`check_scan`'s errors for what is not a 3-D scalar volume.
    """
    check_scan(scan)
    atlas = _atlas()
    start = time.perf_counter()
    ref = _template()
    to_template, prep = _fit(scan)
    quality = _quality(prep, ref, to_template)
    # Scan -> atlas coordinates: through the template, then the template -> atlas alignment.
    to_atlas = np.linalg.inv(atlas.to_template) @ _homogeneous(to_template)
    from_atlas = np.linalg.inv(to_atlas)
    continuous = {
        level: _axial_index(scan, from_atlas[:3, :3] @ p + from_atlas[:3, 3])
        for level, p in atlas.level_points.items()
    }
    problem = _problem(quality, to_atlas[:3, :3])
    n_slices = scan.GetSize()[2]
    slice_mm = scan.GetSpacing()[2]
    clamped = {k: min(max(v, 0.0), n_slices - 1.0) for k, v in continuous.items()}
    # How far (mm) each level lies beyond the outer face of the first or last slice.
    beyond = {
        k: (max(-0.5 - v, v - (n_slices - 0.5), 0.0)) * slice_mm for k, v in continuous.items()
    }
    missing = {k: mm for k, mm in beyond.items() if mm > LEVEL_TOLERANCE_MM}
    if problem is None and missing:
        level = next(iter(missing))
        k = continuous[level]
        side = "below the first" if k < 0 else "above the last"
        problem = (
            f"the {level} level lies {side} slice (at slice {k:.1f} of {n_slices}, "
            f"{missing[level]:.0f} mm beyond it): the field of view does not cover it"
        )
    if problem is not None:
        from model.quicklook import registration_quicklook

        raise RegistrationError(
            problem, quicklook=registration_quicklook(prep.work, ref.image, to_template)
        )
    transform = _affine(to_atlas)
    warnings = [*prep.warnings, *_coverage_warnings(prep, ref, to_template.GetInverse())]
    warnings += [
        f"the {level} level was placed {mm:.1f} mm beyond the field of view (within the "
        f"{LEVEL_TOLERANCE_MM:.0f} mm the registration can be off): slice "
        f"{round(clamped[level])} is used"
        for level, mm in beyond.items()
        if mm > 0
    ]
    warped_atlas = sitk.Resample(
        atlas.labels, scan, transform, sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8
    )
    # Mid-sagittal plane: x = 0 of the atlas mapped into the scan, refined to the symmetry
    # plane of the scan's own brain (the template's plane is a prior, the brain decides).
    m = to_atlas[0, :3]
    c = prep.centroid
    prior = (c - ((m @ c + to_atlas[0, 3]) / (m @ m)) * m, m / np.linalg.norm(m))
    point, normal = _symmetry_plane(prep, prior)
    head_image = sitk.Resample(
        as_image(prep.head, prep.work), scan, sitk.Transform(), sitk.sitkNearestNeighbor, 0
    )
    return Registration(
        transform=transform,
        atlas=warped_atlas,
        midsagittal=MidsagittalPlane(xyz(point), xyz(normal)),
        levels={level: round(k) for level, k in clamped.items()},
        quality=quality,
        head_mask=head_image,
        seconds=time.perf_counter() - start,
        warnings=tuple(warnings),
    )


def alignment_quicklook(scan: sitk.Image, registration: Registration) -> np.ndarray:
    """The quick-look (:mod:`model.quicklook`) of a registration that succeeded, as a refused
    one carries: the template's outline on ``scan`` where the registration put it."""
    from model.quicklook import registration_quicklook

    to_template = _atlas().to_template @ _homogeneous(registration.transform)
    return registration_quicklook(scan, _template().image, _affine(to_template))


def _coverage_warnings(prep: _Prepared, ref: _Template, inverse: sitk.Transform) -> list[str]:
    """Say when the field of view cuts the top of the brain (the levels are still inside).

    The bottom is not checked: the template's brain mask runs into the neck, so its lowest
    point is no anatomical landmark, and a cut posterior fossa does not touch the levels.
    """
    point = np.array(inverse.TransformPoint((0.0, 10.0, ref.brain_top_z)))
    k = prep.work.TransformPhysicalPointToContinuousIndex(point.tolist())[2]
    if not 0 <= k <= prep.work.GetSize()[2] - 1:
        return ["the field of view cuts the vertex"]
    return []
