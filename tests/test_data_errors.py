"""Every error the data layer raises on purpose is a DataError (its docstring's promise):
one ``except DataError`` catches them all, each still the built-in kind it is."""

import importlib
import inspect
import pkgutil

import pytest

import cnnlab.data
from cnnlab.data import DataError
from cnnlab.data.image_file import ImageFileError, read_image


def _data_layer_errors():
    for module in pkgutil.iter_modules(cnnlab.data.__path__, "cnnlab.data."):
        found = importlib.import_module(module.name)
        for _, cls in inspect.getmembers(found, inspect.isclass):
            if issubclass(cls, Exception) and not issubclass(cls, Warning) \
                    and cls.__module__ == module.name:
                yield cls


def test_every_error_class_of_the_data_layer_is_a_data_error():
    errors = set(_data_layer_errors()) - {DataError}
    assert ImageFileError in errors
    assert [cls.__name__ for cls in errors if not issubclass(cls, DataError)] == []


def test_an_unreadable_image_file_is_a_data_error_and_still_a_value_error(tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(DataError, match="notes.png: not a readable image") as info:
        read_image(tmp_path / "notes.png", 1)
    assert isinstance(info.value, ValueError)  # `cnnlab predict` reports it per file
