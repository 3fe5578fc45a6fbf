"""Small real value objects for the widget tests: a 12x64x64 head-like volume and case views."""

from __future__ import annotations

import numpy as np

from readerstudy.study.workstation import AIRegion, CaseView, DisplayVolume

UNITS = tuple(
    f"{region}_{side}"
    for side in ("left", "right")
    for region in ("C", "L", "IC", "I", "M1", "M2", "M3", "M4", "M5", "M6")
)


def head_volume(
    *,
    n: int = 12,
    size: int = 64,
    aided: bool = False,
    screen_left: str = "R",
    levels: dict[str, int] | None = None,
) -> DisplayVolume:
    """A skull ring around brain at 35 HU with a darker left-of-screen wedge; read-only."""
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - size / 2, xx - size / 2)
    plane = np.where(r < size * 0.4, 35, -1000).astype(np.int16)
    plane[(r >= size * 0.4) & (r < size * 0.46)] = 1200
    plane[(r < size * 0.3) & (xx < size * 0.35)] = 22
    hu = np.repeat(plane[None], n, axis=0)
    hu += np.arange(n, dtype=np.int16)[:, None, None]
    hu.flags.writeable = False
    ai_mask = regions = None
    region_units: dict[int, str] = {}
    if aided:
        ai_mask = np.zeros(hu.shape, dtype=np.float32)
        ai_mask[:, 20:40, 10:25] = 0.9
        regions = np.zeros(hu.shape, dtype=np.uint8)
        regions[:, 16:48, 8:32] = 1
        regions[:, 16:48, 32:56] = 2
        region_units = {1: "M2_right", 2: "M2_left"}
    return DisplayVolume(
        code="S1-001",
        hu=hu,
        spacing=(5.0, 0.45, 0.45),
        z_mm=tuple(float(5 * i) for i in range(n)),
        window=(40.0, 80.0),
        screen_left=screen_left,
        levels=levels,
        ai_mask=ai_mask,
        regions=regions,
        region_units=region_units,
    )


def case_view(*, aided: bool = False, confidence=None) -> CaseView:
    from readerstudy.study.definition import ConfidenceScale

    scale = ConfidenceScale(confidence or "none")
    regions = tuple(
        AIRegion(u, 0.8 if u == "M2_right" else 0.1, int(u == "M2_right")) for u in UNITS
    )
    return CaseView(
        code="S1-001",
        session=1,
        order=1,
        total=3,
        modality="aided" if aided else "unaided",
        aided=aided,
        units=UNITS,
        binary_call=True,
        confidence=scale,
        ai_regions=regions if aided else (),
        has_ai_mask=aided,
        clock_restarted=False,
    )
