"""Tab completion on cnnlab.data offers its names and modules, not its imports."""

import cnnlab.data


def test_the_data_package_offers_its_own_names_only():
    names = dir(cnnlab.data)
    assert set(cnnlab.data.__all__) <= set(names)
    assert {"loader", "folder", "dataset"} <= set(names)
    assert all(hasattr(cnnlab.data, name) for name in names)  # none offered that raises
    assert not {"inspect", "os", "Any", "annotations"} & set(names)
    assert cnnlab.data.load_dataset and cnnlab.data.os  # as before
