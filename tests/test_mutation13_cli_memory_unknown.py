"""`cnnlab summary` where the free memory cannot be read (available_memory None): no
guard refuses or moves anything; the summary runs as usual (mutation13: taking unknown
as 0 bytes free passed every other test)."""
from test_mutation9_cli_memory import _summary


def test_a_summary_runs_where_the_free_memory_is_unknown(monkeypatch):
    result = _summary(monkeypatch, None, "--batch-size", "4")
    assert result.exit_code == 0, result.output
    assert "counted without running it" not in result.stderr
    assert "saved for backward, train mode" in result.stdout
    assert "61,706" in result.stdout  # lenet_d2l's parameters: the weights were built


def test_a_batch_counted_on_the_meta_device_keeps_the_depth_asked_for(monkeypatch):
    from test_mutation9_cli_memory import ROOM

    result = _summary(monkeypatch, ROOM - 1, "--batch-size", "4", "--depth", "1")
    assert "counted without running it" in result.stderr  # the meta device's count
    assert "features" in result.stdout and "classifier" in result.stdout
    assert "features.0" not in result.stdout and "classifier.4" not in result.stdout
