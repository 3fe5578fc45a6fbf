"""Hotkeys: documented defaults, a study's overrides (study.toml) and a per-user keymap file.

Later layers win: defaults, then the study's ``[viewer.keymap]`` (identical in both
modalities), then the user's file (``keymap.toml`` in the user config folder, or the file
named by ``READERSTUDY_KEYMAP``). A file maps action names to a key or a list of keys::

    slice_up = ["Up", "Ctrl+Up"]
    pause = "F5"

The unit keys follow the form's layout on the keyboard: each hemisphere panel is a 4-3-3
grid (C L IC I / M1 M2 M3 / M4 M5 M6), the screen-left panel on Q W E R / A S D / Z X C and
the screen-right panel on U I O P / J K L / M , . -- so the hand that presses a key sits on the
same side as the region on screen.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QKeySequence

from readerstudy.study.workstation import ReaderStudyError

USER_KEYMAP_ENV = "READERSTUDY_KEYMAP"

GANGLIONIC = ("C", "L", "IC", "I", "M1", "M2", "M3")
SUPRAGANGLIONIC = ("M4", "M5", "M6")
REGIONS = GANGLIONIC + SUPRAGANGLIONIC
_SCREEN_LEFT_KEYS = ("Q", "W", "E", "R", "A", "S", "D", "Z", "X", "C")
_SCREEN_RIGHT_KEYS = ("U", "I", "O", "P", "J", "K", "L", "M", ",", ".")


# Keys a keyboard labels differently from Qt's names (both Enter keys read "Enter").
_DISPLAY_NAMES = {
    "Return": "Enter",
    "Backtab": "Shift+Tab",
    "PgUp": "Page Up",
    "PgDown": "Page Down",
}


class KeymapError(ReaderStudyError):
    """A keymap names an unknown action, an unreadable key, or gives one key to two actions."""


@dataclass(frozen=True)
class Action:
    name: str
    keys: tuple[str, ...]
    description: str
    group: str


def unit_action(screen_side: str, region: str) -> str:
    """Action name of a unit toggle by its panel's side on screen (``screen_left_m1``)."""
    return f"screen_{screen_side}_{region.lower()}"


def unit_of_action(action: str) -> tuple[str, str]:
    """(screen side, region) of a unit action: ``screen_left_ic`` -> ("left", "IC")."""
    _, side, region = action.split("_", 2)
    return side, {r.lower(): r for r in REGIONS}[region]


def _defaults() -> tuple[Action, ...]:
    reading = [
        Action("submit", ("Return", "Enter"), "Submit the case (press again to confirm)", "Read"),
        Action("cancel", ("Escape",), "Cancel a pending submit; close this help", "Read"),
        Action("pause", ("Space",), "Pause the read (hides the image) / resume", "Read"),
        Action("next_unit", ("Tab",), "Select the next unit (for its confidence)", "Read"),
        Action("previous_unit", ("Shift+Tab", "Backtab"), "Select the previous unit", "Read"),
        Action("confidence_up", ("Shift+Up",), "Raise the selected unit's confidence", "Read"),
        Action("confidence_down", ("Shift+Down",), "Lower the selected unit's confidence", "Read"),
        Action("help", ("F1", "?"), "Show or hide this key map", "Read"),
        Action("quit", ("Ctrl+Q",), "Log out (an open read reopens at the next login)", "Read"),
    ]
    reading += [
        Action(f"rate_{n}", (str(n),), f"Confidence {n} for the selected unit", "Confidence")
        for n in range(1, 6)
    ]
    viewer = [
        Action("slice_up", ("Up",), "Next slice up (superior)", "Image"),
        Action("slice_down", ("Down",), "Next slice down (inferior)", "Image"),
        Action("slice_page_up", ("PgUp",), "Five slices up", "Image"),
        Action("slice_page_down", ("PgDown",), "Five slices down", "Image"),
        Action("slice_top", ("End",), "Most superior slice", "Image"),
        Action("slice_bottom", ("Home",), "Most inferior slice", "Image"),
        Action("preset_brain", ("F2",), "Window Brain W80 L40 (default)", "Image"),
        Action("preset_stroke", ("F3",), "Window Stroke W40 L40", "Image"),
        Action("preset_narrow", ("F4",), "Window Narrow W8 L32", "Image"),
        Action("zoom_in", ("=", "+"), "Zoom in", "Image"),
        Action("zoom_out", ("-",), "Zoom out", "Image"),
        Action("reset_view", ("F",), "Reset zoom, pan and window", "Image"),
        Action(
            "jump_ganglionic", ("G",), "Jump to the ganglionic level (if the study allows)", "Image"
        ),
        Action(
            "jump_supraganglionic",
            ("H",),
            "Jump to the supraganglionic level (if allowed)",
            "Image",
        ),
    ]
    ai = [
        Action("toggle_overlay", ("V",), "Show or hide the AI overlay (aided reads)", "AI"),
        Action("toggle_outlines", ("B",), "Show or hide the region outlines (aided reads)", "AI"),
        Action("opacity_up", ("]",), "AI overlay opacity +0.05", "AI"),
        Action("opacity_down", ("[",), "AI overlay opacity -0.05", "AI"),
    ]
    units = []
    for side, keys in (("left", _SCREEN_LEFT_KEYS), ("right", _SCREEN_RIGHT_KEYS)):
        for region, key in zip(REGIONS, keys, strict=True):
            units.append(
                Action(
                    unit_action(side, region),
                    (key,),
                    f"Toggle {region} of the hemisphere on screen {side}",
                    f"Units, screen {side}",
                )
            )
    return (*reading, *viewer, *ai, *units)


