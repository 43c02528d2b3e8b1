"""Optimizer state in ``.keras`` and ``.weights.h5`` files, against Keras
3.15.1: a compiled model's optimizer variables are saved under
``optimizer/vars`` as Keras saves them, restored on load (sepconv's files and
Keras's, either way), and ``load_model(compile=False)`` gives an uncompiled
model; compile configurations (losses, metrics, optimizers with schedules,
custom schedules through ``custom_objects``) read on both sides."""

from __future__ import annotations

import io
import json
import warnings
import zipfile

import h5py
import numpy as np
import pytest
import torch

import sepconv
from keras_reference import keras

RNG = np.random.default_rng(11)
X = RNG.standard_normal((4, 8, 8, 8, 3)).astype(np.float32)  # 4 batches of 8
Y = RNG.integers(0, 3, (4, 8))
LOSS = "sparse_categorical_crossentropy"
SKIPPING = "Skipping variable loading for optimizer"


def sequential_model(lib):
    """Separable, depthwise and grouped convolutions, BatchNormalization and
    Dense, named alike in sepconv and Keras. No bias feeds BatchNormalization:
    its gradient would be rounding noise, which Adam-like updates amplify."""
    return lib.Sequential([
        lib.Input((8, 8, 3), name="image"),
        lib.layers.SeparableConv2D(6, 3, padding="same", depth_multiplier=2, use_bias=False,
                                   name="sep"),
        lib.layers.BatchNormalization(name="bn"),
        lib.layers.ReLU(name="relu"),
        lib.layers.DepthwiseConv2D(3, name="dw"),
        lib.layers.Conv2D(4, 1, groups=2, name="grouped"),
        lib.layers.GlobalAveragePooling2D(name="gap"),
        lib.layers.Dense(3, activation="softmax", name="head"),
    ], name="seq")


INITIAL_WEIGHTS = sequential_model(keras).get_weights()


def adam(lib):
    return lib.optimizers.Adam(0.01)


OPTIMIZERS = {
    "adam": adam,
    "sgd_nesterov": lambda lib: lib.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "rmsprop_centered": lambda lib: lib.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adam_amsgrad_ema_accumulated": lambda lib: lib.optimizers.Adam(
        0.01, amsgrad=True, use_ema=True, gradient_accumulation_steps=2),
    "adamw": lambda lib: lib.optimizers.AdamW(0.01),
    "adagrad": lambda lib: lib.optimizers.Adagrad(0.05),
    "adadelta": lambda lib: lib.optimizers.Adadelta(1.0),
    "adamax": lambda lib: lib.optimizers.Adamax(0.01),
    "nadam": lambda lib: lib.optimizers.Nadam(0.01),
    "adam_cosine_decay": lambda lib: lib.optimizers.Adam(
        lib.optimizers.schedules.CosineDecay(0.02, 20)),
}
KERAS_TRAINED = ("adam", "sgd_nesterov", "rmsprop_centered", "nadam")


def trained(lib, make_optimizer, steps=3, **compile_kwargs):
    """The fixture model compiled with ``make_optimizer(lib)`` after
    ``steps`` train_on_batch calls (starting from Keras's initial weights)."""
    model = sequential_model(lib)
    model.set_weights(INITIAL_WEIGHTS)
    model.compile(optimizer=make_optimizer(lib), loss=LOSS, **compile_kwargs)
    for batch in range(steps):
        model.train_on_batch(X[batch], Y[batch])
    return model


def numpy_variables(optimizer):
    return [keras.ops.convert_to_numpy(v) if isinstance(v, keras.Variable)
            else v.detach().cpu().numpy() for v in optimizer.variables]


def assert_same_variables(got, expected):
    got, expected = numpy_variables(got), numpy_variables(expected)
    assert len(got) == len(expected)
    for index, (a, b) in enumerate(zip(got, expected)):
        assert a.dtype == b.dtype and a.shape == b.shape, f"optimizer variable {index}"
        np.testing.assert_array_equal(a, b, err_msg=f"optimizer variable {index}")


def assert_weights_close(ours, theirs, rtol=1e-4, atol=1e-5):
    for index, (a, b) in enumerate(zip(ours.get_weights(), theirs.get_weights())):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"weight {index}")


