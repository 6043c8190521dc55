"""Every --help gives a default one way, "(default: X)": click wrote "[default: X]" for
some options while cnnlab's own texts said "(default: X)" or "(default X)", option by
option; and a range's bound reads 2^63-1, not 9223372036854775807."""

import re

import pytest
from test_cli_help import _command_paths, _help

from cnnlab.cli.help_layout import _defaults_as_words


def test_every_help_writes_its_defaults_alike():
    for path in _command_paths():
        said = _help(path, 100)
        assert "[default" not in said, path
        assert not re.search(r"\(default [^:]", said), path
        assert not re.search(r"\d{10}", said), path


@pytest.mark.parametrize(("click_text", "shown"), [
    ("Seed.  [default: 0; x>=0]", "Seed. (default: 0)  [x>=0]"),
    ("Steps.  [x>=1]", "Steps.  [x>=1]"),
    ("Mode.  [default: best]", "Mode. (default: best)"),
    ("Seed.  [0<=x<=9223372036854775807]", "Seed.  [0<=x<=2^63-1]"),
    ("Shards.  [1<=x<=1024]", "Shards.  [1<=x<=1024]"),
    ("A run folder [RUN] or [FILE]", "A run folder [RUN] or [FILE]"),  # its own brackets
])
def test_clicks_note_is_rewritten_and_nothing_else(click_text, shown):
    assert _defaults_as_words(click_text) == shown
