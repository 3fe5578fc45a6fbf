"""Random damage to every kind of input a coordinator hands over: study.toml, the truth, AI,
ratings and times tables, NIfTI and DICOM images. Each example replaces a good file with
random bytes, a truncation, flipped bytes or an inserted run, and runs the real entry point
(``study lock``, ``study init``, ``analyze``). The only outcomes allowed are a domain error
(exit 2, one line, nothing left behind) or a correct result (checked per kind).

Deterministic (``derandomize``), so CI sees the same examples every run.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from analysis.files import read_csv_text
from analysis.units import UNITS
from readerstudy.cli import build_app
from readerstudy.imaging import load_volume, verify_nifti, write_dicom_series
from readerstudy.study.definition import load_definition
from readerstudy.study.protocol import Study, read_csv_rows
from tests.analysis.synthetic import paper_study
from tests.files import write_table
from tests.robustness.refusal import assert_one_line, snapshot
from tests.study.conftest import write_study_folder

runner = CliRunner()

FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _harmless(good: bytes) -> list[bytes]:
    """Versions of ``good`` that must read the same: as Excel saves text (byte-order mark,
    CRLF), with trailing blank lines; a binary file only as it is."""
    if b"\x00" in good or not good.isascii():
        return [good]
    lf = good.replace(b"\r\n", b"\n")
    return [b"\xef\xbb\xbf" + good, lf.replace(b"\n", b"\r\n"), lf, good + b"\n\n"]


@st.composite
def damaged(draw, good: bytes) -> bytes:
    """``good`` replaced, cut short, with bytes flipped, with a run inserted, or harmlessly
    re-saved (so the correct-result branch runs too)."""
    kind = draw(st.sampled_from(["random", "truncate", "flip", "insert", "harmless"]))
    if kind == "harmless":
        return draw(st.sampled_from(_harmless(good)))
    if kind == "random":
        return draw(st.binary(max_size=600))
    if kind == "truncate":
        return good[: draw(st.integers(0, len(good) - 1))]
    if kind == "flip":
        data = bytearray(good)
        for _ in range(draw(st.integers(1, 6))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    at = draw(st.integers(0, len(good)))
    return good[:at] + draw(st.binary(min_size=1, max_size=40)) + good[at:]


def _damage(path: Path, data) -> None:
    """Overwrite ``path`` with a damaged version of itself drawn from ``data``."""
    path.write_bytes(data.draw(damaged(path.read_bytes()), label=path.name))


def _cli(*args):
    return runner.invoke(build_app(), [str(a) for a in args])


def _refused_or_ok(result) -> bool:
    """True when the command succeeded; else it must be a one-line domain error."""
    event("accepted" if result.exit_code == 0 else "refused")  # --hypothesis-show-statistics
    if result.exit_code == 0:
        return True
    assert_one_line(result)
    return False


# -- study.toml: `study lock` -------------------------------------------------------------


@pytest.fixture(scope="module")
def study_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("toml") / "study"
    write_study_folder(folder)
    return folder


@FUZZ
@given(data=st.data())
def test_damaged_study_toml(study_template, data):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(shutil.copytree(study_template, Path(tmp) / "study"))
        _damage(folder / "study.toml", data)
        before = snapshot(folder)
        if _refused_or_ok(_cli("study", "lock", folder)):
            with Study.open(folder) as study:  # the lock holds what the file says
                assert study.definition == load_definition(folder)
                assert study.design_problems() == []
        else:
            assert snapshot(folder) == before


# -- truth, AI, NIfTI, DICOM: `study init` ------------------------------------------------


def _scan(seed: int, slices: int = 6) -> sitk.Image:
    values = np.random.default_rng(seed).normal(30, 5, (slices, 24, 24)).round()
    image = sitk.GetImageFromArray(values.astype(np.int16))
    image.SetSpacing((0.9, 0.9, 5.0))
    return image


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """Two NIfTI cases, one DICOM case, their truth and AI tables."""
    src = tmp_path_factory.mktemp("init") / "src"
    for i, case in enumerate(("anna", "bert")):
        (src / case).mkdir(parents=True)
        sitk.WriteImage(_scan(i), str(src / case / "scan.nii.gz"))
    write_dicom_series(_scan(7), src / "carl", seed=7)
    cases = ("anna", "bert", "carl")
    rng = np.random.default_rng(3)
    truth = [(c, u, int(rng.random() < 0.2)) for c in cases for u in UNITS]
    write_table(src / "truth.csv", ("case", "unit", "truth"), truth)
    ai = [(c, u, round(p, 3), int(p > 0.5)) for c in cases for u in UNITS if (p := rng.random())]
    write_table(src / "ai.csv", ("case", "unit", "probability", "call"), ai)
    return src


def _init(src: Path, study: Path, *extra):
    args = ("study", "init", study, "--cases", src, "--truth", src / "truth.csv")
    return _cli(*args, "--readers", "r1,r2", *extra)


def _given(path: Path) -> list[dict[str, str]]:
    """A coordinator's table as the importer reads it (Excel's CSV flavours included)."""
    text, delimiter = read_csv_text(path)
    rows = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [{k.strip(): v.strip() for k, v in row.items()} for row in rows]


def _check_study(src: Path, study: Path, ai: bool) -> None:
    """What a correct init gives: the truth and AI outputs it was handed, under the case
    codes, and every case whole and readable."""
    load_definition(study)
    code = {r["source"]: r["case"] for r in read_csv_rows(study / "manifest.csv")}
    stored = read_csv_rows(study / "truth.csv", ("case", "unit", "truth"))
    assert {(r["case"], r["unit"], r["truth"]) for r in stored} == {
        (code[r["case"]], r["unit"], r["truth"]) for r in _given(src / "truth.csv")
    }
    if ai:
        stored = read_csv_rows(study / "ai" / "ai_regions.csv", ("case", "unit", "probability"))
        assert {(r["case"], r["unit"], r["probability"]) for r in stored} == {
            (code[r["case"]], r["unit"], r["probability"]) for r in _given(src / "ai.csv")
        }
    for case in code.values():
        folder = study / "cases" / case
        niftis = sorted(folder.glob("*.nii*"))
        for nifti in niftis:
            verify_nifti(nifti)
        volume = load_volume(niftis[0] if niftis else folder)
        assert np.isfinite(sitk.GetArrayViewFromImage(volume.image)).all()


def _init_damaged(source: Path, data, target: str, *extra) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(shutil.copytree(source, Path(tmp) / "src"))
        _damage(src / target, data)
        before = snapshot(src)
        ai = ("--ai", src / "ai.csv") if "--ai" in extra else ()
        if _refused_or_ok(_init(src, Path(tmp) / "study", *ai)):
            _check_study(src, Path(tmp) / "study", ai=bool(ai))
        else:
            assert sorted(p.name for p in Path(tmp).iterdir()) == ["src"]
        assert snapshot(src) == before


@FUZZ
@given(data=st.data())
def test_damaged_truth_at_init(source, data):
    _init_damaged(source, data, "truth.csv")


@FUZZ
@given(data=st.data())
def test_damaged_ai_at_init(source, data):
    _init_damaged(source, data, "ai.csv", "--ai")


@FUZZ
@given(data=st.data())
def test_damaged_nifti_at_init(source, data):
    _init_damaged(source, data, "bert/scan.nii.gz")


@FUZZ
@given(data=st.data(), index=st.integers(0, 5))
def test_damaged_dicom_at_init(source, data, index):
    name = sorted(p.name for p in (source / "carl").iterdir())[index]
    _init_damaged(source, data, f"carl/{name}")


# -- ratings, truth, times, AI: `analyze` ---------------------------------------------------


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("analyze")
    study = paper_study(readers=2, cases=8, seed=5)
    for name in ("ratings", "truth", "times", "ai"):
        study[name].to_csv(folder / f"{name}.csv", index=False)
    return folder


def _finite_json(text: str) -> dict:
    """results.json as strict JSON: a NaN or infinity would be a silently broken figure."""

    def refuse(token: str) -> None:
        raise AssertionError(f"results.json holds {token}")

    return json.loads(text, parse_constant=refuse)


def _check_results(summary: dict) -> None:
    """A correct analysis: a consistent design, and every p-value and proportion in range."""
    design = summary["design"]
    assert design["readers"]
    assert design["units"] == design["cases"] * design["units_per_case"]

    def walk(node, key=""):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif key == "p" and node is not None:
            assert 0.0 <= node <= 1.0
        elif isinstance(node, float):
            assert math.isfinite(node)

    walk(summary)


@pytest.mark.parametrize("kind", ["ratings", "truth", "times", "ai"])
@FUZZ
@given(data=st.data())
def test_damaged_table_at_analyze(tables, kind, data):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(shutil.copytree(tables, Path(tmp) / "in"))
        _damage(folder / f"{kind}.csv", data)
        before = snapshot(folder)
        args = ["analyze", folder / "ratings.csv", "--truth", folder / "truth.csv"]
        args += ["--times", folder / "times.csv", "--ai", folder / "ai.csv", "--no-figures"]
        out = Path(tmp) / "out"
        if _refused_or_ok(_cli(*args, "--out", out)):
            _check_results(_finite_json((out / "results.json").read_text()))
        else:
            assert not out.exists()
        assert snapshot(folder) == before
