"""Multi-reader multi-case (MRMC) analysis: the Obuchowski-Rockette model with Hillis df.

Modules, in the order of the method: :mod:`~analysis.mrmc.data` (long table -> dense array),
:mod:`~analysis.mrmc.covariance` (FOMs and their case-sampling covariance),
:mod:`~analysis.mrmc.components` (error covariances, mean squares, variance components),
:mod:`~analysis.mrmc.or_fit` (the OR tests with Hillis df), :mod:`~analysis.mrmc.contrasts`
(a modality difference and its test), :mod:`~analysis.mrmc.result` (:class:`ORResult`),
:mod:`~analysis.mrmc.obuchowski_rockette` (:func:`or_analysis`, the entry point) and
:mod:`~analysis.mrmc.split_plot` (:func:`split_plot_analysis`: reader groups reading their
own cases).

The figure of merit (FOM) of reader ``j`` in modality ``i``, ``theta_ij``, follows the
Obuchowski-Rockette (OR) model ``theta_ij = mu + tau_i + R_j + (tau R)_ij + e_ij``, where the
errors ``e_ij`` come from sampling cases and are correlated: ``Var``, ``Cov1`` (same reader,
different modalities), ``Cov2`` (different readers, same modality) and ``Cov3`` (different
readers and modalities). The covariances are estimated by the case jackknife (default),
DeLong's method or Obuchowski's clustered method; the test is Hillis's (2007) F with his
denominator degrees of freedom. Readers and cases are random; the fixed-reader (random cases)
and fixed-case (random readers) analyses come alongside.

Units (ASPECTS regions, or whole cases) are nested in cases: every resampling and clustering
here is over CASES, never over units.

References
----------
Obuchowski NA, Rockette HE (1995). Hypothesis testing of diagnostic accuracy for multiple
readers and multiple tests: an ANOVA approach with dependent observations. Commun Stat Simul
Comput 24:285-308.

Hillis SL (2007). A comparison of denominator degrees of freedom methods for multiple observer
ROC analysis. Stat Med 26:596-619.

Hillis SL, Berbaum KS, Metz CE (2008). Recent developments in the Dorfman-Berbaum-Metz
procedure for multireader ROC study analysis. Acad Radiol 15:647-661.

Hillis SL, Obuchowski NA, Schartz KM, Berbaum KS (2005). A comparison of the
Dorfman-Berbaum-Metz and Obuchowski-Rockette methods for receiver operating characteristic
(ROC) data. Stat Med 24:1579-1607.

Hillis SL (2014). A marginal-mean ANOVA approach for analyzing multireader multicase
radiological imaging data. Stat Med 33:330-360.

Smith BJ, Hillis SL (2020). Multi-reader multi-case analysis of variance software for
diagnostic performance comparison of imaging modalities. Proc SPIE 11316:113160K (MRMCaov).
"""

from __future__ import annotations

from analysis.mrmc.contrasts import (
    ANALYSES,
    FIXED_CASES,
    FIXED_READERS,
    RANDOM,
    Contrast,
    f_test_p,
    hillis_df,
    make_contrast,
)
from analysis.mrmc.covariance import fom_covariance, jackknife_foms
from analysis.mrmc.data import MRMCData, prepare_for_fom, prepare_mrmc
from analysis.mrmc.obuchowski_rockette import or_analysis
from analysis.mrmc.or_fit import ORFit, or_from_covariance
from analysis.mrmc.result import METHOD, ORResult
from analysis.mrmc.split_plot import (
    SPLIT_PLOT_METHOD,
    SplitPlotResult,
    reader_groups,
    split_plot_analysis,
)

__all__ = [
    "ANALYSES",
    "FIXED_CASES",
    "FIXED_READERS",
    "METHOD",
    "RANDOM",
    "SPLIT_PLOT_METHOD",
    "Contrast",
    "MRMCData",
    "ORFit",
    "ORResult",
    "SplitPlotResult",
    "f_test_p",
    "fom_covariance",
    "hillis_df",
    "jackknife_foms",
    "make_contrast",
    "or_analysis",
    "or_from_covariance",
    "prepare_for_fom",
    "prepare_mrmc",
    "reader_groups",
    "split_plot_analysis",
]
