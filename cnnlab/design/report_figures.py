"""The design report's figures: the EDFs of error (plain and complexity-normalised) and
error against MACs, NARROW_INCHES wide so that one drawing reads on a phone, a laptop and
paper (:func:`cnnlab.figures.embed_png` shows it at its size, or shrunk to a column).

Side by side, 11 inches of EDFs shrunk onto a 390 px phone had 3 px text; stacked 4.6
inches wide, their 9 pt text is 10 px there, and the figure fits a printed column."""

from __future__ import annotations

import textwrap

import numpy as np

from cnnlab.design.edf import edf_curve, shared_bins_weights
from cnnlab.design.macs_axis import label_macs_axis
from cnnlab.figures import literal, series_style, subplots
from cnnlab.formatting import counted

ERROR_AXIS = "top-1 test error (%): left is better"
NARROW_INCHES = 4.6
TEXT_PT = 9  # legends, subtitle and caption: the smallest text drawn


def not_comparable_caption(pairs: list[dict]) -> str | None:
    """What a figure of these sweeps must say when some were trained or sampled
    differently: their curves overlaid look like a comparison that the report's table
    calls "not comparable". None when every pair compares."""
    differing = [f"{p['a']} vs {p['b']}: {'; '.join(p['differences'])}"
                 for p in pairs if p["differences"]]
    if not differing:
        return None
    return "Not comparable, trained or sampled differently (" + " | ".join(differing) + ")"


def figure_context(spaces: list[dict]) -> str:
    """What the sweeps drawn were trained on, where they all agree, for the figures'
    subtitle: copied onto a slide, "EDF of error" alone said nothing of what was swept.
    ``spaces``: the summary's (only those with finished trials are drawn)."""
    setups = [s["setup"] for s in spaces if "best_error" in s]
    shared = {item: setups[0][item] for item in ("data", "training images", "epochs",
                                                  "complexity band")
              if setups and all(s.get(item) == setups[0].get(item) for s in setups)}
    words = []
    if "data" in shared:
        images = shared.get("training images")
        words.append(f"{shared['data']} ({images})" if images else shared["data"])
    if "epochs" in shared:
        words.append(counted(int(shared["epochs"]), "epoch"))
    if "complexity band" in shared:
        words.append(shared["complexity band"])
    return "; ".join(words)


def _characters(fig) -> int:
    """How many characters of TEXT_PT text fit across ``fig`` (a character about 0.55
    em wide, a margin kept)."""
    return int((fig.get_figwidth() - 0.3) * 72 / (0.55 * TEXT_PT))


def _caption(fig, caption: str | None) -> None:
    """``caption`` under the axes in red, wrapped to the figure's width (four lines at
    most), with room kept for it."""
    if not caption:
        return
    lines = textwrap.wrap(caption, width=_characters(fig), max_lines=4,
                          placeholder=" ... (the report's table has it all)")
    # Cut to four lines here; broken into them by matplotlib (wrap=True), at the width
    # the figure has when drawn, so the text stays the caption as written.
    fig.text(0.5, 0.01, " ".join(lines), ha="center", va="bottom", fontsize=TEXT_PT,
             color="#b00020", wrap=True)
    line_share = TEXT_PT * 1.25 / 72 / fig.get_figheight()
    fig.tight_layout(rect=(0, 0.02 + line_share * len(lines), 1, 1))


def _subtitle(fig, context: str | None) -> None:
    """``context`` above the axes, wrapped to the figure's width: on one line it ran past
    both edges of the 6.5-inch error-vs-MACs figure and was cut off there."""
    if context:
        lines = textwrap.wrap(context, width=_characters(fig))
        fig.suptitle(literal("\n".join(lines)), fontsize=TEXT_PT)


