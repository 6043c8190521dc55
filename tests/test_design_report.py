"""A design report says how its sweeps were made, which networks did best, when its
p-values cannot be trusted, and labels its D values and plots so that they agree."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from design_helpers import kept_figures, shaped_spec

import cnnlab.design.report as report
from cnnlab.design.describe import format_count
from cnnlab.design.edf import compare_normalized, complexity_bin_edges
from cnnlab.design.report import analyze
from cnnlab.design.report_text import MIN_TRUSTED_N, verdict_words
from cnnlab.design.store import TrialStore

CREATED = {"python": "3.11.7", "torch": "2.14.1", "numpy": "2.4.6", "torchvision": "0.29.1",
           "cnnlab": "0.1.0", "platform": "Linux-6.18-x86_64", "cpu_count": 2,
           "hostname": "lab-pc", "date": "2026-12-05T08:22:22",
           "command": "cnnlab design run --space anynetx_b --n 4 --train-subset 10000"}


def sweep(folder, errors, space_spec=None, created=CREATED):
    # Fashion-MNIST's sizes: a subset of 10,000 training images is a subset there.
    spec = space_spec or replace(shaped_spec(), data="fashion-mnist", train_subset=10000,
                                 train={"epochs": 1, "eval_subset": 2000})
    with TrialStore(folder, create=True) as store:
        store.init_sweep(spec, len(errors), created=created)
        for i, e in enumerate(errors):
            store.mark_running(i, "lab-pc:101")
            store.record(i, "done", error_pct=e, test_acc=1 - e / 100, train_time_s=1.0,
                         worker="lab-pc:101")
    return folder


@pytest.fixture
def two_sweeps(tmp_path):
    a = sweep(tmp_path / "a", [30.0, 31.0, 32.0, 40.0])
    b = sweep(tmp_path / "b", [20.0, 21.0, 22.0, 23.0])
    return a, b


def test_the_setup_says_what_the_sweep_trained_on_and_where(two_sweeps, tmp_path):
    summary = analyze(list(two_sweeps), tmp_path / "r", resamples=50)
    md = (tmp_path / "r" / "summary.md").read_text()
    # Before: '1 epoch(s), 100K-1M MACs' and nothing else.
    for words in ("| training images | the first 10,000 of the training split |",
                  "| error measured on | the first 2,000 of the test split",
                  "| learning rate | 0.05, cosine schedule |", "| batch size | 128 |",
                  "| optimiser | sgd, momentum 0.9, weight decay 5e-05 |",
                  "| epochs | 1 |", "sampling seed 0", "| created | 2026-12-05 08:22 |",
                  "lab-pc, Linux-6.18-x86_64, 2 CPUs",
                  "cnnlab 0.1.0, torch 2.14.1, torchvision 0.29.1, numpy 2.4.6, Python 3.11.7",
                  "--train-subset 10000", "one trial at a time", "Not recorded in a sweep:"):
        assert words in md, words
    assert "| device | not recorded" in md  # no --device given: said, not guessed
    setup = summary["spaces"][0]["setup"]
    assert setup["training images"] == "the first 10,000 of the training split"
    page = (tmp_path / "r" / "report.html").read_text()
    assert "<h2>Setup</h2>" in page and "the first 2,000 of the test split" in page
    on_disk = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert on_disk["spaces"][1]["setup"]["batch size"] == "128"


def test_the_setup_gives_the_thread_count_a_sweep_records(tmp_path):
    # The notes said "not recorded: torch threads per trial" while trials.sqlite held it.
    folder = sweep(tmp_path / "a", [30.0, 20.0])
    with TrialStore(folder) as store:
        store.set_meta({"threads": 1})
    unrecorded = sweep(tmp_path / "b", [25.0, 21.0])
    summary = analyze([folder, unrecorded], tmp_path / "r", resamples=50)
    assert summary["spaces"][0]["setup"]["torch threads per trial"] == "1"
    assert summary["spaces"][1]["setup"]["torch threads per trial"].startswith("not recorded")
    md = (tmp_path / "r" / "summary.md").read_text()
    assert "threads per trial, and" not in md.split("Not recorded in a sweep:")[1]


def test_a_sweep_without_a_creation_record_says_so(tmp_path):
    folder = sweep(tmp_path / "a", [30.0, 20.0], created={})
    analyze([folder], tmp_path / "r", resamples=50)
    md = (tmp_path / "r" / "summary.md").read_text()
    assert "| versions | not recorded |" in md and "| machine | not recorded |" in md


def test_the_best_networks_are_listed_with_their_shape_and_complexity(two_sweeps, tmp_path):
    summary = analyze(list(two_sweeps), tmp_path / "r", resamples=50)
    best = summary["spaces"][1]["best_trials"]
    assert [t["error_pct"] for t in best] == [20.0, 21.0, 22.0, 23.0]
    with TrialStore(two_sweeps[1]) as store:
        trial = store.trial(best[0]["id"])
    assert best[0]["depths"] == trial["config"]["depths"]
    assert best[0]["group_widths"] == trial["config"]["group_widths"]
    md = (tmp_path / "r" / "summary.md").read_text()
    # One decimal: its error was measured on 2,000 test images (0.05% each)
    row = (f"| anynetx_b (b) | {trial['id']} | 20.0 | {format_count(trial['macs'])} | "
           f"{format_count(trial['params'])} | {format_count(trial['acts'])} | "
           f"{trial['config']['depths']} |")
    assert "## Best networks" in md and row in md
    assert "acts = activations per image" in md
    # With the RegNet rule nearest each one's widths, as the paper fitted its best AnyNets.
    from cnnlab.design.regnet_fit import fit_regnet

    fit = fit_regnet(trial["config"]["depths"], trial["config"]["widths"])
    assert best[0]["regnet_fit"] == {"w0": fit.w0, "wa": round(fit.wa, 3),
                                      "wm": round(fit.wm, 3), "e_fit": round(fit.fit_error, 4)}
    assert "| nearest RegNet rule (e_fit) |" in md and f"w0 {fit.w0}, wa " in md
    assert "e_fit = the mean |ln(rule's width / network's width)|" in md


def test_too_few_models_for_the_p_value_is_said_plainly(two_sweeps, tmp_path):
    summary = analyze(list(two_sweeps), tmp_path / "r", resamples=50)
    [pair] = summary["pairs"]
    assert pair["too_few_for_p"]
    assert ("too few models to conclude from (under 30 per space: anynetx_b (a) 4, "
            "anynetx_b (b) 4): sample more") in pair["verdict"]
    md = (tmp_path / "r" / "summary.md").read_text()
    assert "finished too few models (under 30) to conclude from" in md
    enough = verdict_words("A", "E", 0.0, 0.5, 1e-6, sizes=(MIN_TRUSTED_N, 40))
    assert "too few" not in enough
    # Only the space that is short is named (it said "200 and 20 models are too few").
    assert verdict_words("A", "E", 0.0, 0.5, 1e-6, sizes=(200, 20)).endswith(
        "(under 30 per space: E 20): sample more")


def test_the_verdict_quotes_the_normalised_d_under_its_name(tmp_path):
    worse = sweep(tmp_path / "a", [30.0 + i for i in range(12)])
    better = sweep(tmp_path / "b", [10.0 + i for i in range(12)])
    summary = analyze([worse, better], tmp_path / "r", resamples=50)
    [pair] = summary["pairs"]
    assert pair["verdict"].startswith("anynetx_b (b) better")
    # 'above by up to 0.90' sat beside a raw D column of 0.875, unlabelled
    assert f"above by up to {pair['ks_normalized']:.3f} (the normalised KS D)" in pair["verdict"]
    md = (tmp_path / "r" / "summary.md").read_text()
    assert "| KS D (plain EDFs) | p (plain, asymptotic) | KS D (normalised EDFs) |" in md


def test_plots_have_capitalised_titles_legends_in_both_panels_and_say_which_way_is_better(
        two_sweeps, tmp_path, monkeypatch):
    figures = kept_figures(monkeypatch)
    analyze(list(two_sweeps), tmp_path / "r", resamples=50)
    plain, normalised = figures["edf.png"].axes
    assert plain.get_title() == "EDF of error"
    assert normalised.get_title().startswith("Complexity-normalised EDF")
    for ax in (plain, normalised):
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == ["anynetx_b (a) (n=4)", "anynetx_b (b) (n=4)"]
        assert "left is better" in ax.get_xlabel()
    assert "up is better" in plain.get_ylabel()
    (scatter,) = figures["error_vs_macs.png"].axes
    assert scatter.get_title() == "Error against complexity"
    assert "lower is better" in scatter.get_ylabel()


@pytest.mark.parametrize("n, text", [(999, "999"), (45_312, "45.3K"), (290_123, "290K"),
                                     (1_681_000, "1.68M"), (2_410_000, "2.41M"),
                                     (999_700, "1.00M"), (9_996, "10.0K"),
                                     (3_200_000_000, "3.20G")])
def test_counts_have_three_significant_figures(n, text):
    assert format_count(n) == text


def test_figures_of_sweeps_trained_differently_say_they_do_not_compare(tmp_path,
                                                                        monkeypatch):
    # The table called them "not comparable"; the EDFs overlaid them without a word.
    drawn, save_figure = {}, report.save_figure

    def keep(fig, path, **kwargs):
        drawn[path.name] = [t.get_text() for t in fig.texts  # the caption, not the subtitle
                            if t.get_text() != fig.get_suptitle()]
        return save_figure(fig, path, **kwargs)

    monkeypatch.setattr(report, "save_figure", keep)
    a = sweep(tmp_path / "a", [30.0, 31.0, 32.0, 40.0])
    b = sweep(tmp_path / "b", [20.0, 21.0, 22.0, 23.0],
              replace(shaped_spec(), train_subset=2000, train={"epochs": 1}))
    analyze([a, b], tmp_path / "r", resamples=50)
    for name in ("edf.png", "error_vs_macs.png"):
        [caption] = drawn[name]
        assert caption.startswith("Not comparable, trained or sampled differently "
                                  "(anynetx_b (a) vs anynetx_b (b): ")
        assert "train_subset 10000 vs 2000" in " ".join(caption.split()), caption
    drawn.clear()
    analyze([a, sweep(tmp_path / "c", [25.0, 26.0, 27.0, 28.0])], tmp_path / "r2",
            resamples=50)
    assert drawn == {"edf.png": [], "error_vs_macs.png": []}  # these compare


def sweep_following_macs(folder, n: int, shift: float, seed: int):
    """A sweep whose errors fall with MACs (as real ones do), plus noise and ``shift``."""
    rng = np.random.default_rng(seed)
    with TrialStore(folder, create=True) as store:
        store.init_sweep(replace(shaped_spec(seed=seed), macs=(1e5, 4e6)), n, created=CREATED)
        for trial in store.trials("pending"):
            error = 40 - 3 * np.log(trial["macs"] / 1e5) + rng.normal(0, 1) + shift
            store.record(trial["id"], "done", error_pct=error, test_acc=1 - error / 100,
                         train_time_s=1.0)
    return folder


def test_the_normalised_test_finds_a_space_better_at_every_complexity(tmp_path):
    # B is 1.5 points better at every MACs. The asymptotic p of the weighted EDFs (Kish's
    # effective sizes) was far too large when error follows MACs: "no significant
    # difference". Labels shuffled within MACs bins give the p-value its true scale.
    a = sweep_following_macs(tmp_path / "a", 80, 0.0, seed=1)
    b = sweep_following_macs(tmp_path / "b", 80, -1.5, seed=2)
    [pair] = analyze([a, b], tmp_path / "r", resamples=400)["pairs"]
    assert pair["p_normalized"] < 0.01 and pair["verdict"].startswith("anynetx_b (b) better")
    assert pair["shared_bins"] >= 8 and pair["permutations"] == 400


def test_a_third_sweep_does_not_change_a_pairs_normalised_numbers(tmp_path):
    # The bins were cut over every sweep analysed: one far away coarsened the pair's.
    a = sweep_following_macs(tmp_path / "a", 40, 0.0, seed=1)
    b = sweep_following_macs(tmp_path / "b", 40, 0.0, seed=2)
    far = tmp_path / "far"
    with TrialStore(far, create=True) as store:
        store.init_sweep(replace(shaped_spec(seed=3), macs=(2e7, 6e7)), 5, created=CREATED)
        for trial in store.trials("pending"):
            store.record(trial["id"], "done", error_pct=5.0, test_acc=0.95, train_time_s=1.0)
    [alone] = analyze([a, b], tmp_path / "r1", resamples=100)["pairs"]
    with_far = analyze([a, b, far], tmp_path / "r2", resamples=100)["pairs"][0]
    assert (with_far["ks_normalized"], with_far["p_normalized"]) == (
        alone["ks_normalized"], alone["p_normalized"])


def test_the_best_of_m_draws_as_many_models_in_every_space(tmp_path):
    # Errors alike, 60 models against 6: best of n made the bigger sweep look better.
    rng = np.random.default_rng(0)
    big = sweep(tmp_path / "big", list(20 + 2 * rng.normal(size=60)))
    small = sweep(tmp_path / "small", list(20 + 2 * rng.normal(size=6)))
    spaces = analyze([big, small], tmp_path / "r", resamples=200)["spaces"]
    assert [s["best_of"] for s in spaces] == [6, 6]
    assert "m = 6, 95%:" in (tmp_path / "r" / "summary.md").read_text()


def test_same_space_sweeps_in_folders_of_one_name_keep_apart(tmp_path):
    # a/sweep and b/sweep were both "anynetx_b (sweep)": their counts mixed in the table.
    a = sweep(tmp_path / "a" / "sweep", [30.0, 31.0, 32.0])
    b = sweep(tmp_path / "b" / "sweep", [20.0, 21.0])
    spaces = analyze([a, b], tmp_path / "r", resamples=50)["spaces"]
    assert [s["label"] for s in spaces] == [f"anynetx_b ({a})", f"anynetx_b ({b})"]


def test_one_sweep_can_be_analysed_given_alone(tmp_path):
    # A folder given as a string was read letter by letter ("s does not exist"); a Path
    # was "not iterable".
    folder = sweep(tmp_path / "sweep", [30.0, 31.0])
    for given in (str(folder), folder):
        [space] = analyze(given, tmp_path / f"r-{type(given).__name__}", resamples=50)["spaces"]
        assert space["done"] == 2


def test_the_setup_never_names_more_test_images_than_the_data_holds():
    # eval_subset=200 on synthetic data (128 test images) read "the first 200 of the test
    # split", while the errors were multiples of 1/128.
    import inspect

    from cnnlab.data.synthetic import make_synthetic
    from cnnlab.design import describe

    defaults = inspect.signature(make_synthetic).parameters
    assert describe._SPLIT_SIZES["synthetic"] == {"training": defaults["num_train"].default,
                                                  "test": defaults["num_test"].default}
    spec = {**replace(shaped_spec(), train={"eval_subset": 200}).to_dict(), "data": "synthetic"}
    words = describe.sweep_setup(spec, {}, 1, {}, [])["error measured on"]
    assert words.startswith("all of the test split (128 images; the first 200 asked)")


def test_the_normalised_figure_draws_the_gaps_the_verdict_quotes(tmp_path, monkeypatch):
    # A is bad among small models and good among big ones; B has big ones only. The
    # verdict (the bins both hold) says A is ahead and never below; the figure weighted
    # each space over its own bins and drew B's curve above A's.
    def space(label, errors, macs):
        rows = [{"error_pct": e, "macs": m} for e, m in zip(errors, macs, strict=True)]
        return report.SpaceResult(label, label, {"space": label}, {}, rows)

    a = space("A", [30, 31, 32, 10, 11, 12], [1e6] * 3 + [8e6] * 3)
    b = space("B", [15, 16, 17, 18, 19, 20], [8e6] * 6)
    verdict = compare_normalized(a.errors, a.macs, b.errors, b.macs, bins=2, permutations=50)
    assert (verdict.a_ahead, verdict.b_ahead) == (1.0, 0.0)
    figures, save_figure = {}, report.save_figure
    monkeypatch.setattr(report, "save_figure",
                        lambda fig, path, **kw: figures.setdefault(path.name, fig)
                        and save_figure(fig, path, **kw))
    edges = complexity_bin_edges(np.r_[a.macs, b.macs], 2)
    report.plot_edfs([a, b], edges, tmp_path / "edf.png")
    normalised = figures["edf.png"].axes[1]
    assert normalised.get_title() == ("Complexity-normalised EDF\n(1 of 2 MACs bins: those "
                                      "every space holds)")
    assert [t.get_text() for t in normalised.get_legend().get_texts()] == [
        "A (n=3 of 6)", "B (n=6)"]

    def drawn(line, at):  # a step line (where="post") at these errors
        x, y = line.get_data()
        return np.r_[0.0, y][np.searchsorted(x, at, side="right")]

    at = np.arange(9.5, 33, 0.5)
    line_a, line_b = normalised.get_lines()
    gaps = drawn(line_a, at) - drawn(line_b, at)
    assert gaps.max() == pytest.approx(verdict.a_ahead)
    assert gaps.min() == pytest.approx(-verdict.b_ahead, abs=1e-12)


def test_figures_say_what_was_swept_and_come_first_in_the_page(two_sweeps, tmp_path,
                                                               monkeypatch):
    # "EDF of error" alone, copied onto a slide, said nothing of data, epochs or MACs;
    # in report.html the figures came last, headless, after five screens of notes.
    subtitles, save_figure = {}, report.save_figure

    def keep(fig, path, **kwargs):
        subtitles[path.name] = " ".join(fig.get_suptitle().split())  # wrapped to fit
        return save_figure(fig, path, **kwargs)

    monkeypatch.setattr(report, "save_figure", keep)
    analyze(list(two_sweeps), tmp_path / "r", resamples=50)
    context = ("fashion-mnist (the first 10,000 of the training split); 1 epoch; "
               "100K-1M MACs at 1x28x28, 10 classes")
    assert subtitles == {"edf.png": context, "error_vs_macs.png": context}
    page = (tmp_path / "r" / "report.html").read_text()
    assert (page.index("<h2>Spaces</h2>") < page.index("<h2>Error distributions</h2>")
            < page.index("<img") < page.index("<h2>Comparisons</h2>")
            < page.index("<h2>Notes</h2>"))


@pytest.mark.parametrize("train, decimals", [({"epochs": 1, "eval_subset": 500}, 1),
                                             ({"epochs": 1}, 2)])
def test_errors_have_the_decimals_their_test_images_hold(tmp_path, train, decimals):
    # '89.00' on 500 test images (0.2% each) claimed a precision they do not hold.
    spec = replace(shaped_spec(), data="fashion-mnist", train_subset=10000, train=train)
    folder = sweep(tmp_path / "a", [30.0, 31.25, 32.5, 40.0], spec)
    summary = analyze([folder], tmp_path / "r", resamples=50)
    md = (tmp_path / "r" / "summary.md").read_text()
    assert summary["spaces"][0]["decimals"] == decimals
    shown = "30.0" if decimals == 1 else "30.00"
    assert f"| anynetx_b | 4 | 0 | {shown} |" in md, md



def test_trained_says_how_many_trials_ran_at_once_not_how_many_processes():
    # One trial at a time, resumed once: the second session's process is another name,
    # and the setup said "2 worker process(es)".
    from cnnlab.design.describe import sweep_setup

    def rows(*spans):
        return [{"started_at": 1e9 + a, "finished_at": 1e9 + b, "worker": f"pc:{100 + i}"}
                for i, (a, b) in enumerate(spans)]

    def trained(spans):
        return sweep_setup(shaped_spec().to_dict(), {}, 4, {"done": 4}, rows(*spans))["trained"]

    assert trained([(0, 10), (10, 20), (100, 110), (110, 120)]).endswith(", one trial at a time")
    assert trained([(0, 10), (1, 12), (12, 20), (100, 110)]).endswith(", up to 2 trials at once")