def loaded_quietly(load, *args, **kwargs):
    """``load(*args, **kwargs)``, failing on Keras's or our warning that the
    optimizer state was skipped."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load(*args, **kwargs)
    skipped = [str(w.message) for w in caught if SKIPPING in str(w.message)]
    assert not skipped, skipped
    return model


def optimizer_group(path):
    with zipfile.ZipFile(path) as archive:
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    with weights:
        if "optimizer" not in weights:
            return None
        group = weights["optimizer/vars"]
        return dict(group.attrs), [group[str(i)][()] for i in range(len(group))]


# ------------------------------------------------------- sepconv -> sepconv
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_restored_state_continues_training_identically(name, tmp_path):
    original = trained(sepconv, OPTIMIZERS[name])
    path = tmp_path / "model.keras"
    original.save(path)
    loaded = loaded_quietly(sepconv.saving.load_model, path)
    assert loaded.optimizer.built and loaded.optimizer.iterations == original.optimizer.iterations
    assert_same_variables(loaded.optimizer, original.optimizer)

    restarted = sepconv.saving.load_model(path, compile=False)  # same weights, fresh state
    restarted.compile(optimizer=OPTIMIZERS[name](sepconv), loss=LOSS)
    for model in (original, loaded, restarted):
        model.train_on_batch(X[3], Y[3])
    for a, b in zip(loaded.get_weights(), original.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert_same_variables(loaded.optimizer, original.optimizer)
    assert any(not np.allclose(a, b) for a, b in
               zip(restarted.get_weights(), original.get_weights())), \
        "the optimizer state makes no difference to this step: the test proves nothing"


def test_optimizer_variables_are_written_as_keras_names_them(tmp_path):
    model = trained(sepconv, adam)
    path = tmp_path / "model.keras"
    model.save(path)
    attributes, values = optimizer_group(path)
    assert attributes == {"name": model.optimizer.name}
    assert values[0].dtype == np.int32 and int(values[0]) == 3
    assert values[1].dtype == np.float32 and float(values[1]) == np.float32(0.01)
    kernel = model.trainable_weights[0]
    assert values[2].shape == values[3].shape == tuple(kernel.shape)  # momentum, velocity


# --------------------------------------------------------- sepconv -> Keras
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_keras_loads_our_optimizer_state(name, tmp_path):
    ours = trained(sepconv, OPTIMIZERS[name])
    path = tmp_path / "model.keras"
    ours.save(path)
    theirs = loaded_quietly(keras.models.load_model, path)
    assert_same_variables(theirs.optimizer, ours.optimizer)
    assert int(theirs.optimizer.iterations) == ours.optimizer.iterations
    for model in (ours, theirs):
        model.train_on_batch(X[3], Y[3])
    assert_weights_close(ours, theirs)


# --------------------------------------------------------- Keras -> sepconv
@pytest.mark.parametrize("name", KERAS_TRAINED)
def test_keras_optimizer_state_loads_in_sepconv(name, tmp_path):
    theirs = trained(keras, OPTIMIZERS[name])
    path = tmp_path / "model.keras"
    theirs.save(path)
    ours = loaded_quietly(sepconv.saving.load_model, path)
    assert type(ours.optimizer).__name__ == type(theirs.optimizer).__name__
    assert_same_variables(ours.optimizer, theirs.optimizer)
    for model in (ours, theirs):
        model.train_on_batch(X[3], Y[3])
    assert_weights_close(ours, theirs)


# ---------------------------------------------------------------- .weights.h5
@pytest.mark.parametrize("writer", ["sepconv", "keras"])
def test_weights_file_carries_optimizer_state_both_ways(writer, tmp_path):
    """Keras's save_weights writes the optimizer's variables too; load_weights
    restores them into a compiled model (Keras's optimizer must be built for
    that; sepconv builds an unbuilt one on the model's trainable weights)."""
    libs = {"sepconv": sepconv, "keras": keras}
    source = trained(libs[writer], adam)
    path = tmp_path / "model.weights.h5"
    source.save_weights(path)
    reader = keras if writer == "sepconv" else sepconv
    target = sequential_model(reader)
    target.compile(optimizer=adam(reader), loss=LOSS)
    if reader is keras:
        target.optimizer.build(target.trainable_variables)
    loaded_quietly(target.load_weights, path)
    assert_same_variables(target.optimizer, source.optimizer)
    for model in (source, target):
        model.train_on_batch(X[3], Y[3])
    assert_weights_close(target, source)


def test_a_different_optimizer_is_skipped_with_a_warning_as_in_keras(tmp_path):
    for lib in (sepconv, keras):
        path = tmp_path / f"{lib.__name__}.weights.h5"
        trained(lib, adam).save_weights(path)
        model = sequential_model(lib)
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss=LOSS)
        model.train_on_batch(X[0], Y[0])  # builds the optimizer: 2 variables
        with pytest.warns(UserWarning, match=SKIPPING):
            model.load_weights(path)
        assert int(model.optimizer.iterations) == 1  # nothing loaded


def test_a_torch_optimizer_saves_no_optimizer_state(tmp_path):
    model = sequential_model(sepconv)
    model.compile(optimizer=torch.optim.Adam(model.parameters(), lr=0.01), loss=LOSS)
    model.train_on_batch(X[0], Y[0])
    path = tmp_path / "model.keras"
    model.save(path)
    model.save_weights(tmp_path / "model.weights.h5")
    assert optimizer_group(path) is None
    with h5py.File(tmp_path / "model.weights.h5", "r") as weights:
        assert "optimizer" not in weights
    again = sepconv.saving.load_model(path, compile=False)
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------- compile=False
@pytest.mark.parametrize("writer", ["sepconv", "keras"])
def test_compile_false_gives_an_uncompiled_model_as_keras(writer, tmp_path):
    source = trained({"sepconv": sepconv, "keras": keras}[writer], adam,
                     metrics=["accuracy"])
    path = tmp_path / "model.keras"
    source.save(path)
    ours = loaded_quietly(sepconv.saving.load_model, path, compile=False)
    theirs = loaded_quietly(keras.models.load_model, path, compile=False)
    for model in (ours, theirs):
        assert not getattr(model, "compiled", False)
        assert getattr(model, "optimizer", None) is None
    with pytest.raises(RuntimeError, match="compile"):
        ours.fit(X[0], Y[0], verbose=0)
    np.testing.assert_allclose(ours.predict(X[0], verbose=0), theirs.predict(X[0], verbose=0),
                               rtol=2e-5, atol=1e-6)
    compiled = sepconv.saving.load_model(path)
    assert compiled.compiled and compiled.optimizer.iterations == 3


