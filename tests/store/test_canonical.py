"""The fast canonical writers give exactly canonical_json's text; stored times decode to UTC."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from readerstudy.store.canonical import (
    CanonicalTemplate,
    canonical_json,
    fast_loads,
    json_fragment,
)
from readerstudy.store.chain import READ_FORM, read_digest, text_digest
from readerstudy.store.schema import utc_result

SCALARS = [
    None,
    True,
    False,
    0,
    -7,
    2**70,
    1.0,
    -0.0,
    0.1 + 0.2,
    1e16,
    1e-7,
    5e-324,
    -1.7976931348623157e308,
    "",
    'quote " and backslash \\',
    "tab\tnewline\ncontrol\x01del\x7f",
    "Ümlaut, 中文, emoji 🧠, line sep \u2028",
]


@pytest.mark.parametrize("value", SCALARS, ids=repr)
def test_json_fragment_is_canonical_json(value):
    assert json_fragment(value) == canonical_json(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_json_fragment_refuses_what_canonical_json_refuses(value):
    with pytest.raises(ValueError, match="JSON compliant"):
        json_fragment(value)


def test_json_fragment_passes_containers_to_canonical_json():
    value = {"b": [1, 2.5, None], "a": {"z": "x"}}
    assert json_fragment(value) == canonical_json(value) == '{"a":{"z":"x"},"b":[1,2.5,null]}'


def test_a_template_fills_to_canonical_json_of_the_same_dict():
    template = CanonicalTemplate({"zeta": "z", "100%": "pct", "ä": {"b": "b", "a": "a"}})
    values = {"z": [3, {"y": 1}], "pct": "50 %", "b": None, "a": 1.5}
    filled = template.fill({name: canonical_json(v) for name, v in values.items()})
    expected = {"zeta": values["z"], "100%": values["pct"], "ä": {"b": None, "a": 1.5}}
    assert filled == canonical_json(expected)
    assert template.fields == ("pct", "z", "a", "b")  # sorted keys: "100%" < "zeta" < "ä"
    assert json.loads(filled) == expected


def test_the_read_form_hashes_to_read_digest():
    started = datetime(2026, 3, 2, 8, 0, 0, 250, tzinfo=UTC)
    content = {
        "reader": "r1",
        "session": 1,
        "modality": "aided",
        "case": "c1",
        "order": 3,
        "units": {"M1_left": {"call": 1, "rating": 4.0}},
        "active_s": 12.5,
        "wall_s": 13.0,
        "started_at": started,
        "submitted_at": started + timedelta(seconds=13),
        "intervals": [{"kind": "active", "start": started, "end": None}],
        "flags": ["x"],
        "extra": {"code": "S1-003"},
    }
    fragments = {name: canonical_json(value) for name, value in content.items()}
    body = READ_FORM.fill({**fragments, "study": '"s"', "id": "9", "version": "2"})
    assert text_digest(body) == read_digest("s", 9, 2, content)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("2026-03-02 08:00:00.123456", datetime(2026, 3, 2, 8, 0, 0, 123456, tzinfo=UTC)),
        ("2026-03-02 08:00:00", datetime(2026, 3, 2, 8, tzinfo=UTC)),
        ("2026-03-02T08:00:00.12345Z", datetime(2026, 3, 2, 8, 0, 0, 123450, tzinfo=UTC)),
        ("2026-03-02T09:00:00.5+01:00", datetime(2026, 3, 2, 8, 0, 0, 500000, tzinfo=UTC)),
        (
            datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=1))),
            datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        ),
        (datetime(2026, 3, 2, 8, 0), datetime(2026, 3, 2, 8, 0, tzinfo=UTC)),
        (None, None),
    ],
)
def test_stored_times_decode_to_aware_utc(stored, expected):
    decoded = utc_result(stored)
    assert decoded == expected
    if decoded is not None:
        assert decoded.utcoffset() == timedelta(0)
        assert decoded.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        canonical_json({"M1_left": {"call": 1, "rating": 4.0}, "é": [None, True, -0.0, 2**70]}),
        canonical_json(SCALARS),
        '"a string"',
        "[]",
        ' {"a": 1} ',  # whitespace: the general way
        "NaN",
    ],
)
def test_fast_loads_decodes_as_json_loads(text):
    decoded, expected = fast_loads(text), json.loads(text)
    assert json.dumps(decoded) == json.dumps(expected)  # NaN != NaN, their JSON is equal


@pytest.mark.parametrize("text", ['{"a":1', '{"a":1}x', "", '{"a":1},{"b":2}', "\ufeff{}"])
def test_fast_loads_refuses_what_json_loads_refuses(text):
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    with pytest.raises(json.JSONDecodeError):
        fast_loads(text)


def test_fast_loads_refuses_no_text():
    with pytest.raises(TypeError):
        fast_loads(None)
