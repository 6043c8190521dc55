"""A zoo given its data from Python (run_zoo(data=...)) continues a stopped model with that
data: it called resume(RUN) without it, which refuses a run trained on data given to
train() (data.json), so run_zoo again failed the model it was meant to finish."""

import pytest

from cnnlab.bench import zoo
from cnnlab.data.synthetic import make_synthetic


def test_a_stopped_model_of_given_data_is_resumed_with_it(tmp_path, monkeypatch):
    from cnnlab.train import Trainer, TrainingInterrupted

    data = make_synthetic(num_train=64, num_test=32, num_classes=3)
    original = Trainer._train_epoch

    def stop_after_first_epoch(self, bar):
        row = original(self, bar)
        if self.epoch == 1:
            raise TrainingInterrupted("simulated")
        return row

    monkeypatch.setattr(Trainer, "_train_epoch", stop_after_first_epoch)
    with pytest.raises(TrainingInterrupted):
        zoo.run_zoo(["lenet_d2l"], preset="book", epochs=2, device="cpu", out_dir=tmp_path,
                    data=data, data_spec="synthetic")
    monkeypatch.setattr(Trainer, "_train_epoch", original)
    [row] = zoo.run_zoo(["lenet_d2l"], preset="book", epochs=2, device="cpu",
                        out_dir=tmp_path, data=data, data_spec="synthetic")
    assert row["status"] == "done", row["error"]
    assert int(row["epochs"]) == 2


def test_a_zoo_of_given_data_is_its_own_setup(tmp_path):
    # Recorded as data_spec's default, its rows were kept for a Fashion-MNIST zoo (a
    # synthetic 34% shown beside the book's numbers as if comparable).
    data = make_synthetic(num_train=64, num_test=32, num_classes=3)
    [row] = zoo.run_zoo(["lenet_d2l"], preset="book", epochs=1, device="cpu",
                        out_dir=tmp_path, data=data)
    assert row["status"] == "done", row["error"]
    with pytest.raises(zoo.ZooSetupError, match="data 'data given to run_zoo: synthetic' vs "
                                                "'fashion-mnist'"):
        zoo.run_zoo(["lenet_d2l"], preset="book", epochs=1, device="cpu", out_dir=tmp_path)
    [again] = zoo.run_zoo(["lenet_d2l"], preset="book", epochs=1, device="cpu",
                          out_dir=tmp_path, data=data)  # the same data: kept
    assert float(again["test_acc"]) == row["test_acc"]  # read back from the CSV
