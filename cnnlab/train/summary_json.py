"""summary.json's text: indented for people, its confusion matrix a row a line.

``json.dumps(summary, indent=1)`` put every count of the matrix on a line of its own: a
run of 1,000 classes wrote 1,004,118 lines (5.8 MiB), and the indent kept json on its
slow pure-Python encoder, about a second at every train and resume. A row a line is
the same JSON to every reader (json.loads, jq, a browser), and the matrix reads as one.

A best accuracy not measured yet (TrainResult's NaN) is written null: JSON has no NaN
(jq and a browser refuse the file), and the trainer's -1 it held before read as an
accuracy. read_result takes both back as NaN (outcome.best_accuracy).
"""

from __future__ import annotations

import json
import math
import uuid


def summary_json(summary: dict) -> str:
    """``summary`` as summary.json holds it: as ``json.dumps(summary, indent=1)``, but
    its ``confusion`` (a list of rows of counts) written a row a line, and a NaN
    ``best_test_acc`` (no evaluation yet) as null."""
    best = summary.get("best_test_acc")
    if isinstance(best, float) and math.isnan(best):
        summary = {**summary, "best_test_acc": None}
    matrix = summary.get("confusion")
    if not matrix or not isinstance(matrix, list):
        return json.dumps(summary, indent=1)
    # The matrix's place held by a string no summary holds, then the rows put there.
    marker = f"confusion matrix {uuid.uuid4().hex}"
    text = json.dumps({**summary, "confusion": marker}, indent=1)
    rows = ",\n".join(f"  {json.dumps(row)}" for row in matrix)  # depth 2: 2 spaces
    return text.replace(json.dumps(marker), f"[\n{rows}\n ]", 1)
