"""What the CLI shows of a model batch: warnings per case, and the table of failed cases."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import typer


def print_case_warnings(out_dir: Path, cases) -> None:
    """The warnings of ``cases`` (predicted into ``out_dir``) as ``warning:`` lines on stderr."""
    from readerstudy.workflows.ai import case_warnings

    for line in case_warnings(out_dir, sorted({str(c) for c in cases})):
        typer.secho(f"warning: {line}", err=True, fg=typer.colors.YELLOW)


@contextlib.contextmanager
def batch_report(out_dir: Path) -> Iterator[None]:
    """On a :class:`readerstudy.workflows.ai.BatchError`: print the warnings of the cases that
    succeeded and a table of the failed cases on stderr (the root command then exits with
    status 2)."""
    from readerstudy.workflows.ai import BatchError

    try:
        yield
    except BatchError as exc:
        print_case_warnings(out_dir, exc.table["case"])
        _print_failures(exc)
        raise


def _print_failures(error) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(error.failures)} failed case(s)", title_justify="left")
    table.add_column("case", no_wrap=True)
    table.add_column("reason")
    table.add_column("quick-look")
    for failure in error.failures:
        table.add_row(failure.case, failure.reason, str(failure.quicklook or ""))
    Console(stderr=True, width=120).print(table)
