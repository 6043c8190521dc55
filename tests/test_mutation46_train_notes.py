"""What `cnnlab train` warns of before a run, pinned where hand-made mutants of
cli/train_notes.py went unnoticed (session 41, mutation46)."""

from __future__ import annotations

import dataclasses

from cnnlab.cli.train_notes import settings_without_effect
from cnnlab.train import TrainConfig


def test_lookahead_alpha_is_warned_of_only_without_lookahead_steps():
    # One step between pulls is lookahead still (every step): alpha has its effect.
    given = {"lookahead_alpha", "lookahead_steps"}
    for steps, warned in ((0, True), (1, False), (5, False)):
        cfg = dataclasses.replace(TrainConfig(), lookahead_steps=steps, lookahead_alpha=0.5)
        notes = settings_without_effect(cfg, given)
        assert any("lookahead_alpha" in note for note in notes) == warned, (steps, notes)
