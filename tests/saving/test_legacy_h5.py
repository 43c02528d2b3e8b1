"""Legacy HDF5 files (Keras 2 / tf.keras ``.h5``, and Keras 3's legacy
writer) read by sepconv: models rebuilt from their configs, weights loaded in
order or by name, mismatches and broken files reported, applications given a
weights file. Keras 3.15.1 builds the reference models and writes what it
can (``model.save("m.h5")``, ``save_weights_to_hdf5_group``); files in
tf.keras's own form are written from Keras models with tf.keras's layout
(``name:0`` weight names, byte-string attributes) and the Keras 2 configs in
``data/``, and must predict what the Keras model with the same weights does."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import warnings

os.environ.setdefault("KERAS_BACKEND", "torch")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras.src.legacy.saving import legacy_h5_format  # noqa: E402

import sepconv  # noqa: E402
from error_checks import expect_error  # noqa: E402
from keras_reference import OUTPUT_RTOL, assert_close  # noqa: E402
from saving_fixtures import sequential_model  # noqa: E402
from sepconv.saving.legacy_h5 import (  # noqa: E402
    load_model_from_legacy_h5,
    load_weights_from_legacy_h5,
)

DATA = pathlib.Path(__file__).parent / "data"


# ------------------------------------------------------------------ helpers
def randomized(model, seed=0):
    """Weights that make every layer matter: He-scaled kernels, and
    BatchNormalization statistics far from their initial 0 / 1."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for weight in layer.weights:
            shape, name = tuple(weight.shape), weight.name
            if name in ("gamma", "moving_variance"):
                value = rng.uniform(0.5, 1.5, shape)
            elif name in ("beta", "moving_mean", "bias"):
                value = rng.normal(0.0, 0.3, shape)
            else:
                depthwise = "depthwise" in name
                fan_in = int(np.prod(shape[:-2] if depthwise else shape[:-1]))
                value = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
            weight.assign(value.astype(np.float32))
    return model


def inputs_for(model, seed=1):
    shape = tuple(model.inputs[0].shape)[1:]
    return np.random.default_rng(seed).standard_normal((3,) + shape).astype(np.float32)


def assert_same_predictions(ours, theirs, x=None):
    x = inputs_for(theirs) if x is None else x
    assert_close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), OUTPUT_RTOL,
                 "predictions")


def functional_model(lib, head_units=3):
    x = lib.Input((12, 12, 4), name="img")
    a = lib.layers.SeparableConv2D(8, 3, padding="same", depth_multiplier=2,
                                   activation="relu", name="sep")(x)
    a = lib.layers.BatchNormalization(name="bn")(a)
    b = lib.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, use_bias=False,
                                   name="dw")(x)
    b = lib.layers.Conv2D(8, 1, groups=2, name="grouped")(b)
    h = lib.layers.Add(name="add")([a, b])
    inner = lib.Sequential([lib.Input((12, 12, 8), name="inner_in"),
                            lib.layers.DepthwiseConv2D(3, strides=2, name="inner_dw"),
                            lib.layers.MaxPooling2D(2, padding="same", name="inner_pool")],
                           name="inner")
    h = lib.layers.GlobalAveragePooling2D(name="gap")(inner(h))
    out = lib.layers.Dense(head_units, activation="softmax", name="head")(h)
    return lib.Model(x, out, name="func")


BUILDERS = {"sequential": sequential_model, "functional": functional_model}


def _tf_weight_name(weight):
    """tf.keras's variable name: the owning layer, the weight, ':0'."""
    return f"{weight.path.split('/')[-2]}/{weight.name}:0"


