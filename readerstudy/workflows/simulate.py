"""Simulated readers: a locked study read end to end through the same ``ReaderSession`` API.

Each reader is a latent-score observer: for every unit a score ``z`` is drawn from
``N(d', 1)`` when the unit is truly abnormal and ``N(0, 1)`` otherwise, plus a case-unit
effect shared by all readers (so readers agree beyond chance); the unit is called abnormal
when ``z`` exceeds the threshold fixed by the specificity, and ``d'`` follows from the
sensitivity. Confidence ratings are ``z`` binned to 1-5 or mapped to 0-100. Reading time is
log-normal around the reader's mean, with input events, idle spells and pauses sometimes.

Reliance on the AI: in an aided read a reader is *unsure* of a unit when their own evidence
lies within ``unsure_margin`` (latent SD units) of their threshold; there they adopt the AI's
call with probability ``reliance`` and rate on the AI's side of the threshold. Sure calls are
kept. Whether the AI convinces is one uniform draw per case-unit shared by the readers (they
see the same overlay), compared with each reader's reliance: independent draws would make
readers disagree wherever the AI contradicts their shared evidence. The AI's calls are those
the session shows (the study's precomputed outputs), never the truth, so what aid does to
sensitivity, specificity and agreement follows from how good the AI is and how much the
readers lean on it (docs/simulator.md). By default a reader's own evidence is the same in
both modalities; ``aided_sensitivity``/``aided_specificity`` give them a different operating
point when aided, before any reliance.

Defaults resemble the paper's four raters (Chen et al. 2022, Tables 2 and 3). The simulator
plays both the reader and the oracle: it looks up which case is on screen from the schedule
(coordinator knowledge) to know the truth; the session itself never tells it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from statistics import NormalDist

from readerstudy.errors import ReaderStudyError
from readerstudy.study.clock import SimulatedTime
from readerstudy.study.design import SESSIONS
from readerstudy.study.protocol import Study
from readerstudy.study.session import CaseView, ReaderSession
from readerstudy.study.washout import WashoutError

_NORMAL = NormalDist()

DEFAULT_RELIANCE = 0.5
DEFAULT_UNSURE_MARGIN = 2.0
"""The paper's readers discriminate early ischemic change poorly (d' about 0.6 at their
operating points), so a reader is sure of a unit only where their evidence lies far from
their threshold. With these two values and ``SimulationConfig.shared_variance`` the demo's
aided agreement and accuracy move as the paper's did (docs/simulator.md)."""


@dataclass(frozen=True)
class ReaderProfile:
    """Operating point, reliance on the AI and speed of one simulated reader."""

    sensitivity: float = 0.25
    specificity: float = 0.90
    mean_s: float = 219.0
    aided_mean_s: float = 176.0
    reliance: float = DEFAULT_RELIANCE
    """Probability of adopting the AI's call for a unit the reader is unsure of (aided reads)."""
    unsure_margin: float = DEFAULT_UNSURE_MARGIN
    """Half-width, in latent SD units, of the band around the threshold where the reader is
    unsure (0: never; inf: everywhere; 2, the default, holds about three quarters of a reader's
    normal units)."""
    aided_sensitivity: float | None = None
    """Own operating point in aided reads before any reliance; None: the unaided one."""
    aided_specificity: float | None = None
    time_sigma: float = 0.3
    """Log-normal spread of the per-case reading time."""
    idle_probability: float = 0.08
    pause_probability: float = 0.03

    def __post_init__(self) -> None:
        for name in ("sensitivity", "specificity", "aided_sensitivity", "aided_specificity"):
            value = getattr(self, name)
            if value is not None and not 0.0 < value < 1.0:
                raise ValueError(f"{name} must be strictly between 0 and 1, got {value}")
        for name in ("reliance", "idle_probability", "pause_probability"):
            check_probability(name, getattr(self, name))
        if not self.unsure_margin >= 0.0:
            raise ValueError(
                f"unsure_margin must be >= 0 latent SD units (inf: unsure everywhere), "
                f"got {self.unsure_margin}"
            )
        if self.mean_s <= 0 or self.aided_mean_s <= 0 or self.time_sigma < 0:
            raise ValueError("reading times must be positive and time_sigma >= 0")

    def operating_point(self, aided: bool) -> tuple[float, float]:
        """``(d', threshold)`` of the latent-score model for this modality."""
        sens, spec = self.sensitivity, self.specificity
        if aided:
            sens = self.aided_sensitivity if self.aided_sensitivity is not None else sens
            spec = self.aided_specificity if self.aided_specificity is not None else spec
        threshold = _NORMAL.inv_cdf(spec)
        return threshold - _NORMAL.inv_cdf(1.0 - sens), threshold


