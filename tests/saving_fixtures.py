"""Shared by the saving and serialization tests:

* ``sequential_model(lib)``, the same small Sequential model built with
  ``lib`` = sepconv or keras (every layer family the files must carry);

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
import importlib.util
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

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        base = name
        if level:  # a relative import (``from . import files`` inside h5py)
            package = (globals or {}).get("__package__") or ""
            base = importlib.util.resolve_name("." * level + name, package)
        wanted = [base] + [f"{base}.{item}" for item in fromlist or ()
                           if item != "*" and not hasattr(sys.modules.get(base), item)]
        for module in wanted:
            # Codec modules are the standard library's own lookups (zipfile
            # decodes member names with cp437), never named by a config.
            if module not in sys.modules and not module.startswith("encodings."):
                raise AssertionError(f"deserialization imported {module}")
        return real_import(name, globals, locals, fromlist, level)

    with pytest.MonkeyPatch.context() as patch:
        for module, name in [(marshal, "loads"), (pickle, "loads"), (pickle, "load"),
                             (builtins, "eval"), (builtins, "exec"), (builtins, "compile"),
                             (importlib, "import_module")]:
            patch.setattr(module, name, refuse(f"{module.__name__}.{name}"))
        patch.setattr(builtins, "__import__", guarded_import)
        yield


def sequential_model(lib):
    """SeparableConv2D, BatchNormalization, ReLU, DepthwiseConv2D, grouped
    Conv2D, pooling and Dense, named alike in sepconv and Keras."""
    return lib.Sequential([
        lib.Input((12, 12, 4), name="image"),
        lib.layers.SeparableConv2D(8, 3, padding="same", depth_multiplier=2, name="sep"),
        lib.layers.BatchNormalization(name="bn"),
        lib.layers.ReLU(6.0, name="relu"),
        lib.layers.DepthwiseConv2D(3, strides=2, name="dw"),
        lib.layers.Conv2D(8, 1, groups=2, name="grouped"),
        lib.layers.MaxPooling2D(name="pool"),
        lib.layers.GlobalAveragePooling2D(name="gap"),
        lib.layers.Dense(3, activation="softmax", name="head"),
    ], name="seq")
