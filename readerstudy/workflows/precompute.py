"""AI outputs for the aided reads: the embedded model's ``predict_many``, cached per study.

The cache key is the method's name (``auto`` resolved: the dual-path network when its weights
are present, else the asymmetry method) and version hash (weights, code, anatomy) and every case's
content hash (``manifest.csv``); a rerun with the same key reuses ``ai/ai_regions.csv`` and
``ai/masks/``, and new weights recompute without ``--force``. Once reading has started the
outputs are part of the locked design and are never recomputed.

Besides ``ai/`` (see :mod:`readerstudy.workflows.ai`: ``ai_regions.csv``, ``masks/``,
``atlas/``, ...) precompute writes ``levels.csv`` at the study root: ``case, ganglionic,
supraganglionic``, the axial slice indices (scan grid) of the two ASPECTS levels from the
registration. It lives outside ``ai/`` because the workstation's level jump keys serve unaided
reads too. A batch
with failed cases still writes every per-case output and ``levels.csv`` for the cases that
succeeded, then fails with the table of failures (``ai/failed.csv``); it leaves no
``ai/ai_regions.csv`` (so the study cannot be locked with AI missing for some cases) and no
cache key, so the next run retries the failed cases and takes the others from the cache.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from analysis.files import atomic_output, write_text
from readerstudy.errors import ReaderStudyError
from readerstudy.study.definition import AISourceKind
from readerstudy.study.protocol import (
    AI_TABLE,
    CASES_DIR,
    LEVELS_FILE,
    MANIFEST_FILE,
    Study,
    StudyLockedError,
    read_csv_rows,
)

if TYPE_CHECKING:
    from readerstudy.workflows.ai import MethodChoice

CACHE_FILE = "cache.json"


@dataclass(frozen=True)
class PrecomputeResult:
    cached: bool
    cases: int
    method: str


def method_choice(study: Study) -> MethodChoice:
    """The study's embedded method (``auto`` resolved) with its weights, if it names any."""
    from readerstudy.workflows.ai import MethodChoice, resolved

    ai = study.definition.ai
    weights = (study.path / ai.weights) if ai.weights else None
    if weights is not None and not weights.exists():
        raise ReaderStudyError(
            f"study {study.definition.name}: [ai] weights {ai.weights!r} does not exist "
            f"(looked for {weights})"
        )
    return resolved(MethodChoice(ai.method, "auto", weights))


def _cache_key(study: Study, choice: MethodChoice) -> dict:
    from readerstudy.workflows.ai import method_hash

    hashes = {
        r["case"]: r["content_hash"]
        for r in read_csv_rows(study.path / MANIFEST_FILE, ("case", "content_hash"))
    }
    return {"method": choice.name, "method_hash": method_hash(choice), "cases": hashes}


def _write_levels(study: Study, cases: list[str]) -> None:
    from readerstudy.workflows.ai import LEVEL_COLUMNS, case_levels

    with (
        atomic_output(study.path / LEVELS_FILE) as temporary,
        temporary.open("w", newline="", encoding="utf-8") as handle,
    ):
        writer = csv.DictWriter(handle, fieldnames=("case", *LEVEL_COLUMNS))
        writer.writeheader()
        writer.writerows(case_levels(study.ai_dir, cases))


def precompute_ai(
    study: Study, *, progress: Callable[..., None] | None = None, force: bool = False
) -> PrecomputeResult:
    """Run ``readerstudy.workflows.ai.predict_many`` over the study's cases unless cached.

    Raises :class:`readerstudy.workflows.ai.BatchError` when some cases failed (the others are
    written).
    """
    definition = study.definition
    if definition.ai.source is AISourceKind.IMPORTED:
        raise ReaderStudyError(
            f"study {definition.name} uses imported AI outputs ({study.ai_dir / AI_TABLE}); "
            "there is nothing to precompute"
        )
    choice = method_choice(study)
    key = _cache_key(study, choice)
    cache = study.ai_dir / CACHE_FILE
    fresh = study.ai_available() and cache.is_file() and json.loads(cache.read_text()) == key
    if fresh and not force:
        return PrecomputeResult(True, len(key["cases"]), key["method"])
    if study.reading_started():
        raise StudyLockedError(
            f"study {definition.name}: reading has started, the AI outputs are part of the "
            "locked design and cannot be recomputed"
        )
    from readerstudy.workflows.ai import BatchError, predict_many

    study.ai_dir.mkdir(exist_ok=True)
    cache.unlink(missing_ok=True)
    try:
        table = predict_many(study.path / CASES_DIR, study.ai_dir, method=choice, progress=progress)
    except BatchError as exc:
        _write_levels(study, sorted(set(exc.table["case"].astype(str))))
        # Without every case's AI outputs the aided reads are incomplete: no table, no lock.
        (study.ai_dir / AI_TABLE).unlink(missing_ok=True)
        raise
    done = sorted(set(table["case"].astype(str)))
    _write_levels(study, done)
    missing = sorted(set(key["cases"]) - set(done))
    if missing:
        raise ReaderStudyError(
            f"predict_many returned no output for {len(missing)} case(s): {', '.join(missing[:5])}"
        )
    write_text(cache, json.dumps(key, indent=1, sort_keys=True))
    return PrecomputeResult(False, len(key["cases"]), key["method"])
