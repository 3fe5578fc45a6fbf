"""Write the results: ``results.json``, ``report.xlsx``, a self-contained ``report.html``.

The workbook and the page open with the paper's layouts (Table 2: per-reader sensitivity and
specificity with p values, reader averages and ICCs; Table 3: reading time), followed by one
sheet or section per tidy table, the figures and a methods paragraph naming every method.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.analyze import Results
from analysis.files import atomic_output, write_bytes, write_text

REFERENCES = {
    "clopper": "Clopper CJ, Pearson ES (1934). Biometrika 26:404-413.",
    "mcnemar": "McNemar Q (1947). Psychometrika 12:153-157.",
    "edwards": "Edwards AL (1948). Psychometrika 13:185-187.",
    "durkalski": "Durkalski VL, Palesch YY, Lipsitz SR, Rust PF (2003). Analysis of clustered "
    "matched-pair data. Stat Med 22:2417-2428.",
    "obuchowski98": "Obuchowski NA (1998). On the comparison of correlated proportions for "
    "clustered data. Stat Med 17:1495-1507.",
    "or": "Obuchowski NA, Rockette HE (1995). Hypothesis testing of diagnostic accuracy for "
    "multiple readers and multiple tests. Commun Stat Simul Comput 24:285-308.",
    "hillis": "Hillis SL (2007). A comparison of denominator degrees of freedom methods for "
    "multiple observer ROC analysis. Stat Med 26:596-619.",
    "dbm": "Dorfman DD, Berbaum KS, Metz CE (1992). Receiver operating characteristic rating "
    "analysis. Invest Radiol 27:723-731.",
    "delong": "DeLong ER, DeLong DM, Clarke-Pearson DL (1988). Comparing the areas under two "
    "or more correlated ROC curves. Biometrics 44:837-845.",
    "obuchowski97": "Obuchowski NA (1997). Nonparametric analysis of clustered ROC curve "
    "data. Biometrics 53:567-578.",
    "mcgraw": "McGraw KO, Wong SP (1996). Forming inferences about some intraclass correlation "
    "coefficients. Psychol Methods 1:30-46.",
    "shrout": "Shrout PE, Fleiss JL (1979). Psychol Bull 86:420-428.",
    "student": "Student (1908). The probable error of a mean. Biometrika 6:1-25.",
    "bland": "Bland JM, Altman DG (1986). Lancet 1:307-310.",
    "dice": "Dice LR (1945). Ecology 26:297-302.",
    "planning": "Hillis SL, Obuchowski NA, Berbaum KS (2011). Power estimation for multireader "
    "ROC methods. Acad Radiol 18:129-142.",
    "splitplot": "Obuchowski NA, Gallas BD, Hillis SL (2012). Multi-reader ROC studies with "
    "split-plot designs: a comparison of statistical methods. Acad Radiol 19:1508-1517. Hillis "
    "SL (2014). A marginal-mean ANOVA approach for analyzing multireader multicase "
    "radiological imaging data. Stat Med 33:330-360.",
    "gallas06": "Gallas BD (2006). One-shot estimate of MRMC variance: AUC. Acad Radiol "
    "13:353-362.",
    "gallas09": "Gallas BD, Bandos A, Samuelson FW, Wagner RF (2009). A framework for "
    "random-effects ROC analysis: biases with the bootstrap and other variance estimators. "
    "Commun Stat Theory Methods 38:2586-2603.",
    "genders": "Genders TSS, Spronk S, Stijnen T, et al. (2012). Methods for calculating "
    "sensitivity and specificity of clustered data: a tutorial. Radiology 265:910-916.",
    "liang": "Liang KY, Zeger SL (1986). Longitudinal data analysis using generalized linear "
    "models. Biometrika 73:13-22.",
    "chen": "Chen W, Wu J, Wei R, et al. (2022). Improving the diagnosis of acute ischemic "
    "stroke on non-contrast CT using deep learning: a multicenter study. Insights Imaging "
    "13:184 (the design reproduced here).",
}


def to_jsonable(value: object) -> object:
    """Plain JSON values: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return "< .001" if value < 0.001 else f"{value:.3f}"


