"""Simulated readers: a locked study read end to end through the same ``ReaderSession`` API.

Each reader is a latent-score observer: for every unit a score ``z`` is drawn from
``N(d', 1)`` when the unit is truly abnormal and ``N(0, 1)`` otherwise, plus a case-unit
effect shared by all readers (so readers agree beyond chance); the unit is called abnormal
when ``z`` exceeds the threshold fixed by the specificity, and ``d'`` follows from the
sensitivity. Confidence ratings are ``z`` binned to 1-5 or mapped to 0-100. Reading time is
log-normal around the reader's mean, with input events, idle spells and pauses sometimes. In
aided reads the reader has the aided sensitivity/specificity and time, and with probability
``follow_ai`` takes the AI's call for a unit.

Defaults resemble the paper's four raters (Chen et al. 2022, Tables 2 and 3). The simulator
plays both the reader and the oracle: it looks up which case is on screen from the schedule
(coordinator knowledge) to know the truth; the session itself never tells it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from statistics import NormalDist

from readerstudy.study.clock import SimulatedTime
from readerstudy.study.design import SESSIONS
from readerstudy.study.protocol import Study
from readerstudy.study.session import CaseView, ReaderSession
from readerstudy.study.washout import WashoutError

_NORMAL = NormalDist()


@dataclass(frozen=True)
class ReaderProfile:
    """Operating point and speed of one simulated reader, unaided -> aided."""

    sensitivity: float = 0.25
    specificity: float = 0.90
    aided_sensitivity: float = 0.33
    aided_specificity: float = 0.92
    mean_s: float = 219.0
    aided_mean_s: float = 176.0
    follow_ai: float = 0.3
    """Probability of adopting the AI's call for a unit in an aided read."""
    time_sigma: float = 0.3
    """Log-normal spread of the per-case reading time."""
    idle_probability: float = 0.08
    pause_probability: float = 0.03

    def __post_init__(self) -> None:
        for name in ("sensitivity", "specificity", "aided_sensitivity", "aided_specificity"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ValueError(f"{name} must be strictly between 0 and 1, got {value}")
        for name in ("follow_ai", "idle_probability", "pause_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.mean_s <= 0 or self.aided_mean_s <= 0 or self.time_sigma < 0:
            raise ValueError("reading times must be positive and time_sigma >= 0")

    def operating_point(self, aided: bool) -> tuple[float, float]:
        """``(d', threshold)`` of the latent-score model for this modality."""
        sens = self.aided_sensitivity if aided else self.sensitivity
        spec = self.aided_specificity if aided else self.specificity
        threshold = _NORMAL.inv_cdf(spec)
        return threshold - _NORMAL.inv_cdf(1.0 - sens), threshold


PAPER_READERS: tuple[ReaderProfile, ...] = (
    ReaderProfile(0.163, 0.882, 0.319, 0.913, 202.1, 176.2),
    ReaderProfile(0.185, 0.932, 0.304, 0.950, 250.1, 176.8),
    ReaderProfile(0.378, 0.855, 0.370, 0.880, 197.7, 176.2),
    ReaderProfile(0.289, 0.913, 0.341, 0.918, 226.1, 173.7),
)
"""The four experts of Chen et al. 2022 (Table 2 sensitivity/specificity, Table 3 s/case)."""


@dataclass
class SimulationConfig:
    """Who reads how; readers beyond the given profiles cycle through them."""

    seed: int = 0
    profiles: Mapping[str, ReaderProfile] = field(default_factory=dict)
    default_profiles: tuple[ReaderProfile, ...] = PAPER_READERS
    shared_variance: float = 0.7
    """Share of latent variance common to all readers (case-unit difficulty)."""
    input_every_s: float = 20.0

    def profile(self, index: int, reader: str) -> ReaderProfile:
        return self.profiles.get(reader, self.default_profiles[index % len(self.default_profiles)])


@dataclass(frozen=True)
class SimulationSummary:
    reads: int
    readers: int
    sessions_completed: int
    simulated_days: float


def _confidence(z: float, threshold: float, scale: str) -> float | None:
    if scale == "1-5":
        # cut points around the decision threshold: 3+ means abnormal
        cuts = (threshold - 1.0, threshold, threshold + 0.7, threshold + 1.4)
        return float(1 + sum(z > c for c in cuts))
    if scale == "0-100":
        return round(100.0 * _NORMAL.cdf(z - threshold), 1)
    return None


class _Reader:
    """One simulated reader's behaviour (answers and timing) driven through a ReaderSession."""

    def __init__(
        self,
        reader: str,
        profile: ReaderProfile,
        *,
        truth: Mapping[tuple[str, str], int],
        shared: Callable[[str, str], float],
        shared_variance: float,
        input_every_s: float,
        idle_timeout_s: float,
        rng: random.Random,
        time: SimulatedTime,
    ) -> None:
        self.reader = reader
        self.profile = profile
        self.truth = truth
        self.shared = shared
        self.shared_variance = shared_variance
        self.input_every_s = input_every_s
        self.idle_timeout_s = idle_timeout_s
        self.rng = rng
        self.time = time

    def answers(self, case: str, view: CaseView) -> dict[str, dict]:
        d_prime, threshold = self.profile.operating_point(view.aided)
        ai_calls = {a.unit: a.call for a in view.ai_regions}
        answers = {}
        for unit in view.units:
            noise = math.sqrt(self.shared_variance) * self.shared(case, unit) + math.sqrt(
                1.0 - self.shared_variance
            ) * self.rng.gauss(0.0, 1.0)
            z = d_prime * self.truth[(case, unit)] + noise
            call = int(z > threshold)
            if view.aided and unit in ai_calls and self.rng.random() < self.profile.follow_ai:
                call = ai_calls[unit]
                # a reader who follows the AI rates on the AI's side of the threshold
                z = max(z, threshold + 0.1) if call else min(z, threshold - 0.1)
            answers[unit] = {
                "call": call if view.binary_call else None,
                "rating": _confidence(z, threshold, view.confidence.value),
            }
        return answers

    def read(self, session: ReaderSession, case: str) -> None:
        """Spend a log-normal reading time with inputs, maybe idle or a pause, then submit
        and go on to the next case."""
        view = session.current
        mean = self.profile.aided_mean_s if view.aided else self.profile.mean_s
        sigma = self.profile.time_sigma
        active = self.rng.lognormvariate(math.log(mean) - sigma**2 / 2, sigma)
        spent = 0.0
        window_set = False
        while spent < active:
            step = min(self.rng.expovariate(1.0 / self.input_every_s), active - spent, 55.0)
            self.time.advance(step)
            spent += step
            if not window_set:
                session.record_window_level(40.0, 80.0)
                window_set = True
            else:
                session.record_slice(self.rng.randrange(0, 40))
            if self.rng.random() < self.profile.idle_probability / 4:
                self.time.advance(self.idle_timeout_s + self.rng.uniform(5, 120))
                session.tick()
                session.input()
            if self.rng.random() < self.profile.pause_probability / 4:
                session.pause()
                self.time.advance(self.rng.uniform(60, 900))
                session.resume()
        if view.aided and self.rng.random() < 0.2:
            session.set_overlay(False)
        session.submit(self.answers(case, view))
        session.advance()


def simulate_study(
    study: Study, *, config: SimulationConfig | None = None, pin: str = "sim-0000"
) -> SimulationSummary:
    """Read every reader's sessions of a locked study through ``ReaderSession``.

    The study must run on a :class:`SimulatedTime` (washouts pass in simulated time). Readers
    without a PIN get ``pin``; a reader's sessions are read in turn, waiting out the washout.
    """
    if not isinstance(study.time, SimulatedTime):
        raise TypeError("simulate_study needs a study opened with time=SimulatedTime()")
    config = config or SimulationConfig(seed=study.definition.seed)
    time: SimulatedTime = study.time
    start = time.now()
    truth = study.truth()
    shared_cache: dict[tuple[str, str], float] = {}
    shared_rng = random.Random(f"shared:{config.seed}")

    def shared(case: str, unit: str) -> float:
        if (case, unit) not in shared_cache:
            shared_cache[(case, unit)] = shared_rng.gauss(0.0, 1.0)
        return shared_cache[(case, unit)]

    schedule = study.schedule
    readers = {}
    for index, reader in enumerate(study.definition.reader_ids):
        if not study.has_pin(reader):
            study.set_pin(reader, pin)
        readers[reader] = _Reader(
            reader,
            config.profile(index, reader),
            truth=truth,
            shared=shared,
            shared_variance=config.shared_variance,
            input_every_s=config.input_every_s,
            idle_timeout_s=study.definition.idle_timeout_s,
            rng=random.Random(f"reader:{config.seed}:{reader}"),
            time=time,
        )
    reads = completed = 0
    # Like the paper: every reader reads session 1, then session 2 once their washout ends.
    for session_number in SESSIONS:
        for reader, sim in readers.items():
            if study.current_session(reader) != session_number:
                continue
            try:
                session = study.login(reader, pin)
            except WashoutError as exc:
                if exc.opens_at is None:
                    raise
                time.advance_to(exc.opens_at)
                session = study.login(reader, pin)
            plan = {r.order: r.case for r in schedule.for_reader(reader, session.session)}
            while session.current is not None:
                sim.read(session, plan[session.current.order])
                reads += 1
            session.close()
            completed += 1
            time.advance(3600)
    days = (time.now() - start).total_seconds() / 86400
    return SimulationSummary(reads, len(readers), completed, days)
