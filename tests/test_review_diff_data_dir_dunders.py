"""dir(cnnlab.data) keeps the module's own dunders (__all__, __path__, __file__, __doc__),
as dir(cnnlab) and dir(cnnlab.train) do: its __dir__ had dropped them with its imports."""

import pydoc

import cnnlab.data


def test_the_data_package_offers_its_dunders_as_the_others_do():
    names = set(dir(cnnlab.data))
    assert {"__all__", "__path__", "__file__", "__doc__", "__name__"} <= names
    assert not {"inspect", "os", "Any", "annotations"} & names


def test_pydoc_lists_the_data_packages_all():
    assert "__all__ = [" in pydoc.render_doc(cnnlab.data, renderer=pydoc.plaintext)
