"""``serialize_keras_object`` / ``deserialize_keras_object`` against Keras
3.15.1's: the same dicts for the same objects, Keras's dicts read back into
the equivalent sepconv objects, Keras's lookup rules, and the safety rules
(lookups only: no import, eval, bytecode or pickle)."""

from __future__ import annotations

import copy
import json
import sys
import warnings
from contextlib import nullcontext

import numpy as np
import pytest
import torch

import sepconv
from keras_reference import keras
from saving_fixtures import isolated_registries, no_code_from_configs  # noqa: F401  (fixture)
from sepconv.saving import serialization
from sepconv.saving.serialization import SafeModeScope, UnknownObjectError

serialize = sepconv.saving.serialize_keras_object
deserialize = sepconv.saving.deserialize_keras_object


def jsonable(value):
    """A value as JSON stores it: tuples as lists, NumPy scalars as numbers."""
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def through_json(value):
    return json.loads(json.dumps(value))


def assert_same_value(ours, theirs):
    """Deserialized plain values: equal, with equal types (arrays and tensors
    by content and dtype)."""
    assert type(ours) is type(theirs), (ours, theirs)
    if isinstance(theirs, np.ndarray):
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
    elif isinstance(theirs, torch.Tensor):
        assert ours.dtype == theirs.dtype and torch.equal(ours, theirs)
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs)
        for mine, reference in zip(ours, theirs):
            assert_same_value(mine, reference)
    elif isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for key in theirs:
            assert_same_value(ours[key], theirs[key])
    else:
        assert ours == theirs


# -- plain values ------------------------------------------------------------------

VALUES = {
    "none": None,
    "int": 3,
    "float": 2.5,
    "str": "relu",
    "bool": True,
    "list_with_tuple": [1, (2, 3)],
    "tuple": (1, 2),  # a tuple stays a tuple: no "__tuple__" dict in Keras 3
    "dict": {"a": (1, 2), "b": [None, "x"]},
    "array": np.array([[1.0, 2.0]], dtype="float32"),
    "int_array": np.arange(3, dtype="int16"),
    "numpy_scalar": np.float32(1.5),
    "numpy_bool": np.bool_(True),
    "zero_dim_array": np.array(7),
    "tensor": torch.tensor([1, 2]),
    "float64_tensor": torch.tensor([[1.5, -2.0]], dtype=torch.float64),
    "bool_tensor": torch.tensor([True, False]),
    "bytes": b"xy",
    "slice": slice(1, None, 2),
    "ellipsis": Ellipsis,
    "nested": {"arrays": [np.ones(2, dtype="float64")], "scale": np.int64(4)},
}


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
def test_values_serialize_as_keras_and_read_back_as_keras(value):
    written = serialize(value)
    expected = keras.saving.serialize_keras_object(value)
    assert type(written) is type(expected)
    assert written == expected
    assert_same_value(deserialize(expected), keras.saving.deserialize_keras_object(expected))
    stored = through_json(expected)
    assert_same_value(deserialize(stored), keras.saving.deserialize_keras_object(stored))


def test_tuples_are_not_written_as_tuple_dicts():
    assert serialize((1, (2, 3))) == (1, (2, 3))
    assert keras.saving.serialize_keras_object((1, (2, 3))) == (1, (2, 3))
    # Keras 2's JSON writer did write them; those configs are read as tuples.
    assert deserialize({"class_name": "__tuple__", "config": {"value": [1, [2]]}}) == (1, [2])


def test_strings_dicts_and_symbolic_tensors():
    assert deserialize("relu") == keras.saving.deserialize_keras_object("relu") == "relu"
    assert deserialize("fn", custom_objects={"fn": abs}) is abs
    assert keras.saving.deserialize_keras_object("fn", custom_objects={"fn": abs}) is abs
    incomplete = {"class_name": "x"}  # no "config": a plain dict
    assert deserialize(incomplete) == keras.saving.deserialize_keras_object(incomplete)
    inputs = sepconv.Input((3,), name="sym")
    data = serialize(inputs)
    assert data == {"class_name": "__keras_tensor__", "config": {
        "shape": (None, 3), "dtype": "float32", "keras_history": ["sym", 0, 0]}}
    tensor = deserialize(data)
    assert tensor.shape == (None, 3) and tensor._pre_serialization_keras_history == ["sym", 0, 0]


