"""Two `cnnlab bench zoo` sharing one --out with the same models: each model is trained
once, by the bench that claims it; the other waits for its row (or trains it itself when
that bench died without storing one)."""

from __future__ import annotations

import fcntl
import threading
import time

import pytest

from cnnlab.bench import zoo
from cnnlab.notices import SetupWarning

MODEL = "lenet_d2l"
OTHER_ROW = {"model": MODEL, "family": "lenet", "preset": "book", "status": "done",
             "test_acc": "0.5", "best_test_acc": "0.5", "params": "61706", "macs": "416520",
             "input_size": "1x28x28", "images_per_s": "100", "train_time_s": "1",
             "epochs": "1", "device": "cpu", "machine": "another", "run_dir": "", "error": "",
             "setup": ""}


def another_bench(out, store: bool) -> threading.Thread:
    """A bench holding MODEL's claim (as another process's would be) for half a second,
    storing its row before it lets go (``store``) or dying without one."""
    claims = out / ".zoo-book-claims"
    claims.mkdir(parents=True)
    handle = open(claims / f"{MODEL}.lock", "a+", encoding="utf-8")
    fcntl.flock(handle, fcntl.LOCK_EX)
    handle.write("4242\n")
    handle.flush()

    def finish():
        time.sleep(0.5)
        if store:
            zoo.store_row(out, "book", dict(OTHER_ROW))
        handle.close()  # as its process ending would let it go

    thread = threading.Thread(target=finish)
    thread.start()
    return thread


def bench(out):
    return zoo.run_zoo([MODEL], preset="book", epochs=1, device="cpu", out_dir=out,
                       data_spec="synthetic", overrides={"eval_subset": 64})


def test_a_model_another_bench_trains_is_waited_for_not_trained_again(tmp_path, monkeypatch):
    thread = another_bench(tmp_path, store=True)
    monkeypatch.setattr("cnnlab.train.train", lambda *a, **k: pytest.fail("trained twice"))
    with pytest.warns(SetupWarning, match=r"lenet_d2l is being trained by another bench .*"
                                          r"pid 4242.*waiting"):
        rows = bench(tmp_path)
    thread.join()
    assert [(r["model"], r["status"], r["machine"]) for r in rows] == [
        (MODEL, "done", "another")]


def test_a_model_whose_bench_died_is_trained_by_the_one_that_waited(tmp_path):
    thread = another_bench(tmp_path, store=False)
    with pytest.warns(SetupWarning, match="waiting"):
        rows = bench(tmp_path)
    thread.join()
    assert [(r["model"], r["status"]) for r in rows] == [(MODEL, "done")]
    assert rows[0]["machine"] != "another"