def _legend_below(ax, markerscale: float = 1.0) -> None:
    """``ax``'s legend under its x axis label, where it covers no curve or point (inside
    the axes, at the lower right, it hid the tail of a space's EDF); the layout keeps
    room for it."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=TEXT_PT,
              frameon=False, markerscale=markerscale)


def edf_figure(results, edges, caption: str | None = None, context: str | None = None):
    """EDF of error per space, plain (on top) and complexity-normalised, each
    with its legend: a curve further up and to the left is the better space. A
    ``caption`` (:func:`not_comparable_caption`) goes under them, ``context``
    (:func:`figure_context`) above. ``results``: the report's SpaceResults."""
    spaces = sum(1 for r in results if r.rows)  # each panel's legend: a line per space
    fig, axes = subplots(2, 1, figsize=(NARROW_INCHES, 7.4 + 0.4 * spaces))
    _subtitle(fig, context)
    usable = [r for r in results if r.rows]
    # Over the bins every space holds, as the table's normalised test compares a pair:
    # each space over its own bins drew curves that could cross the other way.
    weights, shared = shared_bins_weights([r.macs for r in usable], edges)
    for i, (r, w) in enumerate(zip(usable, weights, strict=True)):
        # Colour and line style (series_style): three solid lines in blue, orange and
        # green read as two to a reader who sees orange and green alike.
        style = series_style(i)
        style.pop("marker")  # a mark at every step of a few hundred models is noise
        x, y = edf_curve(r.errors)
        axes[0].step(np.r_[x[0], x], np.r_[0.0, y], where="post", linewidth=1.6, **style,
                     label=literal(f"{r.label} (n={len(r.rows)})"))
        kept = w > 0
        if not kept.any():
            continue
        x, y = edf_curve(r.errors[kept], w[kept])
        n = f"{kept.sum()} of {len(r.rows)}" if not kept.all() else f"{len(r.rows)}"
        axes[1].step(np.r_[x[0], x], np.r_[0.0, y], where="post", linewidth=1.6, **style,
                     label=literal(f"{r.label} (n={n})"))
    fraction = "fraction of models below this error\n(up is better)"
    axes[0].set(xlabel=ERROR_AXIS, ylabel=fraction, title="EDF of error")
    axes[1].set_ylabel(fraction)
    bins = len(edges) - 1
    # A sweep analysed alone read "those every space holds", of one space.
    held = "those every space holds" if len(usable) > 1 else "those its models fall in"
    axes[1].set(xlabel=ERROR_AXIS, title="Complexity-normalised EDF" + (
        f" ({bins} MACs bins)" if shared == bins
        else f"\n({shared} of {bins} MACs bins: {held})"))
    if not shared:
        axes[1].text(0.5, 0.5, "no MACs bin holds models of every space:\nthe table "
                     "compares each pair\nover the bins both hold", ha="center",
                     va="center", transform=axes[1].transAxes)
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            _legend_below(ax)
    _caption(fig, caption)
    return fig


# Up to SOLID_UP_TO trials a figure's points are drawn as they always were (16 pt^2, 80%
# opaque); more get smaller and fainter, so that where they pile up reads as darker
# (3,000 trials a space filled the plot with solid orange over solid blue: the space drawn
# last hid the first, and a dense band looked no denser than a sparse one).
SOLID_UP_TO = 300


def dot_style(points: int) -> dict:
    """``ax.scatter``'s size and opacity for a figure of ``points`` points in all."""
    if points <= SOLID_UP_TO:
        return dict(s=16, alpha=0.8)
    crowd = SOLID_UP_TO / points  # 1 at SOLID_UP_TO, 0.05 at 6,000
    return dict(s=max(4.0, 16 * crowd ** 0.5), alpha=max(0.15, 0.8 * crowd ** 0.5))


def error_vs_macs_figure(results, caption: str | None = None, context: str | None = None):
    """Every finished trial's error against its MACs, a marker and colour per space
    (smaller and fainter past SOLID_UP_TO trials in all: :func:`dot_style`)."""
    fig, ax = subplots(figsize=(NARROW_INCHES, 4.6))
    _subtitle(fig, context)
    drawn = [r for r in results if r.rows]
    dots = dot_style(sum(len(r.rows) for r in drawn))
    for i, r in enumerate(drawn):  # a marker of its own per space, not a colour alone
        ax.scatter(r.macs, r.errors, **dots, **series_style(i, lines=False),
                   label=literal(f"{r.label} (n={len(r.rows)})"))
    ax.set(xscale="log", xlabel="MACs per image (log scale)",
           ylabel="top-1 test error (%): lower is better", title="Error against complexity")
    # 300K, 1M, 2M (labelled minor ticks as well ran together: 0.60.70.80.91); a
    # narrow band's from a labelled tick to another (its left end was bare)
    macs = np.concatenate([r.macs for r in drawn])
    label_macs_axis(ax, float(macs.min()), float(macs.max()))
    ax.grid(alpha=0.3, which="both")
    _legend_below(ax, markerscale=(16 / dots["s"]) ** 0.5)
    for handle in ax.get_legend().legend_handles:  # the key in full colour and size,
        handle.set_alpha(1)                        # however faint the crowd's points
    _caption(fig, caption)
    return fig