def _p_is(value: float | None) -> str:
    return _p_is_text(_p(value))


def _p_is_text(text: str) -> str:
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _estimate_ci(entry: dict[str, Any]) -> str:
    return f"{_fmt(entry['estimate'])} ({_fmt(entry['ci'][0])}, {_fmt(entry['ci'][1])})"


def _table2_parts(results: Results) -> tuple[pd.DataFrame, str]:
    """The paper's Table 2 (per reader and on average, reference vs test, with p values; the
    ICCs) and its footnote naming the tests (empty without a comparison)."""
    s = results.summary
    if "binary" not in s:
        return pd.DataFrame(), ""
    reference, test = s["reference"], s["test"]
    modalities = [reference] + ([test] if test else [])
    per = {(e["reader"], e["modality"]): e for e in s["binary"]["per_reader"]}
    mc = {(e["reader"], e["metric"]): e for e in s["binary"].get("mcnemar", [])}
    cl = {(e["reader"], e["metric"]): e for e in s["binary"].get("clustered", [])}
    rows = []
    for reader in s["design"]["readers"]:
        rows.append({"": reader})
        for metric in ("sensitivity", "specificity"):
            row = {"": f"  {metric.capitalize()}"}
            for m in modalities:
                entry = per.get((reader, m), {}).get(metric)
                row[m] = _estimate_ci(entry) if entry else "–"
            if test:
                row["p"] = _p(mc.get((reader, metric), {}).get("p"))
                row["p (clustered)"] = _p(cl.get((reader, metric), {}).get("p"))
            rows.append(row)
    average = s["binary"].get("reader_average")
    if average:
        rows.append({"": "Average"})
        for metric in ("sensitivity", "specificity"):
            entry = average[metric]
            row = {"": f"  {metric.capitalize()}"}
            for m in modalities:
                row[m] = _estimate_ci(entry["per_modality"][m])
            row["p"] = row["p (clustered)"] = _p(entry["difference"]["p"])
            rows.append(row)
    icc = s.get("agreement", {}).get("icc", {})
    for basis, label in (("region", "Region-based ICC"), ("score", "Score-based ICC")):
        if basis in icc:
            row = {"": label}
            for m in modalities:
                e = icc[basis][m]
                row[m] = f"{_fmt(e['icc'])} ({_fmt(e['ci'][0])}, {_fmt(e['ci'][1])})"
            rows.append(row)
    footnote = ""
    if test and s["binary"].get("mcnemar"):
        method = s["binary"]["mcnemar"][0]["method"]
        footnote = (
            f"p: {method} per reader (units treated as independent, as in the paper); "
            "for the averages, Obuchowski-Rockette with the case jackknife and Hillis df. "
            "p (clustered): Durkalski's clustered McNemar test, cases as clusters."
        )
    return pd.DataFrame(rows).fillna("").rename(columns={"": "reader / measure"}), footnote


ANALYSIS_LABELS = {
    "random readers, random cases": "random readers and cases (OR, Hillis df)",
    "fixed readers, random cases": "fixed readers, random cases",
    "random readers, fixed cases": "random readers, fixed cases",
}


def _difference_cells(entry: dict[str, Any], df: float | None) -> dict[str, str]:
    """Estimate (CI), denominator df (``∞`` for a normal/chi-square reference) and p."""
    ci = entry.get("ci") or [None, None]
    return {
        "difference (CI)": f"{_fmt(entry['estimate'])} ({_fmt(ci[0])}, {_fmt(ci[1])})",
        "df (denominator)": "∞" if df is None else _fmt(df, 1),
        "p": _p(entry.get("p")),
    }