# -- sepconv's built-ins -----------------------------------------------------------


def conv_called_on_data(lib):
    layer = lib.layers.Conv2D(2, 3, name="conv", kernel_regularizer=lib.regularizers.L1(0.1))
    layer(torch.zeros(1, 6, 6, 3))
    return layer


BUILTINS = {
    "dense": lambda lib: lib.layers.Dense(
        3, activation="relu", kernel_initializer=lib.initializers.GlorotUniform(seed=1),
        kernel_regularizer=lib.regularizers.L2(0.1),
        bias_constraint=lib.constraints.MaxNorm(2), name="dense"),
    "built_conv": conv_called_on_data,
    "separable": lambda lib: lib.layers.SeparableConv2D(
        4, (3, 1), depth_multiplier=2, padding="same", name="sep"),
    "batch_norm": lambda lib: lib.layers.BatchNormalization(axis=1, name="bn"),
    "activation_layer": lambda lib: lib.layers.Activation("swish", name="act"),
    "input_layer": lambda lib: lib.layers.InputLayer(shape=(3, 4), name="inp"),
    "glorot": lambda lib: lib.initializers.GlorotUniform(seed=3),
    "variance_scaling": lambda lib: lib.initializers.VarianceScaling(
        scale=2.0, mode="fan_out", distribution="uniform"),
    "constant": lambda lib: lib.initializers.Constant(0.5),
    "l1l2": lambda lib: lib.regularizers.L1L2(0.1, 0.2),
    "orthogonal_regularizer": lambda lib: lib.regularizers.OrthogonalRegularizer(0.1),
    "max_norm": lambda lib: lib.constraints.MaxNorm(2, axis=[0, 1]),
    "non_neg": lambda lib: lib.constraints.NonNeg(),
    "relu": lambda lib: lib.activations.relu,
    "gelu": lambda lib: lib.activations.gelu,
    "policy": lambda lib: lib.DTypePolicy("mixed_bfloat16"),
    "sequential": lambda lib: lib.Sequential(
        [lib.Input((4,), name="in"), lib.layers.Dense(2, name="ds")], name="seq"),
}


@pytest.mark.parametrize("make", BUILTINS.values(), ids=BUILTINS.keys())
def test_builtins_serialize_as_keras(make):
    assert serialize(make(sepconv)) == keras.saving.serialize_keras_object(make(keras))


def comparable(obj):
    """What identifies a deserialized object: its class name and config
    (as JSON), or a function's name; built state for layers."""
    if callable(obj) and not hasattr(obj, "get_config"):
        return ("function", obj.__name__)
    built = getattr(obj, "built", None)
    return (type(obj).__name__, jsonable(obj.get_config()), built)


@pytest.mark.parametrize("make", BUILTINS.values(), ids=BUILTINS.keys())
def test_keras_dicts_deserialize_to_the_equivalent_sepconv_object(make):
    theirs = make(keras)
    data = keras.saving.serialize_keras_object(theirs)
    for stored in (data, through_json(data)):
        ours = deserialize(stored)
        assert comparable(ours) == comparable(theirs)
        assert type(ours).__module__.startswith("sepconv") or ours.__module__.startswith(
            "sepconv")


def test_keras_functional_model_dict_deserializes():
    def build(lib):
        inputs = lib.Input((5,), name="x")
        hidden = lib.layers.Dense(4, activation="relu", name="h")(inputs)
        return lib.Model(inputs, lib.layers.Dense(2, name="y")(hidden), name="m")

    theirs = build(keras)
    ours = deserialize(through_json(keras.saving.serialize_keras_object(theirs)))
    assert isinstance(ours, sepconv.models.Functional)
    assert [layer.name for layer in ours.layers] == ["x", "h", "y"]
    ours.set_weights(theirs.get_weights())
    x = np.random.default_rng(0).standard_normal((3, 5)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=2e-5, atol=1e-6)


