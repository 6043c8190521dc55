"""DDP through torchrun: 2 CPU processes (gloo) end with identical weights."""

import re

import pytest
from ddp_helpers import launch_two_ranks, rank_script
from safetensors.torch import load_file

# The modes of DDP_SCRIPT's plain two-epoch run. One launch trains them all, one after the
# other (plain_runs): each launch of torchrun, two interpreters, torch and a process group
# costs about 8 s, as much as a run. "plain" comes first: its run_dir check is of a
# process's first run. "ema" comes last: what guards it is a hang, which a later run's
# collectives could have answered. One xdist group: one worker launches it, once.
PLAIN_MODES = ("plain", "rank0-out-of-time", "rank1-out-of-time", "accumulating",
               "accumulating-reductions", "ema")
PLAIN = pytest.mark.xdist_group("ddp_plain_runs")


def _run_two_ranks(tmp_path, *args: str) -> str:
    """Run DDP_SCRIPT in mode ``args[0]`` on two CPU ranks; their stderr, once passed."""
    script = rank_script(tmp_path, "ddp_train.py", DDP_SCRIPT)
    code, stderr = launch_two_ranks(tmp_path, str(script), str(tmp_path), *args)
    assert code == 0 or _torch_teardown_abort(tmp_path, stderr), stderr[-3000:]
    return stderr


@pytest.fixture(scope="module")
def plain_runs(tmp_path_factory):
    """``run(mode)``: the folder of the plain run in ``mode``, its ranks' weights identical."""
    launched = tmp_path_factory.mktemp("ddp_plain")
    code, stderr = launch_two_ranks(launched, str(rank_script(
        launched, "ddp_train.py", DDP_SCRIPT)), str(launched), *PLAIN_MODES)

    def run(mode: str):
        assert code == 0 or _torch_teardown_abort(launched, stderr), stderr[-3000:]
        w0, w1 = (load_file(launched / mode / f"rank{rank}.safetensors") for rank in (0, 1))
        assert w0.keys() == w1.keys()
        for k in w0:
            assert (w0[k] == w1[k]).all(), k
        return launched / mode

    return run


@pytest.mark.slow
@PLAIN
def test_two_cpu_ranks_end_with_identical_weights(plain_runs):
    folder = plain_runs("plain")
    # Only rank 0 wrote a run directory, and it is complete.
    runs = [p for p in folder.iterdir() if p.is_dir()]
    assert [p.name for p in runs] == ["ddp"]
    assert (runs[0] / "checkpoints" / "last.safetensors").exists()
    # Metrics were all-reduced: the test accuracy covers all 64 test images.
    import json

    summary = json.loads((runs[0] / "summary.json").read_text())
    assert sum(map(sum, summary["confusion"])) == 64
    # Every rank's result names the run (rank 1's first run_dir was None: the group it
    # was to be told the folder's name over was joined only later, by the Trainer).
    assert [(folder / f"run_dir{rank}.txt").read_text() for rank in (0, 1)] == [
        str(runs[0])] * 2


@pytest.mark.slow
@PLAIN
def test_a_time_budget_running_out_on_one_rank_stops_both_at_the_same_step(plain_runs):
    # Each rank has its own clock. Here rank 0's budget is over at once and rank 1's
    # never is: a rank stopping alone would leave the other in a collective that never
    # completes (a hang); agreeing, both stop after the same step.
    folder = plain_runs("rank0-out-of-time")
    stopped = [(folder / f"stopped{rank}.txt").read_text() for rank in (0, 1)]
    assert stopped == ["max_time at step 1", "max_time at step 1"]  # the first agreement


@pytest.mark.slow
@PLAIN
def test_the_time_budget_is_kept_by_rank_0s_clock_the_one_the_run_records(plain_runs):
    # Rank 1's clock runs ahead of rank 0's (it also counts its waits while rank 0 writes
    # checkpoints and opens its log): a 3 s budget stopped at 2.3 s of recorded training,
    # and a resume with the same budget was not refused. Here rank 1's budget alone is
    # over at once: rank 0's clock, the recorded one, decides, and the run trains on.
    folder = plain_runs("rank1-out-of-time")
    stopped = [(folder / f"stopped{rank}.txt").read_text() for rank in (0, 1)]
    assert stopped == ["None at step 0", "None at step 0"]  # both epochs trained


