"""The interaction record of one read: window/level, slice steps and AI overlay use.

Kept in memory while the reader reads (a drag or a scroll costs no database write) and stored
with the read in its submit transaction, inside the read's record that the audit chain's
digest covers. Aggregates are exact; the event list keeps the last :data:`MAX_EVENTS` events.

Overlay exposure is the time the overlay was on screen (visible, opacity above 0) *during
active reading*: the overlap of the shown spans with the reading clock's active intervals,
so pauses, idle spells (counted back to the last input, as the clock does) and spells
without window focus never add to it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from readerstudy.study.clock import Interval, Spell

MAX_EVENTS = 500
"""Events kept per read (the most recent); the aggregates count all of them."""


class ReadTelemetry:
    """Buffered interactions of one read; times are seconds since the case opened."""

    def __init__(self, *, overlay_visible: bool) -> None:
        self._events: deque[list[str | float]] = deque(maxlen=MAX_EVENTS)
        self._n_events = 0
        self._window_level_changes = 0
        self._window: tuple[float, float] | None = None
        self._slices: set[int] = set()
        self._slice_moves = 0
        self._slice_range: tuple[int, int] | None = None
        self._slice: int | None = None
        self._visible = overlay_visible
        self._opacity: float | None = None
        self._toggles = 0
        self._opacity_changes = 0
        self._spans: list[tuple[float, float]] = []
        self._shown_since: float | None = 0.0 if overlay_visible else None

    def _log(self, t_s: float, kind: str, *values: float | int | bool) -> None:
        self._n_events += 1
        self._events.append([round(t_s, 3), kind, *values])

    @property
    def overlay_visible(self) -> bool:
        return self._visible

    @property
    def _shown(self) -> bool:
        return self._visible and self._opacity != 0.0

    def _set_overlay(self, t_s: float, visible: bool, opacity: float | None) -> None:
        was = self._shown
        self._visible, self._opacity = visible, opacity
        if was and not self._shown and self._shown_since is not None:
            self._spans.append((self._shown_since, t_s))
            self._shown_since = None
        elif self._shown and not was:
            self._shown_since = t_s

    # -- recording --------------------------------------------------------------------
    def window_level(self, t_s: float, center: float, width: float) -> None:
        self._window_level_changes += 1
        self._window = (center, width)
        self._log(t_s, "window", center, width)

    def slice(self, t_s: float, index: int) -> None:
        self._slice_moves += 1
        self._slices.add(index)
        low, high = self._slice_range or (index, index)
        self._slice_range = (min(low, index), max(high, index))
        self._slice = index
        self._log(t_s, "slice", index)

    def overlay(self, t_s: float, visible: bool) -> None:
        if visible is self._visible:
            return
        self._toggles += 1
        self._set_overlay(t_s, visible, self._opacity)
        self._log(t_s, "overlay", visible)

    def opacity(self, t_s: float, value: float) -> None:
        if value == self._opacity:
            return
        self._opacity_changes += 1
        self._set_overlay(t_s, self._visible, value)
        self._log(t_s, "opacity", value)

    # -- the record -------------------------------------------------------------------
    def exposure_s(self, intervals: Iterable[Interval], end_s: float) -> float:
        """Seconds the overlay was shown while the reader was actively reading."""
        spans = list(self._spans)
        if self._shown_since is not None:
            spans.append((self._shown_since, end_s))
        active = [(i.start_s, i.end_s) for i in intervals if i.spell is Spell.ACTIVE]
        return sum(
            max(0.0, min(a_end, s_end) - max(a_start, s_start))
            for a_start, a_end in active
            for s_start, s_end in spans
        )

    def record(self, intervals: Iterable[Interval], end_s: float) -> dict[str, Any]:
        """The JSON stored with the read (``extra``); see docs/storage.md."""
        low, high = self._slice_range or (None, None)
        return {
            "overlay_exposure_s": round(self.exposure_s(intervals, end_s), 3),
            "overlay_toggles": self._toggles,
            "overlay_opacity_changes": self._opacity_changes,
            "overlay_opacity": self._opacity,
            "window_level_changes": self._window_level_changes,
            "window_level": list(self._window) if self._window else None,
            "slice_moves": self._slice_moves,
            "slices": {
                "distinct": len(self._slices),
                "min": low,
                "max": high,
                "last": self._slice,
            },
            "events": list(self._events),
            "events_dropped": self._n_events - len(self._events),
        }
