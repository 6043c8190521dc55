"""Resuming a speedrun study (mutation40): what a resumed study must refuse, and that it
counts every kept run once. Each test here pinned a hand-made mutant that every other
test let pass."""

import json

import pytest
from test_speedrun_resume import _fake_runs, _said, _speedrun


def test_a_study_begun_without_the_warm_up_is_not_resumed_with_it(tmp_path, monkeypatch):
    # Runs timed after an untimed warm-up and runs charged CUDA's start-up and cuDNN's
    # autotuning are not the same measurement: averaged together they mean neither.
    out = tmp_path / "s.json"
    _fake_runs(monkeypatch, stop_at=3)
    assert _speedrun(out, "--runs", "4").exit_code == 130
    before = out.read_text(encoding="utf-8")
    calls = _fake_runs(monkeypatch)
    result = _speedrun(out, "--runs", "4", "--warmup")
    said = _said(result)
    assert result.exit_code == 2 and calls == [], said
    assert "other settings" in said and "--warmup" in said, said
    assert out.read_text(encoding="utf-8") == before


def test_a_finished_study_it_replaces_is_counted_with_its_confirming_runs(tmp_path,
                                                                          monkeypatch):
    # "holds a finished speedrun (N runs)": N is what the replacement throws away.
    out = tmp_path / "c.json"
    args = ["--runs", "1", "--candidate", "epochs=1", "--candidate", "epochs=2",
            "--confirm", "2"]
    _fake_runs(monkeypatch)
    assert _speedrun(out, *args).exit_code == 0
    _fake_runs(monkeypatch)
    result = _speedrun(out, *args)
    assert result.exit_code == 0, result.output
    assert f"{out} holds a finished speedrun (4 runs)" in _said(result), _said(result)


def test_a_resume_with_every_run_kept_adds_no_session(tmp_path, monkeypatch):
    # Ctrl-C in the last run's last evaluation leaves every run in an unfinished file;
    # the resume runs nothing, so it is no session, and the environment stays the one
    # of the process that ran the runs.
    out = tmp_path / "s.json"
    _fake_runs(monkeypatch)
    assert _speedrun(out, "--runs", "2").exit_code == 0
    body = json.loads(out.read_text(encoding="utf-8"))
    body["sessions"][0]["date"] = body["environment"]["date"] = "then"
    out.write_text(json.dumps({**body, "complete": False}), encoding="utf-8")
    calls = _fake_runs(monkeypatch)
    result = _speedrun(out, "--runs", "2")
    assert result.exit_code == 0 and calls == [], result.output
    assert "resuming: 2 of 2 runs already in" in _said(result), _said(result)
    body = json.loads(out.read_text(encoding="utf-8"))
    assert body["complete"] is True and body["summary"]["runs"] == 2
    assert [s["date"] for s in body["sessions"]] == ["then"]
    assert body["environment"]["date"] == "then"


def test_a_resume_naming_other_candidates_says_which_not_that_the_file_is_damaged(
        tmp_path, monkeypatch):
    # Runs of a candidate this command does not name: other settings, said as such.
    out = tmp_path / "c.json"
    args = ["--runs", "2", "--candidate", "epochs=1", "--candidate", "epochs=2"]
    _fake_runs(monkeypatch, stop_at=4)  # both candidates have runs in the file
    assert _speedrun(out, *args).exit_code == 130
    calls = _fake_runs(monkeypatch)
    result = _speedrun(out, *args[:-1], "epochs=3")
    said = _said(result)
    assert result.exit_code == 2 and calls == [], said
    assert "other settings (recipes [epochs=1, epochs=2] vs [epochs=1, epochs=3]" in said, said
    assert "cannot be read back" not in said, said


@pytest.mark.parametrize("key", ["gpu", "cpu_model", "cpu_count", "torch_threads", "torch",
                                 "cnnlab"])
def test_runs_of_another_card_cpu_thread_count_or_software_are_not_averaged_in(
        tmp_path, monkeypatch, key):
    # Each of these changes a run's time: an H100's and an H200's, 2 threads' and 16's.
    out = tmp_path / "s.json"
    _fake_runs(monkeypatch, stop_at=2)
    assert _speedrun(out, "--runs", "2").exit_code == 130
    body = json.loads(out.read_text(encoding="utf-8"))
    body["sessions"][-1][key] = "elsewhere"
    out.write_text(json.dumps(body), encoding="utf-8")
    calls = _fake_runs(monkeypatch)
    result = _speedrun(out, "--runs", "2")
    said = _said(result)
    assert result.exit_code == 2 and calls == [], said
    assert f"another machine or software ({key} elsewhere there, " in said, said


def test_a_candidate_study_without_confirm_runs_and_says_no_confirmation(tmp_path,
                                                                          monkeypatch):
    calls = _fake_runs(monkeypatch)
    out = tmp_path / "c.json"
    result = _speedrun(out, "--runs", "1", "--candidate", "epochs=1", "--candidate",
                       "epochs=2")
    assert result.exit_code == 0 and calls == [(1, 0), (2, 0)], result.output
    assert "confirm" not in result.output, result.output
    assert json.loads(out.read_text(encoding="utf-8"))["confirm"] is None


def test_a_resumed_recipe_is_warmed_up_again_in_the_new_process(tmp_path, monkeypatch):
    # Its kept runs were warmed in the process that ran them; without a warm-up here,
    # the first new run is charged CUDA's start-up and cuDNN's autotuning.
    out = tmp_path / "s.json"
    first = _fake_runs(monkeypatch, stop_at=3)
    assert _speedrun(out, "--runs", "3", "--warmup").exit_code == 130
    assert first == [(1, 99_999), (14, 0), (14, 1)]
    calls = _fake_runs(monkeypatch)
    assert _speedrun(out, "--runs", "3", "--warmup").exit_code == 0
    assert calls == [(1, 99_999), (14, 1), (14, 2)]
