"""A head CT template of real-CT origin, in HU: Rorden's scct template converted from Cormack units.

``scct.nii`` (Rorden et al., NeuroImage 2012;61:957, neurolabusc/Clinical, BSD-2; notice in
``assets/THIRD_PARTY_NOTICES.md``) is the mean of normalised head CTs of older adults, with
skull and scalp, on the SPM MNI 2 mm grid (91 x 109 x 91), stored in *Cormack units*: HU
shifted so that air is 0 and the soft-tissue range stretched eleven-fold, so that tools built
for MR see contrast in the brain. The committed asset ``assets/scct_hu.nii.gz`` is that
template converted back to HU (rounded to Int16) and reoriented to LPS with an identity
direction, on the same 2 mm grid and MNI world coordinates. It is a derived form, never a byte
copy; rebuild it (byte-identical; a test checks it where the reference data is present) with
``python -m model.anatomy.ct_template ../shared/refdata/ncct_template/scct.nii``.

The conversion (``clinical_cormack.m``: 900 "uninteresting dark units", 200 "interesting mid
units", scale ratio 10). With ``t = HU + 1024`` (air at the 12-bit floor -1024 is 0):

- ``t <= 900`` (HU <= -124: air, fat): Cormack = t;
- ``900 < t <= 1100`` (-124 < HU <= 76: soft tissue, brain, CSF): Cormack = 900 + 11 (t - 900);
- ``t > 1100`` (HU > 76: bone, calcification): Cormack = t + 2000.

Cormack to HU is ``clinical_c2h.m`` (neurolabusc/Clinical, version 4/4/2016) exactly; HU to
Cormack is its inverse, which is what ``clinical_h2c_old.m`` and neurolabusc/h2c's ``h2c.py``
compute. (The 2016 ``clinical_h2c.m`` also adds the unclipped excess above +76 HU, doubling
the slope for bone, which ``clinical_c2h.m`` does not undo; we keep the pair that round-trips.)
Values below -1024 HU are clamped to -1024, as ``clinical_h2c.m`` does for GE's padding.
"""

from __future__ import annotations

import hashlib
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from model.anatomy.labels import ASSETS

ASSET = ASSETS / "scct_hu.nii.gz"
"""The committed HU template (Int16, LPS, 2 mm, MNI world coordinates)."""

SOURCE_SHA256 = "8c1bc8f45e800bcb74a91ae5539afbe7cbc5b730109dccfa331d450b1cf208b3"
"""``scct.nii`` of neurolabusc/Clinical commit 1b6bc35, the file the asset was built from."""

AIR_FLOOR_HU = -1024.0
DARK_UNITS = 900.0
MID_UNITS = 200.0
SCALE_RATIO = 10.0


def hu_to_cormack(hu: np.ndarray) -> np.ndarray:
    """Cormack units (float64) of HU values (clamped below at -1024)."""
    t = np.maximum(np.asarray(hu, dtype=np.float64), AIR_FLOOR_HU) - AIR_FLOOR_HU
    return t + SCALE_RATIO * np.clip(t - DARK_UNITS, 0.0, MID_UNITS)


def cormack_to_hu(cormack: np.ndarray) -> np.ndarray:
    """HU values (float64) of Cormack units (``clinical_c2h.m``); negative input is an error."""
    c = np.asarray(cormack, dtype=np.float64)
    if c.size and float(np.nanmin(c)) < 0.0:
        raise ValueError(
            f"Cormack units are never negative (minimum {float(np.nanmin(c)):.1f}); "
            "is this image already in HU?"
        )
    top = MID_UNITS * (SCALE_RATIO + 1.0)
    x = c - DARK_UNITS
    t = np.where(x <= 0.0, x, np.where(x <= top, x / (SCALE_RATIO + 1.0), x - top + MID_UNITS))
    return t + DARK_UNITS + AIR_FLOOR_HU


def build_ct_template(scct_path: Path) -> sitk.Image:
    """The HU template (Int16, identity direction) from ``scct.nii``; checks it is that file."""
    digest = hashlib.sha256(Path(scct_path).read_bytes()).hexdigest()
    if digest != SOURCE_SHA256:
        raise ValueError(
            f"{scct_path} is not the scct.nii the template is built from (sha256 {digest}, "
            f"expected {SOURCE_SHA256}: neurolabusc/Clinical commit 1b6bc35)"
        )
    source = sitk.ReadImage(str(scct_path), sitk.sitkFloat64)
    # Reorient without resampling: axes become L, P, S and the grid stays the source's.
    oriented = sitk.DICOMOrient(source, "LPS")
    hu = np.rint(cormack_to_hu(sitk.GetArrayFromImage(oriented))).astype(np.int16)
    image = sitk.GetImageFromArray(hu)
    image.CopyInformation(oriented)
    return image


def write_ct_template(scct_path: Path, out: Path = ASSET) -> Path:
    """Build the HU template from ``scct_path`` and write it (gzip-compressed NIfTI) to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(build_ct_template(scct_path), str(out), True)
    return out


@lru_cache(maxsize=1)
def _template() -> sitk.Image:
    if not ASSET.is_file():
        raise FileNotFoundError(
            f"CT template {ASSET} is missing: rebuild it with "
            "`python -m model.anatomy.ct_template ../shared/refdata/ncct_template/scct.nii`"
        )
    template: sitk.Image = sitk.Cast(sitk.ReadImage(str(ASSET)), sitk.sitkFloat32)
    return template


def ct_template_hu() -> sitk.Image:
    """The head CT template with skull in HU (Float32, LPS, 2 mm grid, MNI coordinates)."""
    return sitk.Image(_template())


def main(argv: list[str]) -> None:
    if len(argv) not in (1, 2):
        raise SystemExit("usage: python -m model.anatomy.ct_template SCCT_NII [OUT]")
    out = write_ct_template(Path(argv[0]), *(Path(a) for a in argv[1:]))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
