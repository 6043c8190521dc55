"""What `cnnlab train`, `resume` and `eval` print, pinned where hand-made mutants of the
commands went unnoticed (session 41, mutation43)."""

from __future__ import annotations

from typer.testing import CliRunner

from cnnlab.cli import app


def test_eval_under_torchrun_prints_a_run_path_with_a_space_quoted(tmp_path, monkeypatch):
    # The command to run instead is pasted as printed: unquoted, "my runs/demo" is two
    # arguments. Refused before the run is read, so no run is needed.
    monkeypatch.setenv("WORLD_SIZE", "2")
    run = tmp_path / "my runs" / "demo"
    result = CliRunner().invoke(app, ["eval", str(run)])
    assert result.exit_code == 2
    assert f"Run it without torchrun: cnnlab eval '{run}'" in " ".join(result.stderr.split())


def test_the_note_on_a_last_epoch_far_under_the_best_names_the_best_epoch(monkeypatch,
                                                                          capsys):
    from types import SimpleNamespace

    from cnnlab.cli import train_result

    monkeypatch.setattr(train_result, "_epochs_trained", lambda result: "3")
    history = [{"epoch": 1, "test_acc": 0.5}, {"epoch": 2, "test_acc": 0.85},
               {"epoch": 3, "test_acc": 0.6}]
    train_result.print_result(SimpleNamespace(
        final={"test_acc": 0.6, "images_per_s": 100.0}, eval_scope="", best_test_acc=0.85,
        train_time_s=1.0, stopped=None, run_dir=None, history=history))
    said = " ".join(capsys.readouterr().err.split())
    assert "25.0 points under the best (85.00%, epoch 2)" in said


def test_a_run_stopped_by_its_time_budget_says_so_in_the_result(monkeypatch, capsys):
    from types import SimpleNamespace

    from cnnlab.cli import train_result

    monkeypatch.setattr(train_result, "_epochs_trained", lambda result: "0.5 of 3")
    train_result.print_result(SimpleNamespace(
        final={"test_acc": 0.6, "images_per_s": 100.0}, eval_scope="", best_test_acc=0.6,
        train_time_s=1.0, stopped="max_time", run_dir=None, history=[]))
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["│", "stopped", "│", "max_time", "│"] in rows


def test_a_config_file_without_a_preset_gets_no_note_on_the_defaults(tmp_path, monkeypatch):
    # The file chose the recipe (a run's config.yaml, a teacher's file): "trains with the
    # defaults and the flags given" would be untrue.
    import cnnlab.cli.train as cli_train

    monkeypatch.setattr(cli_train, "_guarded", lambda fn: None)
    monkeypatch.setattr(cli_train, "_print_result", lambda result: None)
    config = tmp_path / "recipe.yaml"
    config.write_text("model: lenet_modern\nlr: 0.05\nmomentum: 0.9\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["train", "--config", str(config), "--data", "synthetic",
                                      "--device", "cpu", "--out-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "no --preset" not in result.stderr
    without = CliRunner().invoke(app, ["train", "lenet_modern", "--data", "synthetic",
                                       "--device", "cpu", "--out-dir", str(tmp_path)])
    assert "no --preset" in without.stderr  # the note itself still comes


def test_the_notes_before_a_run_say_what_was_chosen(tmp_path, monkeypatch):
    import cnnlab.cli.train as cli_train

    monkeypatch.setattr(cli_train, "_guarded", lambda fn: None)
    monkeypatch.setattr(cli_train, "_print_result", lambda result: None)

    def notes(*args):
        result = CliRunner().invoke(app, ["train", *args, "--data", "synthetic", "--device",
                                          "cpu", "--out-dir", str(tmp_path)])
        assert result.exit_code == 0, result.output
        return " ".join(result.stderr.split())

    # SGD given momentum is not "SGD without momentum".
    said = notes("lenet_modern", "--momentum", "0.9")
    assert "(sgd, constant lr 0.1)" in said and "without momentum" not in said
    # A file's `preset: none` is no preset, as the run has it: nothing replaced it.
    config = tmp_path / "none.yaml"
    config.write_text("model: lenet_modern\npreset: none\n", encoding="utf-8")
    assert "replaces it" not in notes("--config", str(config))


def test_channels_for_a_folder_and_fp16_on_a_gpu_are_not_warned_of(monkeypatch, capsys):
    from types import SimpleNamespace

    import torch

    from cnnlab.cli import train_notes

    cfg = SimpleNamespace(optimizer="sgd", momentum=0.0, lookahead_steps=0, channels=3,
                          data="folder:/photos", new_head=False, weights=None, amp="fp16",
                          device="cuda")
    assert train_notes.settings_without_effect(cfg, {"channels"}) == []
    cfg.data = "synthetic"
    assert "has no effect" in train_notes.settings_without_effect(cfg, {"channels"})[0]
    monkeypatch.setattr("cnnlab.train.device.select_device",
                        lambda device: torch.device(device))
    train_notes.hint_at_fp16_on_a_cpu(cfg)
    assert "--amp fp16" not in capsys.readouterr().err
    cfg.device = "cpu"
    train_notes.hint_at_fp16_on_a_cpu(cfg)
    assert "--amp fp16 on a CPU" in " ".join(capsys.readouterr().err.split())


def test_momentum_with_muon_and_no_new_head_are_warned_of_as_they_act():
    from types import SimpleNamespace

    from cnnlab.cli.train_notes import settings_without_effect

    cfg = SimpleNamespace(optimizer="muon", momentum=0.0, lookahead_steps=0, channels=None,
                          data="synthetic", new_head=False, weights=None)
    [note] = settings_without_effect(cfg, {"momentum", "new_head"})  # --no-new-head: none
    assert note.startswith("momentum 0 with optimizer=muon means 0.9")


def test_the_busy_cpu_note_counts_the_cores_it_may_use_and_skips_a_gpu(monkeypatch, capsys):
    import os

    import torch

    from cnnlab.cli.hints import hint_at_a_busy_cpu

    if torch.get_num_threads() == 1:  # a pool of one is told nothing (conftest puts it back)
        torch.set_num_threads(2)
    monkeypatch.setattr(os, "getloadavg", lambda: (3.0, 3.0, 3.0))
    monkeypatch.setattr(os, "cpu_count", lambda: 64)  # the host's, not this process's
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    hint_at_a_busy_cpu(None, "cpu")
    assert "(load 3.0 on 2 cores)" in " ".join(capsys.readouterr().err.split())
    monkeypatch.setattr("cnnlab.train.device.select_device",
                        lambda device: torch.device("cuda"))
    hint_at_a_busy_cpu(None, "cuda")
    assert capsys.readouterr().err == ""


def test_an_unknown_dataset_is_a_usage_error():
    result = CliRunner().invoke(app, ["train", "lenet_modern", "--data", "cifar-11"])
    assert result.exit_code == 2, result.output
    assert "error:" in result.stderr
