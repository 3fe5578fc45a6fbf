"""A realistic synthetic ASPECTS reader study shaped like the paper's (Chen et al. 2022).

Cases have an infarct side and a few positive MCA-territory regions on it (about 8% of units
positive overall); readers miss subtle lesions unaided and find more of them aided; aided
reads are faster. Each reader has a confidence rating (for ROC) and a binary call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.units import REGIONS, UNITS


def paper_study(
    *,
    readers: int = 4,
    cases: int = 85,
    seed: int = 2022,
    modalities: tuple[str, str] = ("unaided", "aided"),
) -> dict[str, pd.DataFrame]:
    """Tables ``ratings, truth, times, cases, ai`` in the formats of DATA_CONTRACTS.md."""
    rng = np.random.default_rng(seed)
    case_ids = [f"P{i:04d}" for i in range(1, cases + 1)]
    sides = rng.choice(["left", "right"], size=cases)
    burden = np.minimum(rng.poisson(1.6, size=cases), len(REGIONS))
    truth_rows = []
    for case, side, k in zip(case_ids, sides, burden, strict=True):
        hit = set(rng.choice(REGIONS, size=k, replace=False)) if k else set()
        truth_rows += [
            {"case": case, "unit": u, "truth": int(u.split("_")[0] in hit and u.endswith(side))}
            for u in UNITS
        ]
    truth = pd.DataFrame(truth_rows)
    case_table = pd.DataFrame(
        {
            "case": case_ids,
            "side": np.where(burden > 0, sides, "none"),
            "vendor": rng.choice(["GE", "PHILIPS", "SIEMENS"], size=cases),
        }
    )
    positive = truth["truth"].to_numpy()
    n_units = len(truth)
    # Case effect: how conspicuous a case's early ischemic change is (shared by readers).
    case_effect = np.repeat(rng.normal(0, 0.6, size=cases), len(UNITS))
    ai_score = 1.6 * positive + 0.8 * case_effect + rng.normal(0, 1.0, n_units)
    rows, times = [], []
    for r in range(1, readers + 1):
        reader = f"R{r}"
        skill = rng.normal(0, 0.25)
        base_time = rng.uniform(195, 250)
        for modality in modalities:
            aided = modality == modalities[1]
            separation = 1.1 + skill + (0.55 if aided else 0.0)
            latent = separation * positive + 0.7 * case_effect + rng.normal(0, 1.0, n_units)
            if aided:
                latent = 0.75 * latent + 0.35 * ai_score
            threshold = 1.55 if aided else 1.45
            rating = np.clip(np.round(50 + 18 * latent), 0, 100)
            rows.append(
                pd.DataFrame(
                    {
                        "reader": reader,
                        "modality": modality,
                        "case": truth["case"],
                        "unit": truth["unit"],
                        "call": (latent > threshold).astype(int),
                        "rating": rating,
                    }
                )
            )
            mean_time = 176.0 if aided else base_time
            times.append(
                pd.DataFrame(
                    {
                        "reader": reader,
                        "modality": modality,
                        "case": case_ids,
                        "active_s": rng.gamma(16.0, mean_time / 16.0, size=cases).round(1),
                    }
                ).assign(wall_s=lambda t: (t["active_s"] * 1.1).round(1))
            )
    probability = 1 / (1 + np.exp(-(ai_score - 1.2) * 1.5))
    ai = truth[["case", "unit"]].assign(
        probability=probability.round(4), call=(probability >= 0.5).astype(int)
    )
    return {
        "ratings": pd.concat(rows, ignore_index=True),
        "truth": truth,
        "times": pd.concat(times, ignore_index=True),
        "cases": case_table,
        "ai": ai,
    }
