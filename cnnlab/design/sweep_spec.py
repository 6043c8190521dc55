"""What a sweep is: its spec (the space, seed, complexity band, data and training
recipe), the paper's recipe it starts from, the fields it sets itself, and its trials as
drawn from the spec. (Where it is kept: :mod:`cnnlab.design.store`.)"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

from cnnlab.design import spaces

# The paper's recipe (section 3.1): SGD, momentum 0.9, batch 128, lr 0.05 with a cosine
# schedule, weight decay 5e-5. Any TrainConfig field can be changed per sweep.
PAPER_RECIPE = {"optimizer": "sgd", "momentum": 0.9, "lr": 0.05, "schedule": "cosine",
                "weight_decay": 5e-5, "batch_size": 128, "epochs": 10}
TRIAL_MODEL = "anynetx"  # registered in cnnlab.models.anynet; spaces sample its config


class SweepError(ValueError):
    """A sweep that cannot be created, opened or resumed as asked; the message says why."""


class StoreError(SweepError):
    """A sweep's store that cannot be used as it stands (damaged, locked, being trained,
    not writable): a valid request that could not be done, which the CLI ends with exit
    status 1 (a SweepError is a request to change, 2)."""


# TrainConfig fields a sweep decides itself (train_config below, run_trial's silent
# trainer without a run folder): a value given for one would be overridden without a
# word, so a new sweep refuses it and says what to use instead.
SWEEP_FIELDS = {
    "model": "each trial's network is drawn from --space",
    "model_overrides": "each trial's network is drawn from --space",
    "seed": "trial i trains with seed + i: give the sweep's seed with --seed",
    "data": "use --data",
    "data_root": "use --data-root",
    "preset": "a sweep trains with the paper's recipe; change its fields one by one",
    "quiet": "trials always train silently",
    "out_dir": "trials write no run folder; their results go to trials.sqlite",
    "run_name": "trials write no run folder; their results go to trials.sqlite",
}


def check_train_fields(train: dict) -> None:
    """Refuse TrainConfig fields a sweep sets itself (:data:`SWEEP_FIELDS`), naming each."""
    owned = [k for k in train if k in SWEEP_FIELDS]
    if owned:
        raise SweepError("a sweep sets these training fields itself: "
                         + "; ".join(f"{k} ({SWEEP_FIELDS[k]})" for k in owned))


@dataclass
class SweepSpec:
    """Everything that decides which networks a sweep trains and how.

    ``space``: the design space (one of :data:`~cnnlab.design.spaces.SPACES`); trial i is
    drawn from its own generator (``seed``, i, space) and trained with seed ``seed + i``;
    ``macs``: the (low, high) complexity band every draw lies in (None: any). ``data``,
    ``data_root``, ``train_subset`` (the first N training images only: quick CPU sweeps)
    as for TrainConfig. ``zero_init_last_bn`` starts every X block as the identity (zero
    final BN gamma): at short budgets it decides the result (see the comment below).
    ``train`` holds TrainConfig fields (epochs, lr, batch_size, device, ...) laid over
    :data:`PAPER_RECIPE`. ``image_size``, ``in_channels``, ``num_classes`` describe the
    input the complexity band refers to (``runner.create_sweep`` reads them off the data).
    """

    space: str
    seed: int = 0
    macs: tuple[float, float] | None = None
    data: str = "fashion-mnist"
    data_root: str | os.PathLike[str] | None = None  # kept as text (the store's JSON)
    train_subset: int | None = None  # first N training images only (quick CPU sweeps)
    train: dict = field(default_factory=dict)
    # zero_init_last_bn: pycls leaves this off for its 10-epoch ImageNet sweeps; at
    # short budgets it decides the result: without it, 14 of 64 AnyNetX_E samples
    # (19-44 blocks) ended one epoch on Fashion-MNIST at 80-89% error; four of them
    # retrained with it: 24-28% (BENCHMARKS.md, issue 8).
    zero_init_last_bn: bool = True
    image_size: int | None = None
    in_channels: int | None = None
    num_classes: int | None = None

    def __post_init__(self) -> None:
        # A Path, as TrainConfig takes it ("as for TrainConfig"), failed create_sweep with
        # "Object of type PosixPath is not JSON serializable".
        if isinstance(self.data_root, os.PathLike):
            self.data_root = os.fspath(self.data_root)
        # The dataset's name as cnnlab spells it: a "Folder:PATH" from Python was taken by
        # parse_spec but not seen as a folder by the store, which looks for "folder:".
        if isinstance(self.data, str) and self.data.strip():
            from cnnlab.dataset_names import dataset_spelling

            self.data = dataset_spelling(self.data)

    def to_dict(self) -> dict:
        """The fields as JSON types (``macs`` a list), as the store keeps them."""
        out = asdict(self)
        out["macs"] = list(self.macs) if self.macs else None
        return out

    @classmethod
    def from_dict(cls, values: dict) -> SweepSpec:
        """The spec :meth:`to_dict` gave ``values`` for (an older sweep's too)."""
        values = dict(values)
        values.setdefault("zero_init_last_bn", False)  # sweeps created before the field
        if values.get("macs"):
            values["macs"] = tuple(values["macs"])
        return cls(**values)

    def train_config(self, overrides: dict, seed: int) -> dict:
        """The TrainConfig fields of one trial (plain values, validated by the worker):
        its sample's ``overrides`` for the ``anynetx`` model, trained with ``seed``."""
        overrides = {**overrides, "zero_init_last_bn": self.zero_init_last_bn}
        return {**PAPER_RECIPE, **self.train, "model": TRIAL_MODEL, "model_overrides": overrides,
                "data": self.data, "data_root": self.data_root, "seed": seed, "quiet": True}


def plan_trials(spec: SweepSpec, start: int, stop: int, first: dict | None = None) -> list[dict]:
    """Trials ``start .. stop-1``: trial i is drawn by ``spaces.sample_trial(space, seed,
    i)`` under the band and trains with seed ``seed + i``. ``first``: the sweep's first
    trial as stored, refused (SweepError) where this cnnlab draws it otherwise: the sweep
    would mix two samplers' networks (RegNet's wa above 224x224 changed in 2026-12)."""
    if first is not None and first["config"] != json.loads(json.dumps(
            plan_trials(spec, first["id"], first["id"] + 1)[0]["config"])):  # as stored
        raise SweepError(f"this cnnlab draws the {spec.space} networks of this sweep "
                         "otherwise than the one that drew its trials: more would come "
                         "from another distribution. Train the trials it has (--resume "
                         "without a larger --n), or start a new sweep with another --out")
    if None in (spec.image_size, spec.in_channels, spec.num_classes):
        raise SweepError("SweepSpec needs image_size, in_channels and num_classes to draw "
                         "trials under a complexity band (runner.create_sweep fills them)")
    rows = []
    for i in range(start, stop):
        s = spaces.sample_trial(spec.space, spec.seed, i, image_size=spec.image_size,
                                in_channels=spec.in_channels, num_classes=spec.num_classes,
                                macs=spec.macs)
        rows.append({"id": i, "space": spec.space, "sample": s.params,
                     "config": spaces.config_to_overrides(s.config), "macs": s.macs,
                     "params": s.complexity["params"], "acts": s.complexity["acts"],
                     "seed": spec.seed + i})
    return rows


def sweep_identity(spec: dict) -> dict:
    # Fields added since it was stored filled in, and the dataset's name in cnnlab's
    # spelling (SweepSpec's own): a sweep stored with "Fashion-MNIST", before the CLI
    # stored one spelling, is extended with --data fashion-mnist.
    spec = SweepSpec.from_dict(spec).to_dict()
    # Where a sweep runs is not what it is: a moved dataset (data_root, or a folder:PATH
    # spec's path) or another device (a sweep created on a device it could not use must
    # be able to go on elsewhere) is the same.
    # The recipe as trials train it: --epochs 10 given or left to the default is one sweep.
    train = {k: v for k, v in {**PAPER_RECIPE, **spec["train"]}.items() if k != "device"}
    data = "folder:" if spec["data"].startswith("folder:") else spec["data"]
    return {**{k: v for k, v in spec.items() if k != "data_root"}, "data": data,
            "train": train}
