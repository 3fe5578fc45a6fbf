"""The ``readerstudy`` command line: a thin Typer app over importable functions.

Each sub-command lives in :mod:`readerstudy.commands` and imports its backend (SimpleITK,
torch, statsmodels, Qt, ...) inside the command body, so ``readerstudy --help`` stays fast.
A :class:`~readerstudy.errors.ReaderStudyError` raised anywhere below is printed as one line
and answered with exit status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import errno
import importlib
from typing import Annotated

import typer
from typer.core import TyperGroup

from readerstudy import __version__
from readerstudy.errors import ReaderStudyError

# Order here is the order of ``readerstudy --help``.
COMMAND_MODULES = (
    "study",
    "console",
    "read",
    "simulate",
    "analyze",
    "dicom",
    "phantom",
    "atlas",
    "model",
    "demo",
)


_STORAGE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG, errno.EIO}
)
"""Operating-system errors a coordinator fixes (disk full, read-only, permissions), answered
in one line; any other OSError is a bug and keeps its traceback."""


class _DomainErrorGroup(TyperGroup):
    """Root group that turns domain errors into one line on stderr and exit status 2."""

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except ReaderStudyError as exc:
            if (ctx.obj or {}).get("debug"):
                raise
            typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(code=2) from None
        except OSError as exc:
            if exc.errno not in _STORAGE_ERRNOS or (ctx.obj or {}).get("debug"):
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            typer.secho(
                f"error: {where}{exc.strerror}; nothing was left half-written, free space or "
                "fix the permissions and run the command again",
                err=True,
                fg=typer.colors.RED,
            )
            raise typer.Exit(code=2) from None


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"readerstudy {__version__}")
        raise typer.Exit()


def _root(
    ctx: typer.Context,
    version: Annotated[
        bool | None,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = None,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="READERSTUDY_DEBUG",
            help="Show the full traceback for errors instead of a one-line reason.",
        ),
    ] = False,
) -> None:
    ctx.obj = {"debug": debug}


def build_app() -> typer.Typer:
    """The root app with every sub-command registered (a fresh one per call, for tests)."""
    root = typer.Typer(
        cls=_DomainErrorGroup,
        name="readerstudy",
        help="MRMC reader studies of acute ischemic stroke on non-contrast head CT.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    root.callback()(_root)
    for name in COMMAND_MODULES:
        importlib.import_module(f"readerstudy.commands.{name}").register(root)
    return root


app = build_app()


def main() -> None:
    """Console-script entry point."""
    app()
