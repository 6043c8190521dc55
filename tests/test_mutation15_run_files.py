"""run_files' words for a run that cannot be resumed, pinned where mutation testing found
them unchecked (session 38, helper mutation15)."""

from cnnlab.train.run_files import no_checkpoint_words


def test_a_run_killed_between_its_first_two_checkpoints_is_said_to_hold_the_best_one(tmp_path):
    assert no_checkpoint_words(tmp_path) == (
        "a run stopped before its first checkpoint cannot be resumed")
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "best.safetensors").write_bytes(b"weights")
    words = no_checkpoint_words(tmp_path)
    assert words.startswith("killed while its first epoch's checkpoints were written")
    assert "`cnnlab eval` reads" in words
