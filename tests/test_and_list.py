"""One and_list writes "a, b and c" for every message that lists names in a sentence, and a
speedrun run that diverged shows "-" for its accuracies, not "nan%"."""

import math
from types import SimpleNamespace

from cnnlab.cli.speedrun_tables import run_row
from cnnlab.formatting import and_list


def test_names_listed_in_a_sentence():
    assert and_list([]) == ""
    assert and_list(["a"]) == "a"
    assert and_list(["a", "b"]) == "a and b"
    assert and_list(["a", "b", "c"]) == "a, b and c"


def test_a_diverged_speedrun_run_reads_unknown_not_nan():
    run = SimpleNamespace(seed=3, time_to_target_s=None, diverged=True, final_acc=math.nan,
                          best_acc=math.nan, epochs=2, total_time_s=1.25, session=1)
    row = run_row(0, run, with_session=False)
    assert row == ["1", "3", "diverged", "-", "-", "2", "1.2 s"]
    assert "nan" not in " ".join(row).lower()
