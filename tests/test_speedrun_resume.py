"""A speedrun run again after Ctrl-C resumes its study, as `bench zoo` does: the finished
runs in --out are kept and only the missing seeds run (it had started at run 1 and its
first finished run replaced the file it had said "the finished runs are in"). A study
of other settings at --out is refused before any run."""

import json

import pytest
from typer.testing import CliRunner

from cnnlab.data.synthetic import make_synthetic


def _fake_runs(monkeypatch, stop_at: int | None = None) -> list:
    """run_once made instant: seed s reaches the target at 1 + s seconds. The call
    numbered ``stop_at`` (from 1) is a Ctrl-C. Returns the (epochs, seed) of each call."""
    import cnnlab.bench.speedrun as sr
    import cnnlab.data

    monkeypatch.setattr(cnnlab.data, "load_dataset",
                        lambda *a, **k: make_synthetic(num_train=64, num_test=16, seed=1))
    monkeypatch.setattr(sr, "plot_ablation", lambda *a, **k: None)
    calls = []

    def run_once(cfg, data, target):
        calls.append((cfg.epochs, cfg.seed))
        if len(calls) == stop_at:
            raise KeyboardInterrupt
        return sr.SpeedrunResult(seed=cfg.seed, time_to_target_s=1.0 + cfg.seed % 1000,
                                 final_acc=0.9 + cfg.epochs / 1000, best_acc=0.95,
                                 total_time_s=2.0, epochs=cfg.epochs)

    monkeypatch.setattr(sr, "run_once", run_once)
    return calls


def _speedrun(out, *extra):
    from cnnlab.cli import app

    return CliRunner().invoke(app, ["speedrun", "--device", "cpu", "--no-warmup", *extra,
                                    "--out", str(out)])


def _said(result) -> str:
    return " ".join(result.output.split())


def test_an_interrupted_study_resumes_with_the_missing_seeds_only(tmp_path, monkeypatch):
    out = tmp_path / "s.json"
    _fake_runs(monkeypatch, stop_at=3)
    result = _speedrun(out, "--runs", "4")
    assert result.exit_code == 130, result.output
    assert "the same command resumes the study" in _said(result)
    assert [r["seed"] for r in json.loads(out.read_text())["runs"]] == [0, 1]
    calls = _fake_runs(monkeypatch)
    result = _speedrun(out, "--runs", "4")
    assert result.exit_code == 0, result.output
    said = _said(result)
    assert f"resuming: 2 of 4 runs already in {out} (kept, not run again)" in said, said
    assert calls == [(14, 2), (14, 3)]  # runs 1 and 2 are not trained again
    body = json.loads(out.read_text())
    assert body["complete"] is True
    assert [r["seed"] for r in body["runs"]] == [0, 1, 2, 3]
    # Which process ran each run: an index into the sessions, each with its environment.
    assert [r["session"] for r in body["runs"]] == [0, 0, 1, 1]
    assert len(body["sessions"]) == 2 and all("date" in s for s in body["sessions"])
    # The summary is over all four runs, old and new: times 1, 2, 3, 4 s.
    assert body["summary"]["runs"] == 4 and body["summary"]["time_to_target_mean_s"] == 2.5
    assert "reached 4/4" in said and "2.5 ± 1.3 s" in said, said


@pytest.mark.parametrize("changed, words", [
    # Named by the option given (the config's "max_time 30.0 vs None" read as fields).
    (["--runs", "4", "--epochs", "2"], "--epochs 14 vs 2"),
    (["--runs", "4", "--target", "0.5"], "--target 0.92 vs 0.5"),
    (["--runs", "5"], "--runs 4 vs 5"),
    (["--runs", "4", "--set", "seed=3"], "--set seed 0 vs 3"),
    (["--runs", "4", "--threads", "1"], "--threads none vs 1"),
    (["--runs", "4", "--time-budget", "30"], "--time-budget none vs 30"),
    (["--runs", "2", "--ablate"], "--ablate"),
])
def test_an_unfinished_study_of_other_settings_is_refused_before_any_run(
        tmp_path, monkeypatch, changed, words):
    out = tmp_path / "s.json"
    _fake_runs(monkeypatch, stop_at=2)
    assert _speedrun(out, "--runs", "4").exit_code == 130
    before = out.read_text()
    calls = _fake_runs(monkeypatch)
    result = _speedrun(out, *changed)
    assert result.exit_code == 2, result.output
    said = _said(result)
    assert f"{out} holds an unfinished speedrun made with other settings" in said, said
    assert words in said and "another --out" in said and "delete" in said, said
    assert calls == [] and out.read_text() == before


