"""``readerstudy simulate``: simulated readers through the reading API."""

from __future__ import annotations

import typer


def register(root: typer.Typer) -> None:
    """Registered once the study protocol exists (issue: study protocol engine)."""
