"""Figures read at a glance: a log axis has values to read its points by (labelled ticks
inside the view, not one tick for a whole bubble plot, nor decades alone for a curve
between two of them), and long class names leave a confusion matrix its room. Read from
the artists matplotlib draws, not from pixels."""

import math

import pytest
from test_bench_zoo_report import row

from cnnlab.bench import zoo_report
from cnnlab.figures import si_log_axis, subplots
from cnnlab.train.report_figures import curves_figure


def labelled(axis) -> dict[float, str]:
    """The labelled ticks of ``axis`` inside its view, as drawn: value -> text."""
    axis.axes.figure.draw_without_rendering()
    lo, hi = sorted(axis.get_view_interval())
    values = axis.get_majorticklocs()
    return {v: t.get_text() for v, t in zip(values, axis.get_majorticklabels(), strict=True)
            if lo <= v <= hi and t.get_text()}


def test_a_narrow_log_axis_is_labelled_at_even_steps():
    # 9.1M to 13.7M: of 1-9 x 10^k only 10M lies inside; the axis read '10M' and no more.
    fig, ax = subplots(figsize=(6.5, 4.4))
    ax.scatter([10e6, 12e6], [1, 2])
    ax.set_xscale("log")
    ax.set_xlim(9.1e6, 13.7e6)
    si_log_axis(ax.xaxis, 9.1e6, 13.7e6)
    ticks = labelled(ax.xaxis)
    assert list(ticks.values()) == ["10M", "11M", "12M", "13M"]
    assert not ax.xaxis.get_minor_locator()()  # no bare 1-9 x 10^k between them


@pytest.mark.parametrize("lo, hi", [(99e3, 101e3), (99.8e3, 100.3e3), (9.96e6, 10.04e6)])
def test_ticks_close_together_never_share_a_label(lo, hi):
    # 99.5K, 100K and 100.5K read '99.5K', '100K', '100K' at three figures.
    fig, ax = subplots(figsize=(6.5, 4.4))
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    si_log_axis(ax.xaxis, lo, hi)
    ticks = labelled(ax.xaxis)
    assert len(ticks) >= 3, ticks
    assert len(set(ticks.values())) == len(ticks), ticks


def test_a_zoo_of_one_model_has_its_cost_axis_labelled_around_it():
    one = [row("resnet18_d2l", "resnet", 0.912, 0.903, 11_171_146, 318_700_000, 96, 3100)]
    for key, value in (("params", 11_171_146), ("macs", 318_700_000)):
        ticks = labelled(zoo_report.cost_figure(one, key).axes[0].xaxis)
        assert len(ticks) >= 2, ticks
        assert min(ticks) < value < max(ticks)  # the bubble lies between two labels


def test_a_loss_of_two_decades_is_labelled_between_the_decades():
    # Test loss 196 -> 4.5, train 3.4 -> 1.6 (lr 3): a log axis labelled 10 and 100 only
    # left the whole train curve with nothing to read it by.
    rows = [dict(epoch=e, train_loss=tr, test_loss=te, train_acc=a, test_acc=a, lr=3.0)
            for e, tr, te, a in ((1, 3.45, 195.8, 0.09), (2, 3.44, 4.98, 0.16),
                                 (3, 1.57, 4.50, 0.47))]
    ax = curves_figure(rows).axes[0]
    assert ax.get_yscale() == "log" and "log scale" in ax.get_ylabel()
    ticks = labelled(ax.yaxis)
    assert len(ticks) >= 5, ticks
    assert [v for v in ticks if 1.5 <= v <= 3.5]  # a value on the train curve's span
    assert "2" in ticks.values() and "100" in ticks.values()


def test_a_loss_of_many_decades_keeps_its_decade_labels():
    rows = [dict(epoch=e, train_loss=2.3 * 10 ** -e, test_loss=2.3, train_acc=0.5,
                 test_acc=0.5, lr=0.1) for e in range(1, 7)]
    ax = curves_figure(rows).axes[0]
    ticks = labelled(ax.yaxis)
    assert ax.get_yscale() == "log" and len(ticks) >= 4
    assert all(abs(v - 10 ** round(math.log10(v))) < 1e-9 * v for v in ticks)  # decades


LONG_CLASSES = ["golden_retriever_puppies_in_the_snow", "tabby cat",
                "a_very_very_long_class_folder_name_here", "dog", "x" * 40, "bird"]


def test_long_class_names_leave_the_confusion_matrix_its_room():
    # Six folder names of up to 40 characters: the matrix was drawn a quarter of an inch
    # a side, its counts on top of each other, the names filling the figure.
    from cnnlab.train.report_figures import confusion_figure

    matrix = [[80 if i == j else 5 for j in range(6)] for i in range(6)]
    fig = confusion_figure(matrix, LONG_CLASSES, "trained weights", 5.3, narrow=True)
    fig.draw_without_rendering()
    ax = fig.axes[0]
    side = ax.get_position().width * fig.get_figwidth()
    assert side > 1.5  # inches of matrix (0.52 before; 1.98 with matplotlib 3.8, 2.3 now)
    for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
        names = [t.get_text() for t in labels]
        assert len(set(names)) == 6 and max(map(len, names)) <= 18
        assert "tabby cat" in names and "golden_retr…e_snow" in names
    assert "long class names cut" in ax.get_title()


def test_short_names_stay_apart_and_short_ones_whole():
    from cnnlab.train.report_figures import short_names

    names = ["class_0001_" + "a" * 14 + "_dogs", "class_0001_" + "a" * 14 + "_cats", "cat"]
    short = short_names(names)
    assert len(set(short)) == 3 and short[2] == "cat" and short[0].endswith("_dogs")
    assert short_names(["a" * 20, "a" * 21]) != ["a" * 20] * 2  # cut alike: longer
    assert short_names(["x" * 19, "y"], chars=19) == ["x" * 19, "y"]


def test_two_names_alike_when_cut_grow_and_the_others_stay_short():
    from cnnlab.train.report_figures import short_names

    twins = ["category_alpha_with_a_long_common_tail", "category_omega_with_a_long_common_tail"]
    other = "an_unrelated_and_rather_long_class_name"
    short = short_names([*twins, other, twins[0]])
    assert len(set(short[:3])) == 3 and short[3] == short[0]
    assert len(short[2]) == 18  # not made whole by the twins
    assert all(len(s) < len(n) for s, n in zip(short[:2], twins, strict=True))


def test_a_sweep_analysed_alone_is_not_said_to_share_bins_with_others():
    import numpy as np

    from cnnlab.design.report import SpaceResult
    from cnnlab.design.report_figures import edf_figure

    def space(name, macs):
        return SpaceResult(name, name, {"space": name}, {},
                           [{"error_pct": 30 + i, "macs": m} for i, m in enumerate(macs)])

    edges = np.geomspace(1e5, 4e6, 5)  # 4 bins; the models fall in the first 2, one each
    alone = edf_figure([space("regnetx", [1.2e5, 3e5])], edges).axes[1]
    assert "every space" not in alone.get_title()
    assert "2 of 4 MACs bins: those its models fall in" in alone.get_title()
    two = edf_figure([space("a", [1.2e5, 3e5]), space("b", [1.5e5, 4e5])], edges).axes[1]
    assert "those every space holds" in two.get_title()
