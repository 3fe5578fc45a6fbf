"""Exceptions shared by the analysis modules.

``analysis`` cannot import :mod:`readerstudy`, so it raises these; the ``analyze`` command
converts them to ``ReaderStudyError`` (one line, exit status 2). Messages name the library's
parameter (``alpha``, ``plan``); the command maps ``parameter`` to its own option name.
"""

from __future__ import annotations


class AnalysisInputError(ValueError):
    """The input tables cannot be analysed as asked; the message names the problem and the fix.

    ``parameter`` is the argument at fault when one is (its name appears in the message).
    """

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


def check_alpha(alpha: float) -> None:
    """Refuse a significance level outside (0, 1)."""
    if not 0 < alpha < 1:
        raise AnalysisInputError(
            f"alpha must lie strictly between 0 and 1, got {alpha!r}", parameter="alpha"
        )
