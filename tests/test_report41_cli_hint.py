"""cnnlab eval that lists only the few scored classes of many says how to list them all."""

from test_report41_few_scored import scored_run


def test_cnnlab_eval_of_few_scored_classes_says_how_to_list_every_one(tmp_path,
                                                                      monkeypatch):
    from typer.testing import CliRunner

    import cnnlab.cli.train as cli_train
    import cnnlab.train.evaluate as evaluate_module
    from cnnlab.cli import app

    monkeypatch.setattr(evaluate_module, "evaluate_run", lambda *a, **k: scored_run())
    monkeypatch.setattr(cli_train, "_busy_cpu_note_for", lambda *a: None)
    shown = CliRunner().invoke(app, ["eval", str(tmp_path)], env={"COLUMNS": "120"})
    assert shown.exit_code == 0, shown.output
    assert "add --all-classes to list all 100 classes" in " ".join(shown.stdout.split())
