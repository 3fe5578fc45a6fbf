"""``readerstudy analyze``: the paper's statistics and MRMC ROC analysis."""

from __future__ import annotations

import typer


def register(root: typer.Typer) -> None:
    """Registered once the analysis command exists (issue: analysis)."""
