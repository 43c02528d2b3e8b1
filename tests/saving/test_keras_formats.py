"""``.keras`` and ``.weights.h5`` both ways with Keras 3.15.1: Keras saves and
sepconv loads, sepconv saves and Keras loads; predictions must agree."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import sepconv  # noqa: E402
from keras_reference import OUTPUT_RTOL, assert_close  # noqa: E402
from saving_fixtures import sequential_model  # noqa: E402

RNG = np.random.default_rng(7)


def functional_model(lib):
    x = lib.Input((10, 10, 6), name="x")
    a = lib.layers.SeparableConv2D(6, 3, padding="same", name="sep_a")(x)
    a = lib.layers.BatchNormalization(name="bn_a")(a)
    b = lib.layers.Conv2D(6, 3, padding="same", groups=3, name="grouped")(x)
    h = lib.layers.Add(name="add")([a, b])
    inner = lib.Sequential([lib.Input((10, 10, 6), name="inner_in"),
                            lib.layers.DepthwiseConv2D(3, name="inner_dw"),
                            lib.layers.AveragePooling2D(2, padding="same", name="inner_pool")],
                           name="inner")
    h = inner(h)
    out = lib.layers.Dense(2, name="out")(lib.layers.Flatten(name="flat")(h))
    return lib.Model(x, out, name="func")


BUILDERS = {"sequential": sequential_model, "functional": functional_model}


def randomized(model):
    """Non-trivial weights (BatchNormalization statistics included)."""
    values = []
    for weight in model.get_weights():
        value = RNG.normal(0.0, 0.3, weight.shape)
        if weight.ndim == 1:
            value = RNG.uniform(0.5, 1.5, weight.shape)  # safe as variances and scales
        values.append(value.astype(np.float32))
    model.set_weights(values)
    return model


def inputs_for(model):
    shape = tuple(model.inputs[0].shape)[1:]
    return RNG.standard_normal((3,) + shape).astype(np.float32)


def same_predictions(ours, theirs, x):
    assert_close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), OUTPUT_RTOL,
                 "predictions")


@pytest.mark.parametrize("kind", BUILDERS)
def test_keras_archive_loads_in_sepconv(kind, tmp_path):
    theirs = randomized(BUILDERS[kind](keras))
    path = tmp_path / "model.keras"
    theirs.save(path)
    ours = sepconv.models.load_model(path)
    assert isinstance(ours, sepconv.Model)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    same_predictions(ours, theirs, inputs_for(theirs))


@pytest.mark.parametrize("kind", BUILDERS)
def test_sepconv_archive_loads_in_keras(kind, tmp_path):
    ours = randomized(BUILDERS[kind](sepconv))
    path = tmp_path / "model.keras"
    ours.save(path)
    theirs = keras.models.load_model(path)
    same_predictions(ours, theirs, inputs_for(theirs))


@pytest.mark.parametrize("kind", BUILDERS)
def test_weights_h5_both_ways(kind, tmp_path):
    theirs = randomized(BUILDERS[kind](keras))
    ours = BUILDERS[kind](sepconv)
    theirs.save_weights(tmp_path / "keras.weights.h5")
    ours.load_weights(tmp_path / "keras.weights.h5")
    same_predictions(ours, theirs, inputs_for(theirs))

    ours = randomized(BUILDERS[kind](sepconv))
    ours.save_weights(tmp_path / "ours.weights.h5")
    fresh = BUILDERS[kind](keras)
    fresh.load_weights(tmp_path / "ours.weights.h5")
    same_predictions(ours, fresh, inputs_for(fresh))


def h5_layout(path):
    """Every group and dataset path with its shape, and each vars group's name."""
    found = {}
    with h5py.File(path, "r") as h5file:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                found[name] = tuple(obj.shape)
            else:
                found[name] = dict(obj.attrs)
        h5file.visititems(visit)
    return found


@pytest.mark.parametrize("kind", BUILDERS)
def test_weights_file_layout_is_keras_layout(kind, tmp_path):
    BUILDERS[kind](keras).save_weights(tmp_path / "keras.weights.h5")
    BUILDERS[kind](sepconv).save_weights(tmp_path / "ours.weights.h5")
    assert h5_layout(tmp_path / "ours.weights.h5") == h5_layout(tmp_path / "keras.weights.h5")


