"""read_result and resume's arguments, pinned where mutation testing found them unchecked
(session 38, helper mutation15)."""

import shutil

import pytest


@pytest.fixture(scope="module")
def two_epoch_run(tmp_path_factory):
    from cnnlab.train import TrainConfig, train

    out = tmp_path_factory.mktemp("runs")
    train(TrainConfig(model="lenet_modern", data="synthetic", epochs=2, batch_size=64,
                      device="cpu", quiet=True, out_dir=str(out), run_name="two", threads=1),
          console=False)
    return out / "two"


def test_a_run_without_its_summary_reads_back_its_last_epoch_as_final(two_epoch_run, tmp_path):
    from cnnlab.train import read_result

    run = shutil.copytree(two_epoch_run, tmp_path / "run")
    (run / "summary.json").unlink()  # as a run killed while its outputs were written
    result = read_result(run)
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert result.final["epoch"] == 2 and result.final == result.history[-1]


def test_resume_refuses_zero_extra_epochs_before_it_trains(two_epoch_run, tmp_path):
    from cnnlab.train import resume
    from cnnlab.train.config import ConfigError

    run = shutil.copytree(two_epoch_run, tmp_path / "run")
    metrics = (run / "metrics.csv").read_bytes()
    with pytest.raises(ConfigError, match=r"--epochs 0 \(extra_epochs\): resume adds epochs"):
        resume(run, extra_epochs=0, threads=1, quiet=True)
    assert (run / "metrics.csv").read_bytes() == metrics


def test_a_summary_of_an_earlier_stop_is_not_read_back_as_the_runs_result(two_epoch_run,
                                                                           tmp_path):
    import json

    from cnnlab.train import read_result

    run = shutil.copytree(two_epoch_run, tmp_path / "run")
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    # as the summary an earlier stop (after epoch 1) left, before a resume trained on and
    # was killed before writing its own
    earlier = {**summary, "final": {**summary["final"], "epoch": 1},
               "train_time_s": summary["train_time_s"] / 2}
    (run / "summary.json").write_text(json.dumps(earlier), encoding="utf-8")
    result = read_result(run)
    assert result.final["epoch"] == 2 and result.train_time_s == summary["train_time_s"]
