"""`cnnlab models --markdown/--latex` and its refusal of extra words, pinned where session
42's tests left them loose (mutation53): an exact name's details beside other matches,
LaTeX's number columns and escaped notes, a count that failed, the name suggested."""

from __future__ import annotations

from test_cli_models_details import models_printer
from typer.testing import CliRunner

from cnnlab.bench import complexity
from cnnlab.cli import app


def test_an_exact_names_details_come_with_the_markdown_of_every_match(tmp_path, monkeypatch):
    # "lenet_d2l" also matches googlenet_d2l: the table has both, the details lenet_d2l's
    out = models_printer(tmp_path, monkeypatch)("lenet_d2l", "--markdown")
    assert "| googlenet_d2l |" in out and "| Model | lenet_d2l |" in out, out
    assert "| Model | googlenet_d2l |" not in out


def test_latex_right_aligns_the_numbers_and_escapes_the_notes(tmp_path, monkeypatch):
    out = models_printer(tmp_path, monkeypatch)("lenet_d2l", "--latex")
    assert r"\begin{tabular}{lllrrlr}" in out, out
    assert "(-{}-resize)" in out and "(--resize)" not in out  # LaTeX's en dash otherwise


def test_a_count_that_failed_is_said_with_markdown_too(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path))

    def broken(info):
        raise RuntimeError("no such layer")

    monkeypatch.setattr(complexity, "default_complexity", broken)
    result = CliRunner().invoke(app, ["models", "lenet_d2l", "--markdown"])
    assert result.exit_code == 0, result.output
    assert "could not count lenet_d2l: RuntimeError: no such layer" in " ".join(
        result.output.split())


def test_the_last_extra_word_is_the_name_suggested():
    result = CliRunner().invoke(app, ["models", "show", "me", "vgg_d2l"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert "not 'show me vgg_d2l'" in out and "cnnlab models vgg_d2l" in out, out
