"""A Ctrl-C while training's first cell imports torch's compiler leaves it whole."""

import signal
import sys

import pytest


@pytest.mark.usefixtures("pythons_ctrl_c")  # (a session started in the background has none)
def test_a_ctrl_c_mid_import_stops_after_the_import_has_finished(tmp_path, monkeypatch,
                                                                 capsys):
    # Cut off inside torch._dynamo's import (the stop button pressed in a notebook cell's
    # first seconds of training), triton stayed half imported: every later train() in
    # that kernel failed with "module 'triton.language' has no attribute 'core'".
    from cnnlab.whole_imports import import_whole

    (tmp_path / "slow_compiler.py").write_text(
        "import signal\n"
        "signal.raise_signal(signal.SIGINT)  # Ctrl-C, mid-import\n"
        "FINISHED = True\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slow_compiler", raising=False)
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        import_whole(("slow_compiler",))
    assert sys.modules["slow_compiler"].FINISHED  # whole: the Ctrl-C came after it
    assert signal.getsignal(signal.SIGINT) is before
    assert "Ctrl-C: stopping once torch has finished importing" in capsys.readouterr().err
    import_whole(("slow_compiler",))  # imported: nothing to do, no signal handler touched


def test_train_resume_and_summary_import_the_compiler_first(monkeypatch):
    import importlib

    from cnnlab.train import run
    from cnnlab.whole_imports import COMPILER_MODULES

    assert COMPILER_MODULES == ("torch._dynamo", "torch._inductor")
    summaries = importlib.import_module("cnnlab.inspect.summary")  # the package's is a function

    class Imported(Exception):
        pass

    def import_whole():
        raise Imported

    # (load_run: tests/test_perf42_load_run_compiler.py, where a large checkpoint does)
    for module in (run, summaries):
        monkeypatch.setattr(module, "import_whole", import_whole)
    for start in (lambda: run.train_with_trainer(run.TrainConfig(data="synthetic")),
                  lambda: run.resume("no-such-run"),  # before the folder is looked at
                  lambda: summaries.summary("lenet_modern")):
        with pytest.raises(Imported):
            start()
