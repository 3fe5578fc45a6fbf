"""The files of a dual-path weights folder and the checked read of its ``model.json``.

:func:`model.train.train` writes the folder; :class:`model.dualpath.DualPathMethod` reads its
description here, without torch, so that the method's identity (its version hash) costs no
torch import; the network itself is loaded by :func:`model.train.load_trained`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analysis.files import file_sha256
from model.errors import MethodError

SCHEMA = "readerstudy.dualpath/1"
WEIGHTS_FILE = "weights.pt"
CARD_FILE = "model.json"


def read_card(folder: Path | str) -> dict[str, Any]:
    """The ``model.json`` of a weights folder, checked against its ``weights.pt``."""
    folder = Path(folder)
    card_path, weights = folder / CARD_FILE, folder / WEIGHTS_FILE
    if not card_path.is_file() or not weights.is_file():
        raise MethodError(
            f"{folder} is not a dual-path weights folder: it needs {CARD_FILE} and {WEIGHTS_FILE}"
        )
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MethodError(f"cannot read {card_path}: {exc}") from exc
    if not isinstance(card, dict) or card.get("schema") != SCHEMA:
        raise MethodError(f"{card_path} is not a {SCHEMA} model card")
    if card.get("sha256") != file_sha256(weights):
        raise MethodError(
            f"{weights} does not match the sha256 in {card_path}: the folder was changed; "
            "restore it or train again"
        )
    return card
