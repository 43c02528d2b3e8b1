"""sepconv.applications.MobileNet against keras.applications.MobileNet
(Keras 3.15.1): parameter count, layer names/order/configs, outputs with the
same weights at small input sizes, input-shape rules and argument errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import sepconv
from application_pairs import assert_same_outputs, assert_same_structure, build_pair, keras
from error_checks import expect_error

MobileNet = sepconv.applications.MobileNet


def test_default_model_has_kerass_parameter_count_and_layers():
    ours, theirs = build_pair("MobileNet")
    assert ours.count_params() == 4_253_864  # keras.io's figure for MobileNet
    assert ours.name == "mobilenet_1.00_224"
    assert ours.input_shape == (None, 224, 224, 3) and ours.output_shape == (None, 1000)
    assert_same_structure(ours, theirs)


DIFFERENTIAL = {
    "alpha0.25_no_top_32": dict(input_shape=(32, 32, 3), alpha=0.25, include_top=False),
    "alpha0.5_avg_64": dict(input_shape=(64, 64, 3), alpha=0.5, include_top=False,
                            pooling="avg"),
    "alpha1_max_32": dict(input_shape=(32, 32, 3), alpha=1.0, include_top=False,
                          pooling="max"),
    "alpha0.25_top_64_sigmoid": dict(input_shape=(64, 64, 3), alpha=0.25, classes=10,
                                     classifier_activation="sigmoid"),
    "alpha1_top_32": dict(input_shape=(32, 32, 3), alpha=1.0, classes=6),
    "alpha0.75_dm2_logits": dict(input_shape=(32, 32, 3), alpha=0.75, depth_multiplier=2,
                                 classes=7, dropout=0.3, classifier_activation=None),
    "non_square_one_channel": dict(input_shape=(40, 48, 1), alpha=0.5, include_top=False),
}


@pytest.mark.parametrize("kwargs", DIFFERENTIAL.values(), ids=DIFFERENTIAL.keys())
def test_same_structure_and_outputs_as_keras(kwargs):
    ours, theirs = build_pair("MobileNet", **kwargs)
    assert_same_structure(ours, theirs)
    assert_same_outputs(ours, theirs, (2,) + kwargs["input_shape"])


def test_unknown_spatial_size_without_top_runs_on_any_size():
    ours, theirs = build_pair("MobileNet", alpha=0.25, include_top=False, pooling="avg")
    assert ours.name == "mobilenet_0.25_None"  # Keras's name: rows unknown
    assert ours.input_shape == (None, None, None, 3)
    assert_same_structure(ours, theirs)
    for size in ((33, 35), (64, 32)):
        assert_same_outputs(ours, theirs, (2, *size, 3))


@pytest.fixture
def channels_first():
    ours, theirs = sepconv.config.image_data_format(), keras.config.image_data_format()
    sepconv.config.set_image_data_format("channels_first")
    keras.config.set_image_data_format("channels_first")
    yield
    sepconv.config.set_image_data_format(ours)
    keras.config.set_image_data_format(theirs)


def test_channels_first(channels_first):
    ours, theirs = build_pair("MobileNet", input_shape=(3, 48, 32), alpha=0.25, classes=5)
    assert ours.name == "mobilenet_0.25_48"
    assert ours.get_layer("conv1_bn").axis == 1
    assert_same_structure(ours, theirs)
    assert_same_outputs(ours, theirs, (2, 3, 48, 32))
    expect_error(lambda: MobileNet(input_shape=(3, 32, 31), include_top=False),
                 "at least 32x32", r"input_shape=\(3, 32, 31\)")


def test_training_flag_reaches_dropout():
    model = MobileNet(input_shape=(32, 32, 3), alpha=0.25, dropout=0.9, classes=4,
                      classifier_activation=None)
    x = torch.randn(8, 32, 32, 3)
    torch.testing.assert_close(model(x, training=False), model(x))
    assert not torch.equal(model(x, training=True), model(x, training=False))


def test_training_mode_matches_keras_without_dropout():
    """Batch statistics in every BatchNormalization (dropout off: its mask is random)."""
    ours, theirs = build_pair("MobileNet", input_shape=(32, 32, 3), alpha=0.25, classes=4,
                              dropout=0.0)
    assert_same_outputs(ours, theirs, (4, 32, 32, 3), training=True)


def test_input_tensor_is_the_model_input_and_upstream_layers_are_kept():
    def build(lib):
        image = lib.Input(shape=(36, 36, 3), name="image")
        cropped = lib.layers.Conv2D(3, 5, name="pre")(image)
        return lib.applications.MobileNet(input_tensor=cropped, alpha=0.25,
                                          include_top=False, pooling="max",
                                          **({} if lib is sepconv else {"weights": None}))

    sepconv.utils.clear_session()
    ours = build(sepconv)
    keras.utils.clear_session()
    theirs = build(keras)
    assert [t.name for t in ours.inputs] == ["image"]
    assert [layer.name for layer in ours.layers][:3] == ["image", "pre", "conv1"]
    ours.set_weights(theirs.get_weights())
    assert_same_structure(ours, theirs)
    assert_same_outputs(ours, theirs, (2, 36, 36, 3))


def test_model_config_round_trips_and_keras_config_loads():
    ours, theirs = build_pair("MobileNet", input_shape=(32, 32, 3), alpha=0.25, classes=3)
    x = torch.randn(2, 32, 32, 3)
    expected = ours(x, training=False)
    for config in (ours.get_config(), json.loads(json.dumps(theirs.get_config()))):
        sepconv.utils.clear_session()
        clone = sepconv.Model.from_config(config)
        assert [layer.name for layer in clone.layers] == [layer.name for layer in ours.layers]
        clone.set_weights(ours.get_weights())
        torch.testing.assert_close(clone(x, training=False), expected, rtol=0, atol=0)


def test_keras_input_shape_errors_are_kept():
    for kwargs, received in (
        (dict(input_shape=(31, 32, 3), include_top=False), r"input_shape=\(31, 32, 3\)"),
        (dict(input_shape=(32, 32), include_top=False), r"input_shape=\(32, 32\)"),
        (dict(input_shape=(None, None, 3)), r"input_shape=\(None, None, 3\)"),
    ):
        expect_error(lambda: MobileNet(**kwargs), "input_shape", received)
        with pytest.raises(ValueError):  # Keras rejects it too
            keras.applications.MobileNet(weights=None, **kwargs)


def test_unusual_channel_count_warns_as_keras():
    with pytest.warns(UserWarning, match="4 input channels"):
        MobileNet(input_shape=(32, 32, 4), alpha=0.25, include_top=False)
    with pytest.warns(UserWarning, match="4 input channels"):
        keras.applications.MobileNet(input_shape=(32, 32, 4), alpha=0.25,
                                     include_top=False, weights=None)


@pytest.mark.parametrize("kwargs, argument, received", [
    (dict(weights="imagenet"), "weights", "weights='imagenet'"),
    (dict(weights="mobilenet.weights.h5"), "weights", "weights='mobilenet.weights.h5'"),
    (dict(pooling="mean", include_top=False), "pooling", "pooling='mean'"),
    (dict(pooling="MAX", include_top=False), "pooling", "pooling='MAX'"),
    (dict(classes=0), "classes", "classes=0"),
    (dict(classes=2.5), "classes", "classes=2.5"),
    (dict(alpha=0), "alpha", "alpha=0"),
    (dict(alpha=-0.5), "alpha", r"alpha=-0.5"),
    (dict(alpha=0.01), "alpha", r"alpha=0.01"),
    (dict(alpha="1.0"), "alpha", "alpha='1.0'"),
    (dict(depth_multiplier=0), "depth_multiplier", "depth_multiplier=0"),
    (dict(dropout=1.5), "dropout", "dropout=1.5"),
    (dict(include_top="yes"), "include_top", "include_top='yes'"),
    (dict(classifier_activation="nope"), "classifier_activation",
     "classifier_activation='nope'"),
    (dict(input_shape=(32, 32, None), include_top=False), "input_shape",
     r"input_shape=\(32, 32, None\)"),
    (dict(input_shape=(32.5, 32, 3), include_top=False), "input_shape",
     r"input_shape=\(32.5, 32, 3\)"),
    (dict(input_shape=(), include_top=False), "input_shape", r"input_shape=\(\)"),
    (dict(input_tensor=np.zeros((1, 32, 32, 3))), "input_tensor", "input_tensor"),
])
def test_argument_errors_name_the_argument(kwargs, argument, received):
    expect_error(lambda: MobileNet(**kwargs), argument, received)
