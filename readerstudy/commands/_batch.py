"""What the CLI shows of a model batch: warnings per case, and the table of failed cases."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import typer


@contextlib.contextmanager
def batch_report() -> Iterator[None]:
    """Print :class:`readerstudy.ai.AIWarning` as ``warning:`` lines on stderr; on a
    :class:`readerstudy.ai.BatchError`, print a table of the failed cases on stderr first (the
    root command then exits with status 2)."""
    from readerstudy.ai import AIWarning, BatchError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AIWarning)
        try:
            yield
        except BatchError as exc:
            _print_failures(exc)
            raise
        finally:
            for item in caught:
                if issubclass(item.category, AIWarning):
                    typer.secho(f"warning: {item.message}", err=True, fg=typer.colors.YELLOW)
                else:
                    warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)


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
