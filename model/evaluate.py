"""Evaluate registration and the asymmetry method on synthetic phantoms with known truth.

``python -m model.evaluate --n 40 --seed-start 1000`` generates phantoms with seeds
1000..1039 (disjoint from the calibration seeds of ``model/weights/asymmetry.json``), runs the
method on each and prints:

- registration: Dice of the warped atlas against the phantom's own region map (mean over
  the 20 units), mid-sagittal plane angle error, level index errors, quality, seconds;
- unit-level ROC AUC of the probabilities with Obuchowski's (1997) clustered CI (cluster =
  case, :func:`analysis.roc.auc_ci`), sensitivity and specificity of the calls (overall and
  per region), and the share of lesion-free phantoms scored ASPECTS 10 on both sides.

``--anatomy scct`` (or ``mixed``) and ``--varied`` evaluate on phantoms of another head and
with varied heads and fields of view (:func:`model.phantom.varied_config`); ``--seeds
1000-1039`` is the same as ``--n 40 --seed-start 1000``.

``python -m model.evaluate --fit --n 60 --seed-start 0`` refits the calibration on training
phantoms instead and writes ``model/weights/asymmetry.json`` with its provenance.

``--compare [--weights-dir DIR] [--device D] [--difficulty harder|easier]`` sets the
dual-path network beside the asymmetry method on the same phantoms (:func:`compare`): lesion
DSC, precision and recall per case and pooled, unit-level AUC with Obuchowski's clustered CI
for each method and for their difference, calls, false calls per lesion-free case.
``readerstudy model evaluate --data DIR`` does the same on a phantom set or a site's folder.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import SimpleITK as sitk

from analysis.roc import auc_ci, clustered_cov
from analysis.segmentation import overlap, overlap_summary
from analysis.units import UNITS, split_unit

if TYPE_CHECKING:
    from model.dualpath import DualPathMethod
    from model.phantom import PhantomConfig
    from model.register import Registration
    from model.scoring import Calibration

FIT_RIDGE = 1e-3

DIFFICULTIES: dict[str, dict[str, Any]] = {
    "default": {},
    "harder": {"asymmetry_hu": 1.5},
    "easier": {"asymmetry_hu": 1.0, "lesion_coverage": (0.4, 1.0)},
}
"""Phantom settings beside the calibrated default (docs/model.md, "Difficulty knobs": the
oracle asymmetry reader's AUC is 0.727 harder, 0.779 default, 0.862 easier)."""

LESION_THRESHOLD = 0.5
"""Likelihood at which a voxel counts as lesion for DSC, precision and recall."""


def dice_per_label(a: sitk.Image, b: sitk.Image, labels: dict[str, int]) -> dict[str, float]:
    """Dice of every label present in either map."""
    x, y = sitk.GetArrayViewFromImage(a), sitk.GetArrayViewFromImage(b)
    result = {}
    for unit, value in labels.items():
        p, q = x == value, y == value
        total = int(p.sum() + q.sum())
        if total:
            result[unit] = 2.0 * int((p & q).sum()) / total
    return result


def phantom_rows(
    seeds: range,
    config: PhantomConfig | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Register and measure every phantom: (unit features with truth, registration metrics)."""
    from model.anatomy import LABELS
    from model.errors import RegistrationError
    from model.phantom import PhantomConfig, generate_phantom
    from model.register import register_to_scan
    from model.scoring import unit_features

    config = config or PhantomConfig()
    units, cases = [], []
    for seed in seeds:
        phantom = generate_phantom(seed, config)
        start = time.perf_counter()
        try:
            registration = register_to_scan(phantom.image)
        except RegistrationError as exc:
            # A failure is an outcome to report, not a reason to stop the evaluation.
            cases.append({"case": seed, "failure": str(exc), "side": phantom.meta.side})
            continue
        seconds = time.perf_counter() - start
        features = unit_features(phantom.image, registration.atlas, LABELS)
        features.insert(0, "case", seed)
        features["truth"] = features["unit"].map(phantom.truth).astype(int)
        units.append(features)
        dice = dice_per_label(registration.atlas, phantom.regions, LABELS)
        normal = np.asarray(phantom.midsagittal[1])
        cosine = min(1.0, abs(float(normal @ np.asarray(registration.midsagittal.normal))))
        cases.append(
            {
                "case": seed,
                "dice": float(np.mean(list(dice.values()))),
                "angle_error_deg": math.degrees(math.acos(cosine)),
                "plane_distance_mm": abs(
                    float(
                        registration.midsagittal.signed_distance(
                            np.asarray(phantom.midsagittal[0])[None]
                        )[0]
                    )
                ),
                **{
                    f"{level}_error": registration.levels[level] - phantom.levels[level]
                    for level in ("ganglionic", "supraganglionic")
                },
                "quality": registration.quality,
                "seconds": seconds,
                "failure": "",
                "side": phantom.meta.side,
            }
        )
        if progress is not None:
            progress(seed)
    return pd.concat(units, ignore_index=True), pd.DataFrame(cases)


def unit_metrics(scored: pd.DataFrame) -> dict[str, Any]:
    """AUC (clustered CI), sensitivity and specificity of scored units with ``truth``."""
    result = auc_ci(scored["truth"], scored["probability"], cluster=scored["case"])
    truth, call = scored["truth"].to_numpy(int), scored["call"].to_numpy(int)
    per_region = []
    regions = scored["unit"].map(lambda u: split_unit(u)[0])
    for region, group in scored.groupby(regions, sort=False):
        t, c = group["truth"].to_numpy(int), group["call"].to_numpy(int)
        per_region.append(
            {
                "region": region,
                "positives": int(t.sum()),
                "sensitivity": float(c[t == 1].mean()) if t.sum() else None,
                "specificity": float(1 - c[t == 0].mean()),
            }
        )
    return {
        "auc": {
            "estimate": result.estimate,
            "ci": [result.ci_low, result.ci_high],
            "method": "Obuchowski 1997 clustered (cluster = case)",
        },
        "sensitivity": float(call[truth == 1].mean()),
        "specificity": float(1 - call[truth == 0].mean()),
        "positives": int(truth.sum()),
        "units": len(truth),
        "per_region": per_region,
    }


def evaluate(
    seeds: range,
    calibration: Calibration | None = None,
    progress: Callable[[int], None] | None = None,
    config: PhantomConfig | None = None,
) -> dict[str, Any]:
    """The figures of the module docstring for phantoms ``seeds`` made with ``config``."""
    features, cases = phantom_rows(seeds, config, progress=progress)
    return {"seeds": [seeds.start, seeds.stop - 1], **summarize(features, cases, calibration)}


def summarize(
    features: pd.DataFrame, cases: pd.DataFrame, calibration: Calibration | None = None
) -> dict[str, Any]:
    """Registration and unit-level figures from :func:`phantom_rows` output."""
    from model.scoring import Calibration, hemisphere_aspects, score_units

    calibration = calibration or Calibration.load()
    scored = score_units(features, calibration)
    free = [case for case, group in scored.groupby("case") if group["truth"].sum() == 0]
    ten = [
        case
        for case in free
        if hemisphere_aspects(scored[scored["case"] == case]) == {"left": 10, "right": 10}
    ]
    failures = cases[cases["failure"] != ""]
    cases = cases[cases["failure"] == ""]
    false_calls = scored[scored["case"].isin(free)]["call"].sum()
    return {
        "registration_failures": dict(zip(failures["case"], failures["failure"], strict=True)),
        "calibration": {
            "intercept": calibration.intercept,
            "coef": list(calibration.coef),
            "threshold": calibration.threshold,
        },
        "registration": {
            "dice_mean": float(cases["dice"].mean()),
            "dice_min": float(cases["dice"].min()),
            "angle_error_deg_mean": float(cases["angle_error_deg"].mean()),
            "angle_error_deg_max": float(cases["angle_error_deg"].max()),
            "level_error_max_slices": int(
                cases[["ganglionic_error", "supraganglionic_error"]].abs().to_numpy().max()
            ),
            "quality_min": float(cases["quality"].min()),
            "seconds_median": float(cases["seconds"].median()),
        },
        "units": unit_metrics(scored),
        "lesion_free_cases": len(free),
        "lesion_free_aspects_10_both_sides": len(ten),
        "lesion_free_aspects_10_share": len(ten) / len(free) if free else None,
        "false_calls_per_lesion_free_case": float(false_calls / len(free)) if free else None,
    }


def fit(seeds: range, path: Path, progress: Callable[[int], None] | None = None) -> Calibration:
    """Fit the calibration on phantoms ``seeds`` and write it to ``path``."""
    from model.phantom import PhantomConfig
    from model.scoring import fit_calibration

    features, _ = phantom_rows(seeds, progress=progress)
    calibration = fit_calibration(
        features,
        ridge=FIT_RIDGE,
        provenance={
            "produced_by": f"python -m model.evaluate --fit --n {len(seeds)} "
            f"--seed-start {seeds.start}",
            "training_seeds": [seeds.start, seeds.stop - 1],
            "training_units": len(features),
            "training_positive_units": int(features["truth"].sum()),
            "phantom_config": asdict(PhantomConfig()),
            "ridge": FIT_RIDGE,
            "threshold_rule": "Youden J on the training units",
            "note": "trained on synthetic phantoms only, not on clinical scans",
        },
    )
    calibration.save(path)
    return calibration


@dataclass(frozen=True)
class LabelledCase:
    """A scan with known truth: the lesion mask on its grid and every unit's 0/1."""

    case: str
    scan: sitk.Image
    lesion: np.ndarray
    """(z, y, x) 0/1 acute lesion on the scan grid."""
    truth: Mapping[str, int]


def phantom_cases(seeds: range, config: PhantomConfig | None = None) -> Iterator[LabelledCase]:
    """The phantoms of ``seeds`` as :class:`LabelledCase` (case id = seed)."""
    from model.phantom import generate_phantom

    for seed in seeds:
        phantom = generate_phantom(seed, config)
        lesion = sitk.GetArrayFromImage(phantom.lesion_mask)
        yield LabelledCase(str(seed), phantom.image, lesion, dict(phantom.truth))


def difficulty_config(name: str = "default", **overrides: Any) -> PhantomConfig:
    """The phantom configuration of difficulty ``name`` (:data:`DIFFICULTIES`)."""
    from model.errors import PhantomError
    from model.phantom import PhantomConfig

    if name not in DIFFICULTIES:
        raise PhantomError(f"unknown difficulty {name!r}; use {', '.join(DIFFICULTIES)}")
    return PhantomConfig(**{**DIFFICULTIES[name], **overrides})


def paired_auc_difference(
    truth: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    cluster: np.ndarray,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """AUC(first) - AUC(second) on the same units with Obuchowski's (1997) clustered
    covariance: Wald CI and two-sided p."""
    from scipy import stats

    est, cov = clustered_cov(truth, np.vstack([first, second]), cluster)
    difference = float(est[0] - est[1])
    se = float(np.sqrt(max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0)))
    z = float(stats.norm.ppf(1 - alpha / 2))
    p = float(2 * stats.norm.sf(abs(difference) / se)) if se > 0 else float(difference == 0)
    return {
        "estimate": difference,
        "se": se,
        "ci": [difference - z * se, difference + z * se],
        "p": p,
        "method": "Obuchowski 1997 clustered, paired (cluster = case)",
    }


def _method_summary(units: pd.DataFrame, overlaps: pd.DataFrame) -> dict[str, Any]:
    """Segmentation and unit-level figures of one method."""
    lesion_cases = overlaps["tp"] + overlaps["fn"] > 0
    free = units.groupby("case")["truth"].sum() == 0
    calls = units.groupby("case")["call"].sum()
    segmentation = overlap_summary(overlaps)
    segmentation["mean_on_lesion_cases"] = {
        k: float(overlaps.loc[lesion_cases, k].mean()) for k in ("dsc", "precision", "recall")
    }
    segmentation["lesion_cases"] = int(lesion_cases.sum())
    return {
        "segmentation": segmentation,
        "units": unit_metrics(units),
        "lesion_free_cases": int(free.sum()),
        "false_calls_per_lesion_free_case": float(calls[free].mean()) if free.any() else None,
    }


def _asymmetry_prediction(
    scan: sitk.Image, registration: Registration, calibration: Calibration
) -> tuple[pd.DataFrame, np.ndarray]:
    from model.anatomy import LABELS
    from model.scoring import likelihood_map, score_units, unit_features

    scored = score_units(unit_features(scan, registration.atlas, LABELS), calibration)
    likelihood = likelihood_map(scan, registration.midsagittal, calibration)
    return scored[["unit", "probability", "call"]], sitk.GetArrayFromImage(likelihood)


def compare(
    cases: Iterable[LabelledCase],
    network: DualPathMethod,
    calibration: Calibration | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The dual-path ``network`` (a :class:`model.dualpath.DualPathMethod`) and the asymmetry
    method (``calibration``, default the committed one) on the same ``cases``.

    Each case is registered once and both methods score that registration. A case whose
    registration fails counts for neither and is listed under ``registration_failures``.
    Returns ``cases`` (per case and method: DSC, precision, recall, calls, ASPECTS, seconds),
    ``methods`` (per method: :func:`_method_summary`) and ``difference`` (network minus
    asymmetry unit-level AUC, paired).
    """
    from model.errors import ModelError, RegistrationError
    from model.register import register_to_scan
    from model.scoring import Calibration, hemisphere_aspects

    calibration = calibration or Calibration.load()
    units, per_case, failures = [], [], {}
    for item in cases:
        start = time.perf_counter()
        try:
            registration = register_to_scan(item.scan)
        except RegistrationError as exc:
            failures[item.case] = str(exc)
            continue
        registered = time.perf_counter() - start
        truth = pd.Series(item.truth).reindex(list(UNITS))
        if truth.isna().any():
            raise ModelError(f"case {item.case} lacks truth for {list(truth[truth.isna()].index)}")
        results = {}
        begin = time.perf_counter()
        results["asymmetry"] = _asymmetry_prediction(item.scan, registration, calibration)
        seconds = {"asymmetry": time.perf_counter() - begin}
        begin = time.perf_counter()
        prediction = network.predict_registered(item.scan, registration)
        seconds["dualpath"] = time.perf_counter() - begin
        results["dualpath"] = (
            prediction.regions,
            sitk.GetArrayViewFromImage(prediction.likelihood),
        )
        for method, (regions, likelihood) in results.items():
            rows = regions.assign(method=method, case=item.case)
            rows["truth"] = rows["unit"].map(truth).astype(int)
            units.append(rows)
            per_case.append(
                {
                    "method": method,
                    "case": item.case,
                    **overlap(likelihood, item.lesion, threshold=LESION_THRESHOLD),
                    "positive_units": int(truth.sum()),
                    "calls": int(regions["call"].sum()),
                    "aspects": hemisphere_aspects(regions),
                    "seconds": seconds[method],
                    "registration_seconds": registered,
                }
            )
        if progress is not None:
            progress(item.case)
    if not units:
        raise ModelError(f"no case could be registered ({len(failures)} failed)")
    units_table = pd.concat(units, ignore_index=True)
    cases_table = pd.DataFrame(per_case)
    methods = {
        method: _method_summary(
            units_table[units_table["method"] == method],
            cases_table[cases_table["method"] == method],
        )
        for method in ("dualpath", "asymmetry")
    }
    paired = units_table[units_table["method"] == "dualpath"].merge(
        units_table[units_table["method"] == "asymmetry"],
        on=["case", "unit"],
        suffixes=("", "_baseline"),
    )
    difference = paired_auc_difference(
        paired["truth"].to_numpy(),
        paired["probability"].to_numpy(float),
        paired["probability_baseline"].to_numpy(float),
        paired["case"].to_numpy(),
    )
    return {
        "network": {"weights": str(network.folder), **network.model_info},
        "device": network.device,
        "n_cases": int(cases_table["case"].nunique()),
        "registration_failures": failures,
        "methods": methods,
        "difference_auc_dualpath_minus_asymmetry": difference,
        "cases": json.loads(cases_table.to_json(orient="records")),
    }


def _seed_range(text: str) -> range:
    first, _, last = text.partition("-")
    try:
        return range(int(first), int(last) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds are FIRST-LAST, e.g. 1000-1039, got {text!r}"
        ) from None


def main(argv: list[str] | None = None) -> int:
    from model.scoring import WEIGHTS_PATH

    parser = argparse.ArgumentParser(prog="python -m model.evaluate", description=__doc__)
    parser.add_argument("--n", type=int, default=40, help="number of phantoms")
    parser.add_argument("--seed-start", type=int, default=1000, help="first phantom seed")
    parser.add_argument(
        "--seeds", type=_seed_range, help="phantom seeds FIRST-LAST (instead of --n, --seed-start)"
    )
    parser.add_argument(
        "--anatomy",
        choices=("mni152", "scct", "mixed"),
        help="source head of the phantoms (default: the config's, mni152)",
    )
    parser.add_argument(
        "--varied", action="store_true", help="varied heads and fields of view (varied_config)"
    )
    parser.add_argument("--fit", action="store_true", help="refit the calibration instead")
    parser.add_argument("--weights", type=Path, default=WEIGHTS_PATH)
    parser.add_argument(
        "--compare", action="store_true", help="the dual-path network beside the asymmetry method"
    )
    parser.add_argument(
        "--weights-dir", type=Path, help="dual-path weights folder (default: the shipped one)"
    )
    parser.add_argument("--device", default="auto", help="where the network runs (--compare)")
    parser.add_argument(
        "--difficulty", choices=tuple(DIFFICULTIES), default="default", help="phantom difficulty"
    )
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    seeds = args.seeds or range(args.seed_start, args.seed_start + args.n)
    from model.phantom import varied_config

    head = {} if args.anatomy is None else {"anatomy": args.anatomy}
    if args.varied:
        config = varied_config(**DIFFICULTIES[args.difficulty], **head)
    else:
        config = difficulty_config(args.difficulty, **head)

    def tick(seed: int | str) -> None:
        print(f"phantom {seed}", file=sys.stderr, flush=True)

    if args.fit:
        calibration = fit(seeds, args.weights, progress=tick)
        print(json.dumps(asdict(calibration), indent=2, default=list))
        return 0
    from model.scoring import Calibration

    calibration = Calibration.load(args.weights)
    phantoms = {
        "anatomy": config.anatomy,
        "varied": args.varied,
        "difficulty": args.difficulty,
        "seeds": [seeds.start, seeds.stop - 1],
    }
    if args.compare:
        from model.dualpath import DualPathMethod

        network = DualPathMethod(args.weights_dir, device=args.device)
        report = compare(phantom_cases(seeds, config), network, calibration, progress=tick)
    else:
        report = evaluate(seeds, calibration, progress=tick, config=config)
    report["phantoms"] = phantoms
    report["command"] = "python -m model.evaluate " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
