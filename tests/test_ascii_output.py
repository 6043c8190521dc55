"""Output whose encoding is not UTF-8 (an ASCII locale, Windows' cp1252): tables line up
and nothing ends the command with a UnicodeEncodeError. Each check runs the program's own
set-up (cnnlab.command_line) in a fresh process under that encoding."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

# A C locale with Python's UTF-8 mode and locale coercion off: stdout is ASCII, with the
# "surrogateescape" error handler (it writes an undecodable file name's bytes as they are).
C_LOCALE = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          env={**os.environ, **env}, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    return done


def table_lines(text: str) -> list[str]:
    """A box table's lines, without a terminal's styles (bold headers)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    return [line for line in text.splitlines() if line[:1] in "|+"]


# speedrun --ablate's table, with what its rows print beyond ASCII: "±" in every mean, "α"
# and "±" in variant names, and a two-column character (as a folder's class name may be).
ABLATION = """
    from cnnlab.command_line import _replace_what_output_cannot_encode
    _replace_what_output_cannot_encode()
    from cnnlab.cli.speedrun_tables import print_ablation

    def row(variant, kind):
        return dict(variant=variant, kind=kind, runs=2, diverged=0, reached=2,
                    final_acc_mean=0.9, final_acc_std=0.01, time_to_target_mean_s=1.5,
                    time_to_target_std_s=0.2, delta_acc_points=0.5, delta_time_s=0.1,
                    effect_acc_points=0.5)

    print_ablation([row("full recipe", "full"), row("translation \\u00b11 px", "adds"),
                    row("lookahead (k 5, \\u03b1 0.5)", "adds"), row("\\u732b", "adds")],
                   target=0.5, runs=2)
"""


@pytest.mark.parametrize("encoding", ["ascii", "cp1252"])
def test_a_speedrun_table_lines_up_in_an_output_without_its_characters(encoding):
    # "±" became "+/-" at the stream, after rich had measured the row as one character:
    # every row with a mean and spread stood two columns past the table's border.
    done = run_python(ABLATION, {"PYTHONIOENCODING": encoding})
    text = done.stdout.decode(encoding)
    lines = table_lines(text)
    assert len(lines) == 8 and len({len(line) for line in lines}) == 1, text
    # cp1252 holds "±" and keeps it; ASCII gets the look-alikes; neither has the "猫".
    assert ("90.00 ± 1.00%" if encoding == "cp1252" else "90.00 +/- 1.00%") in text
    assert "lookahead (k 5, a 0.5)" in text and "| ?" in text
    assert text.lstrip().startswith("What each") and "\n+---" in text  # rich's ASCII box


def test_a_message_on_stderr_is_written_as_stderr_escapes_it():
    # stderr escapes what it cannot hold ("\u732b"): the console lays out that text.
    done = run_python("""
        from cnnlab.command_line import _replace_what_output_cannot_encode
        _replace_what_output_cannot_encode()
        from cnnlab.cli.messages import warning
        warning("class \\u732b \\u2192 skipped")
    """, {"PYTHONIOENCODING": "ascii"})
    assert done.stderr.decode("ascii") == "warning: class \\u732b -> skipped\n"


def test_a_character_without_look_alike_under_a_c_locale_is_written_as_a_question_mark():
    # stdout's "surrogateescape" raised on any other character: "…", which rich puts in a
    # cut cell, ended `cnnlab summary regnetx_200mf` in a 60-column terminal.
    done = run_python("""
        import sys
        from cnnlab.command_line import _replace_what_output_cannot_encode
        _replace_what_output_cannot_encode()
        print("cut\\u2026 \\u732b name\\udcff")  # the last: a file name's undecodable byte
    """, C_LOCALE)
    assert done.stdout == b"cut~ ? name\xff\n"


def test_a_cut_layer_name_in_a_narrow_terminal_under_a_c_locale():
    done = run_python("""
        import sys
        sys.argv = ["cnnlab", "summary", "regnetx_200mf"]
        from cnnlab.command_line import main
        main()
    """, {**C_LOCALE, "TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": "60",
          "FORCE_COLOR": "1"})  # rich 13 (the floor) knows no TTY_COMPATIBLE
    lines = table_lines(done.stdout.decode("ascii"))
    assert any("~" in line for line in lines) and len({len(line) for line in lines}) == 1
