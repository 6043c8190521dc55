"""`cnnlab speedrun --ablate`: every bar of the chart read one way, its settings shown,
and JSON that strict parsers accept."""

import json

import pytest

from cnnlab.bench.speedrun import (
    ADDS,
    FULL_RECIPE,
    TAKES_OUT,
    VARIANTS,
    SpeedrunResult,
    ablation_rows,
    plot_ablation,
    recipe_changes,
    speedrun_config,
    summarize,
)


def runs(*accs: float, reached: float | None = None) -> dict:
    return summarize([SpeedrunResult(i, reached, a, a, 10.0, 2) for i, a in enumerate(accs)],
                     0.92)


def strict_json(text: str):
    """json.loads as a strict parser reads it: NaN and Infinity are not JSON."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def by_variant(rows):
    return {r["variant"]: r for r in rows}


def test_every_variant_says_which_way_it_goes():
    assert {v.kind for v in VARIANTS.values()} == {TAKES_OUT, ADDS}
    assert VARIANTS["no weight EMA"].kind == TAKES_OUT
    assert VARIANTS["no weight EMA"].ingredient == "weight EMA"
    for added in ("lookahead (k 5, α 0.5)", "whitened first layer (held)",
                  "translation ±2 px (the fast preset's)", "shifted copies in the TTA (±1 px)"):
        assert VARIANTS[added].kind == ADDS, added


def test_an_ingredients_worth_reads_one_way_whether_taken_out_or_added():
    # The recipe at 90.20%. Taking the EMA out costs 0.5 points: the EMA is worth +0.5.
    # Adding lookahead costs 0.5 points: lookahead is worth -0.5. Before, both bars
    # were -0.5 (variant - full) on the same axis, in the same red.
    rows = by_variant(ablation_rows({FULL_RECIPE: runs(0.902), "no weight EMA": runs(0.897),
                                     "lookahead (k 5, α 0.5)": runs(0.897)}))
    ema, lookahead = rows["no weight EMA"], rows["lookahead (k 5, α 0.5)"]
    assert ema["delta_acc_points"] == pytest.approx(-0.5)  # variant - full, as before
    assert ema["effect_acc_points"] == pytest.approx(0.5)  # full - without
    assert lookahead["effect_acc_points"] == pytest.approx(-0.5)  # with - full
    assert (ema["kind"], lookahead["kind"]) == (TAKES_OUT, ADDS)
    assert ema["effect_acc_spread_points"] is None  # one run: no spread measured


def test_the_spread_of_a_worth_is_that_of_a_difference_of_means():
    rows = by_variant(ablation_rows({FULL_RECIPE: runs(0.90, 0.91),
                                     "no weight decay": runs(0.89, 0.91, 0.90)}))
    base_sd, sd = 0.01 / 2 ** 0.5, 0.01
    expect = 100 * (sd ** 2 / 3 + base_sd ** 2 / 2) ** 0.5
    assert rows["no weight decay"]["effect_acc_spread_points"] == pytest.approx(expect)
    assert rows["no weight decay"]["effect_acc_points"] == pytest.approx(0.5)


def test_recipe_changes_name_what_the_study_overrode():
    assert recipe_changes("cpu", speedrun_config("cpu", seed=0)) == []
    # where and how fast it runs is no change to the recipe
    assert recipe_changes("cpu", speedrun_config("cpu", seed=3, threads=1, device="cpu")) == []
    epochs = speedrun_config("cpu", seed=0).epochs
    assert recipe_changes("cpu", speedrun_config("cpu", seed=0, epochs=2)) == [
        f"epochs 2 (recipe: {epochs})"]


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.texts] + [
        t.get_text() for ax in fig.axes for t in ax.texts]


def test_the_chart_has_two_groups_value_labels_and_its_settings(tmp_path):
    summaries = {FULL_RECIPE: runs(0.902), "no weight EMA": runs(0.897),
                 "no weight decay": runs(0.902), "lookahead (k 5, α 0.5)": runs(0.897)}
    fig = plot_ablation(ablation_rows(summaries), tmp_path / "ab.png",
                        {"model": "lenet_modern", "device": "cpu", "epochs": 2,
                         "changes": ["epochs 2 (recipe: 14)"]})
    assert (tmp_path / "ab.png").read_bytes()[:4] == b"\x89PNG"
    kept, added = fig.axes
    assert "full recipe − recipe without it" in kept.get_title(loc="left")
    assert "recipe with it − full recipe" in added.get_title(loc="left")
    assert [t.get_text() for t in kept.get_yticklabels()] == ["weight EMA", "weight decay"]
    assert [t.get_text() for t in added.get_yticklabels()] == ["lookahead (k 5, α 0.5)"]
    widths = [p.get_width() for p in kept.patches]
    assert widths == pytest.approx([0.5, 0.0])  # the EMA helps: a bar to the right
    assert [p.get_width() for p in added.patches] == pytest.approx([-0.5])
    labels = [t.get_text() for t in kept.texts]
    assert labels == ["+0.50", "0.00"]  # a bar of nothing still says its value
    said = "\n".join(_texts(fig))
    assert "What each speedrun ingredient is worth" in fig.get_suptitle()
    assert "final test accuracy 90.20%" in said and "reached in 0/1 runs" in said
    assert "2 epochs, 1 seeded run per variant" in said and "no spread measured" in said
    assert "Changed from the recipe: epochs 2 (recipe: 14)" in said
    assert "> 0: it helps" in added.get_xlabel()


def test_several_runs_show_their_spread_and_a_diverged_run_its_n(tmp_path):
    import math

    diverged = SpeedrunResult(9, None, math.nan, math.nan, 1.0, 0, diverged=True)
    wild = summarize([SpeedrunResult(0, None, 0.90, 0.90, 1.0, 2),
                      SpeedrunResult(1, None, 0.91, 0.91, 1.0, 2), diverged], 0.92)
    rows = ablation_rows({FULL_RECIPE: runs(0.90, 0.91, 0.905), "no label smoothing": wild})
    fig = plot_ablation(rows, tmp_path / "ab.png")
    (label,) = fig.axes[0].texts  # sqrt(0.71^2 / 2 + 0.5^2 / 3) = 0.58
    assert label.get_text().startswith("0.00 ± 0.58") and "n=2" in label.get_text()
    assert "1/3 diverged" in label.get_text()
    said = "\n".join(_texts(fig))
    assert "3 seeded runs per variant" in said and "± std of the difference" in said
    assert "Changed from the recipe" not in said  # nothing was


def test_an_ablation_writes_strict_json_and_a_chart_that_names_its_epochs(tmp_path,
                                                                          monkeypatch):
    from typer.testing import CliRunner

    import cnnlab.bench.speedrun as sr
    import cnnlab.data
    from cnnlab.cli import app

    monkeypatch.setattr(cnnlab.data, "load_dataset", lambda *a, **k: None)
    monkeypatch.setattr(sr, "run_once", lambda cfg, data, target: sr.SpeedrunResult(
        seed=cfg.seed, time_to_target_s=None, final_acc=0.9, best_acc=0.9,
        total_time_s=1.0, epochs=cfg.epochs))
    drawn = {}
    real_plot = sr.plot_ablation

    def keep(rows, path, setting=None):
        drawn["fig"] = real_plot(rows, path, setting)
        return drawn["fig"]

    monkeypatch.setattr(sr, "plot_ablation", keep)
    out = tmp_path / "ab.json"
    result = CliRunner().invoke(app, ["speedrun", "--device", "cpu", "--ablate", "--runs", "1",
                                      "--epochs", "2", "--no-warmup", "--out", str(out)])
    assert result.exit_code == 0, result.output
    body = strict_json(out.read_text())  # bare NaN, as before, fails here
    full = by_variant(body["ablation"])[FULL_RECIPE]
    assert full["reached"] == 0 and full["time_to_target_mean_s"] is None
    assert out.with_suffix(".png").exists()
    said = "\n".join(_texts(drawn["fig"]))
    recipe_epochs = speedrun_config("cpu", seed=0).epochs
    assert f"epochs 2 (recipe: {recipe_epochs})" in said and "lenet_modern, cpu" in said
    assert "worth (points)" in result.output


def test_a_diverged_run_is_written_as_null_not_nan(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import cnnlab.bench.speedrun as sr
    import cnnlab.data
    from cnnlab.cli import app

    monkeypatch.setattr(cnnlab.data, "load_dataset", lambda *a, **k: None)
    monkeypatch.setattr(sr, "run_once", lambda cfg, data, target: sr.SpeedrunResult(
        seed=cfg.seed, time_to_target_s=None, final_acc=float("nan"),
        best_acc=float("nan"), total_time_s=1.0, epochs=0, diverged=True))
    out = tmp_path / "s.json"
    result = CliRunner().invoke(app, ["speedrun", "--device", "cpu", "--no-warmup",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    body = strict_json(out.read_text())
    assert body["runs"][0]["final_acc"] is None and body["summary"]["final_acc_mean"] is None
