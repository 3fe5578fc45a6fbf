"""Label values, tissue names and asset locations shared by the anatomy builder and loaders."""

from __future__ import annotations

from pathlib import Path

from analysis.units import UNITS

ASSETS = Path(__file__).resolve().parent / "assets"
"""The committed, generated anatomy assets."""

LABELS: dict[str, int] = {unit: i + 1 for i, unit in enumerate(UNITS)}
"""Unit code -> label value in the atlas (0 = background), left hemisphere first."""

TISSUES: tuple[str, ...] = ("gm", "wm", "csf", "bone", "diploe", "scalp")
"""Tissue fractions stored on the grid (uint8, value / FRACTION_SCALE); air is the rest."""

FRACTION_SCALE = 200