def comparisons(results: Results) -> pd.DataFrame:
    """Every primary comparison (test - reference) with random and fixed readers side by side.

    Reader-averaged sensitivity and specificity, and the reader-averaged AUC: random readers
    and cases (the generalisable result), fixed readers (these readers, random cases;
    chi-square, df ``∞``) and fixed cases, each with its denominator df; the U-statistic
    variance and the clustered models where they were computed.
    """
    s = results.summary
    if not s.get("test"):
        return pd.DataFrame()
    blocks = [
        (metric.capitalize(), entry)
        for metric, entry in s.get("binary", {}).get("reader_average", {}).items()
    ]
    roc = s.get("roc_mrmc")
    if roc and roc.get("difference"):
        # a split-plot study's U-statistic comes apart from its OR analysis (roc_ustat)
        blocks.append(("AUC", {"u_statistic": s["roc_ustat"], **roc} if "roc_ustat" in s else roc))
    elif "roc_ustat" in s:
        blocks.append(("AUC", {"u_statistic": s["roc_ustat"]}))
    rows = []
    for label, entry in blocks:
        variants = (
            [("random readers, random cases", entry["difference"])] if "difference" in entry else []
        )
        variants += [
            (entry[k]["analysis"], entry[k])
            for k in ("fixed_readers", "fixed_cases")
            if entry.get(k)
        ]
        for name, diff in variants:
            df = diff.get("df2")
            rows.append(
                {
                    "comparison": label,
                    "analysis": ANALYSIS_LABELS[name]
                    + (" (split-plot)" if entry.get("design") == "split-plot" else ""),
                }
                | _difference_cells(diff, df if name != "fixed readers, random cases" else None)
            )
        for method in ("unbiased", "mle"):
            ustat = entry.get("u_statistic", {}).get(method)
            if ustat:
                rows.append(
                    {"comparison": label, "analysis": f"U-statistic ({method}), as iMRMC"}
                    | _difference_cells(
                        ustat, ustat["df"] if math.isfinite(ustat["df"] or math.inf) else None
                    )
                )
    for metric, entry in s.get("binary", {}).get("clustered_models", {}).items():
        for model in entry.get("models", []):
            rows.append(
                {"comparison": metric.capitalize(), "analysis": model["label"]}
                | _difference_cells(model["difference"], None)
            )
    if not rows:
        return pd.DataFrame()
    # Each comparison's rows together (the GEE rows join their metric).
    frame = pd.DataFrame(rows)
    order = {label: i for i, label in enumerate(pd.unique(frame["comparison"]))}
    return frame.iloc[np.argsort(frame["comparison"].map(order), kind="stable")].reset_index(
        drop=True
    )


def table3(results: Results) -> pd.DataFrame:
    """The paper's Table 3: mean active reading time per case, paired t-test over readers."""
    s = results.summary
    if "reading_time" not in s:
        return pd.DataFrame()
    section = s["reading_time"]
    modalities = [m for m in s["design"]["modalities"] if m in section["per_modality"]]
    times = {(e["reader"], e["modality"]): e["mean_s"] for e in section["per_reader"]}
    rows = [
        {"": reader, **{f"{m} (s)": _fmt(times.get((reader, m)), 1) for m in modalities}}
        for reader in s["design"]["readers"]
    ]
    average = {"": "Average"}
    for m in modalities:
        e = section["per_modality"][m]
        average[f"{m} (s)"] = f"{_fmt(e['mean_s'], 1)} ± {_fmt(e['sd_s'], 1)}"
    if "paired_t" in section:
        average["p (paired t)"] = _p(section["paired_t"]["p"])
    rows.append(average)
    return pd.DataFrame(rows).fillna("").rename(columns={"": "reader"})


