"""`cnnlab bench zoo` and `bench ops` on a faked run (mutation testing, session 41): the
options reach the run, what each model's lines say, the exit status of an interrupted,
refused or partly failed zoo, and the ops bench's asked threads in its file."""

from __future__ import annotations

import json

import pytest
from test_mutation47_bench_memory_loader import invoke

from cnnlab.bench import zoo

DONE = {"model": "lenet_d2l", "status": "done", "test_acc": "0.8123", "train_time_s": "75"}
FAILED = {"model": "lenet_bn_d2l", "status": "failed", "error": "RuntimeError: boom"}


def fake_zoo(monkeypatch, rows=(DONE,), raises: BaseException | None = None) -> list[dict]:
    asked = []

    def run(names, on_result=None, on_checked=None, on_start=None, **kw):
        asked.append({"names": names, **kw})
        on_checked(["lenet_bn"])
        for i, row in enumerate(rows, 1):
            on_start(row["model"], i, len(rows), False)
            on_result(row)
        if raises is not None:
            raise raises
        return list(rows)

    monkeypatch.setattr(zoo, "run_zoo", run)
    monkeypatch.setattr("cnnlab.bench.zoo_report.markdown_table",
                        lambda rows: "table: " + ", ".join(r["model"] for r in rows))
    return asked


def test_the_zoos_options_reach_each_run_and_its_lines_say_how_each_went(monkeypatch,
                                                                          tmp_path):
    from cnnlab.cli import bench

    asked, checked = fake_zoo(monkeypatch), []
    monkeypatch.setattr(bench, "_check_zoo_data", lambda *a: checked.append(a))
    out = tmp_path / "z"
    result = invoke(monkeypatch, "zoo", "--preset", "fast", "--models", "lenet_d2l,lenet_bn",
                    "--epochs", 2, "--batch-size", 16, "--threads", 1, "--device", "cpu",
                    "--data-root", tmp_path, "--out", out)
    assert result.exit_code == 0, result.output
    assert checked == [("fashion-mnist", str(tmp_path))]
    [run] = asked
    assert run["names"] == ["lenet_d2l", "lenet_bn"] and run["preset"] == "fast"
    assert (run["epochs"], run["threads"], run["overrides"]) == (2, 1, {"batch_size": 16})
    assert (run["data_spec"], run["data_root"], run["out_dir"]) == ("fashion-mnist",
                                                                    str(tmp_path), out)
    said = " ".join(result.output.split())
    assert "2 model(s): lenet_d2l, lenet_bn" in said
    assert f"already done in {out} (kept, not trained again): lenet_bn" in said
    assert "[1/1] lenet_d2l lenet_d2l: 81.23% in" in said
    assert "table: lenet_d2l" in said  # the table of the rows
    assert f"results: {out}/zoo-fast.csv, .md and plots" in said


def test_the_book_preset_checks_every_name_the_first_too(monkeypatch, tmp_path):
    asked = fake_zoo(monkeypatch)
    result = invoke(monkeypatch, "zoo", "--models", "lenet_modern,lenet_d2l", "--device", "cpu",
                    "--data", "synthetic", "--out", tmp_path / "z")
    assert result.exit_code == 0, result.output
    assert asked[0]["names"] == ["lenet_d2l"]
    assert "left out (the book does not train them, so --preset book has no recipe): " \
           "lenet_modern" in " ".join(result.output.split())


def test_a_partly_failed_zoo_exits_1_naming_the_failures(monkeypatch, tmp_path):
    fake_zoo(monkeypatch, rows=(DONE, FAILED))
    result = invoke(monkeypatch, "zoo", "--models", "lenet_d2l,lenet_bn_d2l", "--device", "cpu",
                    "--data", "synthetic", "--out", tmp_path / "z")
    assert result.exit_code == 1, result.output
    assert "1 of 2 models failed (lenet_bn_d2l)" in " ".join(result.output.split())


