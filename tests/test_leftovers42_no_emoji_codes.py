"""A message whose path or value holds colons is printed as written: rich read ":b:" in
`--run-name a:b: ...` and ":ok:" in `runs/x:ok: ...` as emoji codes (a🅱, x🆗)."""

from __future__ import annotations

from cnnlab.cli.messages import error, warning


def test_colons_in_a_message_stay_colons(capsys):
    error("--run-name a:b: allowed: a folder name")
    warning("runs/x:ok: exists")
    said = capsys.readouterr().err
    assert "a:b: allowed" in said and "runs/x:ok: exists" in said, said