def methods_text(results: Results) -> list[str]:
    """The methods paragraph, one sentence per analysis present, with its references."""
    s = results.summary
    level = f"{100 * (1 - s['alpha']):g}%"
    out = [
        f"Reference modality: {s['reference']}; differences are {s['test']} - {s['reference']}."
        if s["test"]
        else f"One modality ({s['reference']}): no comparisons.",
        f"All intervals are two-sided {level} intervals. Design (Chen et al. 2022 [chen]).",
    ]
    if "binary" in s:
        out.append(
            "Unit-level sensitivity (calls of 1 among truth-positive units) and specificity "
            "(calls of 0 among truth-negative units) per reader and modality, pooled over "
            "cases, with exact Clopper-Pearson intervals [clopper]."
        )
        if s["binary"].get("mcnemar"):
            method = s["binary"]["mcnemar"][0]["method"]
            out.append(
                f"Per-reader comparison between modalities: {method} "
                f"[mcnemar{', edwards' if 'chi-square' in method else ''}], on "
                "positive units for sensitivity and negative units for specificity. It treats "
                "the units of a case as independent, as the paper did. The cluster-aware "
                "comparison beside it is Durkalski's clustered McNemar test with cases as "
                "clusters [durkalski] and a ratio-estimator interval of the difference "
                "[obuchowski98]; prefer it, since units of one patient are correlated."
            )
        if "clustered_models" in s["binary"]:
            out.append(
                "Sensitivity analysis of the clustered binary outcomes [genders]: per metric a "
                "logistic GEE of correct calls on modality and reader, exchangeable working "
                "correlation within each case (all reads of its units), robust sandwich "
                "covariance [liang]; the modality odds ratio with a Wald interval, and the "
                "model-based difference (mean predicted probability over the observed reads "
                "with modality set to test minus reference) with a delta-method interval. "
                "Readers are fixed: it generalises over patients for these readers, like the "
                "fixed-reader OR analysis; the random-reader OR analysis is the one that "
                "generalises to other readers."
            )
        if "reader_average" in s["binary"]:
            out.append(
                "Reader-averaged sensitivity and specificity: Obuchowski-Rockette analysis of "
                "the binary figure of merit with jackknife covariance over cases (positive "
                "cases for sensitivity, negative cases for specificity), random readers and "
                "cases, Hillis denominator degrees of freedom [or, hillis]."
            )
    if "agreement" in s:
        out.append(
            "Inter-reader agreement: ICC(A,1), two-way model, absolute agreement, single "
            "measures (McGraw & Wong; = Shrout & Fleiss ICC(2,1)) with exact F intervals "
            "[mcgraw, shrout], region-based (each case x unit call is a target, readers are "
            "raters) and score-based (per-case ASPECTS of the infarct side; the lower "
            "hemispheric score where the side is unknown). ICC(1,1) and ICC(C,1) are in the "
            "ICC table."
        )
    if "clinical" in s:
        out.append(
            "Clinical views: ASPECTS dichotomised at >= 6 vs < 6 (accuracy with exact "
            "intervals [clopper]); Bland-Altman bias and limits of agreement of reader ASPECTS "
            "against truth ASPECTS [bland]; reader-pooled sensitivity per ASPECTS region."
        )
    if "reading_time" in s:
        out.append(
            "Reading time: mean active time per case per reader and modality; per modality "
            "the mean and SD of the per-reader means; Student's paired t-test over readers' "
            "mean times [student]."
        )
    if s.get("roc_mrmc", {}).get("design") == "split-plot":
        out.append(
            "MRMC ROC (split-plot: reader groups each reading their own cases): trapezoidal "
            "(Wilcoxon) AUC of the confidence ratings; Obuchowski-Rockette model for split-plot "
            f"designs [splitplot] with {s['roc_mrmc'].get('covariance', 'jackknife')} "
            "covariance estimated within each group (zero between groups), Cov2 and Cov3 over "
            "same-group reader pairs, and Hillis denominator degrees of freedom for random "
            "readers and random cases, with fixed-reader and fixed-case analyses [or, hillis]."
        )
    elif "roc_mrmc" in s:
        roc = s["roc_mrmc"]
        out.append(
            f"MRMC ROC: trapezoidal (Wilcoxon) AUC of the confidence ratings; "
            f"Obuchowski-Rockette model with {roc.get('covariance', 'jackknife')} covariance "
            "and Hillis denominator degrees of freedom for random readers and random cases, "
            "with fixed-reader and fixed-case analyses [or, hillis]; DeLong [delong], "
            "Obuchowski's clustered covariance [obuchowski97] or Gallas's unbiased "
            "U-statistic covariance [gallas06] on request; the DBM pseudo-value ANOVA as a "
            "cross-check [dbm]."
        )
    if "u_statistic" in s.get("roc_mrmc", {}) or "roc_ustat" in s:
        out.append(
            "U-statistic variance of the reader-averaged AUC difference [gallas06]: unbiased "
            "(iMRMC's BDG; MRMCaov's cov = unbiased) and MLE (the ideal bootstrap, biased "
            "upwards) [gallas09], with Hillis df from the unbiased OR covariances [hillis] "
            "(an incomplete or split-plot design: the unbiased variance over the pairs each "
            "reader read, normal reference); units are taken as independent cases, as iMRMC "
            "does."
        )
    if "planning" in s:
        out.append(
            "Planning: power and cases needed for a future study from this study's OR "
            "variance components [planning]."
        )
    if "model" in s:
        out.append(
            "Model standalone: unit-level empirical ROC AUC with Obuchowski's clustered "
            "interval (units nested in cases) [obuchowski97] and DeLong's interval (units "
            "independent) [delong]; the operating point of the model's binary call."
            + (
                " Lesion masks: Dice similarity coefficient, precision and recall per case "
                "(mean over cases) and pooled over voxels [dice]."
                if "segmentation" in s["model"]
                else ""
            )
        )
    return out


