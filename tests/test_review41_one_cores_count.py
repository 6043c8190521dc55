"""predict's --threads warning and the busy-CPU note count the cores one way, by one
function (predict kept its own copy of hints' count)."""

import cnnlab.cli.hints as hints
import cnnlab.cli.predict as cli_predict


def test_predict_counts_cores_with_the_hints_count(monkeypatch):
    assert cli_predict._cores is hints.usable_cores
    monkeypatch.setattr(hints.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert cli_predict._cores() == 3
