"""The report's figures, drawn with matplotlib's Agg backend (imported lazily) as PNG bytes."""

from __future__ import annotations

import io
from types import ModuleType
from typing import TYPE_CHECKING

import pandas as pd

from analysis.analyze import Results

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MARKERS = ("o", "^", "s", "D", "v", "P")
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _pyplot() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # One layout pass and light compression: bbox_inches="tight" would draw every figure twice.
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100, pil_kwargs={"compress_level": 1})
    _pyplot().close(fig)
    return buffer.getvalue()


def _modalities(results: Results) -> list[str]:
    return list(results.summary["design"]["modalities"])


def roc_with_readers(results: Results) -> bytes:
    """The model's unit-level ROC curve with each reader's operating point per modality."""
    plt = _pyplot()
    table = results.tables["sensitivity_specificity"]
    wide = table.pivot_table(
        index=["reader", "modality"], columns="metric", values="estimate", sort=False
    ).reset_index()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    curve = results.figures.get("model_roc")
    for ax, zoom in zip(axes, (False, True), strict=True):
        if curve is not None:
            auc = results.summary["model"]["auc"]["estimate"]
            # Unclipped on the full panel, so a curve along the axes stays visible.
            ax.plot(
                curve["fpr"],
                curve["tpr"],
                color="black",
                lw=1.5,
                label=f"model (AUC {auc:.3f})",
                clip_on=zoom,
            )
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
        for i, modality in enumerate(_modalities(results)):
            rows = wide[wide["modality"] == modality]
            for j, row in enumerate(rows.itertuples()):
                ax.scatter(
                    1 - row.specificity,
                    row.sensitivity,
                    marker=MARKERS[i % len(MARKERS)],
                    color=COLOURS[j % len(COLOURS)],
                    s=45,
                    edgecolor="black",
                    linewidth=0.5,
                    label=f"{row.reader} {modality}",
                    zorder=3,
                )
        if curve is not None and "operating_point" in results.summary["model"]:
            point = results.summary["model"]["operating_point"]
            ax.scatter(
                1 - point["specificity"]["estimate"],
                point["sensitivity"]["estimate"],
                marker="*",
                s=140,
                color="gold",
                edgecolor="black",
                label="model call",
                zorder=4,
            )
        ax.set_xlabel("1 - specificity (units)")
        ax.set_ylabel("sensitivity (units)")
        if zoom:
            fpr = 1 - wide["specificity"]
            ax.set_xlim(0, min(1, max(0.05, fpr.max() * 1.6)))
            ax.set_ylim(
                max(0, wide["sensitivity"].min() - 0.15), min(1, wide["sensitivity"].max() + 0.15)
            )
            ax.set_title("readers, enlarged")
        else:
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.set_title("unit-level ROC")
            ax.legend(fontsize=7, loc="lower right", ncol=2)
    return _png(fig)


def forest(results: Results) -> bytes:
    """Per-reader sensitivity and specificity with exact CIs, one marker per modality."""
    plt = _pyplot()
    table = results.tables["sensitivity_specificity"]
    readers = list(pd.unique(table["reader"]))
    modalities = _modalities(results)
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.5 * len(readers) + 1.8), sharey=True)
    offsets = {m: (i - (len(modalities) - 1) / 2) * 0.22 for i, m in enumerate(modalities)}
    for ax, metric in zip(axes, ("sensitivity", "specificity"), strict=True):
        for i, modality in enumerate(modalities):
            rows = table[(table["metric"] == metric) & (table["modality"] == modality)]
            y = [readers.index(r) + offsets[modality] for r in rows["reader"]]
            ax.errorbar(
                rows["estimate"],
                y,
                xerr=[rows["estimate"] - rows["ci_low"], rows["ci_high"] - rows["estimate"]],
                fmt=MARKERS[i % len(MARKERS)],
                color=COLOURS[i % len(COLOURS)],
                capsize=3,
                label=modality,
            )
        ax.set_yticks(range(len(readers)), readers)
        ax.set_xlabel(f"{metric} (exact 95% CI)" if results.summary["alpha"] == 0.05 else metric)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_ylim(len(readers) - 0.5, -0.5)  # first reader on top (axes share y)
    axes[0].legend(fontsize=8, loc="upper center", bbox_to_anchor=(1.0, 1.12), ncol=len(modalities))
    return _png(fig)