def write_json(results: Results, path: Path) -> Path:
    return write_text(
        path, json.dumps(to_jsonable(results.summary), indent=2, allow_nan=False) + "\n"
    )


def _sheet_name(name: str) -> str:
    return name.replace("_", " ")[:31]


def write_xlsx(results: Results, path: Path) -> Path:
    """One sheet per table; the paper's Table 2 and Table 3 layouts first."""
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    t2, footnote = _table2_parts(results)
    # Rows that size the columns: the footnote below Table 2 must not widen its label column.
    sized_rows = {"Table 2": len(t2) + 1}
    with atomic_output(path) as temporary, pd.ExcelWriter(temporary, engine="openpyxl") as writer:
        for name, frame in (
            ("Table 2", t2),
            ("Table 3", table3(results)),
            ("Comparisons", comparisons(results)),
        ):
            if not frame.empty:
                frame.to_excel(writer, sheet_name=name, index=False)
                # The paper's layout: numbers right-aligned beside the label column(s).
                labels = 2 if name == "Comparisons" else 1
                for row in writer.sheets[name].iter_rows(min_col=labels + 1):
                    for cell in row:
                        cell.alignment = Alignment(horizontal="right")
        if footnote:
            writer.sheets["Table 2"].cell(row=len(t2) + 2, column=1, value=footnote)
        methods = pd.DataFrame({"methods": methods_text(results)})
        for name, frame in results.tables.items():
            frame.to_excel(writer, sheet_name=_sheet_name(name), index=False)
        methods.to_excel(writer, sheet_name="methods", index=False)
        if results.summary.get("notes"):
            _notes_frame(results).to_excel(writer, sheet_name="notes", index=False)
        for sheet in writer.book.worksheets:
            rows = min(sheet.max_row, sized_rows.get(sheet.title, 60))
            for i, column in enumerate(sheet.iter_cols(max_row=rows), start=1):
                width = max(len(str(c.value)) if c.value is not None else 0 for c in column)
                sheet.column_dimensions[get_column_letter(i)].width = min(max(10, width + 2), 90)
    return path


def _notes_frame(results: Results) -> pd.DataFrame:
    """The notes, each marked ``not computed`` (a statistic is missing) or ``caveat``."""
    from analysis.analyze import missing_statistics

    s = results.summary
    missing = set(missing_statistics(results.study, s)) if results.study is not None else set()
    return pd.DataFrame(
        {
            "kind": ["not computed" if n in missing else "caveat" for n in s.get("notes", ())],
            "note": list(s.get("notes", ())),
        }
    )


