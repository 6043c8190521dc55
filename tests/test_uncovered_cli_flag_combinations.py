"""Options that conflict, refused with exit 2 before anything is made, and the LaTeX
tables tool's own usage and read errors: paths no other test reached (found by a
branch-coverage run of the whole suite). Each message names the options and the way out."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import cnnlab.data
from cnnlab.cli import app
from cnnlab.latex_tables import main as latex_main


def _invoke(*args) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    # A refusal is an exit with a message, never a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, " ".join(result.output.split())


def test_design_run_refuses_resume_and_another_out(tmp_path):
    code, said = _invoke("design", "run", "--resume", tmp_path / "a", "--out", tmp_path / "b")
    assert code == 2 and "give either --resume DIR or --out DIR, not both" in said, said
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize("given", [["--space", "anynetx_a"], ["--out", "OUT"]])
def test_design_run_without_space_or_out_says_what_a_new_sweep_needs(tmp_path, given):
    given = [str(tmp_path / "sweep") if g == "OUT" else g for g in given]
    code, said = _invoke("design", "run", *given)
    assert code == 2 and "a new sweep needs --space and --out (or --resume DIR)" in said, said
    assert not (tmp_path / "sweep").exists()


def test_speedrun_refuses_an_ablation_and_candidates_at_once(monkeypatch, tmp_path):
    def no_data(*a, **k):
        raise AssertionError("the data was loaded before the options were checked")

    monkeypatch.setattr(cnnlab.data, "load_dataset", no_data)
    out = tmp_path / "study.json"
    code, said = _invoke("speedrun", "--device", "cpu", "--ablate", "--candidate", "lr=0.05",
                         "--out", out)
    assert code == 2, said
    assert "--ablate and --candidate are two different studies: pick one" in said, said
    assert not out.exists()


def test_data_cache_refuses_clear_and_prune_together(monkeypatch, tmp_path):
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    code, said = _invoke("data", "cache", "--clear", "--prune")
    assert code == 2, said
    assert "--clear removes every entry, --prune those no run reads again: give one" in said


@pytest.mark.parametrize("argv, status", [(["-h"], 0), (["--help"], 0), (["a.md", "b.md"], 2)])
def test_latex_tables_prints_its_usage(argv, status, capsys):
    assert latex_main(argv) == status
    err = capsys.readouterr().err
    assert "usage: python -m cnnlab.latex_tables [FILE.md]" in err, err


def test_latex_tables_names_a_file_it_cannot_read(tmp_path, capsys):
    missing = tmp_path / "zoo-book.md"
    assert latex_main([str(missing)]) == 1
    captured = capsys.readouterr()
    assert f"error: cannot read {missing}: No such file or directory" in captured.err
    assert captured.out == ""
