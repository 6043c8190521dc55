"""The words of a design-space analysis: the verdict on each pair of spaces, the tables
of spaces and pairs, the notes saying what the numbers are, and the Markdown summary
(``report.py`` computes the numbers and draws the figures)."""

from __future__ import annotations

from cnnlab.design.describe import (
    BEST_HEADER,
    BEST_PER_SPACE,
    NOT_RECORDED,
    best_trials_rows,
    setup_tables,
)
from cnnlab.formatting import format_count, markdown_table, seconds_text

# Below this many models in a space a verdict says so: the plain test's asymptotic
# p-value is for large samples, and the normalised test (exact, by permutation) can then
# find only large differences, its EDFs resting on a few models a bin. The paper sampled
# 500 per space.
MIN_TRUSTED_N = 30


def verdict_words(a: str, b: str, a_ahead: float, b_ahead: float, p: float,
                  level: float = 0.05, sizes: tuple[int, int] | None = None,
                  chance_gap: float | None = None,
                  finished: tuple[int, int] | None = None) -> str:
    """Which space is better, judged on the complexity-normalised EDFs as the paper does.

    The gap quoted is the winner's lead, which is the normalised KS D (said so, beside
    the table's plain D). ``sizes``: the models of ``a`` and ``b`` the test compared; a
    space with fewer than :data:`MIN_TRUSTED_N` is named as too few to conclude from.
    ``finished``: the models each space finished, said beside a smaller count compared.
    ``chance_gap``: the D one shuffle in 20 reaches with these models
    (:class:`~cnnlab.design.edf.NormalizedComparison`), quoted when no difference shows at
    level 0.05: a gap smaller than it could not have shown, so the words say what was
    ruled out."""
    counts = [(name, n, done) for name, n, done in
              zip((a, b), sizes or (), finished or sizes or (), strict=False)
              if n < MIN_TRUSTED_N]
    few = [f"{name} {n}" + (f" of {done}" if done > n else "") for name, n, done in counts]
    # Compared fewer than finished (some outside the MACs bins both hold): said which count
    in_bins = (" in the MACs bins both spaces hold"
               if any(done > n for _, n, done in counts) else "")
    if p >= level:
        words = f"no significant difference (p >= {level:g})"
        if not few and level == 0.05 and chance_gap is not None and chance_gap == chance_gap:
            # A reader takes "no difference" for "alike"; with 40 models a space, a gap
            # of 0.3 (a third of the models ahead) could hide in it.
            words += (f", which does not make them alike: with these models a gap under "
                      f"{chance_gap:.2f} is within chance and could not show")
    else:
        winner, ahead, behind = ((a, a_ahead, b_ahead) if a_ahead >= b_ahead
                                 else (b, b_ahead, a_ahead))
        # 1e-9: the running sums' rounding (2e-16 read as "below by up to 0.000")
        where = "never below" if behind < 1e-9 else f"below by up to {behind:.3f} elsewhere"
        words = (f"{winner} better: its normalised EDF is above by up to {ahead:.3f} "
                 f"(the normalised KS D), {where}")
    if few:
        words += (f"; but too few models to conclude from (under {MIN_TRUSTED_N} per "
                  f"space{in_bins}: {', '.join(few)}): sample more")
    return words


# Each figure's alt text (what it shows, for a screen reader) and caption (how to read it).
FIGURE_WORDS = {
    "edf.png": ("Empirical distribution functions of top-1 test error, one curve per space: "
                "plain (left) and complexity-normalised (right)",
                "Each curve is a space (its colour and line style in the legend under the "
                "panel): the fraction of its models below each error. A curve further up "
                "and to the left is the better space; the Comparisons table tests each "
                "pair."),
    "error_vs_macs.png": ("Top-1 test error of every finished model against its MACs per "
                          "image, on a log scale, one marker shape per space",
                          "One point per model, lower is better; each space's colour and "
                          "marker shape are in the legend under the axes."),
}


# ---------------------------------------------------------------- tables