def test_legacy_helpers_keep_working():
    layer = sepconv.layers.Dense(2, name="d")
    data = serialization.serialize_layer(layer)
    assert data == serialize(layer)
    assert serialization.layer_class(data) is sepconv.layers.Dense
    assert serialization.deserialize_layer(data).get_config() == layer.get_config()
    no_config = {"class_name": "Flatten"}  # older writers omit an empty config
    assert isinstance(serialization.deserialize_layer(no_config), sepconv.layers.Flatten)
    with pytest.raises(TypeError, match="dict with 'class_name'.*Received: config=\\['Dense'\\]"):
        serialization.deserialize_layer(["Dense"])


# -- module rules ----------------------------------------------------------------------


def functional_config():
    inputs = keras.Input((2,), name="i")
    return keras.Model(inputs, keras.layers.Dense(1, name="o")(inputs)).get_config()


@pytest.mark.parametrize("module, class_name, config, registered_name", [
    ("keras.layers", "Dense", {"units": 2}, None),
    ("keras.src.layers.core.dense", "Dense", {"units": 2}, None),  # Keras imports it
    ("keras.initializers", "Identity", {}, None),
    ("keras.initializers", "Zeros", {}, None),
    ("keras", "DTypePolicy", {"name": "float16"}, None),
    ("keras.src.models.functional", "Functional", functional_config, "Functional"),
])
def test_keras_modules_resolve_to_builtins(module, class_name, config, registered_name):
    data = {"module": module, "class_name": class_name,
            "config": config() if callable(config) else config,
            "registered_name": registered_name}
    assert type(keras.saving.deserialize_keras_object(copy.deepcopy(data))).__name__ == class_name
    ours = serialization.layer_class(data)
    assert ours.__name__ == class_name and ours.__module__.startswith("sepconv.")
    assert type(deserialize(data)) is ours


