"""Shared by the serialization tests:

* ``isolated_registries``, a fixture (autouse once imported): each test gets
  sepconv's and Keras's registries of custom objects as they were before it,
  so tests can register freely;
* ``no_code_from_configs()``, a context manager under which importing a
  module not yet imported, evaluating or compiling text, loading bytecode or
  unpickling fails the test (sepconv's own modules are all imported first:
  importing one from source compiles it).
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import marshal
import pickle
import pkgutil
import sys

import pytest
from keras.src.saving import object_registration as keras_registration

import sepconv
from sepconv.saving import object_registration


@pytest.fixture(autouse=True)
def isolated_registries():
    saved = [(table, dict(table)) for table in (
        object_registration._GLOBAL_CUSTOM_OBJECTS, object_registration._GLOBAL_CUSTOM_NAMES,
        keras_registration.GLOBAL_CUSTOM_OBJECTS, keras_registration.GLOBAL_CUSTOM_NAMES)]
    yield
    for table, content in saved:
        table.clear()
        table.update(content)


def _import_all_of_sepconv():
    for module in pkgutil.walk_packages(sepconv.__path__, "sepconv."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)


@contextlib.contextmanager
def no_code_from_configs():
    def refuse(what):
        def refused(*args, **kwargs):
            raise AssertionError(f"deserialization called {what}")
        return refused

    _import_all_of_sepconv()
    real_import = builtins.__import__

    def guarded_import(name, *args, **kwargs):
        if name not in sys.modules:
            raise AssertionError(f"deserialization imported {name}")
        return real_import(name, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        for module, name in [(marshal, "loads"), (pickle, "loads"), (pickle, "load"),
                             (builtins, "eval"), (builtins, "exec"), (builtins, "compile"),
                             (importlib, "import_module")]:
            patch.setattr(module, name, refuse(f"{module.__name__}.{name}"))
        patch.setattr(builtins, "__import__", guarded_import)
        yield

