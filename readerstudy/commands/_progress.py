"""The CLI's progress bar: rich, on stderr, shown only for work long enough to need one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol


class Update(Protocol):
    """The bar's ``update(done, total, label=None)``."""

    def __call__(self, done: int, total: int, label: str | None = None) -> None: ...


@contextlib.contextmanager
def progress_bar(description: str, *, min_total: int = 1) -> Iterator[Update]:
    """Yield ``update(done, total, label=None)``; the bar appears at the first update whose
    total reaches ``min_total`` (short jobs finish before a bar would help)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = None

    def update(done: int, total: int, label: str | None = None) -> None:
        nonlocal task
        if total < min_total:
            return
        if task is None:
            bar.start()
            task = bar.add_task(description, total=total)
        bar.update(task, completed=done, total=total, description=label or description)

    try:
        yield update
    finally:
        if task is not None:
            bar.stop()
