"""Write sets of synthetic NCCT phantoms as case folders with truth tables and lesion masks.

Layout of ``out_dir`` (DATA_CONTRACTS.md): ``<case>/`` one DICOM series (or ``image.nii.gz``),
``truth.csv`` (case, unit, truth), ``cases.csv`` (case, side and the drawn parameters) and
``masks/<case>.nii.gz`` (the acute lesion on the image grid).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis.files import atomic_output, staged_folder
from analysis.units import UNITS
from readerstudy.errors import ReaderStudyError
from readerstudy.imaging.formats import ImageFormat, Vendor

if TYPE_CHECKING:
    from model.phantom import Phantom, PhantomConfig

SHIFT_AXES = ("x", "y", "z")
LEVEL_COLUMNS = {"ganglionic_index": "ganglionic", "supraganglionic_index": "supraganglionic"}
"""cases.csv column -> the level of :attr:`model.phantom.Phantom.levels` it holds."""


def _meta_columns(name: str) -> tuple[str, ...]:
    """The cases.csv columns of one :class:`model.phantom.PhantomMeta` field."""
    if name == "shift_mm":
        return tuple(f"shift_{axis}_mm" for axis in SHIFT_AXES)
    return (name,)


def case_columns() -> tuple[str, ...]:
    """The header of cases.csv: the case, every field of the phantom's drawn parameters (so a
    field the model adds or renames is a column, never dropped) and the two level indices."""
    from model.phantom import PhantomMeta

    meta = (column for f in fields(PhantomMeta) for column in _meta_columns(f.name))
    return ("case", *meta, *LEVEL_COLUMNS)


@dataclass(frozen=True)
class PhantomSet:
    """What :func:`write_phantom_set` wrote."""

    out_dir: Path
    cases: tuple[str, ...]
    positive_units: int


def case_seed(seed: int, index: int) -> int:
    """The seed of case ``index`` in a set made with ``seed`` (independent streams)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def case_ids(n: int) -> list[str]:
    width = max(3, len(str(n)))
    return [f"case{i + 1:0{width}d}" for i in range(n)]


def _case_row(case: str, phantom: Phantom) -> dict[str, object]:
    row: dict[str, object] = {"case": case}
    for f in fields(phantom.meta):
        value = getattr(phantom.meta, f.name)
        values = value if f.name == "shift_mm" else (value,)
        row.update(zip(_meta_columns(f.name), values, strict=True))
    row.update({column: phantom.levels[level] for column, level in LEVEL_COLUMNS.items()})
    return row


def write_phantom_set(
    out_dir: Path,
    n: int,
    seed: int,
    *,
    fmt: ImageFormat | str = ImageFormat.DICOM,
    thin: bool = False,
    config: PhantomConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PhantomSet:
    """Generate ``n`` phantoms (case i from :func:`case_seed`) and write them to ``out_dir``.

    ``config`` defaults to :class:`model.phantom.PhantomConfig` with ``thin``; its
    ``tilt_deg`` range is written into the DICOM series by the imaging writer. The set is
    written beside ``out_dir`` and moved in whole (:func:`analysis.files.staged_folder`),
    so a full disk or an interrupted run leaves no partial set.
    """
    from model.phantom import PhantomConfig

    if fmt not in set(ImageFormat):
        raise ReaderStudyError(
            f"phantom format must be one of {', '.join(ImageFormat)}, got {fmt!r}"
        )
    if n < 1:
        raise ReaderStudyError(f"the number of phantoms must be at least 1, got {n}")
    if seed < 0:
        raise ReaderStudyError(f"--seed must be 0 or more (it seeds every case), got {seed}")
    out_dir = Path(out_dir)
    if (out_dir / "truth.csv").exists():
        raise ReaderStudyError(
            f"{out_dir} already holds a phantom set (truth.csv); choose an empty folder"
        )
    ids = case_ids(n)
    with staged_folder(out_dir) as stage:
        truth_rows = _write_phantoms(
            stage, ids, seed, ImageFormat(fmt), config or PhantomConfig(thin=thin), progress
        )
    return PhantomSet(out_dir, tuple(ids), sum(t for _, _, t in truth_rows))


def _write_phantoms(
    out_dir: Path,
    ids: list[str],
    seed: int,
    fmt: ImageFormat,
    config: PhantomConfig,
    progress: Callable[[int, int], None] | None,
) -> list[tuple[str, str, int]]:
    """Write the cases, masks, truth.csv and cases.csv into ``out_dir``; the truth rows."""
    from model.errors import PhantomError
    from model.phantom import generate_phantom
    from readerstudy.imaging import write_dicom_series, write_nifti

    (out_dir / "masks").mkdir(parents=True, exist_ok=True)
    truth_rows, case_rows = [], []
    for i, case in enumerate(ids):
        phantom_seed = case_seed(seed, i)
        try:
            phantom = generate_phantom(phantom_seed, config)
        except PhantomError as exc:
            raise ReaderStudyError(f"{case}: {exc}") from exc
        folder = out_dir / case
        if fmt is ImageFormat.DICOM:
            write_dicom_series(
                phantom.image,
                folder,
                vendor=Vendor(phantom.meta.vendor),
                tilt_deg=phantom.meta.tilt_deg,
                patient_name=f"PHANTOM^{case}",
                patient_id=case,
                series_description=(f"NCCT HEAD {phantom.meta.slice_thickness_mm:g}mm PHANTOM"),
                seed=phantom_seed,
            )
        else:
            write_nifti(phantom.image, folder / "image.nii.gz")
        write_nifti(phantom.lesion_mask, out_dir / "masks" / f"{case}.nii.gz")
        truth_rows += [(case, unit, phantom.truth[unit]) for unit in UNITS]
        case_rows.append(_case_row(case, phantom))
        if progress is not None:
            progress(i + 1, len(ids))
    with (
        atomic_output(out_dir / "truth.csv") as temporary,
        temporary.open("w", newline="") as handle,
    ):
        writer = csv.writer(handle)
        writer.writerow(("case", "unit", "truth"))
        writer.writerows(truth_rows)
    with (
        atomic_output(out_dir / "cases.csv") as temporary,
        temporary.open("w", newline="") as handle,
    ):
        # extrasaction="raise" (the default): a value without a column fails the write.
        case_writer = csv.DictWriter(handle, fieldnames=case_columns())
        case_writer.writeheader()
        case_writer.writerows(case_rows)
    return truth_rows