def test_a_candidate_study_resumes_its_candidates_then_its_confirmation(tmp_path,
                                                                         monkeypatch):
    out = tmp_path / "c.json"
    args = ["--runs", "2", "--candidate", "epochs=1", "--candidate", "epochs=2",
            "--confirm", "2"]
    _fake_runs(monkeypatch, stop_at=3)  # the second candidate's first run
    assert _speedrun(out, *args).exit_code == 130
    calls = _fake_runs(monkeypatch, stop_at=4)  # ... then the second confirming run
    result = _speedrun(out, *args)
    assert result.exit_code == 130, result.output
    assert "resuming: 2 of 6 runs already in" in _said(result)
    assert calls == [(2, 0), (2, 1), (1, 1000), (1, 1001)]
    calls = _fake_runs(monkeypatch)
    result = _speedrun(out, *args)
    assert result.exit_code == 0, result.output
    assert "resuming: 5 of 6 runs already in" in _said(result)
    assert calls == [(1, 1001)]
    body = json.loads(out.read_text())
    assert body["complete"] is True and body["best"] == "epochs=1"  # the faster: equal
    assert [r["seed"] for r in body["confirm"]["runs"]] == [1000, 1001]
    assert [r["session"] for r in body["confirm"]["runs"]] == [1, 2]
    assert {n: c["summary"]["runs"] for n, c in body["candidates"].items()} == {
        "epochs=1": 2, "epochs=2": 2}
    result = _speedrun(out, "--runs", "2", "--candidate", "epochs=1", "--candidate",
                       "epochs=3", "--confirm", "2")  # finished: replaced, not refused
    assert result.exit_code == 0, result.output


def test_other_candidates_are_refused(tmp_path, monkeypatch):
    out = tmp_path / "c.json"
    args = ["--runs", "2", "--candidate", "epochs=1", "--candidate", "epochs=2"]
    _fake_runs(monkeypatch, stop_at=2)
    assert _speedrun(out, *args).exit_code == 130
    for other in (args[:-1] + ["epochs=3"], args + ["--confirm", "3"]):
        result = _speedrun(out, *other)
        assert result.exit_code == 2, result.output
        assert "other settings" in _said(result) and (
            "epochs=3" in _said(result) or "confirm 0 vs 3" in _said(result)), _said(result)


def test_an_ablation_resumes_at_the_variant_it_stopped_in(tmp_path, monkeypatch):
    out = tmp_path / "a.json"
    first = _fake_runs(monkeypatch, stop_at=3)
    assert _speedrun(out, "--ablate", "--epochs", "1").exit_code == 130
    assert len(json.loads(out.read_text())["variants"]) == 2
    calls = _fake_runs(monkeypatch)
    result = _speedrun(out, "--ablate", "--epochs", "1")
    assert result.exit_code == 0, result.output
    assert "resuming: 2 of" in _said(result)
    body = json.loads(out.read_text())
    assert len(calls) == len(body["variants"]) - 2 and len(first) == 3
    assert len(body["ablation"]) == len(body["variants"]) and body["complete"] is True


def test_a_finished_study_is_replaced_and_says_so(tmp_path, monkeypatch):
    out = tmp_path / "s.json"
    calls = _fake_runs(monkeypatch)
    assert _speedrun(out, "--runs", "2").exit_code == 0
    result = _speedrun(out, "--runs", "2", "--epochs", "3")
    assert result.exit_code == 0, result.output
    said = _said(result)
    assert f"{out} holds a finished speedrun (2 runs): this study replaces it" in said, said
    assert calls[2:] == [(3, 0), (3, 1)]
    assert [r["session"] for r in json.loads(out.read_text())["runs"]] == [0, 0]


def test_an_unfinished_file_it_cannot_check_is_refused_and_a_foreign_one_replaced(
        tmp_path, monkeypatch):
    out = tmp_path / "s.json"
    calls = _fake_runs(monkeypatch)
    # Written before the study's settings were stored: nothing says what made it.
    out.write_text(json.dumps({"runs": [{"seed": 0}], "complete": False}))
    result = _speedrun(out)
    assert result.exit_code == 2 and calls == [], result.output
    said = _said(result)
    assert "cannot be resumed" in said and "another --out" in said, said
    for before in ("not json", "[1, 2]", '{"rows": []}'):
        out.write_text(before)
        result = _speedrun(out)
        assert result.exit_code == 0, result.output
        assert "holds" not in result.output and "resuming" not in result.output
        assert json.loads(out.read_text())["complete"] is True


def test_an_unfinished_study_edited_out_of_its_seeds_is_refused(tmp_path, monkeypatch):
    out = tmp_path / "s.json"
    _fake_runs(monkeypatch, stop_at=3)
    assert _speedrun(out, "--runs", "4").exit_code == 130
    body = json.loads(out.read_text())
    out.write_text(json.dumps({**body, "runs": body["runs"][1:]}))  # run 1 taken out
    calls = _fake_runs(monkeypatch)
    result = _speedrun(out, "--runs", "4")
    assert result.exit_code == 2 and calls == [], result.output
    said = _said(result)
    assert "cannot be read back" in said and "run 1 has seed 1, not 0" in said, said


