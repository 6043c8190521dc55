"""What each preset sets, as BENCHMARKS.md ("SGD Nesterov, one-cycle lr 0.1, label
smoothing 0.1, weight decay 5e-4 off norm/bias, crop 2 + flip, weight EMA, batch 256")
and presets.py's docstring (the book: plain SGD, constant lr, no augmentation, no
normalisation, fp32) describe them: one value changed passed every earlier test."""

from __future__ import annotations

from cnnlab.train.presets import preset_values, resolve_config, set_by_preset


def test_the_fast_recipe_is_the_documented_one():
    values = preset_values("fast", "resnet18_d2l")  # a normalised network, no entry of its own
    assert {k: values[k] for k in (
        "optimizer", "momentum", "weight_decay", "schedule", "warmup_epochs", "lr",
        "batch_size", "epochs", "crop_padding", "flip", "normalize", "label_smoothing",
        "ema_decay", "amp", "channels_last")} == dict(
        optimizer="nesterov", momentum=0.9, weight_decay=5e-4, schedule="onecycle",
        warmup_epochs=0.3, lr=0.1, batch_size=256, epochs=10, crop_padding=2, flip=True,
        normalize=True, label_smoothing=0.1, ema_decay=0.999, amp="auto", channels_last=None)


def test_the_book_recipe_trains_plainly_in_fp32():
    values = preset_values("book", "lenet_d2l")
    assert {k: values[k] for k in (
        "weight_decay", "schedule", "crop_padding", "erase_prob", "label_smoothing",
        "ema_decay", "amp")} == dict(weight_decay=0.0, schedule="constant", crop_padding=0,
                                     erase_prob=0.0, label_smoothing=0.0, ema_decay=0.0,
                                     amp="off")


def test_a_presets_own_value_is_known_as_the_presets_and_a_changed_one_is_not():
    cfg = resolve_config("resnet18_d2l", preset="fast")
    assert set_by_preset(cfg, "ema_decay") and set_by_preset(cfg, "lr")
    assert not set_by_preset(resolve_config("resnet18_d2l", preset="fast",
                                            overrides={"ema_decay": 0.99}), "ema_decay")
    assert not set_by_preset(resolve_config("resnet18_d2l"), "lr")  # no preset at all
