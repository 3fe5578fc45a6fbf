"""The study definition (``study.toml``): a typed, validated pydantic model.

Errors are reported field by field with the TOML line they come from, like spaCy's
``show_validation_error``, so a coordinator can fix the file without reading a traceback.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import tomli_w
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from analysis.units import CASE_UNIT, UNITS
from readerstudy.errors import ReaderStudyError

SCHEMA = "readerstudy.study/1"
DEFINITION_FILE = "study.toml"


class Design(StrEnum):
    """How cases and modalities are spread over sessions."""

    SEQUENTIAL = "sequential"
    """The paper: session 1 reads every case with the first modality, session 2 with the second."""
    CROSSOVER = "crossover"
    """Two case halves x two reader groups; every session mixes both modalities."""


class UnitSet(StrEnum):
    """What a read rates: the 20 ASPECTS units, or the whole case (classic ROC studies)."""

    ASPECTS = "aspects"
    CASE = "case"

    @property
    def units(self) -> tuple[str, ...]:
        return UNITS if self is UnitSet.ASPECTS else (CASE_UNIT,)


class ConfidenceScale(StrEnum):
    """Optional confidence rating per unit; higher means more confident it is abnormal."""

    NONE = "none"
    FIVE_POINT = "1-5"
    PERCENT = "0-100"

    @property
    def bounds(self) -> tuple[float, float] | None:
        return {"1-5": (1.0, 5.0), "0-100": (0.0, 100.0)}.get(self.value)


class AISourceKind(StrEnum):
    """Where the aided reads' AI outputs come from."""

    EMBEDDED = "embedded"
    """The embedded model, precomputed by ``readerstudy study precompute``."""
    IMPORTED = "imported"
    """Another product's ``ai_regions.csv`` (+ masks), imported by ``study init --ai``."""


_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _plain_code(value: str, what: str, why: str) -> str:
    """``value`` when it is a plain code (:data:`_ID`); else a ValueError naming ``what`` and
    ``why`` it must be one."""
    if not _ID.match(value):
        raise ValueError(f"{what} {value!r} must be 1-64 letters, digits, '_', '.' or '-' ({why})")
    return value


def _within(low: int, high: int, unit: str = "") -> AfterValidator:
    """A finite number from ``low`` to ``high``: every number of a study is bounded, so a
    typo (``1e300`` days) is refused when the file is read, not deep in a date sum later."""

    def check(value: float) -> float:
        finite = not isinstance(value, float) or math.isfinite(value)
        if not (finite and low <= value <= high):
            unit_text = f" {unit}" if unit else ""
            raise ValueError(f"must be from {low} to {high}{unit_text}, got {value}")
        return value

    return AfterValidator(check)


MAX_WASHOUT_DAYS = 365
"""A washout longer than a year is not a reader study's (dates stay well inside datetime)."""
MAX_SEED = 2**63 - 1
"""Seeds fit a signed 64-bit integer, so every store and export keeps them exactly."""
HU_RANGE = (-1024, 3071)
"""The 12-bit CT range: where a display window's centre can sensibly sit."""