def check_probability(name: str, value: float) -> float:
    """``value`` when it is a probability in [0, 1]; ValueError naming ``name`` otherwise."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return value


PAPER_READERS: tuple[ReaderProfile, ...] = (
    ReaderProfile(sensitivity=0.163, specificity=0.882, mean_s=202.1, aided_mean_s=176.2),
    ReaderProfile(sensitivity=0.185, specificity=0.932, mean_s=250.1, aided_mean_s=176.8),
    ReaderProfile(sensitivity=0.378, specificity=0.855, mean_s=197.7, aided_mean_s=176.2),
    ReaderProfile(sensitivity=0.289, specificity=0.913, mean_s=226.1, aided_mean_s=173.7),
)
"""The four experts of Chen et al. 2022 unaided (Table 2 sensitivity/specificity, Table 3
s/case unaided and aided); their aided accuracy comes from relying on the AI."""


@dataclass
class SimulationConfig:
    """Who reads how; readers beyond the given profiles cycle through them.

    ``reliance`` (every reader) and ``reader_reliance`` (by reader id, winning over
    ``reliance``) override the profiles' probability of adopting the AI's call where unsure.
    """

    seed: int = 0
    profiles: Mapping[str, ReaderProfile] = field(default_factory=dict)
    default_profiles: tuple[ReaderProfile, ...] = PAPER_READERS
    shared_variance: float = 0.95
    """Share of latent variance common to all readers (case-unit difficulty)."""
    input_every_s: float = 20.0
    reliance: float | None = None
    reader_reliance: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_probability("shared_variance", self.shared_variance)
        if self.reliance is not None:
            check_probability("reliance", self.reliance)
        for reader, value in self.reader_reliance.items():
            check_probability(f"reliance of reader {reader!r}", value)

    def profile(self, index: int, reader: str) -> ReaderProfile:
        """The profile of the ``index``-th reader, with any reliance override applied."""
        chosen = self.profiles.get(
            reader, self.default_profiles[index % len(self.default_profiles)]
        )
        reliance = self.reader_reliance.get(reader, self.reliance)
        return chosen if reliance is None else replace(chosen, reliance=reliance)


def parse_reliance(values: Sequence[str]) -> tuple[float | None, dict[str, float]]:
    """``(every reader, by reader)`` from options such as ``0.7`` and ``r2=0.2``.

    Raises ReaderStudyError naming the bad option (the CLI's ``--reliance``).
    """
    every: float | None = None
    by_reader: dict[str, float] = {}
    for text in values:
        reader, _, number = text.rpartition("=")
        try:
            value = check_probability("reliance", float(number))
        except ValueError:
            raise ReaderStudyError(
                f"--reliance {text!r}: give a probability in [0, 1], for every reader (0.7) "
                "or one reader (r2=0.7)"
            ) from None
        if reader:
            by_reader[reader.strip()] = value
        else:
            every = value
    return every, by_reader


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


def _per_unit(draw: Callable[[], float]) -> Callable[[str, str], float]:
    """One ``draw()`` per (case, unit), made on first use and the same for every reader."""
    cache: dict[tuple[str, str], float] = {}

    def value(case: str, unit: str) -> float:
        if (case, unit) not in cache:
            cache[(case, unit)] = draw()
        return cache[(case, unit)]

    return value


class _Reader:
    """One simulated reader's behaviour (answers and timing) driven through a ReaderSession."""

    def __init__(
        self,
        reader: str,
        profile: ReaderProfile,
        *,
        truth: Mapping[tuple[str, str], int],
        shared: Callable[[str, str], float],
        persuasion: Callable[[str, str], float],
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
        self.persuasion = persuasion
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
            unsure = abs(z - threshold) < self.profile.unsure_margin
            if unsure and unit in ai_calls and self.persuasion(case, unit) < self.profile.reliance:
                call = ai_calls[unit]
                # a reader who takes the AI's call rates on the AI's side of the threshold
                z = max(z, threshold + 0.1) if call else min(z, threshold - 0.1)
            answers[unit] = {
                "call": call if view.binary_call else None,
                "rating": _confidence(z, threshold, view.confidence.value),
            }
        return answers

    def read(self, session: ReaderSession, view: CaseView, case: str) -> None:
        """Spend a log-normal reading time with inputs, maybe idle or a pause, then submit
        and go on to the next case (``view``: the session's current case)."""
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
    unknown = sorted(set(config.reader_reliance) - set(study.definition.reader_ids))
    if unknown:
        raise ReaderStudyError(
            f"reliance given for reader(s) not in the study: {', '.join(unknown)} "
            f"(readers: {', '.join(study.definition.reader_ids)})"
        )
    time: SimulatedTime = study.time
    start = time.now()
    truth = study.truth()
    shared_rng = random.Random(f"shared:{config.seed}")
    shared = _per_unit(lambda: shared_rng.gauss(0.0, 1.0))
    persuasion_rng = random.Random(f"persuasion:{config.seed}")
    persuasion = _per_unit(persuasion_rng.random)

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
            persuasion=persuasion,
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
            while (view := session.current) is not None:
                sim.read(session, view, plan[view.order])
                reads += 1
            session.close()
            completed += 1
            time.advance(3600)
    days = (time.now() - start).total_seconds() / 86400
    return SimulationSummary(reads, len(readers), completed, days)
