"""One epoch's line of a run's class_metrics.jsonl read back (per-class accuracy and the
confusion matrix): for the report (report_evaluation), read_result and a resume's
result, each the same way.

Read as every log of a run is read (metrics.csv: runlog.MetricsLog.read): the lines a
held file kept out of it (``class_metrics.jsonl.pending``, log_appends) count, the
file's own winning for an epoch both have; and a last line without its line end is no
record, even where it parses: its write was not finished (a kill, a full disk, or being
written now), and a resume drops it (log_appends.drop_torn_tail).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from cnnlab.train.log_appends import kept_file

# Enough of a line's start to hold the epoch it begins with (see _EPOCH_START).
_START_BYTES = 64
# How cnnlab writes a line: json.dumps of a dict whose first key is the epoch.
_EPOCH_START = re.compile(r'\{"epoch": (\d+),')


def class_metrics(path: Path, epoch: int, n_classes: int) -> dict | None:
    """The last well-formed line of ``epoch`` in class_metrics.jsonl (``path``), else in
    the lines its holder kept out of it; None where neither has one."""
    path = Path(path)
    found = _class_metrics_in(path, epoch, n_classes)
    if found is None:
        found = _class_metrics_in(kept_file(path), epoch, n_classes)
    return found


def _class_metrics_in(path: Path, epoch: int, n_classes: int) -> dict | None:
    try:
        # From the end, and only the lines of ``epoch`` parsed (by the epoch each starts
        # with, as cnnlab writes it): the epoch asked for is mostly the last or near it,
        # and a run of 1,000 classes writes 3 MB a line (500 epochs are 1.5 GB), which
        # read from the start took seconds. A torn line's bytes that are no text spoil
        # that line alone (it fails to parse below): read strictly, they stopped the
        # report and read_result.
        with open(path, "rb") as file:
            for start, end in _lines_from_the_end(file):
                file.seek(start)
                head = file.read(min(end - start, _START_BYTES))
                if line_epoch(head.decode("utf-8", errors="replace")) not in (None, epoch):
                    continue
                file.seek(start)
                line = file.read(end - start).decode("utf-8", errors="replace")
                record = _well_formed(line, epoch, n_classes)
                if record is not None:
                    return record
    except OSError:  # none (the .pending file mostly), or unreadable
        return None
    return None


def _lines_from_the_end(file, block: int = 1 << 20):
    """Where the whole lines of the binary ``file`` are, the last first: (first byte,
    line end) of each but empty ones (no record). Only their places: a line is read
    where its start names the epoch looked for. What follows the last line end is no
    whole line, and is passed over."""
    end = file.seek(0, os.SEEK_END)
    line_end = None  # the end of the line being found; None until a line end is seen
    while end > 0:
        start = max(0, end - block)
        file.seek(start)  # each time: the caller reads the file between lines
        chunk = file.read(end - start)
        cut = len(chunk)
        while (cut := chunk.rfind(b"\n", 0, cut)) >= 0:
            if line_end is not None and start + cut + 1 < line_end:
                yield start + cut + 1, line_end
            line_end = start + cut
        end = start
    if line_end:  # the first line
        yield 0, line_end


def line_epoch(line: str) -> int | None:
    """The epoch a class_metrics.jsonl line starts with; None where it starts otherwise
    (written by hand, or by other code): that line is parsed whole to tell."""
    match = _EPOCH_START.match(line)
    return int(match.group(1)) if match else None


def _well_formed(line: str, epoch: int, n_classes: int) -> dict | None:
    """The record of ``line`` if it is ``epoch``'s, of ``n_classes`` classes; else None."""
    from cnnlab.train.runlog import accuracies_from_json

    try:
        record = json.loads(line)
        matrix, per_class = record["confusion"], record["per_class_acc"]
        if (record["epoch"] == epoch and len(matrix) == n_classes == len(per_class)
                and all(len(row) == n_classes for row in matrix)):
            return {**record, "per_class_acc": accuracies_from_json(per_class)}
    except (ValueError, KeyError, TypeError):
        pass  # a line edited or torn by hand: the others still count
    return None
