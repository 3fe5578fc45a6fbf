"""Whether a graphical display is available, decided without importing Qt."""

from __future__ import annotations

import os
import sys


def display_available() -> bool:
    """True where a Qt window can be shown: a desktop OS, or X11/Wayland with a display set.

    ``QT_QPA_PLATFORM=offscreen`` (tests, CI) counts as headless, so nothing tries to open a
    window there and Qt is never asked to connect to a display that does not exist.
    """
    if os.environ.get("QT_QPA_PLATFORM", "").lower() in {"offscreen", "minimal"}:
        return False
    if sys.platform in {"win32", "darwin"}:
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def require_display(command: str, instead: str) -> None:
    """Refuse ``readerstudy <command>``, which opens a window, where none can be shown; the
    one-line refusal names what to use ``instead``."""
    if not display_available():
        from readerstudy.errors import ReaderStudyError

        raise ReaderStudyError(
            f"readerstudy {command} opens a window and needs a display (DISPLAY or "
            "WAYLAND_DISPLAY unset, or QT_QPA_PLATFORM=offscreen); on a headless machine use "
            f"{instead} instead"
        )