Days = Annotated[float, _within(0, MAX_WASHOUT_DAYS, "days")]
Seed = Annotated[int, _within(0, MAX_SEED)]
IdleSeconds = Annotated[float, _within(10, 3600, "seconds")]
WindowCenter = Annotated[float, _within(*HU_RANGE, "HU")]
WindowWidth = Annotated[float, _within(1, HU_RANGE[1] - HU_RANGE[0] + 1, "HU")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class Reader(_Strict):
    """One rater: a stable id (used in every table) and the name shown at login."""

    id: str
    name: str = ""

    @field_validator("id")
    @classmethod
    def _id_is_a_plain_code(cls, value: str) -> str:
        return _plain_code(value, "reader id", "it names the reader in every exported table")


class RatingForm(_Strict):
    """What the reader answers per unit: a binary call and optionally a confidence rating."""

    units: UnitSet = UnitSet.ASPECTS
    binary_call: bool = True
    confidence: ConfidenceScale = ConfidenceScale.NONE

    @model_validator(mode="after")
    def _asks_something(self) -> RatingForm:
        if not self.binary_call and self.confidence is ConfidenceScale.NONE:
            raise ValueError("the form asks nothing: set binary_call = true or a confidence scale")
        return self


class AISource(_Strict):
    """The AI outputs shown in aided reads."""

    source: AISourceKind = AISourceKind.EMBEDDED
    method: str = "auto"
    """Embedded model method passed to ``predict_many``: ``dualpath``, ``asymmetry`` or
    ``auto`` (the dual-path network when its weights are present, else the asymmetry method;
    precompute records which one ran)."""
    weights: str = ""
    """The method's weights instead of the shipped ones, e.g. a site's own dual-path weights
    folder; a relative path is taken from the study folder."""
    model_hash: str = ""
    """Hash of the imported ai_regions.csv or the embedded model, filled in by the import."""
    product: str = ""
    """Name of the other product whose outputs were imported."""


class Orientation(StrEnum):
    """Which patient side the viewer puts on screen left."""

    RADIOLOGICAL = "radiological"
    """Patient right on screen left, as if facing the patient (the PACS default)."""
    NEUROLOGICAL = "neurological"
    """Patient left on screen left, as if looking from above."""


_ACTION = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


class Viewer(_Strict):
    """How the workstation shows images; the same in every modality, so the comparison stays
    fair."""

    orientation: Orientation = Orientation.RADIOLOGICAL
    level_jumps: bool = False
    """Jump keys to the ganglionic and supraganglionic levels (the paper's readers had none)."""
    window_center: WindowCenter = 40.0
    window_width: WindowWidth = 80.0
    keymap: dict[str, str | tuple[str, ...]] = Field(default_factory=dict)
    """Action -> key sequence (or several) overriding the workstation's default keys."""

    @field_validator("keymap")
    @classmethod
    def _plain_keymap(
        cls, value: dict[str, str | tuple[str, ...]]
    ) -> dict[str, str | tuple[str, ...]]:
        keys = []
        for action, chosen in value.items():
            if not _ACTION.match(action):
                raise ValueError(
                    f"action {action!r} must be a lower_snake_case name (see the key map in "
                    "docs/rater.md)"
                )
            sequences = (chosen,) if isinstance(chosen, str) else chosen
            if not sequences or not all(k.strip() for k in sequences):
                raise ValueError(f"action {action!r}: the key sequence is empty")
            keys += [k.strip().lower() for k in sequences]
        shared = sorted({k for k in keys if keys.count(k) > 1})
        if shared:
            raise ValueError(f"one key for two actions: {', '.join(shared)}")
        return value


class StudyDefinition(_Strict):
    """Everything that defines a study; frozen once the first read starts."""

    schema_: Annotated[str, Field(alias="schema")] = SCHEMA
    name: str
    description: str = ""
    design: Design = Design.SEQUENTIAL
    modalities: tuple[str, str] = ("unaided", "aided")
    """Two modality names: the first is read without AI (the reference), the second with it."""
    washout_days: Days = 14
    seed: Seed = 0
    idle_timeout_s: IdleSeconds = 90
    allow_amendments: bool = False
    db: str | None = None
    """SQLAlchemy URL of a shared store (PostgreSQL); the study folder's SQLite when absent."""
    readers: tuple[Reader, ...]
    rating: RatingForm = RatingForm()
    ai: AISource = AISource()
    viewer: Viewer = Viewer()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("schema_")
    @classmethod
    def _known_schema(cls, value: str) -> str:
        if value != SCHEMA:
            raise ValueError(f"unknown schema {value!r}; this version reads {SCHEMA!r}")
        return value

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        return _plain_code(
            value,
            "study name",
            "it keys the study in a shared store and names exported files; use description for "
            "prose",
        )

    @field_validator("modalities")
    @classmethod
    def _two_distinct_modalities(cls, value: tuple[str, str]) -> tuple[str, str]:
        if value[0] == value[1] or not all(_ID.match(v) for v in value):
            raise ValueError(
                f"modalities must be two distinct plain names (unaided first), got {list(value)}"
            )
        return value

    @field_validator("readers")
    @classmethod
    def _unique_readers(cls, value: tuple[Reader, ...]) -> tuple[Reader, ...]:
        if not value:
            raise ValueError("the study needs at least one reader")
        ids = [r.id for r in value]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"reader ids must be unique; repeated: {', '.join(dupes)}")
        return value

    @model_validator(mode="after")
    def _crossover_needs_two_readers(self) -> StudyDefinition:
        if self.design is Design.CROSSOVER and len(self.readers) < 2:
            raise ValueError("a crossover design needs at least two readers (two groups)")
        return self

    @property
    def reference(self) -> str:
        """The modality read without AI."""
        return self.modalities[0]

    @property
    def aided(self) -> str:
        """The modality read with the AI overlay."""
        return self.modalities[1]

    @property
    def reader_ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.readers)

    @property
    def units(self) -> tuple[str, ...]:
        return self.rating.units.units

    def reader(self, reader_id: str) -> Reader:
        for reader in self.readers:
            if reader.id == reader_id:
                return reader
        raise ReaderStudyError(
            f"reader {reader_id!r} is not in study {self.name!r} "
            f"(readers: {', '.join(self.reader_ids)})"
        )

    def to_toml(self) -> str:
        """The definition as TOML text (the format of ``study.toml``)."""
        data = self._dump(exclude_none=True)
        readers, rating, ai = data.pop("readers"), data.pop("rating"), data.pop("ai")
        viewer = data.pop("viewer", None)
        for key in ("washout_days", "idle_timeout_s"):
            if float(data[key]).is_integer():
                data[key] = int(data[key])
        blocks = [
            "# readerstudy study definition (docs/coordinator.md). Frozen once reading starts.",
            _toml_table(data),
        ]
        blocks += ["[[readers]]\n" + _toml_table(reader) for reader in readers]
        blocks += ["[rating]\n" + _toml_table(rating), "[ai]\n" + _toml_table(ai)]
        if viewer is not None:
            keymap = viewer.pop("keymap")
            blocks.append("[viewer]\n" + _toml_table(viewer))
            if keymap:
                blocks.append("[viewer.keymap]\n" + _toml_table(keymap))
        return "\n".join(blocks)

    def _dump(self, **options: Any) -> dict[str, Any]:
        """The JSON form; a default ``[viewer]`` is left out, so studies defined before the
        table existed keep their content hash (and their lock)."""
        exclude: dict[str, Any] = {"viewer": True} if self.viewer == Viewer() else {}
        if not self.ai.weights:
            exclude["ai"] = {"weights"}  # likewise for studies defined before site weights
        return self.model_dump(mode="json", by_alias=True, exclude=exclude or None, **options)

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON form: what the lock checks on every open."""
        data = self._dump()
        blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()


def _toml_table(values: dict[str, Any]) -> str:
    """Key/value lines of one TOML table, values formatted by tomli-w."""
    return "".join(
        f"{key} = {tomli_w.dumps({'v': value}).partition('=')[2].strip()}\n"
        for key, value in values.items()
    )


class DefinitionError(ReaderStudyError):
    """study.toml is missing, not TOML, or fails validation (message lists every field)."""


def _toml_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best line of ``text`` for a pydantic error location such as ``('readers', 1, 'id')``."""
    lines = text.splitlines()
    table: tuple[str | int, ...] = ()
    counts: dict[str, int] = {}
    headers: dict[tuple[Any, ...], int] = {}
    keys: dict[tuple[Any, ...], int] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[["):
            name = line.strip("[] ")
            counts[name] = counts.get(name, -1) + 1
            table = (name, counts[name])
            headers[table] = number
            continue
        if line.startswith("["):
            table = tuple(line.strip("[] ").split("."))
            headers[table] = number
            continue
        match = re.match(r"^([A-Za-z0-9_\-\"']+)\s*=", line)
        if match:
            keys[(*table, match.group(1).strip("\"'"))] = number
    path = tuple(p for p in loc if p not in ("__root__",))
    if path and path[0] == "schema_":
        path = ("schema", *path[1:])
    while path:
        if path in keys:
            return keys[path]
        if path in headers:
            return headers[path]
        path = path[:-1]
    return None


def _messages(exc: ValidationError, name: Callable[[tuple[Any, ...]], str]) -> list[str]:
    """``name: reason`` per pydantic error, ``name`` given each error's location."""
    parts = []
    for err in exc.errors():
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            message = "required key is missing"
        elif err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against docs/coordinator.md)"
        parts.append(f"{name(tuple(err['loc']))}: {message}")
    return parts


def _describe(exc: ValidationError, text: str, source: str) -> str:
    def name(loc: tuple[Any, ...]) -> str:
        key = ".".join(str(p) for p in loc if p != "schema_") or "schema"
        if loc and loc[0] == "schema_":
            key = "schema"
        line = _toml_line(text, loc)
        return f"{key} ({f'line {line}' if line else 'missing'})"

    parts = _messages(exc, name)
    return f"{source}: {len(parts)} invalid field(s): " + "; ".join(parts)


def parse_definition(text: str, *, source: str = DEFINITION_FILE) -> StudyDefinition:
    """Validate TOML text; raise DefinitionError listing each bad key with its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(f"{source} is not valid TOML: {exc}") from None
    try:
        return StudyDefinition.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(_describe(exc, text, source)) from None


def definition_from_options(
    data: dict[str, Any], options: Mapping[tuple[str, ...], str], *, source: str
) -> StudyDefinition:
    """Validate a definition built from command-line options; raise one DefinitionError
    line naming each bad value by the option that gave it (``options`` maps a field path
    such as ``("rating", "confidence")`` to ``--confidence``; ``()`` names the whole)."""
    try:
        return StudyDefinition.model_validate(data)
    except ValidationError as exc:

        def name(loc: tuple[Any, ...]) -> str:
            for size in range(len(loc), -1, -1):
                if tuple(loc[:size]) in options:
                    return options[tuple(loc[:size])]
            return ".".join(map(str, loc))

        raise DefinitionError(f"{source}: " + "; ".join(_messages(exc, name))) from None


def load_definition(study_dir: Path) -> StudyDefinition:
    """Read and validate ``<study_dir>/study.toml``."""
    path = Path(study_dir) / DEFINITION_FILE
    if not path.is_file():
        raise DefinitionError(
            f"{path} not found: is {study_dir} a study folder? (`readerstudy study init` makes one)"
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError(
            f"{path} is not UTF-8 text (byte {exc.start} is 0x{raw[exc.start]:02x}): save it "
            "as UTF-8, or restore it from your backup"
        ) from None
    return parse_definition(text, source=str(path))


def write_definition(study_dir: Path, definition: StudyDefinition) -> Path:
    """Write ``study.toml`` (round-trips through :func:`parse_definition`)."""
    path = Path(study_dir) / DEFINITION_FILE
    path.write_text(definition.to_toml(), encoding="utf-8")
    return path
