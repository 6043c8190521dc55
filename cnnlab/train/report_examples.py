"""Misclassified test images for a run's report: what the confusion matrix counts, seen.

The images are the run's own test split, already in memory where the report is written;
the predictions come from the weights the report's confusion matrix is of, with the same
test-time views as the run's evaluation, so every image shown is one of that matrix's
off-diagonal counts.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from cnnlab.figures import literal, save_figure, subplots
from cnnlab.train.evaluate import autocast_context, tta_logits, tta_views
from cnnlab.train.report_figures import wrapped

# As many as a slide shows legibly, in two rows.
EXAMPLES = 16


@torch.no_grad()
def first_misclassified(model, batches, *, device: torch.device, amp: str = "off",
                        tta: tuple[bool, int] = (False, 0), fill: list[float] | None = None,
                        limit: int = EXAMPLES) -> list[tuple[int, int, int]]:
    """``(position, true class, predicted class)`` of the first ``limit`` images that
    ``model`` gets wrong, in the order ``batches`` (an evaluation loader) yields them.
    Stops as soon as it has them: a good model is asked about a few batches only."""
    views = tta_views(*tta)
    border = torch.tensor(fill if fill is not None else [0.0], device=device).view(1, -1, 1, 1)
    was_training = model.training
    model.eval()
    found: list[tuple[int, int, int]] = []
    seen = 0
    try:
        for x, y in batches:
            with autocast_context(device, amp):
                pred = tta_logits(model, x, views, border).argmax(dim=1)
            wrong = (pred != y).nonzero().flatten().tolist()
            if wrong:
                y_list, pred_list = y.tolist(), pred.tolist()
                found += [(seen + i, y_list[i], pred_list[i]) for i in wrong]
            seen += len(y)
            if len(found) >= limit:
                break
    finally:
        model.train(was_training)
    return found[:limit]


def plot_examples(images: torch.Tensor, found: list[tuple[int, int, int]],
                  classes: list[str], out: Path, title: str = "") -> Path:
    """A grid of uint8 images (N x C x H x W; ``found`` holds (index, true, predicted)),
    each titled with its true and predicted class."""
    cols = min(8, len(found))
    rows = math.ceil(len(found) / cols)
    width = max(1.65 * cols, 6.0)
    fig, axes = subplots(rows, cols, figsize=(width, 1.95 * rows + 0.7), squeeze=False)
    fig.set_layout_engine("constrained")
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, (index, true, pred) in zip(axes.flat, found, strict=False):
        image = images[index]
        if image.shape[0] == 3:
            ax.imshow(image.permute(1, 2, 0).numpy())
        else:  # grey (or the first of other channel counts)
            ax.imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"true: {literal(classes[true])}\npred: {literal(classes[pred])}",
                     fontsize=8)
    if title:
        fig.suptitle(wrapped(literal(title), width, points=10), fontsize=10)
    return save_figure(fig, out, layout=False)
