"""Misclassified test images for a run's report: what the confusion matrix counts, seen.

The images are the run's own test split, already in memory where the report is written;
the predictions come from the weights the report's confusion matrix is of, with the same
test-time views as the run's evaluation, so every image shown is one of that matrix's
off-diagonal counts.
"""

from __future__ import annotations

from pathlib import Path

import torch

from cnnlab.figures import image_grid
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
            # On the CPU: MPS before macOS 14 has no nonzero of its own (and warns).
            wrong = (pred != y).cpu().nonzero().flatten().tolist()
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
    width = max(1.65 * cols, 6.0)
    titles = [f"true: {classes[true]}\npred: {classes[pred]}" for _, true, pred in found]
    return image_grid(images[[index for index, _, _ in found]], titles, out,
                      wrapped(title, width, points=10), cols=cols, cell=(1.65, 1.95),
                      min_width=6.0, title_inches=0.7, fontsize=8)