def _html_table(frame: pd.DataFrame, digits: int = 4, classes: str = "t") -> str:
    table: str = frame.to_html(
        index=False, border=0, classes=classes, na_rep="–", float_format=lambda v: f"{v:.{digits}g}"
    )
    return table


def write_html(results: Results, path: Path, figures: dict[str, tuple[str, bytes]]) -> Path:
    """A single self-contained page: tables, figures as base64 PNG, methods, references."""
    import base64
    import html

    s = results.summary
    design = s["design"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>readerstudy report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table.t{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}"
        "table.t td,table.t th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}"
        # The paper's layout: estimate and CI on one line, numbers right-aligned, the label
        # column as narrow as its longest label (no percentage width: that stretches tables).
        "table.paper td,table.paper th{white-space:nowrap;text-align:right}"
        "table.paper td:first-child,table.paper th:first-child{text-align:left}"
        "table.labels2 td:nth-child(2),table.labels2 th:nth-child(2){text-align:left}"
        "table.paper{font-variant-numeric:tabular-nums}"
        "p.foot{font-size:0.85em;color:#555;max-width:900px}"
        "figure{margin:1.5em 0}figcaption{font-size:0.9em;color:#555}"
        "img{max-width:100%}</style></head><body>",
        "<h1>Reader study report</h1>",
        f"<p>{len(design['readers'])} readers, modalities "
        f"{html.escape(', '.join(design['modalities']))}, "
        f"{design['cases']} cases, {design['units']} units ({design['positive_units']} positive). "
        f"Schema {html.escape(s['schema'])}.</p>",
    ]
    (t2, footnote), t3, both = _table2_parts(results), table3(results), comparisons(results)
    if not t2.empty:
        parts += ["<h2>Table 2. Reader performance</h2>", _html_table(t2, classes="t paper")]
        if footnote:
            parts.append(f"<p class='foot'>{html.escape(footnote)}</p>")
    if not t3.empty:
        parts += ["<h2>Table 3. Average time per case</h2>", _html_table(t3, classes="t paper")]
    if not both.empty:
        parts += [
            "<h2>Primary comparisons: random and fixed readers</h2>",
            _html_table(both, classes="t paper labels2"),
            "<p class='foot'>Random readers and cases generalise to other readers and cases; "
            "fixed readers to other cases read by these readers only (chi-square, df = ∞); "
            "fixed cases to other readers of these cases.</p>",
        ]
    if figures:
        parts.append("<h2>Figures</h2>")
        for name, (caption, png) in figures.items():
            data = base64.b64encode(png).decode("ascii")
            parts.append(
                f"<figure id='fig-{name}'><img alt='{html.escape(name)}' "
                f"src='data:image/png;base64,{data}'><figcaption>{html.escape(caption)}"
                "</figcaption></figure>"
            )
    if s.get("notes"):
        parts.append("<h2>Notes</h2><ul>")
        parts += [
            f"<li>{'Not computed: ' if row.kind == 'not computed' else ''}"
            f"{html.escape(row.note)}</li>"
            for row in _notes_frame(results).itertuples()
        ]
        parts.append("</ul>")
    parts.append("<h2>Tables</h2>")
    for name, frame in results.tables.items():
        parts += [f"<h3>{html.escape(name.replace('_', ' '))}</h3>", _html_table(frame)]
    parts += ["<h2 id='methods'>Methods</h2>", "<p>"]
    parts.append(" ".join(html.escape(sentence) for sentence in methods_text(results)))
    parts += ["</p>", "<h3>References</h3><ul>"]
    cited = " ".join(methods_text(results))
    parts += [
        f"<li>[{key}] {html.escape(text)}</li>"
        for key, text in REFERENCES.items()
        if re.search(rf"[\[ ]{key}[\],]", cited)
    ]
    parts.append("</ul></body></html>")
    return write_text(path, "\n".join(parts))


