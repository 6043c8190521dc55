"""What `import cnnlab` offers a notebook: its modules as modules, no helper functions."""

import inspect

import cnnlab


def test_the_lazy_exports_module_is_a_module_and_its_function_is_not_offered():
    assert "lazy_exports" not in dir(cnnlab)
    assert inspect.ismodule(cnnlab.lazy_exports)
    import cnnlab.lazy_exports as module

    assert inspect.ismodule(module)
    assert cnnlab.get_model.__module__ == "cnnlab.models._registry"  # exports still work
