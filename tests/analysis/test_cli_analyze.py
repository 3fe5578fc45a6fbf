"""``readerstudy analyze`` end to end: a paper-size synthetic study and the Van Dyke data."""

from __future__ import annotations

import html
import json
import re

import nibabel
import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from readerstudy.cli import app
from tests.analysis.synthetic import paper_study

runner = CliRunner()

CONTRACT_KEYS = ("schema", "reference", "test", "binary", "reading_time", "agreement")


def _write_masks(folder, cases, rng, *, noisy: bool):
    folder.mkdir(parents=True)
    for case in cases:
        mask = np.zeros((12, 12, 6), np.uint8)
        mask[3:8, 4:9, 1:4] = 1
        if noisy:
            mask[rng.random(mask.shape) < 0.05] ^= 1
        nibabel.Nifti1Image(mask, np.eye(4)).to_filename(folder / f"{case}.nii.gz")


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    """The paper's design (4 readers x 2 modalities x 85 cases x 20 units) through the CLI."""
    root = tmp_path_factory.mktemp("paper")
    tables = paper_study(seed=5)
    for name, frame in tables.items():
        frame.to_csv(root / f"{name}.csv", index=False)
    rng = np.random.default_rng(0)
    cases = tables["cases"]["case"][:6]
    _write_masks(root / "model_masks", cases, rng, noisy=True)
    _write_masks(root / "truth_masks", cases, rng, noisy=False)
    out = root / "out"
    result = runner.invoke(
        app,
        [
            "analyze",
            str(root / "ratings.csv"),
            "--truth",
            str(root / "truth.csv"),
            "--times",
            str(root / "times.csv"),
            "--cases",
            str(root / "cases.csv"),
            "--ai",
            str(root / "ai.csv"),
            "--masks",
            str(root / "model_masks"),
            "--truth-masks",
            str(root / "truth_masks"),
            "--out",
            str(out),
            "--gee",
        ],
    )
    assert result.exit_code == 0, result.output
    return tables, out, result.output


def test_results_json_has_every_contract_key(paper_run):
    _, out, _ = paper_run
    results = json.loads((out / "results.json").read_text())
    for key in CONTRACT_KEYS:
        assert key in results
    assert results["schema"] == "readerstudy.results/1"
    assert (results["reference"], results["test"]) == ("unaided", "aided")
    binary = results["binary"]
    assert len(binary["per_reader"]) == 8
    entry = binary["per_reader"][0]
    assert set(entry["sensitivity"]) == {"estimate", "ci", "successes", "trials"}
    assert {m["metric"] for m in binary["mcnemar"]} == {"sensitivity", "specificity"}
    for metric in ("sensitivity", "specificity"):
        average = binary["reader_average"][metric]
        assert set(average["per_modality"]) == {"unaided", "aided"}
        assert set(average["difference"]) >= {"estimate", "ci", "p"}
    assert len(binary["clustered"]) == 8
    timing = results["reading_time"]
    assert set(timing["paired_t"]) >= {"t", "df", "p"}
    assert timing["per_modality"]["aided"]["mean_s"] < timing["per_modality"]["unaided"]["mean_s"]
    for basis in ("region", "score"):
        assert results["agreement"]["icc"][basis]["aided"]["type"] == "ICC(A,1)"
    roc = results["roc_mrmc"]
    assert (roc["method"], roc["covariance"], roc["df"]) == ("OR", "jackknife", "Hillis")
    assert set(roc["auc"]["aided"]["per_reader"]) == {"R1", "R2", "R3", "R4"}
    assert roc["difference"]["estimate"] > 0
    assert roc["fixed_readers"] is not None
    assert roc["fixed_cases"] is not None
    model = results["model"]
    assert model["auc"]["method"] == "obuchowski"
    assert model["auc_delong"]["method"] == "delong"
    assert model["auc"]["estimate"] == model["auc_delong"]["estimate"]
    assert model["auc"]["se"] != model["auc_delong"]["se"]  # clustered vs independent units
    assert 0 < model["dsc"] < 1
    assert model["segmentation"]["cases"] == 6
    assert {"dichotomised", "bland_altman", "region_sensitivity"} <= set(results["clinical"])


def test_aided_readers_are_better_as_simulated(paper_run):
    _, out, output = paper_run
    results = json.loads((out / "results.json").read_text())
    average = results["binary"]["reader_average"]["sensitivity"]
    assert (
        average["per_modality"]["aided"]["estimate"]
        > average["per_modality"]["unaided"]["estimate"]
    )
    assert average["difference"]["p"] < 0.05
    assert "sensitivity: unaided" in output
    assert "(OR-Hillis)" in output


