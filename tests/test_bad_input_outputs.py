"""A name a run or a command writes, held by a folder: said with the fix, nothing lost."""

import shutil

import pytest


def test_an_atomic_write_over_a_folder_names_the_folder_and_the_fix(tmp_path):
    from cnnlab.atomic import atomic_write_text

    (tmp_path / "summary.json").mkdir()
    # Was "[Errno 21] Is a directory: '.summary.json.3a109574.tmp' -> 'summary.json'".
    with pytest.raises(IsADirectoryError, match=r"summary\.json is a folder, so the file of "
                                                r"that name cannot be written: move the "
                                                r"folder away"):
        atomic_write_text(tmp_path / "summary.json", "{}")
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temporary left


def test_a_summary_name_held_by_a_folder_keeps_the_report_and_says_how_to_write_it(
        tiny_run, tmp_path):
    from cnnlab.train import resume

    run = shutil.copytree(tiny_run, tmp_path / "run")
    (run / "summary.json").unlink()
    (run / "summary.json").mkdir()
    report = (run / "report.html").read_bytes()
    metrics = (run / "metrics.csv").read_bytes()
    with pytest.raises(IsADirectoryError, match=r"summary\.json is a folder, so the run's "
                                                r"summary and report cannot be written: move "
                                                r"it away, then `cnnlab resume .*` writes"):
        resume(run, extra_epochs=1, threads=1, quiet=True)
    assert (run / "report.html").read_bytes() == report  # it was removed first
    assert (run / "metrics.csv").read_bytes() == metrics  # refused before training an epoch
    (run / "summary.json").rmdir()
    with pytest.warns(UserWarning, match="writing them now, from its checkpoint and "
                                         "metrics; nothing is trained"):
        resume(run, threads=1, quiet=True)  # as the message says: the outputs only
    assert (run / "summary.json").is_file() and (run / "report.html").is_file()
