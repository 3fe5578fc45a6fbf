"""AI outputs for the aided reads: the embedded model's ``predict_many``, cached per study.

The cache key is the method and every case's content hash (``manifest.csv``); a rerun with the
same key reuses ``ai/ai_regions.csv`` and ``ai/masks/``. Once reading has started the outputs
are part of the locked design and are never recomputed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from readerstudy.errors import ReaderStudyError
from readerstudy.study.definition import AISourceKind
from readerstudy.study.protocol import (
    AI_TABLE,
    CASES_DIR,
    MANIFEST_FILE,
    Study,
    StudyLockedError,
    read_csv_rows,
)

CACHE_FILE = "cache.json"


@dataclass(frozen=True)
class PrecomputeResult:
    cached: bool
    cases: int
    method: str


def _cache_key(study: Study) -> dict:
    hashes = {r["case"]: r["content_hash"] for r in read_csv_rows(study.path / MANIFEST_FILE)}
    return {"method": study.definition.ai.method, "cases": hashes}


def precompute_ai(
    study: Study, *, progress: Callable[..., None] | None = None, force: bool = False
) -> PrecomputeResult:
    """Run ``readerstudy.ai.predict_many`` over the study's cases unless cached."""
    definition = study.definition
    if definition.ai.source is AISourceKind.IMPORTED:
        raise ReaderStudyError(
            f"study {definition.name} uses imported AI outputs ({study.ai_dir / AI_TABLE}); "
            "there is nothing to precompute"
        )
    key = _cache_key(study)
    cache = study.ai_dir / CACHE_FILE
    fresh = study.ai_available() and cache.is_file() and json.loads(cache.read_text()) == key
    if fresh and not force:
        return PrecomputeResult(True, len(key["cases"]), key["method"])
    if study.reading_started():
        raise StudyLockedError(
            f"study {definition.name}: reading has started, the AI outputs are part of the "
            "locked design and cannot be recomputed"
        )
    from readerstudy.ai import predict_many

    study.ai_dir.mkdir(exist_ok=True)
    table = predict_many(
        study.path / CASES_DIR, study.ai_dir, method=key["method"], progress=progress
    )
    missing = sorted(set(key["cases"]) - set(table["case"].astype(str)))
    if missing:
        raise ReaderStudyError(
            f"predict_many returned no output for {len(missing)} case(s): {', '.join(missing[:5])}"
        )
    cache.write_text(json.dumps(key, indent=1, sort_keys=True))
    return PrecomputeResult(False, len(key["cases"]), key["method"])
