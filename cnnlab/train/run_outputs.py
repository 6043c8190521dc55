"""What a finished (or stopped) run leaves beside its checkpoints: summary.json, plots/
(unless CNNLAB_NO_FIGURES skips them) and report.html, written whole even when a signal
comes meanwhile."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path

from cnnlab.atomic import DISK_FULL, atomic_write_text
from cnnlab.figures import NO_FIGURES_VARIABLE, figure_copies, figures_skipped
from cnnlab.formatting import and_list
from cnnlab.interrupts import SigintRecorder, termination_signals
from cnnlab.notices import FigureWarning, warn_user
from cnnlab.train.machine import environment_info
from cnnlab.train.outcome import TrainingInterrupted, TrainResult
from cnnlab.train.report import FIGURES, write_report
from cnnlab.train.report_evaluation import (
    ShownEvaluation,
    best_epoch,
    confused_pairs,
    evaluated_weights_words,
    evaluation_words,
    shown_evaluation,
)
from cnnlab.train.report_examples import first_misclassified, plot_examples
from cnnlab.train.report_figures import (
    confusion_titles,
    planned_lr,
    plot_confusion,
    plot_curves,
)
from cnnlab.train.run_files import resume_words
from cnnlab.train.runlog import accuracies_as_json
from cnnlab.train.summary_json import summary_json
from cnnlab.train.trainer import Trainer


def write_run_outputs(trainer: Trainer, result: TrainResult) -> None:
    """summary.json, plots/ and report.html for a finished (or time-boxed) run, written
    whole: Ctrl-C or SIGTERM meanwhile (a second or so of plotting, after the training
    loop stopped listening), or a signal the loop heard too late to stop a step (in the last
    evaluation), is acted on once they are, as TrainingInterrupted. Before, the first
    left a trained run without its report (nothing writes one later), and the second
    was dropped: the command ended as if no one had asked it to stop."""
    late = trainer.stop_signal
    with SigintRecorder() as sigint, _sigterm_recorded() as sigterm:
        try:
            with sigint.deferred():
                _write_outputs(trainer, result)
        except KeyboardInterrupt:
            late = "SIGINT"
        except OSError as exc:
            if exc.errno not in DISK_FULL:
                raise
            raise OSError(exc.errno, _disk_full_words(trainer.run_dir, exc)) from exc
    late = late or (sigterm and "SIGTERM")
    if late:
        raise TrainingInterrupted(f"stopped by {late} after the run ended; its report was "
                                  f"written first: {trainer.run_dir / 'report.html'}",
                                  run_dir=trainer.run_dir, signal_name=late)


def _disk_full_words(run_dir: Path, exc: OSError) -> str:
    """A full disk met while the outputs were written: the training is kept, and how to
    get them (the bare "[Errno 28] No space left on device" named no file, and the run
    looked lost)."""
    why = (exc.strerror or "disk full").lower()
    return (f"{exc.filename or run_dir} could not be written ({why}); the training is done "
            "and kept in its checkpoints: free some space on that disk, then "
            f"{resume_words(run_dir)} writes the run's summary and report")


@contextlib.contextmanager
def _sigterm_recorded():
    """SIGTERM (`timeout`, a scheduler; Windows' Ctrl-Break, which stands for it)
    recorded, not obeyed, over the block: its default ends the process at once, and the
    report with it. Yields a list it fills."""
    received: list[int] = []
    previous = {}
    for sig in termination_signals():
        try:
            previous[sig] = signal.signal(sig, lambda signum, frame: received.append(signum))
        except ValueError:  # not the main thread: not ours to set
            break
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _write_outputs(trainer: Trainer, result: TrainResult) -> None:
    run_dir = trainer.run_dir
    check_output_names(run_dir)  # before the earlier report goes
    summary = _summary(trainer, result)
    # An earlier report goes first: a summary.json of this checkpoint without a report.html
    # beside it then says the outputs were cut short (resume writes them again).
    (run_dir / "report.html").unlink(missing_ok=True)
    atomic_write_text(run_dir / "summary.json", summary_json(summary))
    shown = shown_evaluation(run_dir, summary)
    title = evaluation_words(summary, shown)
    drawings = {}  # name in plots/: what draws it to the path it is given
    if result.history:
        drawings["curves.png"] = lambda out: _plot_curves(trainer, result, out)
    if shown.confusion:
        drawings["confusion.png"] = lambda out: plot_confusion(
            shown.confusion, trainer.classes, out, **confusion_titles(summary, shown))
    # A matrix with no image off its diagonal has none to show (a model that got every
    # test image right): not a figure skipped, which a resume was said to draw.
    if confused_pairs(shown.confusion, 1):
        drawings["misclassified.png"] = lambda out: _plot_misclassified(
            trainer, result, shown, title, out)
    # CNNLAB_NO_FIGURES (--no-figures): none is drawn, and an earlier one is still removed.
    skipped = [name for name in FIGURES if name in drawings] if figures_skipped() else []
    # Every figure is drawn anew or not at all: one from an earlier call (before a resume)
    # would be shown as this one's. One that cannot be drawn costs that figure, never the
    # report of a trained run: summary.json names it, so `cnnlab resume` draws it again.
    failed: list[str] = []
    drawn = [name for name in FIGURES if _draw(
        run_dir / "plots" / name, None if name in skipped else drawings.get(name), failed)]
    if failed or skipped:
        # read by resume_checks.outputs_behind: a later resume draws them, training nothing
        summary["figures_not_drawn"] = [name for name in FIGURES if name in failed + skipped]
        if skipped:
            summary["figures_skipped"] = skipped  # not drawn by choice, not for a fault
        atomic_write_text(run_dir / "summary.json", summary_json(summary))
    write_report(run_dir, summary, _model_summary(trainer), shown=shown, figures=drawn,
                 figures_note=skipped_words(skipped, resume_words(run_dir)) if skipped else "")


def check_output_names(run_dir: Path) -> None:
    """Refuse, naming the fix, a summary.json or report.html that is a folder: the
    summary's write failed on it with "[Errno 21] Is a directory: '.summary.json.XXXX.tmp'
    -> ...", after the earlier report was removed. The training is in the checkpoints."""
    for name in ("summary.json", "report.html"):
        if (run_dir / name).is_dir():
            raise IsADirectoryError(
                f"{run_dir / name} is a folder, so the run's summary and report cannot be "
                f"written: move it away, then {resume_words(run_dir)} writes them (what "
                "was trained is kept in its checkpoints)")


def _summary(trainer: Trainer, result: TrainResult) -> dict:
    return {
        "model": trainer.cfg.model,
        "final": result.final,
        "best_test_acc": result.best_test_acc,
        # The best checkpoint's epoch: what cnnlab eval and predict score.
        "best_epoch": best_epoch(result.history, result.best_test_acc, trainer.run_dir),
        "train_time_s": result.train_time_s,
        "stopped": result.stopped,
        # The last epoch's optimizer steps when max_time cut it short, else None.
        "cut_epoch": _cut_epoch(trainer, result),
        "eval_scope": result.eval_scope,  # "": the whole test split (else: eval_subset's)
        "eval_images": result.eval_images,  # the test images each evaluation scored
        "test_images": result.test_images,
        "train_images": len(trainer.data.train),
        "parameters": sum(p.numel() for p in trainer.model.parameters()),
        "weights_loaded": trainer.weights_loaded,  # None: trained from scratch
        # The last evaluation's (TrainResult's); class_metrics.jsonl has every epoch's.
        "per_class_acc": accuracies_as_json(result.per_class_acc),
        "confusion": result.confusion,
        "classes": trainer.classes,
        "device": str(trainer.device),
        # Processes that trained it (torchrun), each with cfg.batch_size images a step.
        "world_size": trainer.dist.world_size,
        "amp": trainer.amp,
        "config": trainer.cfg.to_dict(),
        "environment": _environment(trainer),
        # Every command that trained this run, first to last (interrupted ones too):
        # `environment` is the last one's, and a resume must not erase how the run began.
        "commands": trainer.commands,
    }


def _environment(trainer: Trainer) -> dict:
    """environment_info() (its torch_threads: cfg.threads holds until train() returns,
    so still in force here), the digest of cnnlab's sources (its version is 0.1.0 for
    every commit: the digest tells which code wrote the summary, as the checkpoint's
    ``written_by`` does) and the device trained on."""
    from cnnlab.code_version import code_fingerprint

    env = environment_info()
    env["cnnlab_sources"] = code_fingerprint()["sources"]
    env["device"] = str(trainer.device)
    return env


def _plot_curves(trainer: Trainer, result: TrainResult, out: Path) -> None:
    cfg = trainer.cfg
    preset = cfg.preset or "no preset"
    title = (f"{cfg.model} ({'preset ' + preset if cfg.preset else preset}) on {cfg.data}"
             f", run {trainer.run_dir.name}")
    augmented = bool(cfg.crop_padding or cfg.flip or cfg.erase_prob)
    train_note = ("mean over each epoch's " + ("augmented " if augmented else "")
                  + "batches, as the weights changed")
    test_note = (f"{_test_epochs(cfg.eval_every, result.history)}, "
                 f"{evaluated_weights_words(cfg.to_dict())}")
    history = _drawn_history(trainer, result)
    plot_curves(history, out, train_objective(trainer), title=title,
                train_note=train_note, test_note=test_note,
                lr_plan=_lr_plan(trainer, history))


def _cut_epoch(trainer: Trainer, result: TrainResult) -> dict | None:
    """The optimizer steps trained of the epoch max_time cut short ({"steps", "of"});
    None when no epoch was cut (every one finished, or a step had yet to be taken)."""
    import math

    accum = trainer.cfg.accum_steps
    done = trainer.step_in_epoch // accum
    if result.stopped != "max_time" or not result.history or done == 0 \
            or trainer.step_in_epoch >= trainer.steps_per_epoch:
        return None
    return {"steps": done, "of": math.ceil(trainer.steps_per_epoch / accum)}


def _drawn_history(trainer: Trainer, result: TrainResult) -> list[dict]:
    """The history as the curves draw it: an epoch that max_time cut short at its last
    optimizer step (at 1.31 epochs, not 2), as `cnnlab compare` draws it, where its lr
    meets the planned schedule."""
    history, cut = result.history, _cut_epoch(trainer, result)
    if cut is None:
        return history
    share = cut["steps"] / cut["of"]
    return [*history[:-1], {**history[-1], "epoch": history[-1]["epoch"] - 1 + share}]


def _test_epochs(eval_every: int, history: list[dict]) -> str:
    """When the test curve was measured: eval_every skips epochs, not the last one."""
    if eval_every <= 1:
        return "after each epoch"
    last = history[-1]["epoch"] if history else 0
    return f"every {eval_every} epochs" + (" and at the last" if last % eval_every else "")


def _lr_plan(trainer: Trainer, history: list[dict]):
    """The schedule step by step, where it agrees with every epoch's logged lr (a run
    resumed with more epochs trained its first ones on another plan: then None)."""
    import math

    from cnnlab.train.optim import lr_factor, warmup_step_count

    cfg = trainer.cfg
    steps = trainer.optimizer_steps_per_epoch
    plan = planned_lr(cfg.lr, cfg.schedule, cfg.epochs, cfg.warmup_epochs, steps)
    warmup = warmup_step_count(cfg.warmup_epochs, steps)
    for row in history:  # drawn where its last step was: an epoch's end, or a cut
        step = round(float(row["epoch"]) * steps) - 1
        planned = cfg.lr * lr_factor(cfg.schedule, step, cfg.epochs * steps, warmup)
        if step < 0 or not math.isclose(planned, row.get("lr", math.nan), rel_tol=1e-6,
                                        abs_tol=1e-12):
            return None
    return plan


def _plot_misclassified(trainer: Trainer, result: TrainResult, shown: ShownEvaluation,
                        title: str, out: Path) -> None:
    """The first misclassified test images, by the weights the confusion matrix is of."""
    model = result.model
    if model is None:
        return
    if shown.is_best and shown.epoch != result.final.get("epoch"):
        import copy

        from cnnlab.models.interop import load_state_dict_checked
        from cnnlab.train.checkpoint import load_checkpoint

        best = trainer.run_dir / "checkpoints" / "best.safetensors"
        model = copy.deepcopy(model)
        load_state_dict_checked(model, load_checkpoint(best)[0]["model"], source=str(best))
    cfg = trainer.cfg
    found = first_misclassified(model, trainer.test_loader, device=trainer.device,
                                amp=trainer.amp, tta=(cfg.tta_flip, cfg.tta_shift),
                                fill=trainer.preprocess.black_level())
    if not found:
        return
    # Under torchrun the test loader is this rank's share: every world_size-th image.
    dist = trainer.dist
    found = [(p * dist.world_size + dist.rank, t, q) for p, t, q in found]
    plot_examples(trainer.data.test.images, found, trainer.classes, out,
                  title=f"First {len(found)} misclassified images of the {title}")


def _model_summary(trainer: Trainer) -> dict | None:
    try:
        from cnnlab.inspect import summary as layer_summary
        from cnnlab.models.padded_stem import plain_stems

        pp = trainer.preprocess
        with plain_stems(trainer.model) as model:  # the model's cost, not the zero channels
            return layer_summary(
                model, (pp.channels, pp.image_size, pp.image_size), device=trainer.device
            ).to_dict()
    except Exception:  # the report still renders without the layer table
        return None


def train_objective(trainer: Trainer) -> str:
    """What the train loss adds to the test loss's plain cross-entropy, in words."""
    terms = []
    if trainer.cfg.label_smoothing:
        terms.append(f"label smoothing {trainer.cfg.label_smoothing:g}")
    if getattr(trainer.model, "aux_logits", False):
        terms.append("0.3 x each auxiliary loss")
    return ", ".join(terms)


def _draw(out: Path, draw, failed: list[str]) -> bool:
    """Removes ``out``, then ``draw(out)`` (None: nothing to draw) writes it anew; if that
    fails, a warning says so, its name goes into ``failed`` and the run goes on. Whether
    ``out`` is this call's figure."""
    try:
        out.unlink(missing_ok=True)
        for copy in figure_copies(out):  # an earlier draw's SVG/PDF would not match it
            copy.unlink(missing_ok=True)
        if draw is not None:
            draw(out)
    except Exception as exc:
        failed.append(out.name)
        run_dir = out.parent.parent
        warn_user(f"could not draw {out} ({type(exc).__name__}: {exc}); the report is "
                  f"written without it. Once the cause is mended, {resume_words(run_dir)} "
                  "draws it and writes the report again (nothing is trained)", FigureWarning)
        return False
    return draw is not None and out.exists()


def skipped_words(skipped: list[str], how_to_draw: str) -> str:
    """One sentence or two: the figures left undrawn, why, and ``how_to_draw``
    (:func:`~cnnlab.train.run_files.resume_words`: `cnnlab resume RUN`, or from Python
    for a run of data given to train())."""
    return (f"The figures ({and_list(skipped)}) were not drawn: {NO_FIGURES_VARIABLE} was set (as "
            f"--no-figures sets it). To draw them into plots/ and write this report again "
            f"with them, training nothing, run {how_to_draw} (with {NO_FIGURES_VARIABLE} "
            "unset, and without --no-figures).")
