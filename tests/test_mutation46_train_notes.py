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


def test_momentum_is_warned_of_with_adamw_not_with_sgd():
    for optimizer, warned in (("adamw", True), ("sgd", False)):
        cfg = dataclasses.replace(TrainConfig(), optimizer=optimizer, momentum=0.9)
        notes = settings_without_effect(cfg, {"momentum", "optimizer"})
        assert any("momentum has no effect" in note for note in notes) == warned, optimizer


def test_what_replaces_a_config_files_model_is_said_by_rank_0_alone(tmp_path, monkeypatch,
                                                                    capsys):
    # Under torchrun every process reads the command: the note once, not once a rank.
    from types import SimpleNamespace

    from cnnlab.cli.train_notes import note_what_replaces_the_config_files_choices

    config = tmp_path / "c.yaml"
    config.write_text("model: lenet_d2l\n", encoding="utf-8")
    cfg = SimpleNamespace(model="lenet_modern", preset=None)
    monkeypatch.setenv("WORLD_SIZE", "2")
    for rank, said in (("1", False), ("0", True)):
        monkeypatch.setenv("RANK", rank)
        note_what_replaces_the_config_files_choices(cfg, config)
        err = " ".join(capsys.readouterr().err.split())
        assert ("says model: lenet_d2l; MODEL replaces it (lenet_modern)" in err) == said, rank
