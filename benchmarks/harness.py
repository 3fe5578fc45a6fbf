"""Time a candidate against a baseline in the same process and print the ratio.

Machines here are noisy, so absolute seconds mean little on their own: candidate and
baseline are interleaved, each repeated, and the ratio of medians is what a benchmark reports
(absolute medians are printed beside it for context).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Comparison:
    """Median seconds of candidate and baseline, and their ratio."""

    name: str
    candidate_s: float
    baseline_s: float
    repeats: int

    @property
    def ratio(self) -> float:
        return self.candidate_s / self.baseline_s

    def line(self) -> str:
        return (
            f"{self.name}: {self.ratio:.3f} (candidate median {self.candidate_s:.4f} s / "
            f"baseline median {self.baseline_s:.4f} s, {self.repeats} repeats)"
        )


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(
    name: str,
    candidate: Callable[[], object],
    baseline: Callable[[], object],
    *,
    repeats: int = 5,
    warmup: int = 1,
    target: float | None = None,
) -> Comparison:
    """Interleave ``repeats`` runs of candidate and baseline; print and return the comparison.

    ``target`` (an upper bound on the ratio) is printed as met or missed; it never raises,
    since a benchmark reports and a person judges.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    for _ in range(warmup):
        candidate()
        baseline()
    cand, base = [], []
    for _ in range(repeats):
        cand.append(_seconds(candidate))
        base.append(_seconds(baseline))
    return report(name, cand, base, target=target)


def report(
    name: str,
    candidate: Sequence[float],
    baseline: Sequence[float],
    *,
    target: float | None = None,
) -> Comparison:
    """Print and return the comparison of seconds measured elsewhere (interleaved by the
    caller, in this process), as :func:`compare` prints its own."""
    result = Comparison(
        name, statistics.median(candidate), statistics.median(baseline), len(candidate)
    )
    line = result.line()
    if target is not None:
        line += f" target <= {target}: {verdict(result.ratio, target)}"
    print(line, flush=True)
    return result


def verdict(value: float, target: float) -> str:
    """``met`` or ``MISSED`` for a value that should be at most ``target``."""
    return "met" if value <= target else "MISSED"
