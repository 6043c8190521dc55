"""The design report's nearest RegNet rule for its best networks: a RegNetX trial is
fitted on the widths its rule made, not on those the group-width step moved."""

from cnnlab.design import spaces
from cnnlab.design.describe import best_trials, best_trials_rows
from cnnlab.design.regnet_fit import fit_regnet


def _row(space: str, index: int) -> dict:
    s = spaces.sample_trial(space, 0, index, image_size=28, in_channels=1, num_classes=10)
    return {"id": index, "space": space, "error_pct": 10.0, "macs": s.macs,
            "params": s.complexity["params"], "acts": s.complexity["acts"],
            "sample": s.params, "config": spaces.config_to_overrides(s.config)}


def test_a_regnetx_trial_fits_its_own_rule_exactly():
    # Trial 1 of seed 0: the group-width step (b=2, g=16) moved [16, 40, 80, 184] to
    # [16, 32, 64, 192]; fitting those gave e_fit 0.11 for a network a rule made.
    row = _row("regnetx", 1)
    assert row["config"]["widths"] == [16, 32, 64, 192]
    fit = best_trials([row])[0]["regnet_fit"]
    assert fit["e_fit"] == 0.0
    assert fit["widths"] == [16, 40, 80, 184]
    cell = best_trials_rows([{"label": "regnetx", "best_trials": best_trials([row])}])[0][-1]
    assert cell.endswith("(0.000 to widths [16, 40, 80, 184], before the group-width step)")


def test_an_anynet_trial_is_fitted_as_trained():
    row = _row("anynetx_e", 0)
    c = row["config"]
    fit = best_trials([row])[0]["regnet_fit"]
    assert "widths" not in fit  # the widths column's own
    assert fit["e_fit"] == round(fit_regnet(c["depths"], c["widths"]).fit_error, 4)
