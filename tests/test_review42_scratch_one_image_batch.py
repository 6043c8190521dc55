"""--scratch-ops with --batch-size 1: cnnlab's own batch_norm words its refusal "more than
one value per channel", which the trainer's friendlier error did not recognise, so such a
run ended on "use a batch of at least 2 or call .eval()" (no .eval() to call from the CLI)."""

from test_distributed42_one_image_batches import _config, _refusal


def test_the_scratch_batch_norms_refusal_is_named_with_its_fix(tmp_path):
    said = _refusal(_config(batch_size=1, scratch_ops=True), 8, tmp_path)
    assert said == ("--batch-size 1: the model's batch norm cannot normalise a training "
                    "batch of one image; give --batch-size 2 or more")