@pytest.mark.slow
@PLAIN
def test_accumulating_ranks_agree_to_stop_at_an_optimizer_step(plain_runs):
    # Optimizer steps every 3 batches, log points every 5: the ranks agree at the first
    # optimizer step (step 3), never mid-accumulation. At log points alone that were
    # also optimizer steps, the first chance had been step 15.
    folder = plain_runs("accumulating")
    stopped = [(folder / f"stopped{rank}.txt").read_text() for rank in (0, 1)]
    assert stopped == ["max_time at step 3", "max_time at step 3"]


def test_slow_steps_bring_the_ranks_next_agreement_sooner(monkeypatch):
    # 2 s a step: agreeing every 50 steps (the log points) had outlasted torchrun's 30 s
    # grace after a Ctrl-C, which then killed the ranks before any checkpoint. Rank 0
    # now says each time after how many steps the next agreement comes: 5 s of its pace.
    import torch
    import torch.distributed as dist

    from cnnlab.train import distributed

    clock = [0.0]
    monkeypatch.setattr(distributed.time, "perf_counter", lambda: clock[0])
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:  # a group of one, told it is rank 0 of 2: the collective runs, the rules hold
        points = distributed.StopPoints(distributed.DistInfo(0, 2), torch.device("cpu"), 50)
        agreed, said = [], []
        for step in range(12):
            clock[0] += 2.0
            stepped = step % 3 != 1  # an accumulation batch now and then: never agreed at
            said.append(points.check(stepped, False, step >= 9, False,  # a Ctrl-C at 9
                                     torch.zeros(())))
            if stepped and points.since == 0:
                agreed.append(step)
        assert agreed == [0, 2, 5, 8, 11]  # every 2 steps (5 s / 2 s), at optimizer steps
        assert said[9] == (False, False, False) and said[11] == (True, False, False)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_a_loss_diverging_on_one_rank_stops_every_rank_with_the_same_error(tmp_path):
    # Rank 1's loss alone turns NaN (its gradients, and so the weights, stay finite, as
    # when the fp16 scaler skips an overflow). Checked by each rank alone, rank 1 raised
    # and rank 0 went on into the next gradient all-reduce: gloo's "Connection reset by
    # peer", torchrun's exit 1. Agreed on, both raise TrainingDiverged at the same step,
    # with the same words (rank 1's had left out "no checkpoint was written": rank 0
    # alone looked for one).
    _run_two_ranks(tmp_path, "rank1-diverges")
    said = [(tmp_path / f"diverged{rank}.txt").read_text() for rank in (0, 1)]
    assert said[0] == said[1]
    # Agreed at step 3 (steps 1 and 3: log_every 2), or at 4 where the first step took
    # over 2.5 s (a busy machine: rank 0 then asks for the next agreement after 1 step).
    assert re.match(r"the loss became NaN/inf at epoch 1, step [34]; stopping\. No epoch "
                    r"had finished: no checkpoint was written\.", said[0]), said[0]


@pytest.mark.slow
@PLAIN
def test_the_weight_ema_under_two_ranks_saves_its_best_checkpoint(plain_runs):
    # The "best" checkpoint holds the EMA weights whose BN buffers the ranks averaged
    # for the evaluation. Rank 0 alone writes it: averaging them again there was a
    # collective the other rank never joined, and the run hung.
    folder = plain_runs("ema")
    best = load_file(folder / "ddp" / "checkpoints" / "best.safetensors")
    assert any(k.endswith("running_mean") for k in best)


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["interrupt", "out-of-time", "interrupt-dropout"])
def test_a_run_stopped_mid_epoch_under_two_ranks_resumes_bit_for_bit(tmp_path, stop):
    # Stopped mid-epoch 1 (a signal on rank 0, or the time budget), resumed: every
    # metric and the final weights, EMA included, are the uninterrupted run's. The
    # carried-over sums are both ranks' (each rank adding them counted them twice), and
    # the BN statistics at the stop are rank 0's, as the checkpoint restores them on every
    # rank (averaged over ranks, evaluation and the resumed run drifted from the straight).
    # With dropout, each rank's own RNG state is in the checkpoint too.
    import json

    _run_two_ranks(tmp_path, stop)
    metrics = json.loads((tmp_path / "train_metrics.json").read_text())
    straight, resumed = metrics["straight"], metrics["resumed"]
    assert [r["epoch"] for r in resumed] == [1, 2]
    for a, b in zip(straight, resumed, strict=True):
        for key in ("train_acc", "train_loss", "test_acc", "test_loss"):
            assert b[key] == a[key], key
    assert metrics["differing_tensors"] == {"model": [], "ema": []}
    if stop == "interrupt-dropout":  # the ranks draw their own masks
        masks = [(tmp_path / f"mask{rank}.txt").read_text() for rank in (0, 1)]
        assert masks[0] != masks[1] and "0" in masks[0] and "1" in masks[0]