def test_keras2_configs_without_module_find_builtins():
    # Keras 3 needs a module here; Keras 2 configs (legacy .h5) have none.
    layer = deserialize({"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 3}})
    assert isinstance(layer, sepconv.layers.Conv2D) and layer.filters == 2


def test_a_builtin_with_a_registered_name_is_an_error_as_in_keras():
    data = {"module": "keras.layers", "class_name": "Dense", "config": {"units": 3},
            "registered_name": "pkg>Dense"}
    with pytest.raises(ValueError, match="registered_name"):
        keras.saving.deserialize_keras_object(data)
    with pytest.raises(ValueError, match="built-in.*Received: registered_name='pkg>Dense'"):
        deserialize(data)


@pytest.mark.parametrize("data, kind, name", [
    ({"module": "my_project.layers", "class_name": "Dense", "config": {},
      "registered_name": "Dense"}, "class", "Dense"),  # a user's Dense is not ours
    ({"module": None, "class_name": "Mine", "config": {}, "registered_name": "Mine"},
     "class", "Mine"),
    ({"class_name": "NoSuchLayer", "config": {}}, "class", "NoSuchLayer"),
    ({"module": "builtins", "class_name": "function", "config": "my_fn",
      "registered_name": "function"}, "function", "my_fn"),
], ids=["foreign-module", "main-module", "unknown-builtin", "function"])
def test_unknown_objects_name_the_fix(data, kind, name):
    with pytest.raises(TypeError):
        keras.saving.deserialize_keras_object(data)
    with pytest.raises(UnknownObjectError) as info:
        deserialize(data)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)
    message = str(info.value)
    assert f"Could not locate {kind} {name!r}" in message
    assert "custom_objects={" in message and "register_keras_serializable" in message
    assert "Received: config=" in message


def test_argument_checks():
    with pytest.raises(TypeError, match="custom_objects.*Received: custom_objects=\\['x'\\]"):
        deserialize({}, custom_objects=["x"])
    with pytest.raises(TypeError, match="Received: unexpected arguments \\['bogus'\\]"):
        deserialize({}, bogus=1)
    with pytest.raises(TypeError, match="Received: config={1, 2} of type set"):
        deserialize({1, 2})
    with pytest.raises(TypeError, match="'config' of a serialized Dense must be a dict"):
        deserialize({"module": "keras.layers", "class_name": "Dense", "config": [1]})
    with pytest.raises(TypeError, match="TensorFlow"):
        deserialize({"class_name": "__typespec__", "config": []})
    with pytest.raises(TypeError, match="Cannot serialize the class Dense itself"):
        serialize(sepconv.layers.Dense)
    with pytest.raises(TypeError, match="get_config.*Received: obj="):
        serialize(torch.nn.ReLU())


# -- user objects ------------------------------------------------------------------------


class Scale:
    """A user object with a config (not a layer)."""

    def __init__(self, factor=1.0):
        self.factor = factor

    def get_config(self):
        return {"factor": self.factor, "pair": (self.factor, 2)}

    @classmethod
    def from_config(cls, config):
        return cls(config["factor"])


def add_one(x):
    return x + 1


def test_user_objects_serialize_as_keras():
    for obj in (Scale(2.0), add_one, [Scale(), {"fn": add_one}]):
        assert serialize(obj) == keras.saving.serialize_keras_object(obj)
    for lib in (sepconv, keras):
        lib.saving.register_keras_serializable("pkg")(Scale)
        lib.saving.register_keras_serializable("pkg")(add_one)
    for obj in (Scale(2.0), add_one):
        assert serialize(obj) == keras.saving.serialize_keras_object(obj)
    assert serialize(Scale())["registered_name"] == "pkg>Scale"
    assert serialize(add_one)["config"] == "pkg>add_one"


def test_main_module_is_written_as_none():
    cls = type("Script", (Scale,), {"__module__": "__main__"})
    assert serialize(cls())["module"] is None
    assert keras.saving.serialize_keras_object(cls())["module"] is None


def test_lambdas_are_written_as_keras_writes_them():
    fn = lambda x, k=2: x * k  # noqa: E731
    with pytest.warns(UserWarning, match="lambda"):
        ours = serialize(fn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ours == keras.saving.serialize_keras_object(fn)


@pytest.mark.parametrize("how", ["custom_objects", "scope", "registered"])
def test_user_objects_load_by_custom_objects_scope_or_registration(how):
    data = through_json(keras.saving.serialize_keras_object(Scale(3.0)))
    fn_data = through_json(keras.saving.serialize_keras_object(add_one))
    kwargs = {}
    if how == "custom_objects":
        kwargs["custom_objects"] = {"Scale": Scale, "add_one": add_one}
    elif how == "registered":
        sepconv.saving.register_keras_serializable("pkg")(Scale)
        sepconv.saving.register_keras_serializable("pkg")(add_one)
        data = serialize(Scale(3.0))
        fn_data = serialize(add_one)
    scope = sepconv.saving.custom_object_scope(
        {"Scale": Scale, "add_one": add_one} if how == "scope" else {})
    with scope:
        assert deserialize(data, **kwargs).factor == 3.0
        assert deserialize(fn_data, **kwargs) is add_one
        assert deserialize([fn_data], **kwargs) == [add_one]
    with pytest.raises(UnknownObjectError) if how != "registered" else nullcontext():
        deserialize(data)  # outside the scope, without custom_objects


def test_registered_functions_saved_by_keras_up_to_3_6_are_found():
    # Keras <= 3.6 wrote a registered function under its bare name.
    sepconv.saving.register_keras_serializable("pkg")(add_one)
    data = {"module": "builtins", "class_name": "function", "config": "add_one",
            "registered_name": "function"}
    assert deserialize(data) is add_one


def make_initializer_class(base):
    class Halves(base):
        def __init__(self, value=0.5):
            self.value = value

        def __call__(self, shape, dtype=None):
            return torch.full(shape, self.value)

        def get_config(self):
            return {"value": self.value}

    return Halves


@pytest.mark.parametrize("how", ["registered", "custom_objects", "scope"])
def test_a_keras_layer_with_a_custom_initializer_loads(how):
    keras_halves = make_initializer_class(keras.initializers.Initializer)
    our_halves = make_initializer_class(sepconv.initializers.Initializer)
    if how == "registered":
        keras.saving.register_keras_serializable("pkg")(keras_halves)
        sepconv.saving.register_keras_serializable("pkg")(our_halves)
    theirs = keras.layers.Dense(2, kernel_initializer=keras_halves(0.25), name="d")
    data = through_json(keras.saving.serialize_keras_object(theirs))
    kwargs = {"custom_objects": {"Halves": our_halves}} if how == "custom_objects" else {}
    with sepconv.saving.custom_object_scope({"Halves": our_halves} if how == "scope" else {}):
        layer = deserialize(data, **kwargs)
    assert isinstance(layer.kernel_initializer, our_halves)
    assert layer.kernel_initializer.value == 0.25
    # ... and writes the same nested dict as Keras for the equivalent object.
    written = serialize(sepconv.layers.Dense(2, kernel_initializer=our_halves(0.25), name="d"))
    assert written["config"]["kernel_initializer"] == \
        keras.saving.serialize_keras_object(theirs)["config"]["kernel_initializer"]


def test_a_registered_user_layer_round_trips_without_custom_objects():
    @sepconv.saving.register_keras_serializable("pkg")
    class Doubler(sepconv.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, inputs):
            return inputs * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    @keras.saving.register_keras_serializable("pkg")
    class KerasDoubler(keras.layers.Layer):
        pass

    layer = Doubler(3.0, name="double")
    layer(torch.ones(1, 2))
    data = serialize(layer)
    KerasDoubler.__name__ = "Doubler"
    keras_data = keras.saving.serialize_keras_object(KerasDoubler(name="double"))
    assert (data["module"], data["class_name"], data["registered_name"]) == (
        keras_data["module"], "Doubler", "pkg>Doubler")
    assert data["build_config"] == {"input_shape": (1, 2)}
    rebuilt = deserialize(through_json(data))
    assert isinstance(rebuilt, Doubler) and rebuilt.factor == 3.0 and rebuilt.built


def test_registered_objects_win_over_custom_objects_as_in_keras():
    class Other(Scale):
        pass

    for lib in (sepconv, keras):
        lib.saving.register_keras_serializable("pkg")(Scale)
    data = {"module": __name__, "class_name": "Scale", "config": {"factor": 1.0},
            "registered_name": "pkg>Scale"}
    custom = {"pkg>Scale": Other}
    assert type(keras.saving.deserialize_keras_object(data, custom_objects=custom)) is Scale
    assert type(deserialize(data, custom_objects=custom)) is Scale


# -- safety ---------------------------------------------------------------------------


def keras_lambda_dict():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return through_json(keras.saving.serialize_keras_object(lambda x: x * 2))


def test_a_lambda_is_refused_in_safe_mode_as_in_keras():
    data = keras_lambda_dict()
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.saving.deserialize_keras_object(data)
    with pytest.raises(ValueError) as info, no_code_from_configs():
        deserialize(data)
    message = str(info.value)
    assert "refused in safe mode" in message and "safe_mode=False" in message
    assert "custom_objects={'<layer name>': function}" in message


def test_a_lambda_is_refused_with_safe_mode_off_too():
    data = keras_lambda_dict()
    with pytest.raises(ValueError, match="never runs bytecode from a config, even with "
                                         "safe_mode=False"), no_code_from_configs():
        deserialize(data, safe_mode=False)
    with pytest.raises(ValueError, match="never runs bytecode"), no_code_from_configs():
        deserialize({"values": [data]}, safe_mode=False)


@pytest.mark.parametrize("module, class_name", [
    ("os", "system"), ("sepconv_tests_never_imported", "Payload"),
    ("subprocess", "Popen"), ("keras.src.saving.serialization_lib", "deserialize_keras_object"),
])
def test_modules_named_in_configs_are_never_imported(module, class_name):
    for data in ({"module": module, "class_name": class_name, "config": {},
                  "registered_name": None},
                 {"module": module, "class_name": "function", "config": class_name,
                  "registered_name": "function"}):
        with pytest.raises(UnknownObjectError), no_code_from_configs():
            deserialize(data, safe_mode=False)
    assert "sepconv_tests_never_imported" not in sys.modules


def test_a_keras_module_only_finds_builtins_of_its_kind():
    # sepconv has no Identity layer: the Identity initializer must not stand in.
    data = {"module": "keras.layers", "class_name": "Identity", "config": {},
            "registered_name": None}
    with pytest.raises(UnknownObjectError, match="class 'Identity'"):
        deserialize(data)


def test_safe_mode_scope_wins_over_the_argument():
    data = keras_lambda_dict()
    with SafeModeScope(True):
        with pytest.raises(ValueError, match="refused in safe mode"):
            deserialize(data, safe_mode=False)
    with SafeModeScope(False):
        assert serialization.in_safe_mode() is False
        with pytest.raises(ValueError, match="even with safe_mode=False"):
            deserialize(data)
    assert serialization.in_safe_mode() is None
