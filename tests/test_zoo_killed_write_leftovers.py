"""A `cnnlab bench zoo` killed (SIGKILL, a crash) while writing its table or plots leaves
a temporary file beside them; the next bench into that --out removes its preset's."""

from __future__ import annotations

from cnnlab.bench import zoo

ROW = {"model": "lenet_d2l", "status": "failed", "error": "stand-in"}


def test_the_next_store_removes_a_killed_benchs_temporary_files(tmp_path):
    # Found by SIGKILLing `bench zoo --data synthetic --epochs 1` while it drew its plots:
    # its rerun finished every model and left .zoo-book-acc-vs-params.png.XXXXXXXX.tmp.
    killed = [tmp_path / f".zoo-book{end}" for end in
              (".csv.0123abcd.tmp", ".md.89abcdef.tmp", "-acc-vs-params.png.7f5f4046.tmp")]
    # another preset's bench may be writing these now (its own lock), and a file of
    # the user's is no temporary file of a write
    others = [tmp_path / ".zoo-fast.md.01234567.tmp", tmp_path / "notes.txt"]
    for path in killed + others:
        path.write_bytes(b"")
    zoo.store_row(tmp_path, "book", dict(ROW))
    assert [p.name for p in killed if p.exists()] == []
    assert all(p.exists() for p in others)
    assert [r["model"] for r in zoo.read_rows(tmp_path / "zoo-book.csv")] == ["lenet_d2l"]
