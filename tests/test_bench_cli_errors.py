"""`cnnlab bench` refuses bad input up front with a clear error (never a traceback, never a
run on nonsense values): unknown models and devices, zero steps, batches and threads,
unknown AMP modes and presets. Nothing here trains; one test times a LeNet step."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnnlab.cli import app


def invoke(*args: str):
    result = CliRunner().invoke(app, ["bench", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_memory_names_the_closest_models():
    result = invoke("memory", "--model", "densenet12")
    assert result.exit_code == 2 and "unknown model 'densenet12'" in result.output
    assert "densenet121" in result.output  # did you mean
    result = invoke("memory", "--model", "lenet_d2l")  # no memory_efficient option
    assert result.exit_code == 2 and "DenseNet" in result.output
    assert "densenet121" in result.output


def test_memory_refuses_an_image_too_small_for_the_model():
    result = invoke("memory", "--image-size", "2")  # a pooling error's traceback before
    assert result.exit_code == 2
    assert "--image-size 2 is too small for densenet121 (at least" in result.output


@pytest.mark.parametrize("command", ["zoo", "throughput"])
def test_a_typo_among_good_model_names_is_refused_not_dropped(tmp_path, command):
    # "lenet_d2l,resnt18" benchmarked lenet_d2l alone and said nothing of resnt18.
    out = tmp_path / ("zoo" if command == "zoo" else "rows.json")
    result = invoke(command, "--models", "lenet_d2l,resnt18", "--out", out)
    assert result.exit_code == 2 and "unknown model 'resnt18'" in result.output
    assert "resnet18" in result.output  # did you mean
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("args, named", [
    (["throughput", "--steps", "0"], "--steps"),
    (["throughput", "--batch-size", "0"], "--batch-size"),
    (["throughput", "--amp", "nosuch"], "--amp"),
    (["throughput", "--optimizer", "sgd", "--optimizer", "adam"], "--optimizer"),
    (["ops", "--threads", "0"], "--threads"),
    (["loader", "--batch-size", "0"], "--batch-size"),
    (["zoo", "--preset", "nosuch"], "--preset"),
])
def test_values_that_cannot_run_are_refused(tmp_path, args, named):
    result = invoke(*args, "--out", tmp_path / ("zoo" if args[0] == "zoo" else "rows.json"))
    assert result.exit_code == 2 and named in result.output
    assert not any(tmp_path.iterdir())  # zoo-nosuch.csv and friends are not written


def test_an_image_size_too_small_for_a_model_is_named_before_timing(tmp_path):
    result = invoke("throughput", "--models", "lenet*", "--image-size", "5",
                    "--out", tmp_path / "rows.json")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--image-size 5 is too small for lenet_bn (at least 16)," in " ".join(
        result.output.split())
    assert "lenet_d2l (at least 12)" in " ".join(result.output.split())
    assert not any(tmp_path.iterdir())


def test_an_unknown_device_is_named(tmp_path):
    for command in ("throughput", "zoo"):
        result = invoke(command, "--device", "nosuch", "--models", "lenet_d2l",
                        "--out", tmp_path / (command if command == "zoo" else "rows.json"))
        assert result.exit_code == 2 and "'nosuch'" in result.output, command
    assert not any(tmp_path.iterdir())


def test_the_book_preset_leaves_out_what_the_book_does_not_train(tmp_path, monkeypatch):
    import cnnlab.bench.zoo as zoo

    asked = []
    monkeypatch.setattr(zoo, "run_zoo", lambda names, **kw: asked.extend(names) or [])
    result = invoke("zoo", "--preset", "book", "--models", "lenet*", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert asked == ["lenet_bn", "lenet_bn_d2l", "lenet_d2l"]
    assert "left out" in result.output and "lenet_modern" in result.output
    result = invoke("zoo", "--preset", "book", "--models", "lenet_modern,speednet",
                    "--out", tmp_path)
    assert result.exit_code == 2 and "the book trains none of" in result.output


@pytest.mark.parametrize("command", ["throughput", "memory", "loader", "ops", "zoo"])
def test_an_out_that_cannot_be_written_is_refused_before_measuring(tmp_path, command,
                                                                   monkeypatch):
    import cnnlab.bench.throughput as tp

    monkeypatch.setattr(tp, "measure", lambda *a, **k: pytest.fail("measured first"))
    (tmp_path / "afile").write_text("keep me")
    outs = [tmp_path / "afile", tmp_path / "afile" / "sub"] if command == "zoo" \
        else [tmp_path, tmp_path / "afile" / "rows.json"]
    if Path("/proc/self").is_dir():  # a place no one may write in, even root (Linux)
        # It failed with a traceback once the work was done.
        outs.append(Path("/proc/zoo") if command == "zoo" else Path("/proc/rows.json"))
    for out in outs:
        result = invoke(command, "--out", out)
        assert result.exit_code == 2 and "--out" in result.output, result.output
    if Path("/proc/self").is_dir():
        words = " ".join(result.output.replace("│", " ").split())
        assert "cannot write in /proc (no such file or directory); choose another place" \
            in words, words
    assert (tmp_path / "afile").read_text() == "keep me"
    override = invoke("throughput", "--override", "abc")
    assert override.exit_code == 2 and "--override takes KEY=VALUE (a model option), got " \
        "'abc'" in override.output and "--set" not in override.output


@pytest.mark.parametrize("command, out, written_as", [
    ("throughput", "rows.txt", ".csv or .json"),
    ("memory", "rows.csv", ".json"),
    ("loader", "rows", ".json"),
    ("ops", "rows.md", ".json"),
])
def test_an_out_named_for_another_format_is_refused(tmp_path, command, out, written_as):
    # `bench throughput --out rows.txt` wrote JSON under the .txt name, without a word.
    result = invoke(command, "--out", tmp_path / out)
    assert result.exit_code == 2, result.output
    words = " ".join(result.output.replace("│", " ").split())  # typer's box, unwrapped
    assert f"this command writes the rows as {written_as}; give a name ending in" in words, words
    assert not any(tmp_path.iterdir())


def test_throughput_takes_amp_auto_as_train_does_and_says_what_it_measured(monkeypatch):
    import cnnlab.bench.throughput as tp

    asked, real = [], tp.benchmark_rows

    def rows(models, batch_size, image_size, **options):
        asked.append(options["amp"])
        return real(models, batch_size, image_size, **options)

    monkeypatch.setattr(tp, "benchmark_rows", rows)
    result = invoke("throughput", "--models", "lenet_d2l", "--amp", "auto", "--device", "cpu",
                    "--no-baseline", "--steps", "1", "--no-infer", "--batch-size", "8")
    assert result.exit_code == 0, result.output
    assert asked == ["off"]  # auto on a CPU: full precision, and the title says so
    assert "fp32, NCHW, eager" in " ".join(result.output.split())


@pytest.mark.parametrize("key", ["num_classes", "in_channels", "weights", "scratch_ops"])
def test_throughput_refuses_an_override_the_bench_sets_itself(monkeypatch, key):
    # --override num_classes=5 passed the up-front check, then every model failed with
    # "get_model() got multiple values for keyword argument 'num_classes'".
    import cnnlab.bench.throughput as tp

    monkeypatch.setattr(tp, "measure", lambda *a, **k: pytest.fail("measured first"))
    result = invoke("throughput", "--models", "lenet_d2l", "--device", "cpu",
                    "--override", f"{key}=5")
    assert result.exit_code == 2, result.output
    assert f"--override {key}=5: the bench sets {key} itself" in " ".join(result.output.split())


def test_a_zoo_on_a_missing_folder_is_one_error_before_any_model(tmp_path, monkeypatch):
    # Each model failed on it in turn, and a table of failures was stored in --out.
    import cnnlab.bench.zoo as zoo

    monkeypatch.setattr(zoo, "run_zoo", lambda *a, **k: pytest.fail("a model was trained"))
    out, missing = tmp_path / "zoo", tmp_path / "photoz"
    result = invoke("zoo", "--models", "lenet_d2l", "--data", f"folder:{missing}",
                    "--out", out)
    assert result.exit_code == 1, result.output  # as a missing Fashion-MNIST is
    assert f"{missing}: no such directory" in " ".join(result.output.split())
    assert not (out / "zoo-book.csv").exists()
    empty = tmp_path / "empty"  # there, and no image in it: the same, once
    (empty / "cats").mkdir(parents=True)
    result = invoke("zoo", "--models", "lenet_d2l", "--data", f"folder:{empty}",
                    "--out", out)
    assert result.exit_code == 1, result.output
    assert f"{empty}: no images found" in " ".join(result.output.split())
    assert not (out / "zoo-book.csv").exists()


def test_a_failed_models_error_in_brackets_is_printed_as_it_is(tmp_path, monkeypatch):
    # "[/x]" in an error was read as a closing markup tag: MarkupError ended the bench
    # after the row was stored, before the next model; "[onnx]" vanished from the line.
    import cnnlab.bench.zoo as zoo

    error = "ValueError: no images under [/data/x] (pip install 'cnnlab[onnx]')"
    row = {"model": "lenet_d2l", "status": "failed", "error": error}

    def failing_zoo(names, on_result=None, on_start=None, **kw):
        on_start("lenet_d2l", 1, 1, True)
        on_result(row)
        return [row]

    monkeypatch.setattr(zoo, "run_zoo", failing_zoo)
    result = invoke("zoo", "--models", "lenet_d2l", "--out", tmp_path / "zoo")
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert f"lenet_d2l failed: {error}" in said and f"failed: {error} |" in said
    assert "[1/1] lenet_d2l: resuming its interrupted run" in said  # which model, how


def test_an_empty_models_pattern_is_refused_not_the_whole_zoo(tmp_path, monkeypatch):
    import cnnlab.bench.zoo as zoo

    monkeypatch.setattr(zoo, "run_zoo", lambda *a, **k: pytest.fail("the zoo was started"))
    result = invoke("zoo", "--models", "", "--out", tmp_path / "zoo")
    assert result.exit_code == 2 and "no model matches ''" in result.output, result.output


def test_a_wildcard_matching_nothing_says_so_rather_than_unknown_model(tmp_path):
    # 'xyz*' was called an "unknown model", as if it were a misspelt name.
    result = invoke("throughput", "--models", "lenet_d2l,xyz*")
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "no model matches 'xyz*'" in said, result.output
    assert "unknown model" not in said
