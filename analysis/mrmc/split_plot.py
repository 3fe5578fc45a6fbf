"""``split_plot_analysis``: the OR/Hillis analysis of a split-plot study, where readers fall in
groups and each group reads its own cases in every modality.

The model is the OR model of :mod:`analysis.mrmc` with one change (Obuchowski, Gallas & Hillis
2012; Hillis 2014, section 6): two readers of different groups read different cases, so their
errors are independent. Within a group the design is fully crossed, and the covariances are
those of the crossed model, ``Var`` and ``Cov1`` (same reader) and ``Cov2``, ``Cov3``
(different readers of one group).

Estimation. The FOMs and their case-sampling covariance are computed group by group (case
jackknife, DeLong, ... over that group's cases only); the covariance between groups is zero.
``Var`` and ``Cov1`` are averaged over all readers, ``Cov2`` and ``Cov3`` over the ordered
pairs of distinct readers of the same group, K = sum_g r_g (r_g - 1) pairs in all (r_g the
size of group g, r = sum_g r_g). MS(T) and MS(TR) are the usual modality and
modality-by-reader mean squares of the FOMs over all r readers.

Tests (method of moments, derived from that covariance structure; G = 1 gives K = r (r - 1)
and the crossed formulas of :func:`~analysis.mrmc.or_analysis` exactly). Under H0,
``E[MS(T)] = sigma2_TR + Var - Cov1 + (K / r)(Cov2 - Cov3)`` and ``E[MS(TR)] = sigma2_TR +
Var - Cov1 - (Cov2 - Cov3) + (Cov2 - Cov3) sum_g r_g (r - r_g) / (r (r - 1))``, so that
``E[MS(T)] = E[MS(TR)] + K / (r - 1) (Cov2 - Cov3)``. Hence:

- random readers and cases: ``F = MS(T) / (MS(TR) + K / (r - 1) max(Cov2 - Cov3, 0))`` on
  ``t - 1`` and Hillis's ``ddf = den^2 / (MS(TR)^2 / ((t - 1)(r - 1)))``; a difference of two
  modalities has ``SE = sqrt(2 den / r)``. With G equal groups K / (r - 1) = r (r/G - 1) /
  (r - 1) (r when G = 1, 0 when every reader reads alone);
- fixed readers: ``den = Var - Cov1 + (K / r) max(Cov2 - Cov3, 0)``, chi-square (df2 = inf);
- fixed cases: ``F = MS(T) / MS(TR)`` on ``t - 1`` and ``(t - 1)(r - 1)`` df;
- one modality: ``SE^2 = (MS(R)_i + K / (r - 1) max(Cov2_i, 0)) / r``, Hillis df on r - 1.

The variance components use the share w = K / (r (r - 1)) of same-group pairs (see
:func:`analysis.mrmc.components.variance_components`).

References
----------
Obuchowski NA, Gallas BD, Hillis SL (2012). Multi-reader ROC studies with split-plot designs:
a comparison of statistical methods. Acad Radiol 19:1508-1517.

Hillis SL (2014). A marginal-mean ANOVA approach for analyzing multireader multicase
radiological imaging data. Stat Med 33:330-360.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis.columns import COLUMNS, Columns, plain, require_columns, require_frame
from analysis.errors import AnalysisInputError, check_alpha
from analysis.methods import FOM, Covariance
from analysis.mrmc.contrasts import json_label
from analysis.mrmc.covariance import check_estimator, fom_covariance
from analysis.mrmc.data import MRMCData, prepare_for_fom
from analysis.mrmc.obuchowski_rockette import check_design, fit_notes, reader_notes
from analysis.mrmc.or_fit import or_from_covariance
from analysis.mrmc.result import ORResult

SPLIT_PLOT_METHOD = "Obuchowski-Rockette split-plot (Obuchowski, Gallas & Hillis 2012), Hillis df"


@dataclass(frozen=True)
class SplitPlotResult(ORResult):
    """:class:`~analysis.mrmc.ORResult` of a split-plot study, with its reader groups."""

    groups: tuple[tuple[object, ...], ...] = ()
    """The readers of each group, groups in order of first appearance."""
    group_cases: tuple[int, ...] = ()
    """Cases read by each group."""

    method = SPLIT_PLOT_METHOD

    def to_dict(self) -> dict[str, object]:
        """:meth:`ORResult.to_dict` with ``design: "split-plot"``, the method and the groups."""
        out = super().to_dict()
        out["design"] = "split-plot"
        out["method_name"] = SPLIT_PLOT_METHOD
        out["groups"] = [
            {"readers": [json_label(rd) for rd in g], "cases": n}
            for g, n in zip(self.groups, self.group_cases, strict=True)
        ]
        return out


def reader_groups(data: pd.DataFrame, columns: Columns = COLUMNS) -> tuple[tuple[object, ...], ...]:
    """Readers grouped by the set of cases they read, groups and readers in order of first
    appearance; an :class:`AnalysisInputError` when two groups share some cases (neither
    crossed nor split-plot)."""
    require_frame(data)
    require_columns(data, columns, ("reader", "case"))
    cols = columns
    pairs = data[[cols.reader, cols.case]].drop_duplicates()
    case_sets = pairs.groupby(cols.reader, sort=False)[cols.case].agg(frozenset)
    by_set: dict[frozenset[object], list[object]] = {}
    for reader, cases in case_sets.items():
        by_set.setdefault(cases, []).append(reader)
    sets = list(by_set)
    for a in range(len(sets)):
        for b in range(a + 1, len(sets)):
            shared = sets[a] & sets[b]
            if shared:
                ra, rb = by_set[sets[a]][0], by_set[sets[b]][0]
                raise AnalysisInputError(
                    f"readers {plain(ra)!r} and {plain(rb)!r} read {len(shared)} case(s) in "
                    f"common (e.g. {plain(min(shared, key=str))!r}) but not the same cases "
                    f"({len(sets[a])} and {len(sets[b])}): the design is neither fully crossed "
                    "nor split-plot (reader groups reading disjoint case sets); analyse the "
                    "cases every reader read, or re-assign the cases so that each group of "
                    "readers has its own"
                )
    return tuple(tuple(by_set[s]) for s in sets)


def _group_data(
    data: pd.DataFrame,
    group: tuple[object, ...],
    k: int,
    fom: FOM,
    rating: str | None,
    modalities: list[object],
    columns: Columns,
) -> MRMCData:
    """One group's crossed data, modalities in the study's order."""
    sub = data[data[columns.reader].isin(group)]
    try:
        prepared = prepare_for_fom(sub, fom, rating=rating, columns=columns)
        if set(prepared.modalities) != set(modalities):
            raise AnalysisInputError(
                f"it read modalities {list(prepared.modalities)} of {modalities}; every group "
                "must read its cases in every modality"
            )
        check_design(prepared, fom, allow_single_reader=True)
    except AnalysisInputError as exc:
        raise AnalysisInputError(
            f"split-plot reader group {k + 1} (readers {[plain(r) for r in group]}): {exc}"
        ) from exc
    order = [prepared.modalities.index(m) for m in modalities]
    return replace(
        prepared,
        ratings=prepared.ratings[order],
        modalities=tuple(modalities),
        reference=order.index(prepared.reference),
    )


def split_plot_analysis(
    data: pd.DataFrame,
    *,
    fom: FOM | str = FOM.AUC,
    rating: str | None = None,
    covariance: Covariance | str = Covariance.JACKKNIFE,
    reference: object | None = None,
    alpha: float = 0.05,
    columns: Columns = COLUMNS,
) -> SplitPlotResult:
    """OR/Hillis analysis of a split-plot study (formulas in the module docstring).

    Parameters are those of :func:`~analysis.mrmc.or_analysis`. ``data`` is the same long
    table; readers are grouped by the cases they read (:func:`reader_groups`): each group
    must read all its cases (every unit) in every modality, and groups must not share cases.
    With one group the result equals :func:`~analysis.mrmc.or_analysis`. At least 2 readers
    are required in all; a group may hold a single reader.

    Examples
    --------
    >>> from analysis import datasets
    >>> tiny = datasets.load("tiny_mrmc")
    >>> readers = sorted(tiny["reader"].unique())
    >>> cases = sorted(tiny["case"].unique())
    >>> half = {r: i % 2 for i, r in enumerate(readers)}
    >>> keep = [cases.index(c) % 2 == half[r] for r, c in zip(tiny["reader"], tiny["case"])]
    >>> res = split_plot_analysis(tiny[keep], reference="unaided")
    >>> len(res.groups), res.difference.test
    (2, 'aided')
    """
    fom, covariance = check_estimator(fom, covariance)
    check_alpha(alpha)
    require_frame(data)
    require_columns(data, columns, ("reader", "modality", "case"))
    groups = reader_groups(data, columns)
    modalities = pd.unique(data[columns.modality]).tolist()
    if reference is not None and reference not in modalities:
        raise AnalysisInputError(
            f"reference modality {reference!r} is not in the data; modalities are {modalities}",
            parameter="reference",
        )
    ref = 0 if reference is None else modalities.index(reference)
    parts = [
        _group_data(data, g, k, fom, rating, modalities, columns) for k, g in enumerate(groups)
    ]
    readers = tuple(rd for p in parts for rd in p.readers)
    if len(readers) < 2:
        raise AnalysisInputError(
            f"random-reader analysis needs at least 2 readers; found only {readers[0]!r}"
        )
    t, r = len(modalities), len(readers)
    theta = np.empty((t, r))
    cov4 = np.zeros((t, r, t, r))  # zero between groups: they share no case
    codes = np.empty(r, dtype=np.int64)
    notes = []
    start = 0
    for k, p in enumerate(parts):
        theta_g, cov_g = fom_covariance(p, fom, covariance)
        stop = start + theta_g.shape[1]
        theta[:, start:stop] = theta_g
        cov4[:, start:stop, :, start:stop] = cov_g.reshape(t, stop - start, t, stop - start)
        codes[start:stop] = k
        notes += reader_notes(theta_g, p, fom, covariance)
        start = stop
    fit = or_from_covariance(
        theta,
        cov4.reshape(t * r, t * r),
        modalities=tuple(modalities),
        readers=readers,
        reference=ref,
        alpha=alpha,
        groups=codes,
    )
    sizes = ", ".join(f"{len(p.readers)} readers x {p.n_cases} cases" for p in parts)
    notes.insert(
        0,
        f"split-plot design: {len(parts)} reader group(s) ({sizes}), each reading its own "
        "cases; Cov1-Cov3 estimated within each group, Cov2/Cov3 averaged over the same-group "
        "reader pairs; " + SPLIT_PLOT_METHOD,
    )
    notes += fit_notes(fit, r)
    if fom is FOM.AUC:
        n_jack = sum(p.n_cases for p in parts) if covariance is Covariance.JACKKNIFE else None
    else:
        n_jack = sum(int(p.cases_with(fom is FOM.SENSITIVITY).sum()) for p in parts)
    return SplitPlotResult(
        fom=fom.value,
        covariance=covariance.value,
        reference=modalities[ref],
        alpha=alpha,
        foms=pd.DataFrame(
            theta.T,
            index=pd.Index(readers, name="reader"),
            columns=pd.Index(modalities, name="modality"),
        ),
        comparisons=fit.comparisons,
        global_tests=fit.global_tests,
        per_modality_all=fit.per_modality_all,
        per_reader=fit.per_reader,
        variance_components=fit.variance_components,
        n_cases=sum(p.n_cases for p in parts),
        n_positive_cases=sum(int(p.cases_with(True).sum()) for p in parts),
        n_negative_cases=sum(int(p.cases_with(False).sum()) for p in parts),
        n_units=sum(p.ratings.shape[2] for p in parts),
        n_jackknife_cases=n_jack,
        notes=tuple(notes),
        groups=tuple(p.readers for p in parts),
        group_cases=tuple(p.n_cases for p in parts),
    )