def space_table(summary: dict) -> tuple[list[str], list[list[str]]]:
    header = ["space", "done", "failed", "best error %", "best of m, bootstrap range %",
              "median error %", "MACs range", "mean train time"]
    rows = []
    for s in summary["spaces"]:
        if "best_error" not in s:
            rows.append([s["label"], s["done"], s["failed"], "no finished trial", "", "", "",
                         ""])
            continue
        d = s.get("decimals", 2)  # as many as its test images hold
        ci = (f"m = {s['best_of']}, {100 * s['best_level']:.0f}%: "
              f"{s['best_low']:.{d}f}-{s['best_high']:.{d}f}")
        rows.append([s["label"], s["done"], s["failed"], f"{s['best_error']:.{d}f}", ci,
                     f"{s['median_error']:.{d}f}",
                     # as the trials' MACs read elsewhere: 1.23G, not 1234.57M; 900K,
                     # not 0.90M
                     f"{format_count(s['macs_min'])}-{format_count(s['macs_max'])}",
                     seconds_text(s["mean_train_time_s"])])
    return header, rows


def pair_table(summary: dict) -> tuple[list[str], list[list[str]]]:
    header = ["A", "B", "KS D (plain EDFs)", "p (plain, asymptotic)",
              "KS D (normalised EDFs)", "p (normalised, permutation)", "MACs bins shared",
              "verdict (on the normalised EDFs)"]
    return header, [[p["a"], p["b"], f"{p['ks']:.3f}", f"{p['p']:.3g}",
                     _number(p["ks_normalized"], ".3f"), _number(p["p_normalized"], ".3g"),
                     f"{p['shared_bins']} of {p['pair_bins']}" + _left_out(p, summary),
                     p["verdict"]] for p in summary["pairs"]]


# `design analyze`'s terminal: the columns of the two tables that fit 80 columns. The
# whole Markdown summary printed there had lines of 250+ columns (the setup quotes each
# sweep's command), unreadable on a projector; summary.md and report.html keep it all.
BRIEF_SPACE_COLUMNS = ("space", "done", "failed", "best error %", "median error %",
                       "MACs range")
BRIEF_PAIR_COLUMNS = ("A", "B", "KS D (normalised EDFs)", "p (normalised, permutation)")