# ------------------------------------------------------------ compile config
def compile_arguments(lib):
    return dict(optimizer=lib.optimizers.Adam(lib.optimizers.schedules.CosineDecay(0.05, 100),
                                             name="adam"),
                loss=lib.losses.SparseCategoricalCrossentropy(),
                metrics=["accuracy", lib.metrics.SparseCategoricalAccuracy(name="acc")])


def saved_compile_config(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))["compile_config"]


def test_compile_config_reads_on_both_sides(tmp_path):
    paths = {}
    models = {}
    for lib in (sepconv, keras):
        model = sequential_model(lib)
        model.set_weights(INITIAL_WEIGHTS)
        model.compile(**compile_arguments(lib))
        model.train_on_batch(X[0], Y[0])
        paths[lib] = tmp_path / f"{lib.__name__}.keras"
        model.save(paths[lib])
        models[lib] = model
    ours_config, keras_config = (saved_compile_config(paths[lib]) for lib in (sepconv, keras))
    for key in ("loss", "metrics", "weighted_metrics", "loss_weights"):
        assert ours_config[key] == keras_config[key], key
    for key in ("class_name", "config"):
        assert ours_config["optimizer"][key] == keras_config["optimizer"][key], key

    theirs = loaded_quietly(keras.models.load_model, paths[sepconv])  # Keras reads ours
    ours = loaded_quietly(sepconv.saving.load_model, paths[keras])  # and we read Keras's
    assert keras.optimizers.serialize(theirs.optimizer)["config"] == \
        sepconv.optimizers.serialize(models[sepconv].optimizer)["config"]
    assert sepconv.optimizers.serialize(ours.optimizer)["config"] == \
        keras.optimizers.serialize(models[keras].optimizer)["config"]
    expected = models[keras].evaluate(X[1], Y[1], return_dict=True, verbose=0)
    for model in (theirs, ours):
        logs = model.evaluate(X[1], Y[1], return_dict=True, verbose=0)
        assert sorted(logs) == sorted(expected)
        for key in expected:
            np.testing.assert_allclose(logs[key], expected[key], rtol=1e-4, err_msg=key)


def halving_schedule(lib, name):
    """A user schedule class for ``lib``: the rate halves every ``every`` steps."""

    def __call__(self, step):
        return self.rate * 0.5 ** (step // self.every)

    def __init__(self, rate, every):
        self.rate, self.every = rate, every

    def get_config(self):
        return {"rate": self.rate, "every": self.every}

    return type(name, (lib.optimizers.schedules.LearningRateSchedule,),
                {"__init__": __init__, "__call__": __call__, "get_config": get_config})


Halving = halving_schedule(sepconv, "Halving")
KerasHalving = halving_schedule(keras, "KerasHalving")


@pytest.mark.parametrize("writer", ["sepconv", "keras"])
def test_custom_objects_reach_a_schedule_inside_the_optimizer(writer, tmp_path):
    classes = {sepconv: Halving, keras: KerasHalving}
    writer_lib = {"sepconv": sepconv, "keras": keras}[writer]
    source = trained(writer_lib, lambda lib: lib.optimizers.Adam(classes[lib](0.02, 2)))
    path = tmp_path / "model.keras"
    source.save(path)
    with pytest.raises((TypeError, ValueError), match="Halving"):
        sepconv.saving.load_model(path)
    loaded = {lib: loaded_quietly(lib.saving.load_model, path,
                                  custom_objects={"Halving": classes[lib],
                                                  "KerasHalving": classes[lib]})
              for lib in (sepconv, keras)}
    for lib, model in loaded.items():
        schedule = model.optimizer._learning_rate if lib is keras else model.optimizer._schedule
        assert isinstance(schedule, classes[lib])
        assert_same_variables(model.optimizer, source.optimizer)
    for model in (source, *loaded.values()):
        model.train_on_batch(X[3], Y[3])
    assert_weights_close(loaded[sepconv], loaded[keras])
    assert_weights_close(loaded[sepconv], source)


def test_optimizers_deserialize_passes_custom_objects_to_the_schedule():
    config = keras.optimizers.serialize(keras.optimizers.Adam(KerasHalving(0.1, 3)))
    optimizer = sepconv.optimizers.deserialize(config, custom_objects={"KerasHalving": Halving})
    assert isinstance(optimizer._schedule, Halving)
    assert optimizer._schedule.get_config() == {"rate": 0.1, "every": 3}