class OurSubclassed(sepconv.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.stem = sepconv.layers.Conv2D(4, 3, name="stem")
        self.blocks = [sepconv.layers.SeparableConv2D(4, 3, padding="same"),
                       sepconv.layers.SeparableConv2D(4, 3, padding="same")]
        self.norm = sepconv.layers.BatchNormalization()

    def call(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


class KerasSubclassed(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.stem = keras.layers.Conv2D(4, 3, name="stem")
        self.blocks = [keras.layers.SeparableConv2D(4, 3, padding="same"),
                       keras.layers.SeparableConv2D(4, 3, padding="same")]
        self.norm = keras.layers.BatchNormalization()

    def call(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


def test_subclassed_models_with_layer_lists_share_the_weights_file(tmp_path):
    x = RNG.standard_normal((2, 8, 8, 3)).astype(np.float32)
    sepconv.utils.clear_session()  # auto-names (stored as vars attributes) start from zero
    keras.backend.clear_session()
    ours, theirs = OurSubclassed(name="sub"), KerasSubclassed(name="sub")
    ours(x)
    theirs(x)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    randomized(theirs)
    theirs.save_weights(tmp_path / "keras.weights.h5")
    ours.load_weights(tmp_path / "keras.weights.h5")
    same_predictions(ours, theirs, x)
    ours.save_weights(tmp_path / "ours.weights.h5")
    assert h5_layout(tmp_path / "ours.weights.h5") == h5_layout(tmp_path / "keras.weights.h5")


def test_applications_round_trip_through_keras(tmp_path):
    theirs = keras.applications.MobileNet(weights=None, input_shape=(32, 32, 3), alpha=0.25,
                                          include_top=False, pooling="avg")
    randomized(theirs)
    theirs.save(tmp_path / "mobilenet.keras")
    ours = sepconv.models.load_model(tmp_path / "mobilenet.keras")
    same_predictions(ours, theirs, RNG.standard_normal((2, 32, 32, 3)).astype(np.float32))
    ours.save(tmp_path / "back.keras")
    again = keras.models.load_model(tmp_path / "back.keras")
    same_predictions(ours, again, RNG.standard_normal((2, 32, 32, 3)).astype(np.float32))


def test_xception_weights_from_keras(tmp_path):
    theirs = keras.applications.Xception(weights=None, input_shape=(71, 71, 3),
                                         include_top=False)
    theirs.save_weights(tmp_path / "xception.weights.h5")
    ours = sepconv.applications.Xception(input_shape=(71, 71, 3), include_top=False)
    ours.load_weights(tmp_path / "xception.weights.h5")
    for mine, reference in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(mine, reference)


def test_safetensors_round_trip_uses_state_dict_keys(tmp_path):
    pytest.importorskip("safetensors")
    from safetensors.torch import load_file

    ours = randomized(functional_model(sepconv))
    ours.save_weights(tmp_path / "w.safetensors")
    assert set(load_file(tmp_path / "w.safetensors")) == set(ours.state_dict())
    fresh = functional_model(sepconv)
    fresh.load_weights(tmp_path / "w.safetensors")
    for key, value in ours.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[key], value)
    other = sequential_model(sepconv)
    with pytest.raises(ValueError, match="does not fit the model"):
        other.load_weights(tmp_path / "w.safetensors")


def test_state_dict_keys_are_stable_across_instances():
    first, second = functional_model(sepconv), functional_model(sepconv)
    assert list(first.state_dict()) == list(second.state_dict())
    second.load_state_dict(first.state_dict())


def test_mismatched_weights_are_clear_errors_or_skipped(tmp_path):
    sequential_model(keras).save_weights(tmp_path / "seq.weights.h5")
    other = functional_model(sepconv)
    with pytest.raises(ValueError, match=r"seq\.weights\.h5"):
        other.load_weights(tmp_path / "seq.weights.h5")
    before = [w.copy() for w in other.get_weights()]
    with pytest.warns(UserWarning, match="skip_mismatch"):
        other.load_weights(tmp_path / "seq.weights.h5", skip_mismatch=True)
    assert len(other.get_weights()) == len(before)


def test_file_name_rules(tmp_path):
    model = sequential_model(sepconv)
    with pytest.raises(ValueError, match=r"\.keras.*\.h5.*Received: filepath="):
        model.save(tmp_path / "model.zip")
    with pytest.raises(ValueError, match=r"\.weights\.h5.*Received: filepath="):
        model.save_weights(tmp_path / "weights.npz")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        model.save(tmp_path / "missing" / "model.keras")
    with pytest.raises(FileNotFoundError):
        model.load_weights(tmp_path / "nothing.weights.h5")
    model.save(tmp_path / "model.keras")
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save(tmp_path / "model.keras", overwrite=False)
    with pytest.raises(ValueError, match="by_name"):
        model.load_weights(tmp_path / "model.keras", by_name=True)