def test_workbook_opens_with_the_paper_tables(paper_run):
    _, out, _ = paper_run
    results = json.loads((out / "results.json").read_text())
    book = load_workbook(out / "report.xlsx", read_only=True)
    names = book.sheetnames
    assert names[:2] == ["Table 2", "Table 3"]
    for sheet in (
        "sensitivity specificity",
        "mcnemar",
        "clustered comparison",
        "icc",
        "reader average",
        "reading time",
        "roc auc per reader",
        "segmentation",
        "methods",
    ):
        assert sheet in names
    table2 = list(book["Table 2"].iter_rows(values_only=True))
    assert table2[0] == ("reader / measure", "unaided", "aided", "p", "p (clustered)")
    assert "Durkalski" in table2[-1][0]
    r1 = next(
        e
        for e in results["binary"]["per_reader"]
        if e["reader"] == "R1" and e["modality"] == "aided"
    )
    sens = r1["sensitivity"]
    expected = f"{sens['estimate']:.3f} ({sens['ci'][0]:.3f}, {sens['ci'][1]:.3f})"
    assert any(row[2] == expected for row in table2)
    assert any(str(row[0]).strip() == "Region-based ICC" for row in table2)
    tidy = pd.read_excel(out / "report.xlsx", sheet_name="sensitivity specificity")
    row = tidy[
        (tidy["reader"] == "R1") & (tidy["modality"] == "aided") & (tidy["metric"] == "sensitivity")
    ].iloc[0]
    assert row["estimate"] == pytest.approx(sens["estimate"], abs=1e-12)
    table3 = list(book["Table 3"].iter_rows(values_only=True))
    assert table3[-1][0] == "Average"
    assert "±" in table3[-1][1]
    book.close()


def test_html_is_self_contained_with_figures_and_methods(paper_run):
    _, out, _ = paper_run
    page = (out / "report.html").read_text()
    for name in ("roc_readers", "forest", "reading_time", "regions", "bland_altman"):
        assert f"id='fig-{name}'" in page
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000
    assert page.count("src='data:image/png;base64,") == 5
    assert "<h2 id='methods'>Methods</h2>" in page
    for method in (
        "Clopper-Pearson",
        "Durkalski",
        "ICC(A,1)",
        "Hillis",
        "DeLong",
        "Bland-Altman",
        "paired t-test",
    ):
        assert method in page
    assert "http" not in page.split("<h2 id='methods'>")[0].replace("http-equiv", "")


def test_exports_for_imrmc_and_long_csv(paper_run):
    tables, out, _ = paper_run
    text = (out / "exports" / "ratings.imrmc").read_text().splitlines()
    start = text.index("BEGIN DATA:")
    header = dict(line.split(": ", 1) for line in text[:start] if ": " in line)
    positives = int(tables["truth"]["truth"].sum())
    assert header["NR"] == "4"
    assert header["NM"] == "2"
    assert int(header["N1"]) == positives
    assert int(header["N0"]) == len(tables["truth"]) - positives
    rows = [line.split(",") for line in text[start + 1 :] if line]
    truth_rows = [r for r in rows if r[0] == "-1"]
    assert len(truth_rows) == len(tables["truth"])
    assert len(rows) - len(truth_rows) == len(tables["ratings"])
    long = pd.read_csv(out / "exports" / "ratings_long.csv")
    assert list(long.columns[:5]) == ["reader", "treatment", "case", "truth", "rating"]
    assert long["case"].nunique() == len(tables["truth"])


