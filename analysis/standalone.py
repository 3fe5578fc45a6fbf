"""The model on its own: unit-level ROC, AUC with clustered and DeLong CIs, operating point."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.binary import sensitivity_specificity
from analysis.roc import auc_ci, roc_curve

AUC_METHODS = {"auc": "obuchowski", "auc_delong": "delong"}
"""Summary key -> CI method: Obuchowski's clustered CI (units nested in cases; the primary
one) and DeLong's (units treated as independent), reported side by side."""


def model_standalone(
    ai: pd.DataFrame, *, alpha: float = 0.05
) -> tuple[dict[str, Any], pd.DataFrame]:
    """ROC AUC and operating point of the model's unit-level outputs against truth.

    Parameters
    ----------
    ai : DataFrame
        ``case, unit, truth, probability`` and optionally ``call`` (from
        :func:`analysis.tables.validate_ai`).

    Returns
    -------
    summary : dict
        ``auc`` (Obuchowski clustered CI), ``auc_delong``, ``operating_point`` (sensitivity and
        specificity of ``call`` with Clopper-Pearson CIs), ``units``, ``cases``.
    curve : DataFrame
        ``threshold, fpr, tpr`` of the empirical ROC curve (:func:`analysis.roc.roc_curve`).
    """
    truth = ai["truth"].to_numpy()
    score = ai["probability"].to_numpy(float)
    summary: dict[str, Any] = {"units": len(ai), "cases": int(ai["case"].nunique())}
    for key, method in AUC_METHODS.items():
        result = auc_ci(truth, score, cluster=ai["case"].to_numpy(), method=method, alpha=alpha)
        summary[key] = {
            "estimate": result.estimate,
            "se": result.se,
            "ci": [result.ci_low, result.ci_high],
            "method": method,
        }
    if "call" in ai:
        table = sensitivity_specificity(ai.assign(reader="model", modality="model"), alpha=alpha)
        summary["operating_point"] = {
            row.metric: {
                "estimate": row.estimate,
                "ci": [row.ci_low, row.ci_high],
                "successes": int(row.successes),
                "trials": int(row.trials),
            }
            for row in table.itertuples()
        }
    return summary, roc_curve(truth, score)