@pytest.mark.slow
@pytest.mark.parametrize("how", ["finished", "interrupted"])
def test_the_train_command_under_two_ranks_ends_the_process_group_together(tmp_path, how):
    # README's `torchrun --nproc_per_node=2 -m cnnlab train ...`, run in the ranks'
    # processes: whether the run finishes or a signal stops it, the CLI leaves the process
    # group on every rank (a barrier, then destroyed). A rank that exits while the other
    # still writes its report can die in gloo's teardown (SIGABRT, about 1 run in 10 here).
    stderr = _run_two_ranks(tmp_path, f"cli-{how}")
    codes = [(tmp_path / f"exit{rank}.txt").read_text() for rank in (0, 1)]
    assert codes == (["0", "0"] if how == "finished" else ["130", "130"])
    # Said once, by rank 0 (rank 1 had added "stopped by a signal on another rank").
    assert stderr.count("stopped by") == (0 if how == "finished" else 1), stderr[-3000:]
    written = {p.name for p in (tmp_path / "cli").iterdir()}
    assert ("report.html" in written) == (how == "finished")
    assert (tmp_path / "cli" / "checkpoints" / "last.safetensors").exists()


@pytest.mark.slow
def test_the_train_command_says_a_divergence_the_ranks_agreed_on_once(tmp_path):
    # Both ranks raise it (they agreed: StopPoints); rank 0 says it, and they leave the
    # process group together, so torchrun cannot stop rank 0 before it has said it.
    stderr = _run_two_ranks(tmp_path, "cli-diverged")
    assert [(tmp_path / f"exit{rank}.txt").read_text() for rank in (0, 1)] == ["3", "3"]
    assert stderr.count("error: the loss became NaN/inf") == 1, stderr[-3000:]


@pytest.mark.slow
def test_a_request_every_rank_refuses_is_said_once(tmp_path):
    # `torchrun ... cnnlab train` with a value out of range: every process refuses it.
    # Rank 0 says so and exits 2; torchrun then stops rank 1 in its pause, before it
    # says the same (each rank had printed its own copy).
    code, stderr = launch_two_ranks(
        # --monitor-interval 0.1: torchrun's default since 2.x, 5 s in older ones, which
        # would let rank 1's pause end before torchrun looked.
        tmp_path, "--monitor-interval", "0.1", "-m", "cnnlab", "train", "lenet_modern",
        "--data", "synthetic", "--device", "cpu", "--epochs", "0", "--out-dir", str(tmp_path))
    assert code != 0
    assert stderr.count("error:") == 1 and "epochs" in stderr, stderr[-3000:]
    assert "rank 1:" not in stderr


@pytest.mark.slow
@PLAIN
def test_accumulated_batches_skip_the_gradient_all_reduce(plain_runs):
    # 16 batches a rank and epoch, an optimizer step every 3 (and at the epoch's end):
    # 6 steps, so 6 all-reduces an epoch, not 16; the ranks still end identical.
    folder = plain_runs("accumulating-reductions")
    assert [(folder / f"reductions{rank}.txt").read_text() for rank in (0, 1)] == ["12"] * 2


def _torch_teardown_abort(tmp_path, stderr: str) -> bool:
    """Whether a failed launch failed after both ranks had run their script to its last
    line: in the interpreter's teardown, where gloo's C++ side (torch 2.14) aborts about
    one two-rank launch in 200 here, more under load ("terminate called without an
    active exception", no Python frame left), and torchrun ends the other rank. What the
    tests check was written by then; cnnlab has nothing left to run. (CI failed on it
    once, 2026-12-05.) The markers are written after each rank left the process group
    (the cli modes assert it is closed first), so the abort the cli test guards against,
    a rank dying while the other still works, leaves the other's marker unwritten and
    still fails."""
    return ("terminate called without an active exception" in stderr
            and all((tmp_path / f"finished{rank}.txt").exists() for rank in (0, 1)))