def test_a_resumed_confirmation_has_its_warm_up_in_the_new_process(tmp_path, monkeypatch):
    # Its recipe was warmed up in the process that ran the candidates, not in this one.
    out = tmp_path / "c.json"
    args = ["--runs", "1", "--candidate", "epochs=2", "--candidate", "epochs=3",
            "--confirm", "1", "--warmup"]
    first = _fake_runs(monkeypatch, stop_at=5)
    assert _speedrun(out, *args).exit_code == 130
    assert first == [(1, 99_999), (2, 0), (1, 99_999), (3, 0), (2, 1000)]
    calls = _fake_runs(monkeypatch)
    assert _speedrun(out, *args).exit_code == 0
    assert calls == [(1, 100_999), (2, 1000)]


def test_a_kept_diverged_run_reads_back_as_one():
    import math

    from cnnlab.bench.speedrun_study import _results

    stored = [{"seed": 4, "time_to_target_s": None, "final_acc": None, "best_acc": None,
               "total_time_s": 1.5, "epochs": 0, "diverged": True, "session": 2}]
    (run,) = _results(stored, first_seed=4, most=1)
    assert run.diverged and math.isnan(run.final_acc) and run.session == 2


def test_ctrl_c_in_a_runs_last_evaluation_stops_the_study_after_that_run(tmp_path,
                                                                         monkeypatch):
    # The training loop had stopped listening, and nothing looked at the signal after:
    # the study went on to its last run and ended 0.
    import cnnlab.data
    from cnnlab.train.trainer import Trainer

    monkeypatch.setattr(cnnlab.data, "load_dataset",
                        lambda *a, **k: make_synthetic(num_train=128, num_test=32, seed=2))
    evaluate = Trainer._evaluate

    def ctrl_c_meanwhile(self):
        self._stop_signal = "SIGINT"  # as the handler sets it
        return evaluate(self)

    monkeypatch.setattr(Trainer, "_evaluate", ctrl_c_meanwhile)
    out = tmp_path / "s.json"
    result = _speedrun(out, "--runs", "3", "--epochs", "1", "--set", "batch_size=64")
    assert result.exit_code == 130, result.output
    said = _said(result)
    assert "run 1: 92.0% not reached" in said and "run 2" not in said, said
    assert "the finished runs are in" in said, said
    assert [r["seed"] for r in json.loads(out.read_text())["runs"]] == [0]  # it finished
    result = _speedrun(tmp_path / "w.json", "--epochs", "1", "--set", "batch_size=64",
                       "--warmup")  # ... and in the warm-up's: no run, no traceback
    assert result.exit_code == 130 and "before any run finished" in _said(result), (
        result.output)


def test_an_unfinished_study_from_another_machine_is_refused(tmp_path, monkeypatch):
    # Runs of an H100 and an H200 (or a CPU before and after an upgrade) were averaged.
    out = tmp_path / "s.json"
    _fake_runs(monkeypatch, stop_at=3)
    _speedrun(out, "--runs", "4")
    body = json.loads(out.read_text())
    body["sessions"][-1]["cpu_model"] = "Other CPU 9000"
    out.write_text(json.dumps(body))
    calls = _fake_runs(monkeypatch)
    result = _speedrun(out, "--runs", "4")
    said = _said(result)
    assert result.exit_code == 2 and calls == [], said
    assert "run on another machine or software (cpu_model Other CPU 9000 there, " in said
    assert "Resume it where it ran, or give another --out" in said


def test_an_unfinished_study_that_recorded_less_of_its_machine_resumes(tmp_path, monkeypatch):
    # An older cnnlab's session named no cpu_model or torch_threads: "None there" refused it.
    out = tmp_path / "s.json"
    _fake_runs(monkeypatch, stop_at=3)
    _speedrun(out, "--runs", "4")
    body = json.loads(out.read_text())
    for key in ("cpu_model", "torch_threads"):
        body["sessions"][-1].pop(key, None)
    out.write_text(json.dumps(body))
    calls = _fake_runs(monkeypatch)
    result = _speedrun(out, "--runs", "4")
    assert result.exit_code == 0 and len(calls) == 2, _said(result)


def test_a_resume_stopped_before_its_first_run_adds_no_session(tmp_path, monkeypatch):
    # It rewrote the file with an empty session, and its environment as the file's.
    out = tmp_path / "s.json"
    _fake_runs(monkeypatch, stop_at=3)
    _speedrun(out, "--runs", "4")
    before = out.read_text()
    _fake_runs(monkeypatch, stop_at=1)
    assert _speedrun(out, "--runs", "4").exit_code == 130
    assert out.read_text() == before
