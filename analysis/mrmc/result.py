"""The result of an OR analysis: one stored representation of each statistic, the familiar
views (``difference``, ``differences``, the ``contrasts`` table) derived from it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analysis.mrmc.contrasts import (
    FIXED_CASES,
    FIXED_READERS,
    RANDOM,
    Contrast,
    json_float,
    json_label,
)

METHOD = "Obuchowski-Rockette, Hillis df"


@dataclass(frozen=True)
class ORResult:
    """Result of :func:`~analysis.mrmc.or_analysis`.

    Attributes
    ----------
    fom : str
        ``"auc"``, ``"sensitivity"`` or ``"specificity"``.
    covariance : str
        ``"jackknife"``, ``"delong"``, ``"obuchowski"`` or ``"unbiased"``.
    reference : modality label
        Differences are ``test - reference``.
    alpha : float
        1 - confidence level.
    foms : DataFrame
        FOM per reader (index) and modality (columns).
    comparisons : tuple of Contrast
        Every analysis x test modality against the reference (analysis-major): the one
        stored form of the contrasts; ``difference``, ``differences``, ``fixed_readers``,
        ``fixed_cases`` and ``contrasts`` are views of it.
    global_tests : DataFrame
        Index analysis; columns F, df1, df2, p, denominator: the F test of equal FOMs over all
        modalities.
    per_modality_all : DataFrame
        Per-modality estimates for each analysis (columns analysis, modality, estimate, se,
        ci_low, ci_high, df, ms_r, var, cov2).
    per_reader : DataFrame
        Fixed-reader detail per reader and test modality: each reader's FOMs with their
        case-sampling SE and CI, and the reader's difference with SE, CI, z and p.
    variance_components : dict
        var_r, var_tr (OR variance components; may be negative, reported as estimated),
        cov1, cov2, cov3, var_error (the error variance ``Var``), msr, mstr, mst, and the
        correlations rho1..rho3 (Cov_k / Var).
    n_cases, n_positive_cases, n_negative_cases, n_units, n_jackknife_cases : int
        Cases with at least one positive (negative) unit; jackknife cases used for the FOM
        (None for the DeLong-type estimators of the AUC).
    notes : tuple of str
        Degenerate situations met and how they were handled.
    """

    fom: str
    covariance: str
    reference: object
    alpha: float
    foms: pd.DataFrame
    comparisons: tuple[Contrast, ...]
    global_tests: pd.DataFrame
    per_modality_all: pd.DataFrame
    per_reader: pd.DataFrame
    variance_components: dict[str, float]
    n_cases: int
    n_positive_cases: int
    n_negative_cases: int
    n_units: int
    n_jackknife_cases: int | None
    notes: tuple[str, ...] = field(default_factory=tuple)

    method = METHOD

    @property
    def n_readers(self) -> int:
        return len(self.foms.index)

    @property
    def main_analysis(self) -> str:
        """Random readers and cases; fixed readers for a one-reader study."""
        return RANDOM if self.n_readers > 1 else FIXED_READERS

    def _by_test(self, analysis: str) -> dict[object, Contrast]:
        return {c.test: c for c in self.comparisons if c.analysis == analysis}

    def _first(self, analysis: str) -> Contrast | None:
        return next((c for c in self.comparisons if c.analysis == analysis), None)

    @property
    def differences(self) -> dict[object, Contrast]:
        """Every test modality (key) against the reference, random readers and cases."""
        return self._by_test(RANDOM)

    @property
    def difference(self) -> Contrast | None:
        """Random readers and cases, first test modality against the reference; None for a
        one-reader study analysed with ``allow_single_reader=True``."""
        return self._first(RANDOM)

    @property
    def fixed_readers(self) -> Contrast | None:
        """The first test modality's difference with readers fixed (chi-square, df2 = inf)."""
        return self._first(FIXED_READERS)

    @property
    def fixed_cases(self) -> Contrast | None:
        """The same with cases fixed (F on (t - 1)(r - 1) df); None with one reader."""
        return self._first(FIXED_CASES)

    @property
    def contrasts(self) -> pd.DataFrame:
        """One row per analysis x test modality, columns as :class:`Contrast`."""
        return pd.DataFrame([vars(c) for c in self.comparisons])

    @property
    def per_modality(self) -> pd.DataFrame:
        """Reader-averaged FOM per modality (index) from that modality's data alone, in the
        main analysis: estimate, se, ci_low, ci_high (clipped to [0, 1]), df, ms_r, var, cov2."""
        per_all = self.per_modality_all
        main = per_all[per_all["analysis"] == self.main_analysis]
        return main.drop(columns="analysis").set_index("modality")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready plain types: the ``roc_mrmc`` block of DATA_CONTRACTS.md plus extras.

        ``{method: "OR", covariance, df: "Hillis", <fom>: {<modality>: {estimate, ci,
        per_reader}}, difference: {estimate, se, ci, F, df2, p, ...}}``, where ``<fom>`` is
        ``auc`` (or ``sensitivity``/``specificity``). Extras: fom, reference, test, alpha,
        differences (per test modality), fixed_readers, fixed_cases, global_tests,
        variance_components, counts and notes. Non-finite numbers become ``None``.
        """
        main = self.difference if self.difference is not None else self.fixed_readers
        per_mod = self.per_modality
        block = {
            json_label(m): {
                "estimate": json_float(per_mod.at[m, "estimate"]),
                "ci": [json_float(per_mod.at[m, "ci_low"]), json_float(per_mod.at[m, "ci_high"])],
                "se": json_float(per_mod.at[m, "se"]),
                "df": json_float(per_mod.at[m, "df"]),
                "per_reader": {json_label(rd): json_float(v) for rd, v in self.foms[m].items()},
            }
            for m in per_mod.index
        }
        tests = self.global_tests
        fixed_readers, fixed_cases = self.fixed_readers, self.fixed_cases
        return {
            "method": "OR",
            "covariance": str(self.covariance),
            "df": "Hillis",
            "fom": str(self.fom),
            "alpha": self.alpha,
            "reference": json_label(self.reference),
            "test": json_label(main.test) if main is not None else None,
            str(self.fom): block,
            "difference": main.to_dict() if main is not None else None,
            "differences": {json_label(k): v.to_dict() for k, v in self.differences.items()},
            "fixed_readers": fixed_readers.to_dict() if fixed_readers else None,
            "fixed_cases": fixed_cases.to_dict() if fixed_cases else None,
            "global_tests": {
                a: {c: json_float(tests.at[a, c]) for c in tests.columns} for a in tests.index
            },
            "variance_components": {k: json_float(v) for k, v in self.variance_components.items()},
            "n_readers": self.n_readers,
            "n_cases": self.n_cases,
            "n_positive_cases": self.n_positive_cases,
            "n_negative_cases": self.n_negative_cases,
            "n_units": self.n_units,
            "n_jackknife_cases": self.n_jackknife_cases,
            "notes": list(self.notes),
        }
