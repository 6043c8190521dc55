"""open_for_prediction(model.onnx, threads=N) takes a NumPy integer as a count, as
onnxruntime does: the check added for threads=2.5 refused np.int64(1) as "not a whole
number", where it had run before."""

import numpy as np
import pytest

from cnnlab.train.predict import open_for_prediction

pytest.importorskip("onnxruntime")
from test_mutation39_predict_threads import graph_and_photo  # noqa: E402, F401, F811


def test_a_numpy_integer_is_a_count_of_threads(graph_and_photo):  # noqa: F811
    onnx, _ = graph_and_photo
    opened = open_for_prediction(onnx, threads=np.int64(1))
    assert opened.model.session.get_session_options().intra_op_num_threads == 1


@pytest.mark.parametrize("threads", [np.int64(0), np.float64(2.0), True])
def test_not_a_count_is_still_refused(tmp_path, threads):
    with pytest.raises(ValueError, match="a whole number of CPU threads"):
        open_for_prediction(tmp_path / "m.onnx", threads=threads)
