"""The ``readerstudy`` command line: a thin Typer app over importable functions.

Each sub-command lives in :mod:`readerstudy.commands` and imports its backend (SimpleITK,
torch, statsmodels, Qt, ...) inside the command body, so ``readerstudy --help`` stays fast.
A :class:`~readerstudy.errors.ReaderStudyError` raised anywhere below (or an output folder
that is a file, or a full disk) is printed as one line and answered with exit status 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
from typing import Annotated

import typer
from typer.core import TyperGroup

from analysis.files import NotAFolderError, storage_error
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
    "doctor",
)


class _DomainErrorGroup(TyperGroup):
    """Root group that turns domain errors into one line on stderr and exit status 2."""

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (ReaderStudyError, NotAFolderError) as exc:
            if (ctx.obj or {}).get("debug"):
                raise
            typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(code=2) from None
        except OSError as exc:
            cause = storage_error(exc)
            if cause is None or (ctx.obj or {}).get("debug"):
                raise
            where = f"{cause.filename}: " if cause.filename else ""
            typer.secho(
                f"error: {where}{cause.strerror}; nothing was left half-written, free space or "
                "fix the permissions and run the command again",
                err=True,
                fg=typer.colors.RED,
            )
            raise typer.Exit(code=2) from None


def _print_version(value: bool) -> None:
    if value:
        from readerstudy.provenance import version_lines

        for line in version_lines():
            typer.echo(line)
        raise typer.Exit()


def _root(
    ctx: typer.Context,
    version: Annotated[
        bool | None,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version, the git commit and the embedded model's hash, and exit.",
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