def write_tf_keras_file(path, model, model_config=None, chunks=1):
    """A file laid out as tf.keras wrote it: a full model (``model_config``
    and the ``model_weights`` group) or weights only (layers at the root),
    attribute lists as byte-string arrays, optionally split into chunks."""
    with h5py.File(path, "w") as h5file:
        if model_config is not None:
            h5file.attrs["keras_version"] = b"2.15.0"
            h5file.attrs["backend"] = b"tensorflow"
            h5file.attrs["model_config"] = json.dumps(model_config).encode("utf8")
            root = h5file.create_group("model_weights")
        else:
            root = h5file
        root.attrs["keras_version"] = b"2.15.0"
        root.attrs["backend"] = b"tensorflow"
        names = np.array([layer.name.encode("utf8") for layer in model.layers])
        if chunks == 1:
            root.attrs["layer_names"] = names
        else:
            for index, part in enumerate(np.array_split(names, chunks)):
                root.attrs[f"layer_names{index}"] = part
        for layer in model.layers:
            group = root.create_group(layer.name)
            weights = layer.trainable_weights + layer.non_trainable_weights
            weight_names = [_tf_weight_name(w).encode("utf8") for w in weights]
            group.attrs["weight_names"] = np.array(weight_names)
            for name, weight in zip(weight_names, weights):
                group.create_dataset(name, data=keras.ops.convert_to_numpy(weight))


def write_keras_weights_file(path, model):
    """Keras 3's legacy weights-only writer (what `save_weights("w.h5")`
    wrote before Keras 3 required `.weights.h5`)."""
    with h5py.File(path, "w") as h5file:
        legacy_h5_format.save_weights_to_hdf5_group(h5file, model)


@pytest.fixture(autouse=True)
def _quiet_keras():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*HDF5 file via `model.save\\(\\)`.*")
        warnings.filterwarnings("ignore", message=".*legacy.*")
        yield


# ------------------------------------------------------ whole models, Keras 3
@pytest.mark.parametrize("kind", BUILDERS)
def test_keras3_legacy_h5_model_loads(kind, tmp_path):
    theirs = randomized(BUILDERS[kind](keras))
    theirs.save(tmp_path / "model.h5")
    ours = load_model_from_legacy_h5(tmp_path / "model.h5")
    assert isinstance(ours, sepconv.Model) and ours.name == theirs.name
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    assert ours.count_params() == theirs.count_params()
    assert_same_predictions(ours, theirs)
    # The public entry point dispatches on the extension.
    again = sepconv.models.load_model(str(tmp_path / "model.h5"))
    assert_same_predictions(again, theirs)


def small_applications(lib):
    return (lib.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.25, weights=None,
                                       classes=7),
            lib.applications.Xception(input_shape=(71, 71, 3), weights=None,
                                      include_top=False, pooling="avg"))


@pytest.mark.parametrize("writer", ["keras", "sepconv"])
def test_mobilenet_and_xception_travel_as_h5_both_ways(writer, tmp_path):
    source, reader = (keras, sepconv) if writer == "keras" else (sepconv, keras)
    for model in small_applications(source):
        randomized(model)
        path = tmp_path / f"{model.name}.h5"
        model.save(path)
        loaded = reader.models.load_model(path)
        assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
        assert_same_predictions(loaded, model)


# ------------------------------------------------ sepconv writes, Keras reads
@pytest.mark.parametrize("kind", BUILDERS)
def test_sepconv_h5_file_loads_in_keras_and_back(kind, tmp_path):
    ours = randomized(BUILDERS[kind](sepconv))
    path = tmp_path / "model.h5"
    ours.save(path)
    theirs = keras.models.load_model(path)
    assert [layer.name for layer in theirs.layers] == [layer.name for layer in ours.layers]
    assert_same_predictions(ours, theirs)
    again = sepconv.models.load_model(path)
    assert_same_predictions(again, theirs)


