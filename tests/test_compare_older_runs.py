"""compare_runs on run folders an older cnnlab wrote, as an upgraded user's disk holds them:
the state each is in is read from what those versions recorded."""

from __future__ import annotations

from compare_helpers import make_run, row

from cnnlab.train import compare_runs

# summary.json as cnnlab wrote it before 2026-12-05 (1789e92): no train_images, no
# cut_epoch; max_time stopped the run in its only epoch, after 24 of its 469 steps.
OLD_STOPPED = {"model": "lenet_modern", "stopped": "max_time", "best_test_acc": 0.64,
               "final": {"epoch": 1, "test_acc": 0.64}, "train_time_s": 3.0}


def test_an_older_run_cut_inside_its_last_epoch_is_in_time_budget_not_finished(tmp_path):
    # Its checkpoint, mid-epoch, is the one trace of the cut: resume trains the rest.
    cut = make_run(tmp_path, "cut", [row(1, 0.64, 3.1)], OLD_STOPPED, epochs=1, max_time=3.0,
                   checkpoint={"epoch": 0, "step_in_epoch": 24,
                               "partial": {"seen": 3072.0, "correct": 2065.0}})
    # The same stop written by a cnnlab older still (62c24ff) counted the epoch as done,
    # its checkpoint at the epoch's end: resume trains nothing more, as compare says.
    done = make_run(tmp_path, "done", [row(1, 0.64, 3.1)], OLD_STOPPED, epochs=1,
                    max_time=3.0, checkpoint={"epoch": 1, "step_in_epoch": 0})
    assert [r.state for r in compare_runs(cut, done).runs] == ["time budget", "finished"]