def brief_tables(summary: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of the spaces and, where there are pairs, the comparisons:
    :func:`space_table` and :func:`pair_table`'s columns that fit a terminal."""
    tables = [("Spaces", *_columns(space_table(summary), BRIEF_SPACE_COLUMNS))]
    if summary["pairs"]:
        tables.append(("Comparisons", *_columns(pair_table(summary), BRIEF_PAIR_COLUMNS)))
    return tables


def verdict_lines(summary: dict) -> list[str]:
    """Each pair's verdict, as a line of its own ("anynetx_a vs anynetx_e: ...")."""
    return [f"{p['a']} vs {p['b']}: {p['verdict']}" for p in summary["pairs"]]


def _columns(table: tuple[list[str], list[list]], names: tuple[str, ...]
             ) -> tuple[list[str], list[list[str]]]:
    header, rows = table
    keep = [header.index(name) for name in names]
    return list(names), [[str(row[i]) for i in keep] for row in rows]


def _number(value: float, spec: str) -> str:
    return "-" if value != value else format(value, spec)  # NaN: nothing to compare


def _left_out(pair: dict, summary: dict) -> str:
    """The models a pair's normalised test left out, in bins only one space reached."""
    done = {s["label"]: s["done"] for s in summary["spaces"]}  # labels are unique
    out = [f"{done[pair[side]] - pair[f'compared_{side}']} of {pair[side]}"
           for side in ("a", "b") if done[pair[side]] > pair[f"compared_{side}"]]
    return f" ({', '.join(out)} outside them)" if out else ""


def report_notes(summary: dict) -> list[str]:
    """What the numbers are, shared by summary.md and report.html."""
    small = [f"{s['label']} ({s['done']})" for s in summary["spaces"]
             if s.get("best_error") is not None and s["done"] < MIN_TRUSTED_N]
    p_note = ("KS p-values: the plain test's asymptotic (the Kolmogorov distribution), "
              "trustworthy for the hundreds of models a design-space study trains; the "
              f"normalised test's by permutation ({summary['resamples']} shuffles of which "
              "space each model belongs to, within its MACs bin), exact for any number")
    if small:
        p_note += (f". Here {', '.join(small)} finished too few models (under "
                   f"{MIN_TRUSTED_N}) to conclude from: only a large difference can show; "
                   "read D and the EDFs, and sample more before concluding")
    # The pairs tested: not those refused as not comparable (no p to read)
    tests = sum(1 for pair in summary["pairs"]
                if pair.get("shared_bins") and not pair.get("differences"))
    if tests > 1:
        # Six spaces make 15 pairs: at 0.05 each, one "better" in 15 pairs of alike spaces
        # is what chance gives; each verdict alone does not say so.
        p_note += (f". Each p is for its pair alone: {tests} pairs of spaces that do not "
                   f"differ would give an expected {0.05 * tests:.2g} false 'better' "
                   f"verdicts at p < 0.05; for all {tests} at once ask p < "
                   f"{0.05 / tests:.2g} (0.05 / {tests}, Bonferroni)")
        # The least p N shuffles give is 1/(N + 1): under 0.05/k needs N >= 20k
        resamples = summary["resamples"]
        if 1 / (resamples + 1) >= 0.05 / tests:
            p_note += (f", which {resamples} shuffles cannot go under (their least p is "
                       f"1/{resamples + 1}): give --resamples {20 * tests} or more "
                       "(resamples= from Python)")
    # A diverged trial is a sampled network too: the paper's F(e) counts every one, and
    # leaving it out silently makes a space that diverges more often look no worse.
    failed = [f"{s['label']} {s['failed']} of {s['done'] + s['failed']}"
              for s in summary["spaces"] if s.get("failed")]
    failed_note = ([f"Failed trials (diverged, or broken) are left out of the EDFs, KS tests, "
                    f"best and median errors: {', '.join(failed)}. Each EDF is that of the "
                    "trials that finished, so a space whose networks fail more often under "
                    "this recipe looks better than it is; their errors are in each sweep's "
                    "trials.sqlite"] if failed else [])
    return [
        "Error: top-1 test error after the last epoch, on the test images the setup "
        "names; lower is better.",
        *failed_note,
        f"Best of m: the range of the best of m models resampled with replacement "
        f"({summary['resamples']} resamples), m the fewest any space finished, so spaces "
        "that finished more are not favoured; it shows how much the best owes to the "
        "models drawn; not a confidence interval.",
        p_note + ".",
        f"KS D: the largest vertical gap between two EDFs. The normalised test cuts the "
        f"pair's MACs range into {summary['bins']} log-spaced bins, keeps the bins holding "
        "models of both spaces, and weights each model by 1/(k m_j), m_j its space's "
        "models in its bin and k the bins kept: both spaces compared at the same "
        "complexities. The verdict quotes the normalised D. The figure's normalised EDFs "
        "are weighted so over one set of bins cut over every sweep, keeping the bins "
        "every space holds: for two sweeps, the very curves the verdict compares.",
        f"Best networks: each space's {BEST_PER_SPACE} of lowest error, ranked together "
        "(the space named on each row); each as trained (widths and group widths as "
        "adjusted to fit); bottleneck ratio = inner width / block width; acts = "
        "activations per image, the output elements of every conv and of the head (the "
        "RegNet paper's third complexity measure). Nearest RegNet rule: the (w0, wa, wm) "
        "whose quantised linear widths come nearest the network's block widths, by grid "
        "search as the paper fits them (solved exactly where a rule makes them); e_fit = "
        "the mean |ln(rule's width / network's width)| over the blocks (0: the rule makes "
        "these widths exactly; the paper found good networks fit well). A RegNetX trial "
        "is fitted on the widths its rule made, before the group-width step moved them.",
        f"Not recorded in a sweep: {NOT_RECORDED}.",
    ]


def markdown_summary(summary: dict) -> str:
    """The report as Markdown: setup, one row per space, the best networks, one row per
    pair of spaces, and what the numbers are."""
    spaces = summary["spaces"]
    parts = ["## Setup\n"]
    for heading, header, rows in setup_tables(spaces):
        parts += [f"\n{heading}:\n\n", markdown_table(header, rows)]
    parts += ["\n## Spaces\n", markdown_table(*space_table(summary))]
    best = best_trials_rows(spaces)
    if best:
        parts += ["\n## Best networks (lowest error first)\n",
                  markdown_table(BEST_HEADER, best)]
    if summary["pairs"]:
        parts += ["\n## Comparisons\n", markdown_table(*pair_table(summary))]
    parts += ["\n## Notes\n", "".join(f"- {n}\n" for n in report_notes(summary))]
    return "".join(parts)