DDP_SCRIPT = r"""
import sys
import torch.distributed as dist
from safetensors.torch import save_file
from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig
from cnnlab.train.distributed import end_distributed
from cnnlab.train.run import train_with_trainer
from cnnlab.train.trainer import Trainer

import os

out = sys.argv[1]
mode = sys.argv[2] if len(sys.argv) > 2 else "plain"
with open(f"{out}/pid{os.environ['RANK']}.txt", "w") as fh:  # for the harness to stop it
    fh.write(str(os.getpid()))


def finished():  # the script's last act on this rank: then the interpreter's teardown
    open(f"{out}/finished{os.environ['RANK']}.txt", "w").close()
    sys.exit(0)


def signal_on_rank0_after_the_first_step():
    step = Trainer._optimizer_step

    def signalled(self):
        step(self)
        if dist.get_rank() == 0:
            self._stop_signal = "SIGINT"

    Trainer._optimizer_step = signalled
    return step


def loss_nan_on_rank1_from_its_third_batch():
    import torch

    class NanLoss(torch.autograd.Function):  # a NaN value, finite gradients
        @staticmethod
        def forward(ctx, loss):
            return loss * float("nan")

        @staticmethod
        def backward(ctx, grad):
            return grad

    forward_loss = Trainer._forward_loss

    def diverging(self, x, y):
        logits, loss = forward_loss(self, x, y)
        if dist.get_rank() == 1 and self.step_in_epoch >= 2:
            loss = NanLoss.apply(loss)
        return logits, loss

    Trainer._forward_loss = diverging


if mode == "rank1-diverges":
    from cnnlab.train import TrainingDiverged

    loss_nan_on_rank1_from_its_third_batch()
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, batch_size=32,
                      device="cpu", quiet=True, out_dir=out, run_name="div", log_every=2)
    try:
        train_with_trainer(cfg, data=make_synthetic(num_train=256, num_test=64, seed=3))
        said = "trained on"
    except TrainingDiverged as exc:
        said = str(exc)
    with open(f"{out}/diverged{os.environ['RANK']}.txt", "w") as fh:
        fh.write(said)
    # No end_distributed: a rank that raised alone would wait in its barrier forever.
    finished()
if mode.startswith("cli-"):  # the train command, as torchrun runs it
    from cnnlab.cli import main

    if mode == "cli-interrupted":
        signal_on_rank0_after_the_first_step()
    if mode == "cli-diverged":
        loss_nan_on_rank1_from_its_third_batch()
    sys.argv = ["cnnlab", "train", "lenet_modern", "--data", "synthetic", "--epochs", "1",
                "--batch-size", "32", "--device", "cpu", "--out-dir", out, "--run-name", "cli",
                "--log-every", "2"]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    assert not dist.is_initialized(), "the train command left its process group open"
    with open(f"{out}/exit{os.environ['RANK']}.txt", "w") as fh:
        fh.write(str(code))
    finished()
def configured(mode, out):  # the config, and where DDP's gradient all-reduces are counted
    budget, ema_decay, batch, accum, log_every = None, 0.0, 32, 1, 2
    if mode in ("rank0-out-of-time", "accumulating"):
        budget = 1e-9 if os.environ["RANK"] == "0" else 1e9  # over at once on rank 0 only
    if mode == "rank1-out-of-time":
        budget = 1e-9 if os.environ["RANK"] == "1" else 1e9  # over at once on rank 1 only
    if mode == "accumulating":  # log points (every 5 batches) are not optimizer steps
        batch, accum, log_every = 8, 3, 5
    if mode == "ema":
        ema_decay = 0.9
    reductions = []
    if mode == "accumulating-reductions":  # 256 images / 2 ranks / batch 8: 16 batches a rank
        batch, accum = 8, 3
        import torch.nn as nn

        class CountingDDP(nn.parallel.DistributedDataParallel):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)

                def hook(state, bucket):
                    reductions.append(1)
                    return dist.all_reduce(bucket.buffer(), async_op=True).get_future().then(
                        lambda fut: fut.value()[0] / dist.get_world_size())

                self.register_comm_hook(None, hook)

        nn.parallel.DistributedDataParallel = CountingDDP
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=2, batch_size=batch,
                      lr=0.05, optimizer="nesterov", momentum=0.9, device="cpu", quiet=True,
                      out_dir=out, run_name="ddp", log_every=log_every, crop_padding=2,
                      flip=True, max_time=budget, ema_decay=ema_decay, accum_steps=accum)
    return cfg, reductions


def train_plain(mode, out):  # one run in ``mode``; what the tests read, in files in ``out``
    import torch.nn as nn

    ddp = nn.parallel.DistributedDataParallel
    cfg, reductions = configured(mode, out)
    trainer, result = train_with_trainer(cfg, data=data)
    nn.parallel.DistributedDataParallel = ddp  # as it was for the next mode
    state = {k: v.detach().contiguous().clone() for k, v in trainer.model.state_dict().items()}
    save_file(state, f"{out}/rank{dist.get_rank()}.safetensors")
    for name, text in (("stopped", f"{result.stopped} at step {trainer.step_in_epoch}"),
                       ("reductions", str(len(reductions))), ("run_dir", str(result.run_dir))):
        with open(f"{out}/{name}{dist.get_rank()}.txt", "w") as fh:  # files, not a collective
            fh.write(text)


data = make_synthetic(num_train=256, num_test=64, seed=3)
if mode in ("interrupt", "out-of-time", "interrupt-dropout"):  # stopped mid-epoch 1, resumed
    cfg = configured(mode, out)[0]
    import dataclasses
    import json

    import torch

    if mode == "interrupt-dropout":
        cfg = dataclasses.replace(cfg, model="speednet", model_overrides={"dropout": 0.5})
        forward = torch.nn.Dropout.forward

        def recording(self, x):  # the first training mask this rank draws, as 0/1
            out = forward(self, x)
            mask = f"{out.detach().flatten()[:64].ne(0).int().tolist()}"
            name = f"{out_dir}/mask{dist.get_rank()}.txt"
            if self.training and not os.path.exists(name):
                with open(name, "w") as fh:
                    fh.write(mask)
            return out

        out_dir = out
        torch.nn.Dropout.forward = recording

    import cnnlab.train.run as run_module
    from cnnlab.train import TrainingInterrupted, resume
    from cnnlab.train.checkpoint import load_checkpoint

    cfg = dataclasses.replace(cfg, deterministic=True, ema_decay=0.9)
    straight = train_with_trainer(dataclasses.replace(cfg, run_name="straight"), data=data)[1]
    split = dataclasses.replace(cfg, run_name="split")
    if mode == "out-of-time":  # stops at the first point the ranks agree
        train_with_trainer(dataclasses.replace(split, max_time=1e-9), data=data)
    else:
        step = signal_on_rank0_after_the_first_step()
        try:
            train_with_trainer(split, data=data)
            raise AssertionError("not interrupted")
        except TrainingInterrupted:
            pass
        Trainer._optimizer_step = step
    dist.barrier()  # rank 0 has written the checkpoint (a real resume is a new launch)
    run_module.load_training_data = lambda cfg: data
    resumed = resume(f"{out}/split", max_time=0)
    if dist.get_rank() == 0:
        a, _ = load_checkpoint(f"{out}/straight/checkpoints/last.safetensors")
        b, _ = load_checkpoint(f"{out}/split/checkpoints/last.safetensors")
        differing = {group: [k for k in a[group] if not torch.equal(a[group][k], b[group][k])]
                     for group in ("model", "ema")}
        with open(f"{out}/train_metrics.json", "w") as fh:
            json.dump({"straight": straight.history, "resumed": resumed.history,
                       "differing_tensors": differing}, fh)
    end_distributed()
    finished()
for plain in sys.argv[2:]:  # PLAIN_MODES, one after the other, each in a folder of its own
    os.makedirs(f"{out}/{plain}", exist_ok=True)  # by both ranks
    train_plain(plain, f"{out}/{plain}")
end_distributed()
finished()
"""

