"""study.toml validation: typed fields, errors naming key and line, round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from readerstudy.study.definition import (
    ConfidenceScale,
    DefinitionError,
    Design,
    StudyDefinition,
    load_definition,
    parse_definition,
    write_definition,
)

GOOD = """\
name = "chen2022"
design = "sequential"
washout_days = 14
seed = 2022

[[readers]]
id = "r1"
name = "Expert 1"

[[readers]]
id = "r2"

[rating]
confidence = "1-5"
"""


def test_a_minimal_definition_gets_the_papers_defaults():
    definition = parse_definition(GOOD)
    assert definition.design is Design.SEQUENTIAL
    assert definition.modalities == ("unaided", "aided")
    assert definition.reference == "unaided"
    assert definition.aided == "aided"
    assert definition.washout_days == 14
    assert definition.rating.confidence is ConfidenceScale.FIVE_POINT
    assert len(definition.units) == 20
    assert definition.reader("r1").name == "Expert 1"


def test_write_then_load_round_trips(study_dir):
    definition = parse_definition(GOOD)
    write_definition(study_dir, definition)
    assert load_definition(study_dir) == definition
    assert load_definition(study_dir).content_hash() == definition.content_hash()


def test_errors_name_every_bad_key_with_its_line():
    bad = GOOD.replace('design = "sequential"', 'design = "parallel"')
    bad = bad.replace('id = "r2"', 'id = "r 2"').replace("washout_days = 14", "washout = 14")
    with pytest.raises(DefinitionError) as info:
        parse_definition(bad, source="study.toml")
    message = str(info.value)
    assert message.startswith("study.toml: 3 invalid field(s)")
    assert "design (line 2): Input should be 'sequential' or 'crossover'" in message
    assert "washout (line 3): unknown key" in message
    assert "readers.1.id (line 11): reader id 'r 2'" in message


def test_missing_required_key_is_named():
    with pytest.raises(DefinitionError, match=r"readers \(missing\): required key is missing"):
        parse_definition('name = "x"\n')


@pytest.mark.parametrize(
    ("toml", "match"),
    [
        ("washout_days = -1", r"washout_days \(line 2\)"),
        ("idle_timeout_s = 0", r"idle_timeout_s \(line 2\)"),
        ('modalities = ["aided", "aided"]', r"modalities \(line 2\): modalities must be two"),
        ('design = "crossover"', "crossover design needs at least two readers"),
        ('schema = "readerstudy.study/9"', r"schema \(line 2\): unknown schema"),
    ],
)
def test_value_rules(toml, match):
    text = f'name = "x"\n{toml}\n\n[[readers]]\nid = "r1"\n'
    with pytest.raises(DefinitionError, match=match):
        parse_definition(text)


def test_duplicate_readers_and_empty_form_are_refused():
    with pytest.raises(ValueError, match="repeated: r1"):
        StudyDefinition(name="x", readers=[{"id": "r1"}, {"id": "r1"}])
    with pytest.raises(ValueError, match="the form asks nothing"):
        StudyDefinition(name="x", readers=[{"id": "r1"}], rating={"binary_call": False})


def test_not_toml_and_not_a_study(tmp_path):
    with pytest.raises(DefinitionError, match="not valid TOML"):
        parse_definition("name = ")
    with pytest.raises(DefinitionError, match="study init"):
        load_definition(tmp_path)


STUDIES = Path(__file__).resolve().parents[2] / "studies"


@pytest.mark.parametrize("name", ["chen2022", "demo"])
def test_shipped_study_definitions_validate(name):
    definition = load_definition(STUDIES / name)
    assert definition.design is Design.SEQUENTIAL
    assert len(definition.readers) == 4
    assert definition.washout_days == 14


def test_the_demo_definition_matches_what_the_demo_writes():
    from readerstudy.study.demo import DEMO_READERS, DEMO_SEED

    definition = load_definition(STUDIES / "demo")
    assert definition.reader_ids == DEMO_READERS
    assert definition.seed == DEMO_SEED
    assert definition.rating.confidence is ConfidenceScale.FIVE_POINT


def test_the_name_is_a_plain_id():
    with pytest.raises(ValueError, match="study name 'my study' must be"):
        StudyDefinition(name="my study", readers=[{"id": "r1"}])
