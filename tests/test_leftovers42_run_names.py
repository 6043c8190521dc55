"""What a new run's --run-name may not be beyond what every run read back passes (a
trailing space; a ':' stays where the system allows it), and the warning for a name
already taken: a resume named only for a run. Wired into check_new_run and new_run_dir
(tests/test_leftovers42_run_name_wiring.py)."""

from __future__ import annotations

import pytest

from cnnlab.train.run_files import name_taken_words
from cnnlab.train.run_names import new_run_name_problem


@pytest.mark.parametrize("name, said", [
    ("trail ", "ends in a space, which the `run:` line does not show: 'trail'?"),
    ("tab\t", "ends in a space"),
])
def test_a_trailing_space_is_a_problem_for_a_new_run(name, said):
    assert said in new_run_name_problem(name)


@pytest.mark.parametrize("name", ["lenet-lr0.1", " lead", "Résumé run", "exp.lr=0.1",
                                  "exp: lr=0.1"])
def test_other_names_are_not(name):
    assert new_run_name_problem(name) is None


def test_a_name_taken_by_a_run_or_a_run_starting_says_how_to_resume_it(tiny_run, tmp_path):
    starting = tmp_path / "starting"  # `cnnlab train` makes the folder, config.yaml later
    starting.mkdir()
    for taken in (tiny_run, starting):
        assert name_taken_words(taken, tmp_path / "y").startswith(
            f"{taken} exists: this run is {tmp_path / 'y'} (`cnnlab resume {taken}` "
            "continues that one")
