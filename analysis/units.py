"""ASPECTS unit codes of the data contract (DATA_CONTRACTS.md, "ASPECTS units").

Ten regions per hemisphere, coded ``<region>_<side>`` with the patient's side. This module is
the single definition used by ``analysis``, ``model`` and ``readerstudy``; it is pure Python so
that any layer may import it.
"""

from __future__ import annotations

from collections.abc import Iterable

REGIONS: tuple[str, ...] = ("C", "L", "IC", "I", "M1", "M2", "M3", "M4", "M5", "M6")
"""Caudate, lentiform, internal capsule, insular ribbon, M1-M3 (ganglionic), M4-M6."""

REGION_NAMES: dict[str, str] = {
    "C": "caudate",
    "L": "lentiform nucleus",
    "IC": "internal capsule",
    "I": "insular ribbon",
    "M1": "frontal operculum (anterior MCA cortex, ganglionic level)",
    "M2": "anterior temporal lobe (lateral MCA cortex, ganglionic level)",
    "M3": "posterior temporal lobe (posterior MCA cortex, ganglionic level)",
    "M4": "anterior MCA territory, supraganglionic level",
    "M5": "lateral MCA territory, supraganglionic level",
    "M6": "posterior MCA territory, supraganglionic level",
}

SIDES: tuple[str, ...] = ("left", "right")
"""The patient's side, as in DICOM/LPS (left = patient left)."""

UNITS: tuple[str, ...] = tuple(f"{region}_{side}" for side in SIDES for region in REGIONS)
"""The 20 unit codes, left hemisphere first."""

CASE_UNIT = "case"
"""The single unit code of studies that rate whole cases (classic ROC studies)."""


def split_unit(unit: str) -> tuple[str, str]:
    """Return ``(region, side)`` of an ASPECTS unit code, or raise ValueError naming it."""
    region, _, side = unit.rpartition("_")
    if region not in REGIONS or side not in SIDES:
        raise ValueError(
            f"unknown ASPECTS unit {unit!r}: expected <region>_<side> with region in "
            f"{', '.join(REGIONS)} and side left or right (e.g. 'M5_left')"
        )
    return region, side


def mirror_unit(unit: str) -> str:
    """The same region on the other hemisphere (``M5_left`` -> ``M5_right``)."""
    region, side = split_unit(unit)
    return f"{region}_{'right' if side == 'left' else 'left'}"


def aspects_score(positive_units: Iterable[str], side: str) -> int:
    """ASPECTS of one hemisphere: 10 minus the number of affected regions on that side."""
    if side not in SIDES:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    affected = {split_unit(u)[0] for u in positive_units if split_unit(u)[1] == side}
    return 10 - len(affected)
