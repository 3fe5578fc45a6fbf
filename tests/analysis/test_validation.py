"""Every public function checks its input first: columns present, truth and calls 0/1, known
method names, and missing values refused (``nan_policy="raise"``) or left out ("omit")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from analysis import datasets
from analysis.analyze import Plan, analyze
from analysis.binary import clustered_mcnemar, mcnemar, sensitivity_specificity
from analysis.columns import Columns
from analysis.dbm import dbm_analysis
from analysis.errors import AnalysisInputError
from analysis.gee import gee_binary
from analysis.methods import Covariance
from analysis.mrmc import fom_covariance, prepare_for_fom
from analysis.timing import time_per_reader
from analysis.ustat import ustat_difference


@pytest.fixture(scope="module")
def tiny() -> pd.DataFrame:
    return datasets.load("tiny_mrmc")


@pytest.fixture(scope="module")
def times() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = [
        (reader, modality, f"c{k}", float(rng.uniform(20, 90)))
        for reader in ("R1", "R2")
        for modality in ("unaided", "aided")
        for k in range(5)
    ]
    return pd.DataFrame(rows, columns=["reader", "modality", "case", "active_s"])


def _with(data: pd.DataFrame, column: str, row: int, value: object) -> pd.DataFrame:
    out = data.copy()
    out[column] = out[column].astype(object)
    out.loc[out.index[row], column] = value
    return out


def test_sensitivity_specificity_names_a_missing_column(tiny):
    with pytest.raises(AnalysisInputError, match=r"lacks column\(s\) call='call'"):
        sensitivity_specificity(tiny.drop(columns="call"))
    renamed = tiny.rename(columns={"call": "decision"})
    table = sensitivity_specificity(renamed, columns=Columns(call="decision"))
    assert_frame_equal(table, sensitivity_specificity(tiny))


@pytest.mark.parametrize("column", ["truth", "call"])
@pytest.mark.parametrize("value", [2, 0.5, "yes"])
def test_sensitivity_specificity_refuses_values_other_than_0_and_1(tiny, column, value):
    with pytest.raises(AnalysisInputError, match=rf"column '{column}' must be 0 or 1.*at row 7"):
        sensitivity_specificity(_with(tiny, column, 7, value))


def test_sensitivity_specificity_nan_policy(tiny):
    gap = _with(tiny, "truth", 3, np.nan)
    with pytest.raises(AnalysisInputError, match=r"column 'truth' is empty in 1 row.*nan_policy"):
        sensitivity_specificity(gap)
    omitted = sensitivity_specificity(gap, nan_policy="omit")
    assert_frame_equal(omitted, sensitivity_specificity(tiny.drop(index=tiny.index[3])))
    with pytest.raises(AnalysisInputError, match="nan_policy must be one of"):
        sensitivity_specificity(tiny, nan_policy="drop")


def test_sensitivity_specificity_refuses_a_non_frame(tiny):
    with pytest.raises(TypeError, match="DataFrame"):
        sensitivity_specificity(tiny.to_dict())


def test_mcnemar_checks_its_calls(tiny):
    with pytest.raises(AnalysisInputError, match="column 'call' must be 0 or 1"):
        mcnemar(_with(tiny, "call", 0, 3), reference="unaided", test="aided")
    with pytest.raises(AnalysisInputError, match=r"lacks column\(s\) unit='unit'"):
        clustered_mcnemar(tiny.drop(columns="unit"), reference="unaided", test="aided")
    gap = _with(tiny, "call", 0, np.nan)
    with pytest.raises(AnalysisInputError, match="column 'call' is empty"):
        clustered_mcnemar(gap, reference="unaided", test="aided")
    with pytest.raises(AnalysisInputError, match="method must be one of"):
        mcnemar(tiny, reference="unaided", test="aided", method="midp")


def test_mcnemar_omits_a_pair_missing_in_both_modalities(tiny):
    unread = (tiny["reader"] == "R1") & (tiny["case"] == "c01") & (tiny["unit"] == "C_left")
    gap = tiny.assign(call=tiny["call"].where(~unread))
    omitted = mcnemar(gap, reference="unaided", test="aided", nan_policy="omit")
    assert_frame_equal(omitted, mcnemar(tiny[~unread], reference="unaided", test="aided"))


def test_time_per_reader_validates(times):
    with pytest.raises(
        AnalysisInputError, match=r"times table lacks column\(s\) seconds='active_s'"
    ):
        time_per_reader(times.drop(columns="active_s"))
    with pytest.raises(AnalysisInputError, match="'active_s' must hold finite, non-negative"):
        time_per_reader(_with(times, "active_s", 2, -4.0))
    with pytest.raises(AnalysisInputError, match="'active_s' must hold finite, non-negative"):
        time_per_reader(_with(times, "active_s", 2, "slow"))
    gap = _with(times, "active_s", 2, np.nan)
    with pytest.raises(AnalysisInputError, match="column 'active_s' is empty in 1 row"):
        time_per_reader(gap)
    omitted = time_per_reader(gap.astype({"active_s": float}), nan_policy="omit")
    assert_frame_equal(omitted, time_per_reader(times.drop(index=2)))
    renamed = times.rename(columns={"active_s": "seconds"})
    assert_frame_equal(
        time_per_reader(renamed, columns=Columns(seconds="seconds")), time_per_reader(times)
    )


def test_fom_covariance_refuses_unknown_estimators(tiny):
    prepared = prepare_for_fom(tiny, "auc")
    with pytest.raises(AnalysisInputError, match="covariance must be one of") as caught:
        fom_covariance(prepared, "auc", "jacknife")
    assert caught.value.parameter == "covariance"
    binary = prepare_for_fom(tiny, "sensitivity")
    with pytest.raises(AnalysisInputError, match="applies to the AUC only"):
        fom_covariance(binary, "sensitivity", Covariance.DELONG)
    with pytest.raises(AnalysisInputError, match="fom must be one of"):
        fom_covariance(prepared, "accuracy", "jackknife")


def test_enum_members_and_their_strings_give_the_same_analysis(tiny):
    by_name = fom_covariance(prepare_for_fom(tiny, "auc"), "auc", "obuchowski")
    by_member = fom_covariance(prepare_for_fom(tiny, "auc"), "auc", Covariance.OBUCHOWSKI)
    for a, b in zip(by_name, by_member, strict=True):
        np.testing.assert_array_equal(a, b)


def test_dbm_ustat_and_gee_check_first(tiny):
    with pytest.raises(AnalysisInputError, match="alpha must lie"):
        dbm_analysis(tiny, alpha=0)
    with pytest.raises(AnalysisInputError, match=r"lacks column\(s\) rating='score'"):
        ustat_difference(tiny, rating="score")
    with pytest.raises(AnalysisInputError, match=r"lacks column\(s\) truth='truth'"):
        ustat_difference(tiny.iloc[1:].drop(columns="truth"))  # incomplete: no crossing check
    with pytest.raises(AnalysisInputError, match=r"lacks column\(s\) case='case'"):
        gee_binary(
            tiny.drop(columns="case"), metric="sensitivity", reference="unaided", test="aided"
        )


def test_library_messages_name_parameters_not_command_options(tiny):
    """The analyze command adds its option names (readerstudy.commands.analyze.OPTIONS)."""
    refusals = [
        (lambda: analyze(tiny, alpha=2), "alpha"),
        (lambda: analyze(tiny, covariance="bootstrap"), "covariance"),
        (lambda: analyze(tiny, mcnemar_method="midp"), "mcnemar_method"),
        (lambda: analyze(tiny, reference="CT"), "reference"),
        (lambda: analyze(tiny.drop(columns="rating"), plan=Plan(6, 0.05)), "plan"),
        (lambda: Plan(6, 0.05, power=1.2), "plan.power"),
    ]
    for refuse, parameter in refusals:
        with pytest.raises(AnalysisInputError) as caught:
            refuse()
        assert caught.value.parameter == parameter
        assert "--" not in str(caught.value)
        assert str(caught.value).startswith(parameter.split(".")[0])
