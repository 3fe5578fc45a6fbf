"""The difficulty knobs move an asymmetry reader's AUC the documented way."""

from __future__ import annotations

from model.phantom import PhantomConfig
from model.phantom_difficulty import oracle_auc


def test_easier_knobs_raise_the_oracle_auc():
    common = {"positive_case_fraction": 1.0, "matrix": 96}
    easy = PhantomConfig(
        lesion_hu_drop=(8.0, 10.0),
        lesion_coverage=(0.8, 1.0),
        asymmetry_hu=0.0,
        noise_sd=(2.0, 3.0),
        **common,
    )
    hard = PhantomConfig(
        lesion_hu_drop=(1.0, 2.0),
        lesion_coverage=(0.3, 0.5),
        asymmetry_hu=2.0,
        noise_sd=(5.0, 6.0),
        **common,
    )
    seeds = range(900, 908)
    easy_auc, hard_auc = oracle_auc(seeds, easy), oracle_auc(seeds, hard)
    assert easy_auc.n_positive > 10
    assert easy_auc.auc > 0.95
    assert hard_auc.auc < easy_auc.auc - 0.15