DEFAULT_ACTIONS = _defaults()


def _normalized(action: str, key: str) -> str:
    sequence = QKeySequence(key)
    text = sequence.toString(QKeySequence.SequenceFormat.PortableText)
    if not key.strip() or not text or sequence.count() != 1:
        raise KeymapError(f"keymap: action {action!r} has an unreadable key {key!r}")
    return text


class Keymap:
    """Action name -> key sequences, checked for unknown actions and clashes."""

    def __init__(self, layers: tuple[tuple[str, Mapping[str, object]], ...] = ()) -> None:
        self._actions = {a.name: a for a in DEFAULT_ACTIONS}
        keys = {a.name: tuple(_normalized(a.name, k) for k in a.keys) for a in DEFAULT_ACTIONS}
        for source, overrides in layers:
            for action, value in overrides.items():
                if action not in self._actions:
                    raise KeymapError(
                        f"{source}: unknown action {action!r} (actions are listed in "
                        "docs/rater.md, 'Keys')"
                    )
                chosen = [value] if isinstance(value, str) else value
                if not isinstance(chosen, list | tuple) or not all(
                    isinstance(k, str) for k in chosen
                ):
                    raise KeymapError(f"{source}: {action} must be a key or a list of keys")
                keys[action] = tuple(_normalized(action, k) for k in chosen)
        owner: dict[str, str] = {}
        for action, sequences in keys.items():
            for sequence in sequences:
                if sequence in owner:
                    raise KeymapError(
                        f"keymap: {sequence!r} is given to both {owner[sequence]} and {action}; "
                        "give one of them another key"
                    )
                owner[sequence] = action
        self._keys = keys

    def keys(self, action: str) -> tuple[str, ...]:
        return self._keys[action]

    def label(self, action: str) -> str:
        """The keys of an action as the reader sees them (``F1 / ?``)."""
        names: list[str] = []
        for key in self._keys[action]:
            text = QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)
            text = _DISPLAY_NAMES.get(text, text)
            if text not in names:
                names.append(text)
        return " / ".join(names)

    def actions(self) -> tuple[Action, ...]:
        return tuple(self._actions.values())


def user_keymap_path() -> Path:
    """Where the reader's own keymap file is looked for."""
    if os.environ.get(USER_KEYMAP_ENV):
        return Path(os.environ[USER_KEYMAP_ENV])
    from platformdirs import user_config_dir

    return Path(user_config_dir("readerstudy")) / "keymap.toml"


def load_keymap(study_keymap: Mapping[str, object], user_file: Path | None = None) -> Keymap:
    """Defaults, then the study's overrides, then the user's file (when it exists)."""
    layers: list[tuple[str, Mapping[str, object]]] = [("study.toml [viewer.keymap]", study_keymap)]
    path = user_keymap_path() if user_file is None else user_file
    if path.is_file():
        try:
            layers.append((str(path), tomllib.loads(path.read_text(encoding="utf-8"))))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise KeymapError(f"{path} is not a valid TOML keymap: {exc}") from None
    return Keymap(tuple(layers))
