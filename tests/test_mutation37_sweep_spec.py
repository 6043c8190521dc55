"""A sweep's spec read back from its store and checked on --resume, its trials as drawn
and stored, and what is kept per trial. Hand-mutation testing (session 40) of
design/sweep_spec.py and design/store.py found these unpinned."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from design_helpers import shaped_spec

from cnnlab.design import spaces
from cnnlab.design.store import TrialStore
from cnnlab.design.sweep_spec import SweepError, SweepSpec, plan_trials, sweep_identity


def _store(tmp_path, spec, n):
    store = TrialStore(tmp_path, create=True)
    store.init_sweep(spec, n)
    return store


def test_each_planned_trial_is_its_own_draw_in_the_band_with_its_costs():
    spec = shaped_spec(seed=4)
    rows = plan_trials(spec, 2, 5)
    assert [r["id"] for r in rows] == [2, 3, 4] and [r["seed"] for r in rows] == [6, 7, 8]
    for r in rows:
        s = spaces.sample_trial("anynetx_b", 4, r["id"], image_size=28, in_channels=1,
                                num_classes=10, macs=(1e5, 1e6))
        assert (r["sample"], r["macs"], r["params"], r["acts"]) == (
            s.params, s.macs, s.complexity["params"], s.complexity["acts"])
        assert 1e5 <= r["macs"] <= 1e6 and r["params"] != r["acts"]


def test_trials_are_not_drawn_without_the_whole_input_shape():
    with pytest.raises(SweepError, match="needs image_size, in_channels and num_classes"):
        plan_trials(replace(shaped_spec(), in_channels=None), 0, 1)


def test_a_spec_read_back_is_the_one_stored(tmp_path):
    spec = shaped_spec(train={"lr": 0.1})
    assert spec.to_dict()["macs"] == [1e5, 1e6]  # JSON's own type, as documented
    with _store(tmp_path, spec, 1) as store:
        assert store.spec() == spec and store.spec().macs == (1e5, 1e6)
    # A sweep stored before zero_init_last_bn existed trained without it.
    old = {k: v for k, v in spec.to_dict().items() if k != "zero_init_last_bn"}
    assert SweepSpec.from_dict(old).zero_init_last_bn is False
    assert sweep_identity(old) == sweep_identity(
        replace(spec, zero_init_last_bn=False).to_dict())
    assert sweep_identity(old) != sweep_identity(spec.to_dict())


def test_the_recipe_given_or_left_to_the_default_is_one_sweep():
    ident = sweep_identity(shaped_spec().to_dict())
    assert sweep_identity(shaped_spec(train={"epochs": 10, "lr": 0.05}).to_dict()) == ident
    assert sweep_identity(shaped_spec(train={"epochs": 9}).to_dict()) != ident
    assert sweep_identity({**shaped_spec().to_dict(), "data": "Fashion-MNIST"}) == \
        sweep_identity(replace(shaped_spec(), data="fashion-mnist").to_dict())


def test_a_moved_folder_dataset_is_the_same_sweep_and_its_new_path_kept(tmp_path):
    a, b = (replace(shaped_spec(), data=f"folder:{tmp_path / d}") for d in ("a", "b"))
    assert sweep_identity(a.to_dict()) == sweep_identity(b.to_dict())
    with _store(tmp_path / "s", a, 2) as store:
        store.init_sweep(b, 2)
        assert store.spec().data == f"folder:{tmp_path / 'b'}"


def test_a_resume_keeps_the_new_data_root_and_device_and_the_rest_as_stored(tmp_path):
    spec = shaped_spec(train={"lr": 0.1, "device": "cpu"})
    with _store(tmp_path, spec, 2) as store:
        store.init_sweep(replace(spec, data_root="/new/place",
                                 train={"lr": 0.1, "device": "cuda"}), 2)
        got = store.spec()
        assert (got.data_root, got.train) == ("/new/place", {"lr": 0.1, "device": "cuda"})
        store.init_sweep(replace(spec, train={"lr": 0.1}), 2)  # neither given: kept
        assert (store.spec().data_root, store.spec().train["device"]) == ("/new/place",
                                                                          "cuda")


def test_a_resume_asking_fewer_trials_keeps_the_planned_number(tmp_path):
    spec = shaped_spec()
    with _store(tmp_path, spec, 3) as store:
        assert store.init_sweep(spec, 1)["pending"] == 3 and store.planned() == 3
        assert store.init_sweep(spec, 4)["pending"] == 4 and store.planned() == 4
        assert [t["id"] for t in store.trials()] == [0, 1, 2, 3]


def test_a_killed_drivers_trial_keeps_its_attempt(tmp_path):
    # It may be what killed the driver (out of memory): the attempt is not taken back.
    with _store(tmp_path, shaped_spec(), 2) as store:
        store.mark_running(0, "w")
        assert store.reset_running() == [0]
        assert (store.trial(0)["status"], store.trial(0)["attempts"]) == ("pending", 1)


def test_a_recorded_trial_keeps_its_times_code_and_counts(tmp_path):
    with _store(tmp_path, shaped_spec(), 3) as store:
        store.mark_running(0, "w")
        store.record(0, "done", error_pct=20.0, code={"cnnlab": "x"})
        store.mark_running(1, "w")
        row = store.trial(0)
        assert row["finished_at"] >= row["started_at"] > 0
        assert row["code"] == {"cnnlab": "x"}
        assert json.loads(store.conn.execute("SELECT code FROM trials WHERE id = 0")
                          .fetchone()[0]) == {"cnnlab": "x"}
        assert store.counts() == {"pending": 1, "running": 1, "done": 1, "failed": 0}


def test_a_trial_trains_the_drawn_network_with_its_own_seed_whatever_the_recipe_holds():
    # A sweep stored before check_train_fields refused them may hold such fields.
    spec = SweepSpec(space="anynetx_a", data="synthetic", zero_init_last_bn=False,
                     train={"seed": 3, "model": "resnet18", "quiet": False, "lr": 0.2})
    cfg = spec.train_config({"depths": [1]}, 7)
    assert (cfg["seed"], cfg["model"], cfg["quiet"], cfg["lr"]) == (7, "anynetx", True, 0.2)
    assert cfg["model_overrides"] == {"depths": [1], "zero_init_last_bn": False}


def test_a_second_creator_finding_a_spec_stored_meanwhile_stores_nothing(tmp_path):
    # Two `design run --out DIR` of one new folder: both drew their trials before either
    # stored; the later one's spec must not replace the first one's over its trials.
    first, later = shaped_spec(seed=1), shaped_spec(seed=2)
    with _store(tmp_path, first, 2) as store:
        rows = store.trials()
        assert store._create_sweep(later, 3, None, plan_trials(later, 0, 3)) is False
        assert store.spec() == first and store.planned() == 2 and store.trials() == rows
