"""open_for_prediction(model.onnx, threads=N) from Python past the process's cores warns
(SetupWarning), as `cnnlab predict --threads N` does: onnxruntime's threads spin while
they wait (32 on 2 cores classified 27x slower), and a script was told nothing."""

import warnings

import pytest

pytest.importorskip("onnxruntime")
from test_mutation39_predict_threads import graph_and_photo  # noqa: E402, F401

from cnnlab import onnx_run  # noqa: E402
from cnnlab.notices import SetupWarning  # noqa: E402
from cnnlab.train import machine  # noqa: E402
from cnnlab.train.predict import open_for_prediction  # noqa: E402


@pytest.mark.parametrize("cores, threads, said", [
    (2, 3, "threads=3, but this machine gives this process 2 cores: onnxruntime then runs "
           "many times slower; threads=2 or fewer"),
    (1, 2, "threads=2, but this machine gives this process 1 core: onnxruntime then runs "
           "many times slower; threads=1"),
    (2, 2, None),
])
def test_more_threads_than_cores_warn_a_python_caller(graph_and_photo, monkeypatch,  # noqa: F811
                                                       cores, threads, said):
    monkeypatch.setattr(onnx_run, "_usable_cores", lambda: cores)
    monkeypatch.setattr(machine, "cnnlab_program", lambda: False)  # cnnlab.cli loaded by tests
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        open_for_prediction(graph_and_photo[0], threads=threads)
    told = [str(w.message) for w in caught if issubclass(w.category, SetupWarning)]
    assert told == ([said] if said else []), told
    # attributed to the caller's line, not cnnlab's
    assert all(w.filename == __file__ for w in caught if issubclass(w.category, SetupWarning))


def test_the_command_says_it_once_in_its_own_words(graph_and_photo, monkeypatch):  # noqa: F811
    from typer.testing import CliRunner

    import cnnlab.cli.predict as cli_predict
    from cnnlab.cli import app

    onnx, photo = graph_and_photo
    monkeypatch.setattr(cli_predict, "_cores", lambda: 2)
    monkeypatch.setattr(onnx_run, "_usable_cores", lambda: 2)
    result = CliRunner().invoke(app, ["predict", str(onnx), str(photo), "--threads", "3"])
    said = " ".join(result.output.split())
    assert result.exit_code == 0 and said.count("many times slower") == 1, said
    assert "--threads 3, but" in said and "threads=3" not in said, said