def test_study_folder_of_exported_csvs(tmp_path):
    tables = paper_study(readers=3, cases=20, seed=8)
    for name in ("ratings", "truth", "times", "cases"):
        tables[name].to_csv(tmp_path / f"{name}.csv", index=False)
    result = runner.invoke(
        app,
        [
            "analyze",
            str(tmp_path),
            "--no-figures",
            "--mcnemar",
            "chi2",
            "--covariance",
            "obuchowski",
            "--plan-readers",
            "6",
            "--plan-effect",
            "0.05",
        ],
    )
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "analysis" / "results.json").read_text())
    assert results["roc_mrmc"]["covariance"] == "obuchowski"
    assert results["binary"]["mcnemar"][0]["method"].startswith("McNemar chi-square")
    assert "model" not in results
    planning = results["planning"]
    assert (planning["readers"], planning["effect"], planning["pilot_cases"]) == (6, 0.05, 20)
    needed = planning["cases_needed"]
    powers = {row["n_cases"]: row["power"] for row in planning["grid"]}
    assert powers[needed] >= 0.8
    assert all(p < 0.8 for n, p in powers.items() if n < needed)
    assert "planning" in load_workbook(tmp_path / "analysis" / "report.xlsx").sheetnames


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    tables = paper_study(readers=2, cases=5, seed=9)
    ratings = tables["ratings"]
    ratings.loc[0, "unit"] = "M9_left"
    ratings.to_csv(tmp_path / "ratings.csv", index=False)
    tables["truth"].to_csv(tmp_path / "truth.csv", index=False)
    result = runner.invoke(
        app, ["analyze", str(tmp_path / "ratings.csv"), "--truth", str(tmp_path / "truth.csv")]
    )
    assert result.exit_code == 2
    assert "unknown unit(s) 'M9_left'" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(
        app, ["analyze", str(tmp_path / "ratings.csv"), "--masks", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "need both mask folders" in result.output
    result = runner.invoke(app, ["analyze", str(tmp_path / "ratings.csv"), "--plan-readers", "6"])
    assert result.exit_code == 2
    assert "--plan-effect" in result.output


# Iowa OR-DBM MRMC 2.51 output archived in RJafroc (refdata/README.md): trapezoidal AUC,
# jackknife covariance, Hillis df, random readers and cases. Published differences are
# treatment 1 - 2; ours are test - reference = 2 - 1, so the sign flips and the CI swaps.
VANDYKE_AUC = {
    "1": [0.91964573, 0.85877617, 0.90386473, 0.97310789, 0.82979066],
    "2": [0.94782609, 0.90531401, 0.92173913, 0.99935588, 0.92995169],
}


def test_vandyke_through_the_cli_reproduces_the_published_or_analysis(refdata, tmp_path):
    vandyke = pd.read_csv(refdata / "vandyke.csv")
    ratings = vandyke.rename(columns={"treatment": "modality"}).assign(unit="case")
    ratings[["reader", "modality", "case", "unit", "rating"]].to_csv(
        tmp_path / "ratings.csv", index=False
    )
    ratings[["case", "unit", "truth"]].drop_duplicates().to_csv(tmp_path / "truth.csv", index=False)
    result = runner.invoke(
        app,
        [
            "analyze",
            str(tmp_path / "ratings.csv"),
            "--truth",
            str(tmp_path / "truth.csv"),
            "--out",
            str(tmp_path / "out"),
            "--no-figures",
        ],
    )
    assert result.exit_code == 0, result.output
    roc = json.loads((tmp_path / "out" / "results.json").read_text())["roc_mrmc"]
    for modality, aucs in VANDYKE_AUC.items():
        per_reader = roc["auc"][modality]["per_reader"]
        assert [per_reader[r] for r in ("1", "2", "3", "4", "5")] == pytest.approx(aucs, abs=1e-6)
    assert roc["auc"]["1"]["estimate"] == pytest.approx(0.89703704, abs=1e-8)
    assert roc["auc"]["2"]["estimate"] == pytest.approx(0.94083736, abs=1e-8)
    diff = roc["difference"]
    assert diff["estimate"] == pytest.approx(0.04380032, abs=5e-9)
    assert round(diff["se"], 5) == 0.02075
    assert [round(diff["ci"][0], 5), round(diff["ci"][1], 5)] == [-0.00036, 0.08796]
    assert round(diff["F"], 2) == 4.46
    assert round(diff["df2"], 2) == 15.26
    assert round(diff["p"], 4) == 0.0517


def test_study_folder_with_study_toml_is_exported_from_its_store(tmp_path, monkeypatch):
    tables = paper_study(readers=2, cases=8, seed=12)
    (tmp_path / "study.toml").write_text("name = 'probe'\n")
    calls = []

    def export_tables(folder, db=None):
        calls.append((folder, db))
        return {name: tables[name] for name in ("ratings", "truth", "times", "cases", "ai")}

    monkeypatch.setattr("readerstudy.workflows.export.export_tables", export_tables)
    result = runner.invoke(app, ["analyze", str(tmp_path), "--no-figures"])
    assert result.exit_code == 0, result.output
    assert calls == [(tmp_path, None)]  # the store study.toml names
    results = json.loads((tmp_path / "analysis" / "results.json").read_text())
    assert results["design"]["cases"] == 8
    assert results["model"]["dsc"] is None  # no masks: the contract key is null


def test_primary_comparisons_random_and_fixed_readers_side_by_side(paper_run):
    _, out, output = paper_run
    results = json.loads((out / "results.json").read_text())
    book = load_workbook(out / "report.xlsx", read_only=True)
    rows = list(book["Comparisons"].iter_rows(values_only=True))
    book.close()
    assert rows[0] == ("comparison", "analysis", "difference (CI)", "df (denominator)", "p")
    by = {(r[0], r[1]): r for r in rows[1:]}
    for label, entry in (
        ("Sensitivity", results["binary"]["reader_average"]["sensitivity"]),
        ("AUC", results["roc_mrmc"]),
    ):
        random = by[(label, "random readers and cases (OR, Hillis df)")]
        assert random[3] == f"{entry['difference']['df2']:.1f}"
        fixed = by[(label, "fixed readers, random cases")]
        lo, hi = entry["fixed_readers"]["ci"]
        assert fixed[2] == f"{entry['fixed_readers']['estimate']:.3f} ({lo:.3f}, {hi:.3f})"
        assert fixed[3] == "∞"
        assert (label, "random readers, fixed cases") in by
    # 4 readers: the random-reader ddf is about 3, and the notes say so everywhere.
    assert results["roc_mrmc"]["difference"]["df2"] < 5
    small = [n for n in results["notes"] if "denominator df" in n]
    assert len(small) == 3
    assert all(f"note: {n}" in " ".join(output.split()) for n in small)
    page = (out / "report.html").read_text()
    assert "Primary comparisons: random and fixed readers" in page
    assert all(html.escape(n) in page for n in small)
    book = load_workbook(out / "report.xlsx", read_only=True)
    notes = list(book["notes"].iter_rows(values_only=True))
    book.close()
    assert notes[0] == ("kind", "note")
    assert {(kind, note) for kind, note in notes[1:]} >= {("caveat", n) for n in small}
    assert len(notes) - 1 == len(results["notes"])


def test_html_table2_is_laid_out_like_the_paper(paper_run):
    _, out, _ = paper_run
    page = (out / "report.html").read_text()
    table = page.split("<h2>Table 2. Reader performance</h2>")[1].split("</table>")[0]
    assert 'class="dataframe t paper"' in table
    # The footnote sits below the table, not in its label column.
    assert "Durkalski" not in table
    assert "table.paper td,table.paper th{white-space:nowrap;text-align:right}" in page
    # Estimate and CI in one cell, the label column no wider than its longest label.
    cells = re.findall(r"<td>([^<]*)</td>", table)
    assert re.fullmatch(
        r"\d\.\d{3} \(\d\.\d{3}, \d\.\d{3}\)", cells[cells.index("Sensitivity") + 1]
    )
    assert max(len(c) for c in cells[:: len(re.findall("<th>", table))]) <= len("Region-based ICC")


def test_xlsx_table2_has_a_narrow_label_column_and_right_aligned_numbers(paper_run):
    _, out, _ = paper_run
    book = load_workbook(out / "report.xlsx")
    sheet = book["Table 2"]
    rows = list(sheet.iter_rows(values_only=True))
    # The footnote still closes the sheet, but only the table sizes the label column.
    assert "Durkalski" in rows[-1][0]
    assert sheet.column_dimensions["A"].width <= len("Region-based ICC") + 2
    assert sheet.column_dimensions["B"].width == len("0.000 (0.000, 0.000)") + 2
    values = [c for row in sheet.iter_rows(min_row=2, min_col=2) for c in row if c.value]
    assert len(values) > 20
    assert all(c.alignment.horizontal == "right" for c in values)
    assert sheet["A3"].alignment.horizontal != "right"
    comparisons = book["Comparisons"]
    assert comparisons["B2"].alignment.horizontal != "right"
    assert comparisons["C2"].alignment.horizontal == "right"
    book.close()


def test_vandyke_ustat_through_the_cli_matches_imrmc(refdata, tmp_path):
    vandyke = pd.read_csv(refdata / "vandyke.csv")
    vandyke.to_csv(tmp_path / "ratings.csv", index=False)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["analyze", str(tmp_path / "ratings.csv"), "--ustat", "--out", str(out), "--no-figures"],
    )
    assert result.exit_code == 0, result.output
    ustat = json.loads((out / "results.json").read_text())["roc_mrmc"]["u_statistic"]
    # iMRMC 4.0.3 / MRMCaov 0.3.0 (cov = unbiased) on Van Dyke (issue 14).
    assert ustat["unbiased"]["variance"] == pytest.approx(4.27313e-4, abs=5e-10)
    assert ustat["unbiased"]["df"] == pytest.approx(15.0342, abs=5e-5)
    assert ustat["mle"]["variance"] > ustat["unbiased"]["variance"]
    assert "U-statistic (unbiased), as iMRMC" in result.output
    assert "roc ustat" in load_workbook(out / "report.xlsx", read_only=True).sheetnames


def test_gee_sensitivity_analysis_beside_the_or_results(paper_run):
    _, out, output = paper_run
    results = json.loads((out / "results.json").read_text())
    binary = results["binary"]
    for metric in ("sensitivity", "specificity"):
        (model,) = binary["clustered_models"][metric]["models"]
        average = binary["reader_average"][metric]
        # Same data, same direction and similar size as the fixed-reader OR difference.
        assert model["difference"]["estimate"] == pytest.approx(
            average["fixed_readers"]["estimate"], abs=0.01
        )
        assert model["odds_ratio"]["estimate"] > 1
        assert model["odds_ratio"]["ci"][0] < model["odds_ratio"]["estimate"]
        assert model["clusters"] <= results["design"]["cases"]
        assert f"{metric} GEE odds ratio aided vs unaided" in output
    book = load_workbook(out / "report.xlsx", read_only=True)
    assert "clustered models" in book.sheetnames
    rows = list(book["Comparisons"].iter_rows(values_only=True))
    book.close()
    assert sum(str(r[1]).startswith("GEE (exchangeable") for r in rows) == 2
    page = (out / "report.html").read_text()
    assert "logistic GEE of correct calls" in page
    assert "Genders TSS" in page


def test_library_refusals_are_led_by_the_option_they_concern(tmp_path):
    tables = paper_study(readers=2, cases=5, seed=9)
    tables["ratings"].to_csv(tmp_path / "ratings.csv", index=False)
    tables["truth"].to_csv(tmp_path / "truth.csv", index=False)
    args = ["analyze", str(tmp_path / "ratings.csv"), "--truth", str(tmp_path / "truth.csv")]
    result = runner.invoke(app, [*args, "--alpha", "2"])
    assert result.exit_code == 2
    assert "--alpha: alpha must lie strictly between 0 and 1, got 2.0" in result.output
    result = runner.invoke(app, [*args, "--reference", "CT"])
    assert result.exit_code == 2
    assert "--reference: reference 'CT' is not a modality" in result.output


def test_a_bug_is_not_reported_as_bad_input(tmp_path, monkeypatch):
    """Only the library's AnalysisInputError means bad input; any other ValueError is a bug
    and keeps its traceback."""
    import readerstudy.workflows.reports

    def broken(*args, **kwargs):
        raise ValueError("operands could not be broadcast together")

    monkeypatch.setattr(readerstudy.workflows.reports, "run_analysis", broken)
    result = runner.invoke(app, ["analyze", str(tmp_path)])
    assert result.exit_code != 2
    assert isinstance(result.exception, ValueError)


def test_split_plot_study_through_the_cli(tmp_path):
    """Two reader groups each reading their own half of the cases: the command reports the
    split-plot OR analysis of the AUC in results.json, the workbook and the console."""
    tables = paper_study(seed=5, cases=30)
    ratings, truth = tables["ratings"], tables["truth"]
    first = ratings["case"].isin(sorted(ratings["case"].unique())[:15])
    keep = np.where(ratings["reader"].isin(["R1", "R2"]), first, ~first)
    ratings[keep].to_csv(tmp_path / "ratings.csv", index=False)
    truth.to_csv(tmp_path / "truth.csv", index=False)
    out = tmp_path / "out"
    args = ["analyze", str(tmp_path / "ratings.csv"), "--truth", str(tmp_path / "truth.csv")]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    roc = json.loads((out / "results.json").read_text())["roc_mrmc"]
    assert roc["design"] == "split-plot"
    assert [g["readers"] for g in roc["groups"]] == [["R1", "R2"], ["R3", "R4"]]
    assert "(OR-Hillis, split-plot)" in result.output
    sheet = load_workbook(out / "report.xlsx")["Comparisons"]
    labels = [row[1] for row in sheet.iter_rows(values_only=True)]
    assert "random readers and cases (OR, Hillis df) (split-plot)" in labels
