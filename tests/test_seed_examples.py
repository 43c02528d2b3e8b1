"""The seed documents' layer-level examples, run with ``import sepconv as keras``.

Seeds: Keras 3's SeparableConv2D and Conv2D pages, R's layer_separable_conv_2d,
tf.layers.SeparableConv2D, and an article on DepthwiseConv2D / SeparableConv2D
(MobileNet v1 block, a 442-parameter SeparableConv2D). Shapes and counts are
the documented ones; numbers are compared with Keras 3 (torch backend), never
with values computed by sepconv itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import keras_reference
import sepconv as keras  # the seeds' spelling
from keras_reference import check_against_keras

real_keras = keras_reference.keras  # Keras 3.15.1 on its torch backend

# ------------------------------------------------------- Keras 3 Conv2D page
def test_conv2d_doc_example():
    x = np.random.rand(4, 10, 10, 128)
    y = keras.layers.Conv2D(32, 3, activation="relu")(x)
    assert tuple(y.shape) == (4, 8, 8, 32)
    # and it computes what Keras computes, gradients included
    check_against_keras("Conv2D", dict(filters=32, kernel_size=3, activation="relu"),
                        (4, 10, 10, 128))


def test_conv2d_doc_raises_for_strides_with_dilation():
    # "Raises: ValueError: when both strides > 1 and dilation_rate > 1."
    with pytest.raises(ValueError, match=r"(?s)strides.*dilation_rate.*Received:"):
        keras.layers.Conv2D(32, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError):
        real_keras.layers.Conv2D(32, 3, strides=2, dilation_rate=2)


# ---------------------------------------------- Keras 3 SeparableConv2D page
def test_separable_conv2d_doc_example_is_a_clear_error():
    # The documented call passes padding=2 positionally (and documents an
    # impossible (4, 4, 4, 4) for filters=3). Keras 3.15.1 itself crashes
    # with AttributeError ('int' object has no attribute 'lower'); sepconv
    # raises a TypeError/ValueError that names `padding` and the value.
    x = np.random.rand(4, 10, 10, 12)
    with pytest.raises(AttributeError):
        real_keras.layers.SeparableConv2D(3, 4, 3, 2, activation="relu")(x)
    with pytest.raises((TypeError, ValueError), match=r"(?s)padding.*Received: .*padding=2\b"):
        keras.layers.SeparableConv2D(3, 4, 3, 2, activation="relu")(x)


@pytest.mark.parametrize("padding,expected", [("same", (4, 4, 4, 3)), ("valid", (4, 3, 3, 3))])
def test_separable_conv2d_doc_example_with_a_string_padding(padding, expected):
    x = np.random.rand(4, 10, 10, 12)
    y = keras.layers.SeparableConv2D(3, 4, 3, padding, activation="relu")(x)
    assert tuple(y.shape) == expected
    assert tuple(real_keras.layers.SeparableConv2D(3, 4, 3, padding, activation="relu")(x).shape) \
        == expected
    check_against_keras(
        "SeparableConv2D",
        dict(filters=3, kernel_size=4, strides=3, padding=padding, activation="relu"),
        (4, 10, 10, 12),
    )


# ------------------------------------------------ the article: MobileNet v1
def test_mobilenet_v1_block_layers():
    depthwise = keras.layers.DepthwiseConv2D(kernel_size=(3, 3), strides=(1, 1), padding="same",
                                             use_bias=False)
    pointwise = keras.layers.Conv2D(64, (1, 1), strides=(1, 1), padding="same", use_bias=False)
    # Conv2-3 of MobileNet v1: 112 x 112 x 32 in.
    assert depthwise.compute_output_shape((None, 112, 112, 32)) == (None, 112, 112, 32)
    assert pointwise.compute_output_shape((None, 112, 112, 32)) == (None, 112, 112, 64)
    x = np.random.rand(1, 112, 112, 32).astype(np.float32)
    y = pointwise(depthwise(x))
    assert tuple(y.shape) == (1, 112, 112, 64)
    assert [w.name for w in depthwise.weights] == ["kernel"]
    assert [tuple(w.shape) for w in depthwise.weights] == [(3, 3, 32, 1)]
    assert [tuple(w.shape) for w in pointwise.weights] == [(1, 1, 32, 64)]
    assert (depthwise.count_params(), pointwise.count_params()) == (288, 2048)
    # Numbers and gradients: each layer against Keras (smaller image).
    check_against_keras(
        "DepthwiseConv2D",
        dict(kernel_size=(3, 3), strides=(1, 1), padding="same", use_bias=False),
        (2, 14, 14, 32),
    )
    check_against_keras(
        "Conv2D",
        dict(filters=64, kernel_size=(1, 1), strides=(1, 1), padding="same", use_bias=False),
        (2, 14, 14, 32),
    )


def test_mobilenet_v1_block_chained_matches_keras():
    x = np.random.default_rng(0).standard_normal((2, 12, 12, 32)).astype(np.float32)
    ours = [keras.layers.DepthwiseConv2D((3, 3), strides=(1, 1), padding="same", use_bias=False),
            keras.layers.Conv2D(64, (1, 1), strides=(1, 1), padding="same", use_bias=False)]
    theirs = [real_keras.layers.DepthwiseConv2D((3, 3), strides=(1, 1), padding="same",
                                                use_bias=False),
              real_keras.layers.Conv2D(64, (1, 1), strides=(1, 1), padding="same",
                                       use_bias=False)]
    k = torch.tensor(x)
    o = torch.tensor(x)
    for mine, ref in zip(ours, theirs):
        k = ref(k)
        mine.build(tuple(o.shape))
        mine.set_weights(ref.get_weights())
        o = mine(o)
    keras_reference.assert_close(o.detach().numpy(), k.detach().numpy(),
                                 keras_reference.OUTPUT_RTOL, "MobileNet block")


# --------------------------------------- the article: 442-parameter layer
def test_article_separable_conv2d_442_params_and_names():
    keras.utils.clear_session()
    real_keras.utils.clear_session()
    layer = keras.layers.SeparableConv2D(32, kernel_size=(3, 3), activation="relu",
                                         padding="same")
    second = keras.layers.SeparableConv2D(32, kernel_size=(3, 3), activation="relu",
                                          padding="same")
    reference = [real_keras.layers.SeparableConv2D(32, kernel_size=(3, 3), activation="relu",
                                                   padding="same") for _ in range(2)]
    assert (layer.name, second.name) == ("separable_conv2d", "separable_conv2d_1")
    assert (layer.name, second.name) == tuple(r.name for r in reference)

    assert layer.compute_output_shape((None, 224, 224, 10)) == (None, 224, 224, 32)
    y = layer(np.random.rand(1, 224, 224, 10))
    assert tuple(y.shape) == (1, 224, 224, 32)
    assert layer.count_params() == 442  # 3*3*10 + 10*32 + 32
    assert [(w.path, tuple(w.shape)) for w in layer.weights] == [
        ("separable_conv2d/depthwise_kernel", (3, 3, 10, 1)),
        ("separable_conv2d/pointwise_kernel", (1, 1, 10, 32)),
        ("separable_conv2d/bias", (32,)),
    ]
    reference[0].build((None, 224, 224, 10))
    assert reference[0].count_params() == 442
    assert [w.path for w in reference[0].weights] == [w.path for w in layer.weights]
    assert len(layer.trainable_weights) == 3 and layer.non_trainable_weights == []
    check_against_keras(
        "SeparableConv2D",
        dict(filters=32, kernel_size=(3, 3), activation="relu", padding="same"),
        (1, 20, 20, 10),
    )


# ------------------------------ the article: test_model and summary (models)
def _article_test_model(lib, input_size=(224, 224, 10)):
    # The article's code, with only the import spelled differently.
    Input, SeparableConv2D = lib.layers.Input, lib.layers.SeparableConv2D
    _input = Input(shape=input_size, name="input")
    _output = SeparableConv2D(32, kernel_size=(3, 3), activation="relu", padding="same")(_input)
    return lib.models.Model(_input, _output)


def test_article_test_model_summary_shows_442_params(capsys):
    model = _article_test_model(keras)
    model.summary()
    printed = capsys.readouterr().out
    assert "(None, 224, 224, 10)" in printed and "(None, 224, 224, 32)" in printed
    lines = printed.splitlines()
    assert " Total params: 442 (1.73 KB)" in lines
    assert " Trainable params: 442 (1.73 KB)" in lines
    assert " Non-trainable params: 0 (0.00 B)" in lines
    row = [line for line in lines if "separable_conv2d" in line][0]
    assert row.rstrip(" |").endswith("442")


def test_article_test_model_computes_what_keras_computes():
    ours = _article_test_model(keras, (20, 20, 10))
    theirs = _article_test_model(real_keras, (20, 20, 10))
    ours.set_weights(theirs.get_weights())
    x = np.random.default_rng(3).standard_normal((2, 20, 20, 10)).astype(np.float32)
    keras_reference.assert_close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                                 keras_reference.OUTPUT_RTOL, "article test_model")


def _mobilenet_block(lib, shape=(32, 32, 32)):
    # The article's "Conv2-3" block, as a Sequential on (None, 32, 32, 32).
    return lib.Sequential([
        lib.Input(shape=shape),
        lib.layers.DepthwiseConv2D(kernel_size=(3, 3), strides=(1, 1), padding="same",
                                   use_bias=False),
        lib.layers.BatchNormalization(),
        lib.layers.Activation("relu"),
        lib.layers.Conv2D(64, (1, 1), strides=(1, 1), padding="same", use_bias=False),
        lib.layers.BatchNormalization(),
        lib.layers.Activation("relu"),
    ])


def test_mobilenet_block_sequential_counts_2720_params_192_frozen():
    model = _mobilenet_block(keras)
    assert model.count_params() == 2720
    assert sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) == 192
    lines = []
    model.summary(print_fn=lines.append)
    assert " Total params: 2,720 (10.62 KB)" in lines
    assert " Non-trainable params: 192 (768.00 B)" in lines
    reference = _mobilenet_block(real_keras)
    assert reference.count_params() == 2720


@pytest.mark.parametrize("training", [False, True])
def test_mobilenet_block_matches_keras_in_both_modes(training):
    ours, theirs = _mobilenet_block(keras, (12, 12, 32)), _mobilenet_block(real_keras, (12, 12, 32))
    rng = np.random.default_rng(4)
    weights = [w + rng.uniform(0.1, 0.5, w.shape).astype(np.float32)  # non-trivial BN stats
               for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    x = rng.standard_normal((4, 12, 12, 32)).astype(np.float32)
    got = ours(x, training=training).detach().numpy()
    expected = theirs(torch.tensor(x), training=training).detach().numpy()
    keras_reference.assert_close(got, expected, 1e-4, f"MobileNet block, training={training}")
    for mine, reference in zip(ours.get_weights(), theirs.get_weights()):  # moving statistics
        keras_reference.assert_close(mine, reference, 1e-5, "weights after the call")


# ------------------------------------------------ R: layer_separable_conv_2d
R_KWARGS = dict(strides=(1, 1), padding="valid", data_format=None, dilation_rate=1,
                depth_multiplier=1, activation=None, use_bias=True)


def _r_weights(rng, channels=3, depth_multiplier=1, filters=4):
    return [rng.standard_normal((3, 3, channels, depth_multiplier)).astype(np.float32),
            rng.standard_normal((1, 1, channels * depth_multiplier, filters)).astype(np.float32),
            rng.standard_normal((filters,)).astype(np.float32)]


def test_r_arguments_are_accepted_and_weights_applied_at_build():
    rng = np.random.default_rng(1)
    weights = _r_weights(rng)
    x = rng.standard_normal((2, 8, 8, 3)).astype(np.float32)
    layer = keras.layers.SeparableConv2D(
        4, (3, 3), **R_KWARGS, input_shape=(8, 8, 3), batch_size=2, dtype="float32",
        name="r_sep", trainable=True, weights=weights,
    )
    assert layer.name == "r_sep" and layer.dtype == "float32" and layer.trainable
    assert not layer.built
    y = layer(x)
    for got, want in zip(layer.get_weights(), weights):
        np.testing.assert_array_equal(got, want)
    # Same output as a layer given the same weights through set_weights ...
    other = keras.layers.SeparableConv2D(4, (3, 3), **R_KWARGS)
    other.build(x.shape)
    other.set_weights(weights)
    np.testing.assert_array_equal(y.detach().numpy(), other(x).detach().numpy())
    # ... and as Keras with those weights.
    ref = real_keras.layers.SeparableConv2D(4, (3, 3), **R_KWARGS)
    ref.build(x.shape)
    ref.set_weights(weights)
    keras_reference.assert_close(y.detach().numpy(), ref(x).detach().numpy(),
                                 keras_reference.OUTPUT_RTOL, "R weights=")


def test_r_batch_input_shape_and_frozen_layer():
    rng = np.random.default_rng(2)
    weights = _r_weights(rng, channels=3, depth_multiplier=2, filters=5)
    layer = keras.layers.SeparableConv2D(
        5, 3, depth_multiplier=2, batch_input_shape=(None, 6, 6, 3), name="frozen",
        trainable=False, weights=weights,
    )
    layer(np.zeros((1, 6, 6, 3), np.float32))
    assert layer.trainable is False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 3
    assert layer.count_params() == sum(w.size for w in weights)
    ref = real_keras.layers.SeparableConv2D(5, 3, depth_multiplier=2, trainable=False)
    ref.build((None, 6, 6, 3))
    assert (len(layer.trainable_weights), len(layer.non_trainable_weights)) == (
        len(ref.trainable_weights), len(ref.non_trainable_weights))
    assert all(not w.requires_grad for w in layer.weights)
    # R's batch_input_shape and input_shape must agree.
    with pytest.raises(ValueError, match=r"Received: .*input_shape="):
        keras.layers.SeparableConv2D(5, 3, input_shape=(6, 6, 3),
                                     batch_input_shape=(None, 6, 6, 4))


def test_r_dtype_float64():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 7, 7, 3))
    layer = keras.layers.SeparableConv2D(4, 3, dtype="float64", padding="same", name="d64")
    ref = real_keras.layers.SeparableConv2D(4, 3, dtype="float64", padding="same", name="d64")
    ref.build(x.shape)
    layer.build(x.shape)
    assert [w.dtype for w in layer.weights] == [torch.float64] * 3
    layer.set_weights(ref.get_weights())
    y = layer(x)
    assert y.dtype == torch.float64
    np.testing.assert_allclose(y.detach().numpy(), ref(x).detach().numpy(), rtol=1e-12,
                               atol=1e-12)
    assert layer.get_config()["dtype"] == ref.get_config()["dtype"]


# ------------------------------------------------- tf.layers.SeparableConv2D
def test_tf_layers_methods():
    rng = np.random.default_rng(4)
    x = torch.tensor(rng.standard_normal((2, 6, 6, 3)).astype(np.float32))
    layer = keras.layers.SeparableConv2D(4, 3, activity_regularizer="l2", name="tfl")
    ref = real_keras.layers.SeparableConv2D(4, 3, activity_regularizer="l2", name="tfl")
    ref.build(tuple(x.shape))

    y = layer.apply(x)  # apply == __call__
    assert tuple(y.shape) == (2, 4, 4, 4)
    layer.set_weights(ref.get_weights())
    y = layer.apply(x)
    y_ref = ref(x)
    keras_reference.assert_close(y.detach().numpy(), y_ref.detach().numpy(),
                                 keras_reference.OUTPUT_RTOL, "apply")
    np.testing.assert_array_equal(layer(x).detach().numpy(), y.detach().numpy())

    # Activity regularization: Keras's value (l2(output) / batch), tied to the inputs.
    assert len(layer.losses) == 1 and len(ref.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0].detach()), float(ref.losses[0].detach()),
                               rtol=1e-5)
    for_x = layer.get_losses_for(x)
    assert len(for_x) == 1
    np.testing.assert_allclose(float(for_x[0].detach()), float(ref.losses[0].detach()),
                               rtol=1e-5)
    assert layer.get_losses_for(None) == []

    # add_loss: unconditional, and conditional on inputs.
    layer.add_loss(torch.tensor(2.0))
    layer.add_loss(torch.tensor(3.0), inputs=x)
    assert [float(v) for v in layer.get_losses_for(None)] == [2.0]
    np.testing.assert_allclose(sorted(float(v.detach()) for v in layer.get_losses_for(x)),
                               sorted([float(ref.losses[0].detach()), 3.0]), rtol=1e-5)
    assert len(layer.losses) == 3

    # Updates: none in eager mode; add_update is accepted.
    layer.add_update([], inputs=x)
    assert layer.updates == [] and layer.get_updates_for(x) == [] and \
        layer.get_updates_for(None) == []

    # scope_name, name, variables.
    assert layer.scope_name == "tfl" and layer.name == "tfl"
    names = ["depthwise_kernel", "pointwise_kernel", "bias"]
    assert [w.name for w in layer.variables] == names
    assert [w.name for w in layer.weights] == names
    assert [w.name for w in layer.trainable_variables] == names
    assert [w.name for w in layer.trainable_weights] == names
    assert layer.non_trainable_variables == [] and layer.non_trainable_weights == []
    assert layer.count_params() == ref.count_params() == 3 * 3 * 3 + 3 * 4 + 4

    # add_variable (tf.layers' add_weight): partitioner=None is fine.
    extra = layer.add_variable("extra", [5], initializer="ones", trainable=False,
                               partitioner=None)
    assert extra.path == "tfl/extra" and tuple(extra.shape) == (5,)
    assert [w.name for w in layer.non_trainable_variables] == ["extra"]
    assert layer.count_params() == ref.count_params() + 5
    np.testing.assert_array_equal(extra.detach().numpy(), np.ones(5, np.float32))
    with pytest.raises((TypeError, ValueError), match=r"(?s)partitioner.*Received: partitioner="):
        layer.add_variable("p", [2], partitioner=lambda shape, dtype: [1])


def test_tf_layers_attributes_exist():
    layer = keras.layers.SeparableConv2D(2, 3)
    for attribute in ["activity_regularizer", "dtype", "losses", "name", "non_trainable_variables",
                      "non_trainable_weights", "scope_name", "trainable_variables",
                      "trainable_weights", "updates", "variables", "weights"]:
        assert hasattr(layer, attribute), attribute
    for method in ["add_loss", "add_update", "add_variable", "apply", "build", "call",
                   "compute_output_shape", "count_params", "get_losses_for",
                   "get_updates_for"]:
        assert callable(getattr(layer, method)), method
    with pytest.raises(ValueError, match="count_params"):
        layer.count_params()  # tf.layers: "ValueError: if the layer isn't built"
    assert layer.compute_output_shape((None, 9, 9, 3)) == \
        real_keras.layers.SeparableConv2D(2, 3).compute_output_shape((None, 9, 9, 3))
