"""`cnnlab models` and `cnnlab summary`: list the zoo, inspect one network.

`cnnlab models` shows parameters and MACs of every listed model at its default input,
counted without building the weights and cached between runs by
:class:`cnnlab.bench.complexity.ComplexityCache` (its docstring says how).
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager

import typer
from rich.table import Table

from .messages import err, fail, fail_for, output_console, print_table, warning
from .summary_memory import batch_too_big, refuse_what_memory_cannot_hold

# A summary builds the model on the CPU: a head of 10**12 classes asked 336 TB, and the
# error blamed the input size. ImageNet-21k has 21,843 classes; a million is ample.
MAX_NUM_CLASSES = 10**6

# torch and the model registry load inside the commands, so `cnnlab --help` (and any
# other command) does not wait for them.


def register(app: typer.Typer) -> None:
    app.command("summary")(summary_command)
    # Words after the pattern are kept for models_command to answer (see there).
    app.command("models", context_settings={"allow_extra_args": True})(models_command)


def summary_command(
    model: str = typer.Argument(..., help="Registered model name, e.g. resnet18_d2l."),
    input: str | None = typer.Option(
        None, "--input", "-i", metavar="SHAPE",
        help="One sample's shape CxHxW (e.g. 1x96x96), or just a side (96) (default: "
             "the model's own input size).",
    ),
    depth: int | None = typer.Option(
        None, "--depth", "-d", min=0,
        help="Show modules down to this depth, children rolled up (default: every leaf).",
    ),
    num_classes: int | None = typer.Option(
        None, "--num-classes", min=0, max=MAX_NUM_CLASSES,
        help="Classes the final layer scores; 0: no final linear layer (the features). "
             "(default: the registry's; 10, Fashion-MNIST's, where --input is greyscale "
             "for a model made for RGB)",
    ),
    batch_size: int = typer.Option(1, "--batch-size", "-b", min=1,
                                   help="Images per pass: memory and MACs are for the batch."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    as_markdown: bool = typer.Option(
        False, "--markdown", help="Print the layer table and totals as Markdown tables "
                                  "(for notes and slides: every column, whole names)."),
    as_latex: bool = typer.Option(
        False, "--latex", help="Print the layer table and totals as LaTeX tables "
                               "(booktabs), for slides and papers."),
) -> None:
    """Per-layer shapes, parameters, MACs and activations of one model.

    MACs count one multiply-add per weight use in convolutions and linear layers (as
    torchvision's GFLOPS column), so FLOPs are twice the MACs; BatchNorm, bias, activation
    and pooling work is not counted. Activations are each layer's output size, summed over
    every layer: those without weights (activations, pooling), views and in-place outputs
    included (torchinfo's "Forward/backward pass size" doubles the outputs of layers with
    weights only); ops a block's forward calls itself (F.relu, torch.cat, a residual add)
    are no layer and not counted. "Training activations" is what autograd really keeps."""
    from rich.markup import escape

    from cnnlab.extras import MissingExtraError
    from cnnlab.inspect._input import check_min_input
    from cnnlab.models import UnknownModelError, model_info

    out = output_console()
    formats = [name for name, asked in (("--json", as_json), ("--markdown", as_markdown),
                                         ("--latex", as_latex)) if asked]
    if len(formats) > 1:
        fail(f"{' and '.join(formats)} each print the whole summary: give one of them",
             code=2)
    try:
        info = model_info(model)
    except (UnknownModelError, MissingExtraError, ValueError) as e:  # ValueError: a tv:
        fail_for(e)  # model cnnlab cannot adapt
    size = _parse_input(input, info.input_size)
    try:
        check_min_input(model, size, info.min_input_size, option="--input")
    except ValueError as e:
        fail(str(e), code=2)
    if num_classes is None and size[0] == 1 and info.input_size[0] == 3:
        # A grey input on an ImageNet-shaped model means Fashion-MNIST-like data: show
        # the network as the chapter does (vgg11 at 1x224x224 ends in 10, not 1000).
        num_classes = 10
    kwargs = {"num_classes": num_classes, "in_channels": size[0]}
    if info.sized_head:
        if size[1] != size[2]:
            fail(f"{model} sizes its classifier for square images; "
                 f"use --input {size[0]}x{size[1]}x{size[1]}", code=2)
        kwargs["image_size"] = size[1]
    refuse_what_memory_cannot_hold(model, kwargs, num_classes)
    if too_big := batch_too_big(model, kwargs, size, batch_size, depth):
        result, why = too_big
        err.print(f"note: {escape(why)}")
    else:
        result = _summary_run(model, kwargs, size, depth, batch_size, num_classes)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))  # never wrapped by rich
    elif as_markdown:
        typer.echo(result.to_markdown())
    elif as_latex:
        typer.echo(result.to_latex(), nl=False)
    elif out.is_terminal:  # the caption (columns left out) and totals wrapped at words
        print_table(out, result.to_table(out.width))
        out.print(result.totals_table())
    else:  # a file or a pipe: each line whole, and no longer than its text
        with out.capture() as captured:
            print_table(out, result.to_table(out.width))
            out.print(result.totals_table())
        # rich pads every line of the totals grid to its longest (the Flow line: VGG-11's
        # 266 characters) and the table's to its edge; `awk '{print length}'` saw those.
        text = "\n".join(line.rstrip() for line in captured.get().splitlines())
        out.print(text, markup=False, highlight=False, emoji=False)


def _summary_run(model: str, kwargs: dict, size: tuple[int, int, int], depth: int,
                 batch_size: int, num_classes: int | None):
    from cnnlab.inspect.summary import summary
    from cnnlab.models import get_model

    try:  # built apart from the summary, so that a failure names what it comes from
        net = get_model(model, **kwargs)
    except (RuntimeError, ValueError, TypeError) as e:  # out of memory for a vast head
        classes = "its own number of" if num_classes is None else num_classes
        fail(f"cannot build {model} with {classes} classes and {size[0]} input "
             f"channel(s): {e}")
    try:
        return summary(net, size, depth=depth, batch_size=batch_size)
    except (RuntimeError, ValueError, TypeError) as e:  # SummaryError is a RuntimeError
        fail(f"cannot summarise {model} at input {'x'.join(map(str, size))}: {e}")


def models_command(
    ctx: typer.Context,
    pattern: str | None = typer.Argument(
        None, help="Shell wildcard (resnet*) or substring (vgg) of the names to list."),
    family: str | None = typer.Option(None, "--family", "-f",
                                      help="Only this family's models, e.g. resnet, densenet."),
    variant: str | None = typer.Option(
        None, "--variant", help="Only this variant's models: book (the d2l chapter's "
                                "form), standard (torchvision / pycls), or cnnlab."),
    as_markdown: bool = typer.Option(
        False, "--markdown", help="Print the table (every column) and its notes as "
                                  "Markdown, for notes and slides."),
    as_latex: bool = typer.Option(
        False, "--latex", help="Print the table and its notes as LaTeX (booktabs)."),
) -> None:
    """List models: parameters, MACs and the accuracy the book reports.

    MACs are at each model's default input size (the Input column); the book's test
    accuracy is given for the book's networks.

    Families come in the book's order, LeNet to RegNet. An exact name adds what the model
    is, the book's section for it, the inputs it takes and how to build it."""
    from rich.markup import escape

    from cnnlab.bench.complexity import ComplexityCache
    from cnnlab.formatting import (
        columns_left_out,
        fitted_widths,
        format_count,
        left_out_caption,
        without_columns,
    )
    from cnnlab.models import ModelFilterError, list_models, model_info

    if as_markdown and as_latex:
        fail("--markdown and --latex each print the whole listing: give one of them", code=2)
    if ctx.args:  # `cnnlab models show vgg_d2l`, as `cnnlab data show NAME` is typed: click
        # said only "Got unexpected extra argument(s) (vgg_d2l)".
        fail(f"cnnlab models takes one name or pattern, not {' '.join([pattern, *ctx.args])!r};"
             f" one model's details: cnnlab models {ctx.args[-1]}", code=2)
    out = output_console()
    try:  # filtered as list_models(family=, variant=) filters from Python
        infos = [model_info(n) for n in list_models(pattern, family=family, variant=variant)]
    except ModelFilterError as e:
        hint = f" Did you mean --{e.option} {e.closest}?" if e.closest else ""
        fail(f"--{e.option} {e.value!r}: no registered model has that {e.option}.{hint} "
             f"{e.listed()}", code=2)
    if not infos:
        from cnnlab.models._registry import closest_names

        families = sorted({model_info(n).family for n in list_models()})
        close = closest_names(pattern) if pattern and not list_models(pattern) else []
        hint = f"Did you mean: {', '.join(close)}?" if close else ""
        asked = " and ".join(f"{what} {value!r}" for what, value in (
            ("pattern", pattern), ("family", family), ("variant", variant)) if value)
        fail(f"no registered model matches {asked or 'that'}.{' ' + hint if hint else ''} "
             f"Families: {', '.join(families)}", code=2)
    header = ["Name", "Family", "Variant", "Params", "MACs at Input", "Input", "Book acc."]
    failures, rows, cache = [], [], ComplexityCache()
    with _counting(sum(not cache.has(info) for info in infos), cache) as counted:
        # Families in the book's order (LeNet first, RegNet last: a class follows the
        # chapters); list_models' natural order (resnet18 < resnet101) kept within each.
        for info in sorted(infos, key=_family_order):
            try:
                params, macs = counted(cache, info)
                counts = (format_count(params), format_count(macs))
            except Exception as e:  # a listing should survive one broken builder; say which
                failures.append(f"{info.name}: {type(e).__name__}: {e}")
                counts = ("error", "error")
            rows.append([info.name, info.family, info.variant, *counts,
                         "x".join(map(str, info.input_size)), _book_accuracy(info)])
    if as_markdown or as_latex:  # the summary's tables could go on a slide, this one not
        shown = [i for i in infos if len(infos) == 1 or (pattern or "").lower() == i.name]
        cache.save()
        typer.echo(_as_text(as_latex, header, rows, _caption(infos),
                            [_details(i) for i in shown]), nl=False)
        _warn_failures(failures)
        return
    # A narrow terminal goes without the family (the name says it), then the variant.
    left_out = columns_left_out(header, rows, out.width, ["Family", "Variant"])
    header, rows = without_columns(header, rows, left_out)
    caption = "\n".join(filter(None, [_caption(infos), left_out_caption(
        left_out, out.width, "cnnlab models --family F")]))
    table = Table(title=f"{len(infos)} model{'s' if len(infos) > 1 else ''}",
                  header_style="bold")
    for name, width in zip(header, fitted_widths(header, rows, out.width), strict=True):
        # Counts, shapes and words never shrink to "5.9…": columns are given the width
        # their cells need, and a header wraps at its spaces.
        table.add_column(name, justify="right" if name in ("Params", "MACs at Input",
                                                           "Book acc.") else "left",
                         overflow="fold", width=width)
    for row in rows:
        table.add_row(*(f"[red]{cell}[/]" if cell == "error" else escape(cell) for cell in row))
    cache.save()
    print_table(out, table, caption)
    # An exact name (or a listing of one) says what the model is: the table alone had no
    # word on what separates lenet_bn from lenet_bn_d2l, nor the book's section.
    for info in infos:
        if len(infos) == 1 or (pattern or "").lower() == info.name:
            out.print()
            _print_details(out, _details(info))
    _warn_failures(failures)


def _warn_failures(failures: list[str]) -> None:
    for line in failures:
        warning(f"could not count {line}")


def _as_text(latex: bool, header: list[str], rows: list[list[str]], caption: str,
             details: list[list[tuple[str, str]]]) -> str:
    """The listing as Markdown (or LaTeX, booktabs): its table, the caption's notes as
    paragraphs, and each exact name's details as a two-column table of their own (in
    LaTeX the text column wraps: a description runs to 200 characters)."""
    from cnnlab.formatting import markdown_table
    from cnnlab.latex_tables import escape, tabular

    numbers = ("Params", "MACs at Input", "Book acc.")
    notes = caption.splitlines()
    tables = [(["Model", name], [["what it is", text], *map(list, more)])
              for (name, text), *more in details]
    if not latex:
        return "\n".join([markdown_table(header, rows, numbers), *(n + "\n" for n in notes),
                          *(markdown_table(head, body) for head, body in tables)])
    align = ["r" if h in numbers else "l" for h in header]
    parts = [tabular(header, rows, align), *map(escape, notes),
             *(tabular(head, body, ["l", r"p{0.75\linewidth}"]) for head, body in tables)]
    return "% cnnlab models: needs \\usepackage{booktabs}\n" + "\n\n".join(parts) + "\n"


@contextmanager
def _counting(missing: int, cache):
    """A ``counted(cache, info)`` that shows its progress while the counts ``missing`` from
    the cache are made: all 69 models' take ~20 s the first time (then they are read
    back), and the listing had said nothing meanwhile. A bar on a terminal, else a line."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

    from cnnlab.progress import ProgressBar, shows_live

    from .messages import err

    if missing < 8:  # a second or two: no word
        yield lambda cache, info: cache.get(info)
        return
    what = f"counting parameters and MACs of {missing} models, once (kept in {cache.path})"
    live = shows_live(err)
    if not live:
        err.print(f"{what} ...")
    with ProgressBar(TextColumn(what), BarColumn(), MofNCompleteColumn(), console=err,
                     transient=True, disable=not live) as bar:
        task = bar.add_task("count", total=missing)

        def counted(cache, info):
            stored = cache.has(info)
            try:
                return cache.get(info)
            finally:
                if not stored:
                    bar.advance(task)

        yield counted


# Dive into Deep Learning's sections (2nd edition, d2l.ai) that build each family's
# network, for the listing's order and one model's details.
BOOK_SECTIONS = {
    "7.6": "Convolutional Neural Networks (LeNet)",
    "8.1": "Deep Convolutional Neural Networks (AlexNet)",
    "8.2": "Networks Using Blocks (VGG)",
    "8.3": "Network in Network (NiN)",
    "8.4": "Multi-Branch Networks (GoogLeNet)",
    "8.5": "Batch Normalization",
    "8.6": "Residual Networks (ResNet) and ResNeXt",
    "8.7": "Densely Connected Networks (DenseNet)",
    "8.8": "Designing Convolution Network Architectures (AnyNet, RegNet)",
}
# BookRecipe.init in words: which networks the book Xavier-initialises differs by section
# (ANCHORS §1), and only some builders' descriptions said which they were.
BOOK_INITS = {"xavier": "Xavier-uniform init (the book's init_cnn)",
              "default": "PyTorch's default init (the book applies none)"}
VARIANT_MEANINGS = {"book": "built as Dive into Deep Learning builds it",
                    "cnnlab": "cnnlab's own, neither the book's nor torchvision's"}


def _family_order(info) -> tuple:
    # By the model's section (the BatchNorm LeNets are 8.5's, after GoogLeNet, not beside
    # LeNet's 7.6); families the book has none for go last, by name.
    section = info.book_section
    return (section is None, tuple(map(int, section.split("."))) if section else (),
            info.family)


def _details(info) -> list[tuple[str, str]]:
    """(label, text) rows: what one model is, where it comes from, what input it takes
    and how to go on."""
    import inspect

    doc = (inspect.getdoc(info.builder) or "").split("\n\n")[0]
    rows = [(info.name, " ".join(doc.replace("``", "`").split()))]
    if not info.builder.__module__.startswith("cnnlab."):  # $CNNLAB_MODELS, a script
        module = sys.modules.get(info.builder.__module__)
        rows.append(("variant", "your own, registered by "
                     f"{getattr(module, '__file__', None) or info.builder.__module__}"))
    elif info.variant != "standard":
        rows.append(("variant", f"{info.variant}: {VARIANT_MEANINGS[info.variant]}"))
    elif info.torchvision_name:
        rows.append(("variant", f"standard: torchvision's {info.torchvision_name}, whose "
                                "weights load into it (same logits)"))
    else:  # the regnetx_* / regnety_* that follow pycls
        rows.append(("variant", "standard: pycls's widths; its model zoo's .pyth "
                                "checkpoints load into it"))
    section = info.book_section
    if section:
        rows.append(("book", f"Dive into Deep Learning {section}, {BOOK_SECTIONS[section]}"))
    rows += [("paper", info.paper), ("input", _input_words(info))]
    recipe = info.book_recipe
    if recipe is not None:
        rows.append(("book recipe", f"SGD lr {recipe.lr:g}, {recipe.epochs} epochs, batch "
                                    f"{recipe.batch_size}, {recipe.resize}x{recipe.resize} "
                                    f"images, {BOOK_INITS[recipe.init]}: "
                                    f"cnnlab train {info.name} --preset book"))
    shape = "x".join(map(str, info.input_size))
    return rows + [
        ("layers", f"cnnlab summary {info.name} (at {shape}; --input for another)"),
        ("Python", f'from cnnlab import get_model; model = get_model("{info.name}")')]


def _print_details(out, rows: list[tuple[str, str]]) -> None:
    """Each row a label and its text, the text wrapped at words under itself in a
    terminal (one grid per row: a shared one padded every line to the longest)."""
    from rich.markup import escape
    from rich.table import Table

    width = max(len(label) for label, _ in rows)
    for label, text in rows:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True, width=width)
        grid.add_column()
        grid.add_row(escape(label), escape(text))
        out.print(grid)


def _input_words(info) -> str:
    """The input ``info``'s model is made for, and whether Fashion-MNIST's 28x28 fits."""
    side, smallest = info.input_size[1], info.min_input_size
    made = f"{'x'.join(map(str, info.input_size))} (made for)"
    if side == 28:
        return f"{made}: Fashion-MNIST as it is"
    if smallest <= 28:
        least = f" (at least {smallest}x{smallest})" if smallest > 1 else ""
        fits = f"takes Fashion-MNIST's 28x28 too{least}, or resized with --resize {side}"
    else:
        fits = (f"needs at least {smallest}x{smallest}: Fashion-MNIST with --resize "
                f"{smallest} or more ({side} as made)")
    if info.input_size[0] == 3:
        fits += "; greyscale data builds it with 1 input channel"
    return f"{made}; {fits}"


def _book_accuracy(info) -> str:
    """The book's test accuracy in %, with its input size where that is not the Input
    column's (:func:`_caption` says what the number is)."""
    recipe = info.book_recipe
    if recipe is None:
        return ""
    text = f"{100 * recipe.book_accuracy:.1f}%"
    if recipe.resize != info.input_size[1]:
        text += f" at {recipe.resize}x{recipe.resize}"
    return text


def _caption(infos) -> str:
    """What the MACs and Book acc. columns are: the table compares 3x224x224 ImageNet
    models with 1x28x28 Fashion-MNIST ones, and the book's numbers are not cnnlab runs."""
    lines = ["MACs: multiply-adds for one image at the model's default input (the Input "
             "column), so models with different inputs do not compare."]
    recipes = [i.book_recipe for i in infos if i.book_recipe is not None]
    if recipes:
        epochs = sorted({r.epochs for r in recipes})
        shown = (f"{epochs[0]} epochs" if len(epochs) == 1
                 else f"{'/'.join(map(str, epochs))} epochs")
        lines.append(f"Book acc.: Fashion-MNIST test accuracy (the 10,000 test images, "
                     f"which the book calls validation) that Dive into Deep Learning "
                     f"reports for its own training: {shown}, plain SGD, batch 128, images "
                     f"resized to the Input size; read off the book's plots, not a cnnlab "
                     f"run.")
    if len(infos) > 1:  # one model's listing is followed by its details
        lines.append("Input: the size each is made for; those at 1x28x28 take Fashion-MNIST "
                     "as it is, and many others take its 28x28 too or train on it resized "
                     "(--resize). Which, what one is, its book section and the smallest "
                     "input it takes: cnnlab models NAME; its layers: cnnlab summary NAME.")
    return "\n".join(lines)


def _parse_input(text: str | None, default: tuple[int, int, int]) -> tuple[int, int, int]:
    if text is None:
        return tuple(default)
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) == 1 and parts[0] > 0:  # a side: keep the model's channels
        return (default[0], parts[0], parts[0])
    if len(parts) != 3 or min(parts) < 1:
        raise typer.BadParameter(f"expected CxHxW such as 1x96x96 or a side such as 96, "
                                 f"not {text!r}", param_hint="--input")
    return tuple(parts)