def test_h5_save_is_atomic_and_honours_overwrite(tmp_path):
    model = randomized(sequential_model(sepconv))
    path = tmp_path / "model.h5"
    model.save(path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save(path, overwrite=False)
    unbuilt = sepconv.Sequential([sepconv.layers.Dense(2)])
    with pytest.raises(ValueError, match="unbuilt model"):
        unbuilt.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.h5"]
    with pytest.raises(ValueError, match=r"save_weights.*Received: filepath='.*w\.weights\.h5'"):
        model.save(tmp_path / "w.weights.h5")


def test_long_layer_name_lists_are_split_into_chunks_both_ways(tmp_path):
    inputs = sepconv.Input((2,), name="x")
    h = inputs
    for index in range(700):
        h = sepconv.layers.Dense(2, name=f"dense_{'x' * 90}_{index:04d}")(h)
    model = randomized(sepconv.Model(inputs, h, name="deep"))
    path = tmp_path / "deep.h5"
    model.save(path)
    with h5py.File(path, "r") as h5file:
        assert "layer_names" not in h5file["model_weights"].attrs
        assert "layer_names1" in h5file["model_weights"].attrs
    x = np.ones((2, 2), np.float32)
    assert_close(sepconv.models.load_model(path).predict(x, verbose=0),
                 model.predict(x, verbose=0), OUTPUT_RTOL, "predictions")


def test_training_config_warns_that_the_model_is_not_compiled(tmp_path):
    theirs = randomized(sequential_model(keras))
    theirs.compile(optimizer="sgd", loss="mse")
    theirs.save(tmp_path / "compiled.h5")
    with pytest.warns(UserWarning, match="no compile"):
        ours = load_model_from_legacy_h5(tmp_path / "compiled.h5")
    assert_same_predictions(ours, theirs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_model_from_legacy_h5(tmp_path / "compiled.h5", compile=False)


# ------------------------------------------------ whole models, tf.keras files
KERAS2_FILES = {
    "tf_keras_functional": ("tf_keras_functional.json", functional_model),
    "tf_keras_sequential": ("tf_keras_sequential.json", lambda lib: lib.Sequential([
        lib.Input((16, 16, 3), name="stem_input"),
        lib.layers.Conv2D(6, 3, strides=2, padding="same", groups=3, use_bias=False,
                          name="stem"),
        lib.layers.BatchNormalization(name="stem_bn"),
        lib.layers.ReLU(6.0, name="stem_relu"),
        lib.layers.ZeroPadding2D(((0, 1), (0, 1)), name="pad"),
        lib.layers.DepthwiseConv2D(3, strides=2, use_bias=False, name="dw"),
        lib.layers.SeparableConv2D(4, 3, padding="same", name="sep"),
        lib.layers.AveragePooling2D(2, name="pool"),
        lib.layers.Flatten(name="flat"),
        lib.layers.Dropout(0.2, name="drop"),
        lib.layers.Dense(5, name="head"),
    ], name="seq")),
    "keras_2_1_sequential": ("keras_2_1_sequential.json", lambda lib: lib.Sequential([
        lib.Input((8, 8, 2)),
        lib.layers.Conv2D(3, 3, activation="relu", name="conv2d_1"),
        lib.layers.MaxPooling2D(name="max_pooling2d_1"),
        lib.layers.Flatten(name="flatten_1"),
        lib.layers.Dense(2, activation="softmax", name="dense_1"),
    ])),
}


@pytest.mark.parametrize("case", KERAS2_FILES)
def test_tf_keras_model_file_loads(case, tmp_path):
    config_file, build = KERAS2_FILES[case]
    config = json.loads((DATA / config_file).read_text())
    theirs = randomized(build(keras))
    write_tf_keras_file(tmp_path / "model.h5", theirs, model_config=config)
    ours = load_model_from_legacy_h5(tmp_path / "model.h5")
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    assert ours.count_params() == theirs.count_params()
    assert_same_predictions(ours, theirs)


def test_tf_keras_translations_give_keras3_configs(tmp_path):
    """The rebuilt layers' configs are Keras 3's for the same layers (the
    tf.keras-only keys dropped, BatchNormalization's axis and the input
    shape in their Keras 3 form)."""
    config = json.loads((DATA / "tf_keras_functional.json").read_text())
    theirs = randomized(functional_model(keras))
    write_tf_keras_file(tmp_path / "model.h5", theirs, model_config=config)
    ours = load_model_from_legacy_h5(tmp_path / "model.h5")
    for name in ("sep", "dw", "grouped", "head"):
        assert ours.get_layer(name).get_config() == theirs.get_layer(name).get_config(), name
    bn = ours.get_layer("bn").get_config()
    assert bn.pop("axis") == 3 and theirs.get_layer("bn").get_config().pop("axis") == -1
    assert ours.get_layer("img").batch_shape == (None, 12, 12, 4)
    assert ours.output_shape == (None, 3)  # the single output is not a list of one


def test_tf_keras_nested_model_output_and_shared_calls(tmp_path):
    """tf.keras numbers a nested model's calls from 1 (node 0 is its own), in
    inbound nodes and in output_layers alike."""
    inner = keras.Sequential([keras.Input((6,), name="inner_in"),
                              keras.layers.Dense(4, name="inner_dense")], name="inner")
    x = keras.Input((6,), name="x")
    first = inner(x)
    second = inner(keras.layers.Dense(6, name="mix")(x))
    theirs = randomized(keras.Model(x, [first, second], name="outer"))
    dense = lambda name, units: {  # noqa: E731
        "name": name, "trainable": True, "dtype": "float32", "units": units,
        "activation": "linear", "use_bias": True,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
        "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
        "bias_constraint": None}
    config = {"class_name": "Functional", "config": {"name": "outer", "layers": [
        {"class_name": "InputLayer", "name": "x", "inbound_nodes": [], "config": {
            "batch_input_shape": [None, 6], "dtype": "float32", "sparse": False,
            "ragged": False, "name": "x"}},
        {"class_name": "Sequential", "name": "inner",
         "inbound_nodes": [[["x", 0, 0, {}]], [["mix", 0, 0, {}]]],
         "config": {"name": "inner", "layers": [
             {"class_name": "InputLayer", "config": {
                 "batch_input_shape": [None, 6], "dtype": "float32", "sparse": False,
                 "ragged": False, "name": "inner_in"}},
             {"class_name": "Dense", "config": dense("inner_dense", 4)}]}},
        {"class_name": "Dense", "name": "mix", "inbound_nodes": [[["x", 0, 0, {}]]],
         "config": dense("mix", 6)},
    ], "input_layers": [["x", 0, 0]], "output_layers": [["inner", 1, 0], ["inner", 2, 0]]}}
    write_tf_keras_file(tmp_path / "model.h5", theirs, model_config=config)
    ours = load_model_from_legacy_h5(tmp_path / "model.h5")
    x_np = inputs_for(theirs)
    for mine, reference in zip(ours.predict(x_np, verbose=0), theirs.predict(x_np, verbose=0)):
        assert_close(mine, reference, OUTPUT_RTOL, "predictions")


# ------------------------------------------------------------- weights only
@pytest.mark.parametrize("kind", BUILDERS)
def test_weights_in_layer_order_from_every_kind_of_file(kind, tmp_path):
    theirs = randomized(BUILDERS[kind](keras))
    theirs.save(tmp_path / "model.h5")
    write_keras_weights_file(tmp_path / "keras3.h5", theirs)
    write_tf_keras_file(tmp_path / "tf_keras.h5", theirs)
    write_tf_keras_file(tmp_path / "chunked.hdf5", theirs, chunks=3)
    for name in ("model.h5", "keras3.h5", "tf_keras.h5", "chunked.hdf5"):
        ours = BUILDERS[kind](sepconv)
        load_weights_from_legacy_h5(ours, tmp_path / name)
        assert_same_predictions(ours, theirs)
    ours = BUILDERS[kind](sepconv)
    ours.load_weights(str(tmp_path / "tf_keras.h5"))  # through Model.load_weights
    assert_same_predictions(ours, theirs)


def reordered_functional(lib, head_units=3, extra=False):
    """``functional_model``'s layers and names, built in another order (so
    ``model.layers`` is ordered differently), optionally with a layer the
    file does not have."""
    x = lib.Input((12, 12, 4), name="img")
    b = lib.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, use_bias=False,
                                   name="dw")(x)
    b = lib.layers.Conv2D(8, 1, groups=2, name="grouped")(b)
    a = lib.layers.SeparableConv2D(8, 3, padding="same", depth_multiplier=2,
                                   activation="relu", name="sep")(x)
    a = lib.layers.BatchNormalization(name="bn")(a)
    h = lib.layers.Add(name="add")([b, a])
    inner = lib.Sequential([lib.Input((12, 12, 8), name="inner_in"),
                            lib.layers.DepthwiseConv2D(3, strides=2, name="inner_dw"),
                            lib.layers.MaxPooling2D(2, padding="same", name="inner_pool")],
                           name="inner")
    h = lib.layers.GlobalAveragePooling2D(name="gap")(inner(h))
    if extra:
        h = lib.layers.Dense(5, name="extra")(h)
    out = lib.layers.Dense(head_units, activation="softmax", name="head")(h)
    return lib.Model(x, out, name="func")


def test_by_name_loads_into_a_differently_ordered_model(tmp_path):
    theirs = randomized(functional_model(keras))
    write_tf_keras_file(tmp_path / "w.h5", theirs)
    ours = reordered_functional(sepconv)
    assert [layer.name for layer in ours.layers] != [layer.name for layer in theirs.layers]
    load_weights_from_legacy_h5(ours, tmp_path / "w.h5", by_name=True)
    assert_same_predictions(ours, theirs)
    # In layer order the same file does not fit that model.
    expect_error(lambda: load_weights_from_legacy_h5(reordered_functional(sepconv),
                                                     tmp_path / "w.h5"),
                 r"'dw' has 1 weight.*'sep'.* has 3.*counts must match", r"3 saved weight")


def test_by_name_leaves_layers_the_file_lacks(tmp_path):
    theirs = randomized(functional_model(keras))
    write_tf_keras_file(tmp_path / "w.h5", theirs)
    ours = reordered_functional(sepconv, head_units=3, extra=True)
    with pytest.raises(ValueError, match="'head'"):  # head: (8, 3) saved, (5, 3) here
        load_weights_from_legacy_h5(ours, tmp_path / "w.h5", by_name=True)
    ours = reordered_functional(sepconv, head_units=3, extra=True)
    extra_before = ours.get_layer("extra").get_weights()
    with pytest.warns(UserWarning, match="head"):
        load_weights_from_legacy_h5(ours, tmp_path / "w.h5", by_name=True, skip_mismatch=True)
    for name in ("sep", "bn", "dw", "grouped", "inner"):
        for mine, reference in zip(ours.get_layer(name).get_weights(),
                                   theirs.get_layer(name).get_weights()):
            np.testing.assert_array_equal(mine, reference)
    for mine, before in zip(ours.get_layer("extra").get_weights(), extra_before):
        np.testing.assert_array_equal(mine, before)


def test_skip_mismatch_skips_a_layer_of_another_shape(tmp_path):
    theirs = randomized(functional_model(keras))
    write_tf_keras_file(tmp_path / "w.h5", theirs)
    ours = functional_model(sepconv, head_units=5)
    head_before = ours.get_layer("head").get_weights()
    error = expect_error(lambda: load_weights_from_legacy_h5(ours, tmp_path / "w.h5"),
                         r"head/kernel.*\(8, 5\).*\(8, 3\)", r"\(8, 3\)")
    assert "head/kernel:0" in str(error)  # the weight's name in the file too
    for by_name in (False, True):
        ours = functional_model(sepconv, head_units=5)
        head_before = ours.get_layer("head").get_weights()
        with pytest.warns(UserWarning, match=r"head.*\(8, 5\).*\(8, 3\)"):
            load_weights_from_legacy_h5(ours, tmp_path / "w.h5", by_name=by_name,
                                        skip_mismatch=True)
        for mine, before in zip(ours.get_layer("head").get_weights(), head_before):
            np.testing.assert_array_equal(mine, before)
        np.testing.assert_array_equal(ours.get_layer("sep").get_weights()[0],
                                      theirs.get_layer("sep").get_weights()[0])


def test_count_mismatches_name_both_counts(tmp_path):
    theirs = randomized(sequential_model(keras))
    write_tf_keras_file(tmp_path / "w.h5", theirs)
    shorter = sepconv.Sequential(sequential_model(sepconv).layers[:-1], name="short")
    expect_error(lambda: load_weights_from_legacy_h5(shorter, tmp_path / "w.h5"),
                 r"weights for 5 layers.* 4 layers with weights", r"saved layers")
    # A layer with another number of weights (no bias here, a bias in the file).
    no_bias = sequential_model(sepconv)
    no_bias = sepconv.Sequential(
        [sepconv.Input((12, 12, 4), name="image")]
        + [layer if layer.name != "head" else sepconv.layers.Dense(3, use_bias=False,
                                                                   name="head")
           for layer in sequential_model(sepconv).layers], name="seq")
    for by_name in (False, True):
        expect_error(lambda: load_weights_from_legacy_h5(no_bias, tmp_path / "w.h5",
                                                         by_name=by_name),
                     r"'head' has 1 weight.* has 2", r"2 saved weight")
    with pytest.warns(UserWarning, match="'head' has 1 weight"):
        load_weights_from_legacy_h5(no_bias, tmp_path / "w.h5", by_name=True,
                                    skip_mismatch=True)


# ---------------------------------------------------------- refused content
class TimesTwo(sepconv.layers.Layer):
    """Stands in for a saved ``Lambda(lambda x: x * 2)``."""

    def call(self, inputs):
        return inputs * 2

    @classmethod
    def from_config(cls, config):
        return cls(name=config["name"])


def test_lambda_layer_is_refused_unless_custom_objects_names_a_class(tmp_path):
    x = keras.Input((4,), name="x")
    y = keras.layers.Lambda(lambda t: t * 2, name="double")(keras.layers.Dense(3, name="d")(x))
    theirs = randomized(keras.Model(x, y, name="with_lambda"))
    theirs.save(tmp_path / "lambda.h5")
    error = expect_error(lambda: load_model_from_legacy_h5(tmp_path / "lambda.h5"),
                         r"Lambda.*never runs.*custom_objects=\{'Lambda'", "Lambda")
    assert "'double'" in str(error)
    ours = load_model_from_legacy_h5(tmp_path / "lambda.h5",
                                     custom_objects={"Lambda": TimesTwo})
    assert isinstance(ours.get_layer("double"), TimesTwo)
    assert_same_predictions(ours, theirs)


def _model_file_with_config(tmp_path, edit):
    theirs = randomized(sequential_model(keras))
    theirs.save(tmp_path / "model.h5")
    with h5py.File(tmp_path / "model.h5", "r+") as h5file:
        config = json.loads(h5file.attrs["model_config"])
        edit(config)
        h5file.attrs["model_config"] = json.dumps(config)
    return tmp_path / "model.h5"


def test_unknown_class_and_meaningful_dropped_key_are_refused(tmp_path):
    def rename(config):
        config["config"]["layers"][1]["class_name"] = "FancyConv"
    path = _model_file_with_config(tmp_path, rename)
    expect_error(lambda: load_model_from_legacy_h5(path), r"model\.h5.*FancyConv.*custom_objects",
                 "FancyConv")

    def grouped_depthwise(config):
        config["config"]["layers"][4]["config"]["groups"] = 2
    path = _model_file_with_config(tmp_path, grouped_depthwise)
    expect_error(lambda: load_model_from_legacy_h5(path), r"'dw'.*groups=2", r"groups=2")


def test_broken_files_give_clear_errors(tmp_path):
    theirs = randomized(sequential_model(keras))
    theirs.save(tmp_path / "model.h5")
    data = (tmp_path / "model.h5").read_bytes()
    (tmp_path / "truncated.h5").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.h5").write_bytes(b"not an hdf5 file" * 100)
    for name in ("truncated.h5", "garbage.h5"):
        for load in (load_model_from_legacy_h5,
                     lambda p: load_weights_from_legacy_h5(sequential_model(sepconv), p)):
            expect_error(lambda: load(tmp_path / name), rf"{name}.*not a readable HDF5",
                         name)

    def damaged(name, change):
        shutil.copy(tmp_path / "model.h5", tmp_path / name)
        with h5py.File(tmp_path / name, "r+") as h5file:
            change(h5file)
        return tmp_path / name

    no_dataset = damaged("no_dataset.h5", lambda f: f["model_weights/bn/seq/bn"].pop("gamma"))
    expect_error(lambda: load_model_from_legacy_h5(no_dataset),
                 r"no_dataset\.h5 has no weight of layer 'bn'", "seq/bn/gamma")
    not_json = damaged("not_json.h5", lambda f: f.attrs.__setitem__("model_config", "{oops"))
    expect_error(lambda: load_model_from_legacy_h5(not_json), "not valid JSON", "oops")
    weights_only = tmp_path / "weights_only.h5"
    write_keras_weights_file(weights_only, theirs)
    expect_error(lambda: load_model_from_legacy_h5(weights_only),
                 r"no model.*model\.load_weights", "attributes")
    no_names = damaged("no_names.h5", lambda f: f["model_weights"].attrs.__delitem__(
        "layer_names"))
    expect_error(lambda: load_weights_from_legacy_h5(sequential_model(sepconv), no_names),
                 "no 'layer_names'", "attributes")
    no_weight_names = damaged("no_weight_names.h5",
                              lambda f: f["model_weights/sep"].attrs.__delitem__(
                                  "weight_names"))
    expect_error(lambda: load_model_from_legacy_h5(no_weight_names),
                 "'sep' has no 'weight_names'", "attributes")
    text_weights = damaged("text.h5", lambda f: (
        f["model_weights/head/seq/head"].pop("bias"),
        f["model_weights/head/seq/head"].create_dataset("bias", data=np.array([b"a", b"b", b"c"]))))
    expect_error(lambda: load_model_from_legacy_h5(text_weights), "must hold numbers", "dtype")
    not_hdf5 = tmp_path / "empty.h5"
    with h5py.File(not_hdf5, "w"):
        pass
    expect_error(lambda: load_weights_from_legacy_h5(sequential_model(sepconv), not_hdf5),
                 "neither a 'model_weights' group nor a 'layer_names'", "entries")
    with pytest.raises(FileNotFoundError):
        load_model_from_legacy_h5(tmp_path / "missing.h5")


def test_links_out_of_the_file_are_refused(tmp_path):
    theirs = randomized(sequential_model(keras))
    theirs.save(tmp_path / "model.h5")
    with h5py.File(tmp_path / "model.h5", "r+") as h5file:
        group = h5file["model_weights/head/seq/head"]
        del group["bias"]
        group["bias"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/bias")
    expect_error(lambda: load_model_from_legacy_h5(tmp_path / "model.h5"),
                 r"ExternalLink; only entries stored in the file", "hostile")


def test_argument_checks(tmp_path):
    theirs = randomized(sequential_model(keras))
    write_keras_weights_file(tmp_path / "w.h5", theirs)
    expect_error(lambda: load_weights_from_legacy_h5(sequential_model(sepconv),
                                                     tmp_path / "w.h5", by_name="yes"),
                 "by_name", "yes")
    expect_error(lambda: load_weights_from_legacy_h5(object(), tmp_path / "w.h5"),
                 "sepconv model", "object")
    expect_error(lambda: load_model_from_legacy_h5(tmp_path / "w.h5", custom_objects=[1]),
                 "custom_objects", "list")


# -------------------------------------------------------------- applications
def test_mobilenet_loads_a_keras_weights_file(tmp_path):
    theirs = randomized(keras.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.25,
                                                     weights=None))
    write_keras_weights_file(tmp_path / "mobilenet_weights.h5", theirs)
    ours = sepconv.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.25,
                                          weights=str(tmp_path / "mobilenet_weights.h5"))
    assert_same_predictions(ours, theirs)
    ours = sepconv.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.25,
                                          weights=tmp_path / "mobilenet_weights.h5")
    assert_same_predictions(ours, theirs)


def test_xception_loads_a_keras_model_file(tmp_path):
    theirs = randomized(keras.applications.Xception(input_shape=(71, 71, 3), weights=None,
                                                    include_top=False))
    theirs.save(tmp_path / "xception.h5")
    ours = sepconv.applications.Xception(input_shape=(71, 71, 3), include_top=False,
                                         weights=str(tmp_path / "xception.h5"))
    assert_same_predictions(ours, theirs)


def test_applications_refuse_downloads_and_missing_files(tmp_path):
    for application in (sepconv.applications.MobileNet, sepconv.applications.Xception):
        expect_error(lambda: application(weights="imagenet"), r"local.*file", "imagenet")
        expect_error(lambda: application(weights=str(tmp_path / "nope.h5")),
                     r"no such file|does not exist", "nope")
        expect_error(lambda: application(weights=3), "weights", "3")
