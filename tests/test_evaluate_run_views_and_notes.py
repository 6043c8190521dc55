"""evaluate_run's options and notes at their edges: the test-time views a caller asks
for, a shift's border filled with the run's black, an eval_subset that was the whole
split, and a run whose metrics.csv cannot be read."""

import warnings

import pytest

import cnnlab.train.run as run_module
from cnnlab.data.synthetic import make_synthetic
from cnnlab.notices import SetupWarning
from cnnlab.train import TrainConfig, evaluate_run, train


@pytest.fixture
def shifted_run(tmp_path, monkeypatch):
    """A normalised run that evaluated with a test-time shift of 1 (its border: black,
    -mean/std, not 0) on eval_subset=40 of 40 test images: the whole split."""
    data = make_synthetic(num_train=48, num_test=40, seed=3)
    monkeypatch.setattr(run_module, "load_training_data", lambda cfg, test_only=False: data)
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, batch_size=16,
                      device="cpu", deterministic=True, quiet=True, out_dir=str(tmp_path),
                      run_name="shifted", normalize=True, tta_shift=1, eval_subset=40)
    result = train(cfg)
    return tmp_path / "shifted", result.history[0]


def test_the_runs_own_views_repeat_its_numbers_and_a_subset_of_the_whole_split_says_nothing(
        shifted_run):
    run_dir, row = shifted_run
    with warnings.catch_warnings():
        # eval_subset 40 of 40: the run scored every image, so no "measured on its first"
        warnings.simplefilter("error", SetupWarning)
        scored = evaluate_run(run_dir, device="cpu")
    assert scored.views == (False, 1) and scored.result.count == 40
    # The shifted views' border is the run's black, as training evaluated them.
    assert scored.result.loss == row["test_loss"] and scored.result.acc == row["test_acc"]
    assert "first" not in scored.images()


def test_views_asked_for_replace_the_runs_own(shifted_run):
    run_dir, row = shifted_run
    flipped = evaluate_run(run_dir, device="cpu", tta_flip=True)
    assert flipped.views == (True, 1)
    assert flipped.result.loss != row["test_loss"]  # the mirrored views were averaged in
    plain = evaluate_run(run_dir, device="cpu", tta_shift=0)
    assert plain.views == (False, 0) and plain.result.loss != row["test_loss"]


def test_a_run_whose_metrics_cannot_be_read_is_called_optimistic(shifted_run):
    # Whether a later epoch was evaluated is unknown: the cautious answer is "picked".
    run_dir, _ = shifted_run
    assert not evaluate_run(run_dir, device="cpu").picked_on_this_split  # its only epoch
    (run_dir / "metrics.csv").unlink()
    (run_dir / "metrics.csv").mkdir()  # read: IsADirectoryError
    assert evaluate_run(run_dir, device="cpu").picked_on_this_split
