"""Tests from hand mutation testing (mutation17) of cnnlab/train/report_figures.py."""

from cnnlab.train.report_figures import MARKED_UP_TO, marker_every


def test_curves_are_marked_at_every_point_up_to_the_limit_and_thinned_past_it():
    assert marker_every(MARKED_UP_TO) is None
    assert marker_every(MARKED_UP_TO + 1) == (0, 3)  # 41 points: every 3rd, 14 markers
    assert marker_every(MARKED_UP_TO + 1, 1, 2) == (1, 3)  # the second curve, offset


def test_the_confusion_colour_is_the_share_of_the_true_class():
    # Rows are true classes: 3 of 4 "a" right, 6 of 8 "b". By column (predicted class)
    # "a" predicted would read 60%, not the 75% of its own images it got right.
    import matplotlib.pyplot as plt
    import numpy as np

    from cnnlab.train.report_figures import confusion_figure

    fig = confusion_figure([[3, 1], [2, 6]], ["a", "b"], "", 5.0)
    try:
        shown = np.asarray(fig.axes[0].images[0].get_array())
        np.testing.assert_allclose(shown, [[0.75, 0.25], [0.25, 0.75]])
        cells = [t.get_text() for t in fig.axes[0].texts]
        assert cells == ["3", "1", "2", "6"]
    finally:
        plt.close(fig)


def test_the_test_curve_joins_the_epochs_it_was_evaluated_at():
    # eval_every 2: epochs 2 and 4 have no test numbers (NaN); drawn with them, the test
    # line broke at each and showed lone points.
    import math

    import matplotlib.pyplot as plt

    from cnnlab.train.report_figures import curves_figure

    nan = math.nan
    rows = [dict(epoch=e, train_loss=1.0 / e, train_acc=0.5 + e / 20,
                 test_loss=nan if e % 2 == 0 else 1.2 / e,
                 test_acc=nan if e % 2 == 0 else 0.4 + e / 20, lr=0.1) for e in range(1, 6)]
    fig = curves_figure(rows)
    try:
        for ax in fig.axes[:2]:
            assert list(ax.lines[1].get_xdata()) == [1, 3, 5]
    finally:
        plt.close(fig)
