"""A speedrun run again after Ctrl-C starts over: it says so before it replaces the
unfinished study its --out holds (it had overwritten it without a word, after "the
finished runs are in" that file)."""

import json

from typer.testing import CliRunner

from cnnlab.data.synthetic import make_synthetic


def _fake_runs(monkeypatch):
    import cnnlab.bench.speedrun as sr
    import cnnlab.data

    monkeypatch.setattr(cnnlab.data, "load_dataset",
                        lambda *a, **k: make_synthetic(num_train=64, num_test=16, seed=1))
    monkeypatch.setattr(sr, "run_once", lambda cfg, data, target: sr.SpeedrunResult(
        seed=cfg.seed, time_to_target_s=1.0, final_acc=0.95, best_acc=0.95,
        total_time_s=1.0, epochs=cfg.epochs))


def _speedrun(out, *extra):
    from cnnlab.cli import app

    return CliRunner().invoke(app, ["speedrun", "--device", "cpu", "--runs", "1",
                                    "--no-warmup", *extra, "--out", str(out)])


def test_rerunning_over_an_unfinished_study_says_it_starts_again(tmp_path, monkeypatch):
    _fake_runs(monkeypatch)
    out = tmp_path / "s.json"
    out.write_text(json.dumps({"runs": [{"seed": 0}, {"seed": 1}], "complete": False}))
    result = _speedrun(out)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert f"{out} holds an unfinished speedrun (2 finished run(s))" in said, said
    assert "Give another --out to keep it" in said
    candidates = {"candidates": {"a": {"runs": [{}]}, "b": {"runs": [{}, {}]}},
                  "confirm": {"runs": [{}]}, "complete": False}
    out.write_text(json.dumps(candidates))
    said = " ".join(_speedrun(out, "--candidate", "epochs=1").output.split())
    assert "(4 finished run(s))" in said, said


def test_a_finished_or_foreign_file_is_replaced_without_a_note(tmp_path, monkeypatch):
    _fake_runs(monkeypatch)
    out = tmp_path / "s.json"
    for before in ('{"runs": [], "complete": true}', "not json", "[1, 2]"):
        out.write_text(before)
        result = _speedrun(out)
        assert result.exit_code == 0, result.output
        assert "unfinished" not in result.output, result.output
        assert json.loads(out.read_text())["complete"] is True
