"""One run as :mod:`cnnlab.train.compare` sees it: what its small files say (read by
:mod:`cnnlab.train.compare_files`) of how far it got, in what state, at what cost, and
with which settings, some resolved as the run resolved them."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnlab.formatting import four_figures
from cnnlab.train.compare_files import (
    read_checkpoint_state,
    read_config,
    read_data_record,
    read_history,
    read_summary,
)
from cnnlab.train.runlog import training_pid

# Settings whose value in config.yaml leaves the choice to the run ("auto"; resize None:
# the data's own size), with that value: compared as the run resolved them, once its
# files say (amp "auto" on a CPU is "off"); until then not known to differ.
LEFT_TO_THE_RUN = {"amp": "auto", "device": "auto", "resize": None}


def clock(row: dict) -> float | None:
    """A metrics row's seconds of training and evaluation since the run began (its
    ``wall_s``); training seconds alone (``elapsed_s``) in rows written before wall_s
    existed, which a resume since has left blank."""
    for key in ("wall_s", "elapsed_s"):
        if finite(row.get(key)):
            return row[key]
    return None


@dataclass(frozen=True, repr=False)
class ComparedRun:
    """One run as its files hold it: its folder ``run_dir``, and ``config``, config.yaml's
    fields. ``history``: metrics.csv's rows (numbers as numbers,
    NaN test columns in epochs that eval_every skipped); ``summary``: summary.json, ``{}``
    until the run has finished or stopped; ``data_record``: data.json, the data given to
    ``train()`` from Python (``{}`` for a run on its config's data); ``checkpoint``: the
    last checkpoint's state (``{}`` before the first); ``training_pid``: the process
    training it now, None if none is."""

    run_dir: Path
    config: dict[str, Any]
    history: list[dict]
    summary: dict[str, Any] = field(default_factory=dict)
    data_record: dict[str, Any] = field(default_factory=dict)
    checkpoint: dict[str, Any] = field(default_factory=dict)
    training_pid: int | None = None

    @classmethod
    def read(cls, run_dir: Path) -> ComparedRun:
        """The run in ``run_dir``, from its files (:mod:`cnnlab.train.compare_files`)."""
        return cls(run_dir, read_config(run_dir), read_history(run_dir), read_summary(run_dir),
                   read_data_record(run_dir), read_checkpoint_state(run_dir),
                   training_pid(run_dir))

    @property
    def input_size(self) -> int | None:
        """The side of the images its network was fed (after any resize), None before its
        first checkpoint."""
        preprocess = self.checkpoint.get("preprocess")
        size = preprocess.get("image_size") if isinstance(preprocess, dict) else None
        return size if isinstance(size, int) and not isinstance(size, bool) else None

    @property
    def name(self) -> str:
        """The run's folder name."""
        return self.run_dir.name

    @property
    def epochs_done(self) -> float:
        """Epochs trained: a whole number, or a fraction when the time budget stopped the
        run inside its last epoch (that epoch's row counts the images it saw)."""
        if not self.history:
            return 0
        cut = self._cut_epoch_share()
        last = int(self.history[-1]["epoch"])
        return last if cut is None else last - 1 + cut

    def _cut_epoch_share(self) -> float | None:
        """The share of its last epoch a run trained when max_time stopped it inside that
        epoch (summary.json says it stopped, after that epoch's row); None otherwise."""
        final = self.summary.get("final")
        if self.summary.get("stopped") != "max_time" or not isinstance(final, dict) \
                or final.get("epoch") != self.history[-1]["epoch"]:
            return None
        cut = self.summary.get("cut_epoch")  # its optimizer steps, as its report counts
        if isinstance(cut, dict) and finite(cut.get("steps")) and finite(cut.get("of")) \
                and 0 < cut["steps"] < cut["of"]:
            return cut["steps"] / cut["of"]
        # Written before cut_epoch was: from the images its row saw.
        last = self.history[-1]
        speed, seconds = last.get("images_per_s"), last.get("epoch_time_s")
        train_images = self.summary.get("train_images")
        if not (finite(speed) and finite(seconds) and finite(train_images)):
            return None
        # The row keeps images/s and seconds, not images: their product is the whole
        # number of images seen, give or take a rounding (63.99999 for 64).
        share = round(speed * seconds) / train_images
        return share if 0 < share < 0.995 else None

    def _checkpoint_inside_last_epoch(self) -> bool:
        """Whether a run whose summary.json predates cut_epoch and train_images (cnnlab
        before 2026-12-05) kept its last checkpoint inside its last row's epoch: max_time
        cut that epoch short (its share not known), as resume, which trains the rest, reads it."""
        if "cut_epoch" in self.summary:
            return False
        epoch, step = self.checkpoint.get("epoch"), self.checkpoint.get("step_in_epoch")
        return isinstance(step, int) and step > 0 and epoch == self.history[-1]["epoch"] - 1

    @property
    def state(self) -> str:
        """"training" (its process, on this machine, is alive), "finished", "time budget"
        (max_time stopped it before its last planned epoch ended), "interrupted" (Ctrl-C
        or SIGTERM: stopped with a checkpoint), "no epoch finished", or
        "unfinished" (killed, crashed or diverged: its files cannot tell which)."""
        if self.training_pid is not None:
            return "training"
        # A signal's checkpoint says so; one before that field was mid-epoch (a checkpoint
        # at an epoch's end, step 0, is also a kill's, right after it was written).
        signalled = bool(self.checkpoint.get("stopped_by")
                         or self.checkpoint.get("step_in_epoch"))
        if not self.history:
            return "interrupted" if signalled else "no epoch finished"
        last, planned = self.history[-1]["epoch"], self.config["epochs"]
        if self.summary.get("stopped") == "max_time" and (
                last < planned or self._cut_epoch_share() is not None
                or self._checkpoint_inside_last_epoch()):
            final = self.summary.get("final")
            if isinstance(final, dict) and final.get("epoch") == last:
                return "time budget"
        if last >= planned:
            return "finished"
        budget, spent = self.config.get("max_time"), self.checkpoint.get("train_time")
        if finite(budget) and finite(spent) and spent >= budget:
            return "time budget"  # its last checkpoint spent it: killed before its summary
        return "interrupted" if signalled else "unfinished"

    def _tested(self) -> list[dict]:
        return [r for r in self.history if finite(r.get("test_acc"))]

    @property
    def best(self) -> tuple[float, int] | None:
        """(highest test accuracy, the first epoch that reached it), None before any."""
        tested = self._tested()
        if not tested:
            return None
        top = max(r["test_acc"] for r in tested)
        return top, next(r["epoch"] for r in tested if r["test_acc"] == top)

    @property
    def best_test_acc(self) -> float | None:
        """The highest test accuracy (``best[0]``), by the name TrainResult and
        ``RunComparison.to_rows`` give it; None before any evaluation."""
        best = self.best
        return best[0] if best else None

    @property
    def last_test_acc(self) -> float | None:
        """The test accuracy of its last evaluated epoch; None before the first."""
        tested = self._tested()
        return tested[-1]["test_acc"] if tested else None

    @property
    def wall_s(self) -> float | None:
        """Seconds of training and evaluation in all (:func:`clock`)."""
        return clock(self.history[-1]) if self.history else None

    def __repr__(self) -> str:
        # `comparison.runs[0]` in a notebook: the dataclass's own repr printed the whole
        # config, history, summary and checkpoint state (thousands of characters).
        def short(value: float | None) -> str:
            return "None" if value is None else four_figures(value)

        return (f"ComparedRun(run_dir={str(self.run_dir)!r}, state={self.state!r}, "
                f"epochs_done={short(self.epochs_done)}, "
                f"best_test_acc={short(self.best_test_acc)}, "
                f"last_test_acc={short(self.last_test_acc)}, wall_s={short(self.wall_s)})")

    def time_to(self, target: float) -> float | None:
        """Seconds of training and evaluation (setup not counted) until the first test
        accuracy of ``target`` or more; None if the run never reached it (or NaN where
        it did, in an epoch whose row has no clock)."""
        for row in self._tested():
            if row["test_acc"] >= target:
                seconds = clock(row)
                return math.nan if seconds is None else seconds
        return None

    @property
    def images_per_s(self) -> float | None:
        """The median epoch's training speed, the first epoch left out when there are
        others (its warm-up, or compiling, made it several times slower on a GPU)."""
        speeds = [r["images_per_s"] for r in self.history if finite(r.get("images_per_s"))]
        return statistics.median(speeds[1:] or speeds) if speeds else None

    @property
    def parameters(self) -> int | None:
        """Its network's parameter count, as its summary or checkpoint says; None if neither."""
        value = self.summary.get("parameters", self.checkpoint.get("parameters"))
        # A count, or not known: a hand-edited -5 was shown as -5 parameters.
        return value if isinstance(value, int) and not isinstance(value, bool) \
            and value >= 0 else None

    @property
    def settings(self) -> dict[str, Any]:
        """config.yaml's settings, with what the run made of those it left to itself
        (LEFT_TO_THE_RUN) where its files say: amp "auto" on a CPU is "off", as a run
        asked for "off" there was; no resize, on 28x28 data, is 28."""
        settings = dict(self.config)
        used = {"amp": self.summary.get("amp"), "device": self.device or None,
                "resize": self.input_size}
        for key, undecided in LEFT_TO_THE_RUN.items():
            if settings.get(key) == undecided and used[key] not in (None, ""):
                settings[key] = used[key]
        return settings

    @property
    def train_images(self) -> int | None:
        """Images it trained on (its train_subset of them), as far as its files say."""
        counted = self.summary.get("train_images")
        if isinstance(counted, int):
            return counted
        recorded, subset = self._recorded("train", "images"), self.config.get("train_subset")
        return min(recorded, subset) if recorded is not None and subset else recorded

    @property
    def test_images(self) -> int | None:
        """Test images its evaluations scored, as far as its files say: what TrainResult
        calls ``eval_images`` (its ``test_images`` is the whole split's count)."""
        counted = self.summary.get("eval_images")
        if isinstance(counted, int):
            return counted
        recorded = self._recorded("test", "images")
        subset = self.config.get("eval_subset")
        return min(recorded, subset) if recorded is not None and subset else recorded

    def _recorded(self, split: str, key: str) -> Any:
        part = self.data_record.get(split)
        return part.get(key) if isinstance(part, dict) else None

    @property
    def processes(self) -> int | None:
        """Processes that trained the run (torchrun), None until its summary.json says."""
        value = self.summary.get("world_size")
        return value if isinstance(value, int) else None

    @property
    def device(self) -> str:
        """Where it trained: summary.json's device, its last checkpoint's, or config.yaml's
        when it names one ("" for "auto" before its first checkpoint: not known)."""
        value = (self.summary.get("device") or self.checkpoint.get("device")
                 or self.config.get("device") or "")
        return "" if value == "auto" else str(value)

    @property
    def machine(self) -> str:
        """The kind of device and the processor behind it, as far as the files say ("" if
        they do not): two CPU runs on a laptop and a server differ here. A run with no
        summary.json yet is known by its device alone ("cuda", from its checkpoint): a
        kind with no processor named is no other machine (compare's notes), yet a GPU
        run still training beside a finished CPU run is said to differ."""
        env = self.summary.get("environment")
        env = env if isinstance(env, dict) else {}
        kind = self.device.split(":")[0]
        chip = env.get("gpu") if kind == "cuda" else env.get("cpu_model")
        return f"{kind} {chip or ''}".strip() if kind else ""

    @property
    def decimals(self) -> int:
        """Decimals its accuracies deserve (1 on a few hundred test images, 2 on 10,000)."""
        from cnnlab.train.report import overall_decimals

        images = self.test_images
        if images is None:  # a run from before summary.json counted them (cnnlab of
            images = self.config.get("eval_subset")  # 2026-11): its subset bounds them
        return overall_decimals(images) if isinstance(images, int) else 2


def finite(value: Any) -> bool:
    """Whether ``value`` is a number (not a bool) other than NaN and infinity: a
    metrics.csv cell edited by hand may hold text."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
