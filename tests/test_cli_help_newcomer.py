"""--help as a newcomer reads it: each option that takes a value says what it is when not
given, an on/off flag's default reads "on" or "off", speedrun's defaults are its recipe's,
and a mistyped option is answered with the closest name first."""

from __future__ import annotations

import re

import typer
from typer.testing import CliRunner

from cnnlab.cli import app

# Options with nothing to name as a default: a file or folder written only when given, a
# repeatable setting, what a run or sweep has no other way to get (--config, --resume).
_NOTHING_UNLESS_GIVEN = {"--out", "--plot", "--csv", "--config", "--resume", "--set",
                         "--candidate", "--override"}
# Options whose text says what happens without them in other words.
_SAID_OTHERWISE = {("compare", "--target FLOAT"),  # no target, no column
                   ("bench throughput", "--peak-tflops TFLOPS")}  # a card cnnlab knows
# bench.py's commands are another module's: /work/notes/s38/cli-help-bench-defaults.patch
_NOT_CHECKED_HERE = ("cnnlab.cli.bench",)


def _commands(command=None, path=()):
    command = command or typer.main.get_command(app)
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield " ".join(path), command


def test_every_option_that_takes_a_value_names_its_default():
    # "--time-budget: Stop each run's training after S seconds", "--epochs: Override the
    # recipe's epochs", "--num-classes: Default: the registry's" (what is it?) and
    # design run's --device said nothing of what happens without them.
    silent = []
    for path, command in _commands():
        if command.callback.__module__ in _NOT_CHECKED_HERE:
            continue
        ctx = command.context_class(command, info_name=path)
        for param in command.get_params(ctx):
            record = param.get_help_record(ctx)
            if param.param_type_name != "option" or record is None or param.name == "help":
                continue
            if param.is_flag and not param.secondary_opts:  # --json: off unless given
                continue
            names, text = record
            if set(param.opts) & _NOTHING_UNLESS_GIVEN or text.startswith("Only ") or \
                    "Needed for a new sweep" in text or "[required]" in text:
                continue  # a filter (--family): every model without it
            if "default" not in text.lower() and (path, names) not in _SAID_OTHERWISE:
                silent.append((path, names))
    assert not silent, silent


def test_an_on_off_flags_default_reads_on_or_off():
    # click named it by the flag in effect, "(default: no-quick)", "(default: tta)",
    # where train's own said "(default: off)": read as values to type.
    for path in (["bench", "ops"], ["speedrun"], ["data", "download"]):
        said = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"}).output
        assert "(default: no-" not in said, path
    said = CliRunner().invoke(app, ["bench", "ops", "--help"], env={"COLUMNS": "200"}).output
    assert re.search(r"--quick / --no-quick .*\(default: off\)", said), said


def test_speedrun_help_gives_its_recipes_numbers():
    from cnnlab.bench.speedrun import RECIPES

    said = " ".join(CliRunner().invoke(app, ["speedrun", "--help"],
                                       env={"COLUMNS": "200"}).output.split())
    cpu, gpu = RECIPES["cpu"], RECIPES["cuda"]
    # mps runs the CPU's recipe (the recipes key on CUDA): "on a GPU" promised it the other
    assert (f"{cpu['epochs']} on a CPU or Apple GPU (mps), {gpu['epochs']} on a CUDA GPU"
            in said), said
    assert f"{cpu['model']} on a CPU or Apple GPU (mps), {gpu['model']} on a CUDA GPU" in said
    assert "0.94 on a CUDA GPU, else 0.92" in said and "on for CUDA GPUs" in said
    assert "after S seconds" not in said


def test_train_help_names_a_run_folder_as_it_is_named():
    # 20261126-101500-resnet18_small: a date, a time, the model.
    said = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"}).output
    assert "(default: <date>-<time>-<model>)" in said


def test_a_mistyped_option_is_answered_with_the_closest_name_first():
    # click listed them alphabetically: "--run (Possible options: --lr, --runs,
    # --warmup)", and "bench zoo --model" offered --help beside --models.
    result = CliRunner().invoke(app, ["speedrun", "--run", "2"])
    assert result.exit_code == 2
    assert "No such option: --run. Did you mean --runs? (or " in result.output
    error = CliRunner().invoke(app, ["bench", "zoo", "--model", "x"]).output.splitlines()[-1]
    assert error.endswith("No such option: --model. Did you mean --models?"), error
    result = CliRunner().invoke(app, ["train", "lenet_modern", "--hlep"])
    assert "Did you mean --help?" in result.output


def test_each_commands_line_in_the_programs_help_takes_two_lines_at_most():
    # models' and resume's ran to three lines at 80 columns, the details of their help
    # crowding the list a newcomer reads first.
    said = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "80"}).output
    listed = said[said.index("Commands:"):].splitlines()[1:]
    starts = [i for i, line in enumerate(listed) if re.match(r"  \S", line)] + [len(listed)]
    lengths = {listed[a].split()[0]: b - a for a, b in zip(starts, starts[1:], strict=False)}
    assert lengths and max(lengths.values()) <= 2, lengths


def test_compare_names_its_axis_option_by_what_it_takes():
    said = CliRunner().invoke(app, ["compare", "--help"], env={"COLUMNS": "200"}).output
    assert "--x AXIS" in said and "--x X " not in said


def test_data_download_names_the_folder_it_writes_by_default():
    # "(default: cache)": which? Its example says ~/.cache/cnnlab/fashion-mnist.
    said = " ".join(CliRunner().invoke(app, ["data", "download", "--help"],
                                       env={"COLUMNS": "200"}).output.split())
    assert "(default: fashion-mnist/ in cnnlab's cache, ~/.cache/cnnlab" in said, said


def _option_text(path: list[str], option: str) -> str:
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    [param] = [p for p in command.params if option in p.opts]
    return param.help


def test_each_choice_an_option_accepts_is_one_its_help_lists():
    # The help texts list the choices in words; the code keeps them in tuples. A value
    # added to a tuple (a new optimizer) must reach --help.
    from cnnlab.design.executors import EXECUTORS
    from cnnlab.design.spaces import SPACES
    from cnnlab.train.compare_figure import X_AXES
    from cnnlab.train.config import (
        AMP_MODES,
        COMPILE_MODES,
        FLIP_MODES,
        OPTIMIZERS,
        PRESETS,
        SCHEDULES,
    )

    listed = {("train", "--optimizer"): OPTIMIZERS, ("train", "--schedule"): SCHEDULES,
              ("train", "--amp"): AMP_MODES, ("train", "--compile-mode"): COMPILE_MODES,
              ("train", "--flip-mode"): FLIP_MODES, ("train", "--preset"): (*PRESETS, "none"),
              ("compare", "--x"): X_AXES, ("design run", "--executor"): EXECUTORS}
    for (path, option), choices in listed.items():
        words = re.findall(r"[\w-]+", _option_text(path.split(), option))
        assert set(choices) <= set(words), (path, option, set(choices) - set(words))
    spaces = _option_text(["design", "sample"], "--space")  # "anynetx_a (free), _b ..."
    assert all(f"_{space[-1]} " in spaces or space in spaces for space in SPACES), spaces
