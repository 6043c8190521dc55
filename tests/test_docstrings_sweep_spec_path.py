"""SweepSpec's docstring: ``data_root`` "as for TrainConfig", which takes a Path. A Path
there reached the store as is, and create_sweep failed with "Object of type PosixPath is
not JSON serializable"; it is kept as the text of the path."""

import json
from pathlib import Path

from cnnlab.design import SweepSpec


def test_sweep_spec_takes_a_path_as_data_root_as_train_config_does(tmp_path):
    spec = SweepSpec(space="anynetx_a", data_root=tmp_path / "fashion-mnist")
    assert spec.data_root == str(tmp_path / "fashion-mnist")
    stored = json.loads(json.dumps(spec.to_dict()))  # as the store writes and reads it
    assert SweepSpec.from_dict(stored) == spec
    assert isinstance(SweepSpec(space="anynetx_a", data_root=Path("data")).data_root, str)