def write_reports(
    results: Results, out_dir: str | Path, *, figures: bool = True
) -> dict[str, Path]:
    """Write ``results.json``, ``report.xlsx``, ``report.html`` (and ``figures/*.png``)."""
    from analysis.figures import render_figures

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rendered = render_figures(results) if figures else {}
    paths = {
        "json": write_json(results, out / "results.json"),
        "xlsx": write_xlsx(results, out / "report.xlsx"),
        "html": write_html(results, out / "report.html", rendered),
    }
    if rendered:
        folder = out / "figures"
        folder.mkdir(exist_ok=True)
        for name, (_, png) in rendered.items():
            write_bytes(folder / f"{name}.png", png)
        paths["figures"] = folder
    return paths


def summary_lines(results: Results) -> list[str]:
    """A few lines for the console: the headline numbers with their tests."""
    s = results.summary
    lines = []
    reference, test = s["reference"], s["test"]
    average = s.get("binary", {}).get("reader_average", {})
    for metric, entry in average.items():
        ref, tst = entry["per_modality"][reference], entry["per_modality"][test]
        lines.append(
            f"{metric}: {reference} {_estimate_ci(ref)} vs {test} {_estimate_ci(tst)}, "
            f"{_p_is(entry['difference']['p'])} (OR, case jackknife)"
        )
    if "roc_mrmc" in s and test:
        roc = s["roc_mrmc"]
        auc = roc["auc"]
        diff = roc["difference"]
        lines.append(
            f"AUC: {reference} {_fmt(auc[reference]['estimate'])} vs {test} "
            f"{_fmt(auc[test]['estimate'])}, difference {_fmt(diff['estimate'])} "
            f"({_fmt(diff['ci'][0])}, {_fmt(diff['ci'][1])}), {_p_is(diff['p'])} (OR-Hillis"
            + (", split-plot)" if roc.get("design") == "split-plot" else ")")
        )
    if "paired_t" in s.get("reading_time", {}):
        rt = s["reading_time"]["per_modality"]
        # the design's order (reference first): a crossover's times arrive mixed
        order = [m for m in s["design"]["modalities"] if m in rt]
        lines.append(
            "time per case: "
            + ", ".join(
                f"{m} {_fmt(rt[m]['mean_s'], 1)} ± {_fmt(rt[m]['sd_s'], 1)} s" for m in order
            )
            + f", {_p_is(s['reading_time']['paired_t']['p'])} (paired t)"
        )
    for basis, per_modality in s.get("agreement", {}).get("icc", {}).items():
        lines.append(
            f"{basis} ICC(A,1): "
            + ", ".join(f"{m} {_fmt(v['icc'])}" for m, v in per_modality.items())
        )
    if "model" in s:
        auc = s["model"]["auc"]
        line = f"model AUC {_fmt(auc['estimate'])} ({_fmt(auc['ci'][0])}, {_fmt(auc['ci'][1])})"
        if s["model"].get("dsc") is not None:
            line += (
                f"; lesion DSC {_fmt(s['model']['dsc'])}, precision "
                f"{_fmt(s['model']['precision'])}, recall {_fmt(s['model']['recall'])} (pooled)"
            )
        lines.append(line)
    for metric, entry in s.get("binary", {}).get("clustered_models", {}).items():
        for model in entry["models"]:
            odds = model["odds_ratio"]
            lines.append(
                f"{metric} GEE odds ratio {test} vs {reference}: {_fmt(odds['estimate'], 2)} "
                f"({_fmt(odds['ci'][0], 2)}, {_fmt(odds['ci'][1], 2)}), {_p_is(odds['p'])} "
                f"(cases as clusters, working correlation {_fmt(model['working_correlation'])})"
            )
    both = comparisons(results)
    for label, rows in both.groupby("comparison", sort=False) if not both.empty else ():
        lines.append(
            f"{label} difference by analysis: "
            + "; ".join(
                f"{r['analysis']} {r['difference (CI)']}, df {r['df (denominator)']}, "
                f"{_p_is_text(r['p'])}"
                for _, r in rows.iterrows()
            )
        )
    notes = _notes_frame(results)
    lines += [
        f"{'not computed' if row.kind == 'not computed' else 'note'}: {row.note}"
        for row in notes.itertuples()
    ]
    return lines