def paired_times(results: Results) -> bytes:
    """Each reader's mean active time per case, joined between modalities."""
    plt = _pyplot()
    table = results.tables["reading_time"]
    modalities = [m for m in _modalities(results) if m in set(table["modality"])]
    fig, ax = plt.subplots(figsize=(5, 4.2))
    for j, (reader, rows) in enumerate(table.groupby("reader", sort=False)):
        rows = rows.set_index("modality").reindex(modalities)
        ax.plot(
            range(len(modalities)),
            rows["mean_s"],
            marker="o",
            color=COLOURS[j % len(COLOURS)],
            label=reader,
        )
    ax.set_xticks(range(len(modalities)), modalities)
    ax.set_xlim(-0.4, len(modalities) - 0.6)
    ax.set_ylabel("mean active reading time per case (s)")
    test = results.summary["reading_time"].get("paired_t")
    if test:
        ax.set_title(f"paired t over readers: t = {test['t']:.2f}, p = {test['p']:.3g}")
    ax.legend(fontsize=8)
    return _png(fig)


def region_sensitivity(results: Results) -> bytes:
    """Reader-pooled sensitivity per ASPECTS region, with the count of positive units."""
    plt = _pyplot()
    table = results.figures["regions"]
    regions = list(pd.unique(table["region"]))
    modalities = _modalities(results)
    width = 0.8 / len(modalities)
    fig, ax = plt.subplots(figsize=(9, 4))
    for i, modality in enumerate(modalities):
        rows = table[table["modality"] == modality].set_index("region").reindex(regions)
        x = [k + (i - (len(modalities) - 1) / 2) * width for k in range(len(regions))]
        ax.bar(x, rows["sensitivity"], width=width, color=COLOURS[i % len(COLOURS)], label=modality)
    counts = table.drop_duplicates("region").set_index("region")["positive_units"]
    ax.set_xticks(range(len(regions)), [f"{r}\n(n={counts[r]})" for r in regions])
    ax.set_ylim(0, 1)
    ax.set_ylabel("sensitivity (readers pooled)")
    ax.set_title("per-unit sensitivity by ASPECTS region (n = positive units)")
    ax.legend(fontsize=8)
    return _png(fig)


def bland_altman_plot(results: Results) -> bytes:
    """Reader ASPECTS minus truth ASPECTS against their mean, one panel per modality."""
    plt = _pyplot()
    points = results.figures["bland_altman"]
    summary = results.tables["bland_altman"]
    modalities = _modalities(results)
    fig, axes = plt.subplots(
        1, len(modalities), figsize=(4.6 * len(modalities), 4), sharey=True, squeeze=False
    )
    for ax, modality in zip(axes[0], modalities, strict=True):
        rows = points[points["modality"] == modality]
        counts = rows.groupby(["mean", "difference"]).size().reset_index(name="n")
        ax.scatter(
            counts["mean"],
            counts["difference"],
            s=12 + 10 * counts["n"],
            alpha=0.5,
            color=COLOURS[0],
        )
        pooled = summary[(summary["modality"] == modality) & (summary["reader"] == "all")].iloc[0]
        for value, style in (
            (pooled["bias"], "-"),
            (pooled["loa_low"], "--"),
            (pooled["loa_high"], "--"),
        ):
            ax.axhline(value, color="black", ls=style, lw=1)
        ax.set_title(
            f"{modality}: bias {pooled['bias']:.2f}, "
            f"LoA [{pooled['loa_low']:.2f}, {pooled['loa_high']:.2f}]",
            fontsize=9,
        )
        ax.set_xlabel("mean of reader and truth ASPECTS")
    axes[0][0].set_ylabel("reader - truth ASPECTS")
    return _png(fig)


def render_figures(results: Results) -> dict[str, tuple[str, bytes]]:
    """Every figure the results support: name -> (caption, PNG bytes)."""
    figures = {}
    if "sensitivity_specificity" in results.tables:
        model = (
            "Unit-level ROC curve of the model with each reader's operating point"
            if "model_roc" in results.figures
            else "Each reader's unit-level operating point in ROC space"
        )
        figures["roc_readers"] = (
            f"{model} per modality (marker = modality, colour = reader), as in the paper's "
            "Fig. 4; right: enlarged around the readers.",
            roc_with_readers(results),
        )
        figures["forest"] = (
            "Per-reader unit-level sensitivity and specificity with exact (Clopper-Pearson) "
            "intervals.",
            forest(results),
        )
    if "reading_time" in results.tables:
        figures["reading_time"] = (
            "Mean active reading time per case, each reader joined across modalities.",
            paired_times(results),
        )
    if "regions" in results.figures:
        figures["regions"] = (
            "Reader-pooled sensitivity per ASPECTS region; n = truth-positive units of that "
            "region (both hemispheres), as counted in the paper's Fig. 3.",
            region_sensitivity(results),
        )
        figures["bland_altman"] = (
            "Bland-Altman plot of reader ASPECTS against truth ASPECTS (all readers; marker "
            "size = overlapping cases); lines: bias and limits of agreement.",
            bland_altman_plot(results),
        )
    return figures