@pytest.mark.parametrize("stop", ["keyboard", "training"])
def test_an_interrupted_zoo_exits_130_and_says_how_to_go_on(monkeypatch, tmp_path, stop):
    from cnnlab.train import TrainingInterrupted

    fake_zoo(monkeypatch, raises=KeyboardInterrupt() if stop == "keyboard"
             else TrainingInterrupted("stopped"))
    result = invoke(monkeypatch, "zoo", "--models", "lenet_d2l", "--device", "cpu",
                    "--data", "synthetic", "--out", tmp_path / "z")
    assert result.exit_code == 130, result.output
    assert "interrupted: finished models are stored; run the same command again" \
           in " ".join(result.output.split())


def test_a_zoo_folder_of_another_setup_is_a_misuse(monkeypatch, tmp_path):
    fake_zoo(monkeypatch, raises=zoo.ZooSetupError("z/zoo-book.csv was made with epochs 1"))
    result = invoke(monkeypatch, "zoo", "--models", "lenet_d2l", "--device", "cpu",
                    "--data", "synthetic", "--out", tmp_path / "z")
    assert result.exit_code == 2 and "was made with epochs 1" in result.output


def test_a_zoo_out_under_a_file_names_the_file(monkeypatch, tmp_path):
    fake_zoo(monkeypatch)
    (tmp_path / "afile").write_text("keep me", encoding="utf-8")
    result = invoke(monkeypatch, "zoo", "--models", "lenet_d2l", "--device", "cpu",
                    "--data", "synthetic", "--out", tmp_path / "afile" / "sub")
    assert result.exit_code == 2, result.output
    assert f"{tmp_path / 'afile'} is a file; the zoo writes a folder of results" in " ".join(
        result.output.replace("│", " ").split())


def test_the_zoo_hints_at_a_busy_cpu_with_the_threads_and_device_asked(monkeypatch, tmp_path):
    from cnnlab.cli import bench

    fake_zoo(monkeypatch)
    hinted = []
    monkeypatch.setattr(bench, "hint_at_a_busy_cpu", lambda *a: hinted.append(a))
    assert invoke(monkeypatch, "zoo", "--models", "lenet_d2l", "--device", "cpu",
                  "--data", "synthetic", "--out", tmp_path / "z").exit_code == 0
    assert hinted == [(None, "cpu")]


def test_ops_times_what_was_asked_and_writes_the_threads_it_ran_on(monkeypatch, tmp_path):
    from test_cli_narrow import _ops_result

    asked = []
    monkeypatch.setattr("cnnlab.bench.ops.run_ops_bench",
                        lambda **kw: asked.append(kw) or {**_ops_result(), "threads": 3})
    out = tmp_path / "ops.json"
    result = invoke(monkeypatch, "ops", "--threads", 3, "--repeats", 2, "--quick", "--out", out)
    assert result.exit_code == 0, result.output
    assert asked == [{"threads": 3, "quick": True, "repeats": 2}]
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["environment"]["torch_threads"] == 3
    assert written["rows"]["pooling"][0]["op"] == "adaptive avg 14 -> 7"
    assert "adaptive avg 14 -> 7" in " ".join(result.output.split())  # the pooling table


def test_the_ops_ratio_columns_are_named_forward_then_training(monkeypatch):
    # Both are headed "ratio" by the bench; the first is the forward pass's.
    from test_cli_narrow import _ops_result

    monkeypatch.setattr("cnnlab.bench.ops.run_ops_bench", lambda **kw: _ops_result())
    lines = invoke(monkeypatch, "ops").output.splitlines()
    under = {}
    for i, line in enumerate(lines):
        if "fwd ratio" in line:  # the header; its first row two lines below
            header = [c.strip() for c in line.strip("┃").split("┃")]
            row = [c.strip() for c in lines[i + 2].strip("│").split("│")]
            under[row[0]] = dict(zip(header, row, strict=True))
    assert {k: (v["fwd ratio"], v["fwd+bwd ratio"]) for k, v in under.items()} == {
        "64x64x28x28": ("1.23x", "1.43x"), "adaptive avg 14 -> 7": ("5.76x", "2.67x")}
