"""Exceptions shared by the analysis modules.

``analysis`` cannot import :mod:`readerstudy`, so it raises these; the ``analyze`` command
converts them to ``ReaderStudyError`` (one line, exit status 2).
"""

from __future__ import annotations


class AnalysisInputError(ValueError):
    """The input tables cannot be analysed as asked; the message names the problem and the fix."""
