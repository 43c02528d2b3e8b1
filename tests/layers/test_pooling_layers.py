"""Pooling layers against keras.layers (Keras 3.15.1, torch backend).

(Named test_pooling_layers.py: tests/ops/test_pooling.py has the bare name,
and pytest's default import mode needs unique basenames.)

For every configuration: outputs, input gradients, compute_output_shape
(concrete and with None dims), get_config (equal to Keras's, both ways) and the
from_config round trip, via ``keras_reference.check_against_keras``. Where
Keras's torch backend does not compute TensorFlow's numbers (average pooling
with asymmetric 'same' padding; see sepconv.ops.pooling) the numbers are
checked against the NumPy reference instead, and shapes and config still
against Keras.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

from error_checks import expect_error
from keras_reference import (
    GRAD_RTOL,
    OUTPUT_RTOL,
    assert_close,
    check_against_keras,
    input_shape,
    normalize,
    spatial_axes,
    with_none,
)
from pooling_reference import keras_torch_matches_tf, pool
from sepconv import layers

POOLING = {
    "MaxPooling1D": (1, "max"), "MaxPooling2D": (2, "max"), "MaxPooling3D": (3, "max"),
    "AveragePooling1D": (1, "average"), "AveragePooling2D": (2, "average"),
    "AveragePooling3D": (3, "average"),
}
GLOBAL = ["GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
          "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D"]
FORMATS = ("channels_last", "channels_first")
CHANNELS = 3


def cut(value, rank):
    return value[:rank] if isinstance(value, tuple) else value


# id, kwargs (tuples cut to the rank), spatial sizes. Comments: TF's 'same'
# split along dim 0.
GEOMETRIES = [
    ("valid-p2-default-strides-odd", dict(pool_size=2), (7, 5, 3)),
    ("valid-p3-s1", dict(pool_size=3, strides=1), (7, 6, 5)),
    ("valid-p2-s3", dict(pool_size=2, strides=3), (8, 7, 5)),
    ("valid-mixed", dict(pool_size=(3, 2, 2), strides=(2, 1, 2)), (7, 6, 5)),
    ("same-p3-s1", dict(pool_size=3, strides=1, padding="same"), (5, 6, 4)),  # (1, 1)
    ("same-p2-s1-asym", dict(pool_size=2, strides=1, padding="same"), (5, 4, 3)),  # (0, 1)
    ("same-p4-s1-asym", dict(pool_size=4, strides=1, padding="same"), (5, 6, 4)),  # (1, 2)
    ("same-p3-s2-odd", dict(pool_size=3, strides=2, padding="same"), (7, 5, 5)),  # (1, 1)
    ("same-p3-s2-even-asym", dict(pool_size=3, strides=2, padding="same"), (8, 6, 4)),  # (0, 1)
    ("same-p2-default-strides-odd-asym", dict(pool_size=2, padding="same"), (7, 5, 3)),  # (0, 1)
    ("same-p1-s3-clamped", dict(pool_size=1, strides=3, padding="same"), (8, 7, 5)),  # (0, 0)
    ("same-p5-larger-than-input", dict(pool_size=5, strides=1, padding="same"), (3, 2, 3)),
    ("same-mixed", dict(pool_size=(3, 2, 4), strides=(2, 1, 3), padding="same"), (7, 6, 5)),
]

CASES = [
    pytest.param(cls, fmt, kw, sizes, id=f"{cls}-{gid}-{fmt}")
    for cls in POOLING
    for gid, kw, sizes in GEOMETRIES
    for fmt in FORMATS
]


def reference_check(class_name, kwargs, shape, data_format):
    """Numbers against the NumPy reference; shapes and config against Keras."""
    rank, mode = POOLING[class_name]
    ours = getattr(layers, class_name)(**kwargs)
    theirs = getattr(keras.layers, class_name)(**kwargs)
    x_np = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    x = torch.tensor(x_np, requires_grad=True)
    out = ours(x)
    r = np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(np.float32)
    (grad,) = torch.autograd.grad(out, x, torch.tensor(r))
    expected, expected_grad = pool(x_np, ours.pool_size, ours.strides, ours.padding, mode,
                                   data_format, r)
    assert_close(out.detach().numpy(), expected, OUTPUT_RTOL, "output vs NumPy reference")
    assert_close(grad.numpy(), expected_grad, GRAD_RTOL, "gradient vs NumPy reference")
    assert tuple(out.shape) == tuple(theirs.compute_output_shape(shape))
    for symbolic in (with_none(shape, [0]), with_none(shape, spatial_axes(shape, data_format))):
        assert ours.compute_output_shape(symbolic) == tuple(theirs.compute_output_shape(symbolic))
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
    clone = type(ours).from_config(ours.get_config())
    assert normalize(clone.get_config()) == normalize(ours.get_config())


@pytest.mark.parametrize("class_name,data_format,geometry,sizes", CASES)
def test_pooling_matches_keras(class_name, data_format, geometry, sizes):
    rank, mode = POOLING[class_name]
    kwargs = {key: cut(value, rank) for key, value in geometry.items()}
    kwargs["data_format"] = data_format
    shape = input_shape(rank, sizes, CHANNELS, data_format)
    pool_size = kwargs["pool_size"]
    pool_size = (pool_size,) * rank if isinstance(pool_size, int) else pool_size
    strides = kwargs.get("strides")
    strides = (strides,) * rank if isinstance(strides, int) else strides
    if keras_torch_matches_tf(mode, sizes[:rank], pool_size, strides,
                              kwargs.get("padding", "valid")):
        check_against_keras(class_name, kwargs, shape)
    else:
        kwargs["name"] = "layer_under_test"
        reference_check(class_name, kwargs, shape, data_format)


@pytest.mark.parametrize("class_name", GLOBAL)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("data_format", FORMATS)
def test_global_pooling_matches_keras(class_name, keepdims, data_format):
    rank = int(class_name[-2])
    shape = input_shape(rank, (5, 4, 3), CHANNELS, data_format)
    check_against_keras(class_name, dict(keepdims=keepdims, data_format=data_format), shape)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_average_pooling1d_mask_matches_keras(data_format, keepdims):
    shape = input_shape(1, (6,), CHANNELS, data_format)
    x_np = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    mask = np.array([[1, 0, 1, 1, 0, 1], [0, 0, 0, 0, 0, 0]], dtype=bool)
    kwargs = dict(data_format=data_format, keepdims=keepdims)
    results = []
    for layer in (layers.GlobalAveragePooling1D(**kwargs),
                  keras.layers.GlobalAveragePooling1D(**kwargs)):
        x = torch.tensor(x_np, requires_grad=True)
        out = layer(x, mask=torch.tensor(mask))
        (grad,) = torch.autograd.grad(out[0].sum(), x)  # sample 1 is all-masked: NaN
        results.append((out.detach().numpy(), grad.numpy()))
    (out, grad), (k_out, k_grad) = results
    np.testing.assert_array_equal(np.isnan(out), np.isnan(k_out))
    assert np.isnan(out[1]).all()
    assert_close(out[0], k_out[0], OUTPUT_RTOL, "masked output")
    assert_close(grad, k_grad, GRAD_RTOL, "masked gradient")


# ---------------------------------------------------------------- config

@pytest.mark.parametrize("class_name,kwargs", [
    ("MaxPooling1D", {}), ("MaxPooling2D", {}), ("MaxPooling3D", {}),
    ("AveragePooling1D", dict(pool_size=3)), ("AveragePooling2D", dict(pool_size=(2, 3))),
    ("AveragePooling3D", dict(pool_size=2, strides=(1, 2, 1))),
    ("MaxPooling2D", dict(pool_size=[3, 2], strides=[1, 2], padding="same")),
] + [(name, {}) for name in GLOBAL])
def test_default_config_equals_keras(class_name, kwargs):
    ours = getattr(layers, class_name)(name="p", **kwargs)
    theirs = getattr(keras.layers, class_name)(name="p", **kwargs)
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
    assert ours.built and theirs.built  # built at construction, as in Keras
    assert ours.weights == [] and ours.count_params() == 0


def test_auto_names_and_aliases():
    assert layers.MaxPooling2D().name.startswith("max_pooling2d")
    assert layers.GlobalAveragePooling1D().name.startswith("global_average_pooling1d")
    assert layers.MaxPool2D is layers.MaxPooling2D
    assert layers.AvgPool3D is layers.AveragePooling3D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    assert layers.GlobalMaxPool1D is layers.GlobalMaxPooling1D


def test_padding_is_case_insensitive():
    # Keras stores 'SAME' as given and its compute_output_shape then rejects
    # it; sepconv stores the standard lowercase name.
    x = np.random.default_rng(0).standard_normal((2, 7, 6, 3)).astype(np.float32)
    ours = layers.MaxPooling2D(3, 2, padding="SAME")
    assert ours.get_config()["padding"] == "same"
    expected = keras.layers.MaxPooling2D(3, 2, padding="same")(x).numpy()
    np.testing.assert_array_equal(ours(x).numpy(), expected)


def test_default_data_format_is_config():
    from sepconv import config

    config.set_image_data_format("channels_first")
    try:
        layer, global_layer = layers.AveragePooling2D(2), layers.GlobalMaxPooling2D()
    finally:
        config.set_image_data_format("channels_last")
    assert layer.data_format == global_layer.data_format == "channels_first"
    assert layer(torch.zeros(1, 3, 4, 6)).shape == (1, 3, 2, 3)


# ---------------------------------------------------------------- errors

BAD_POOLING_ARGS = [
    ("pool_size", 0, r"pool_size=0"),
    ("pool_size", -2, r"pool_size=-2"),
    ("pool_size", 2.5, r"pool_size=2\.5"),
    ("pool_size", "2", r"pool_size='2'"),
    ("pool_size", True, r"pool_size=True"),
    ("pool_size", None, r"pool_size=None"),
    ("pool_size", (2, 2, 2), r"pool_size=\(2, 2, 2\)"),
    ("strides", 0, r"strides=0"),  # Keras accepts 0 and fails in torch
    ("strides", (1, 0), r"strides=\(1, 0\)"),
    ("strides", (2,), r"strides=\(2,\)"),
    ("strides", 1.5, r"strides=1\.5"),
    ("padding", "full", r"padding='full'"),
    ("padding", "causal", r"padding='causal'"),
    ("padding", 2, r"padding=2"),
    ("padding", None, r"padding=None"),
    ("data_format", "NHWC", r"data_format='NHWC'"),
    ("data_format", 1, r"data_format=1"),
]


@pytest.mark.parametrize("class_name", ["MaxPooling2D", "AveragePooling2D"])
@pytest.mark.parametrize("argument,value,received", BAD_POOLING_ARGS,
                         ids=[f"{a}={v!r}" for a, v, _ in BAD_POOLING_ARGS])
def test_bad_pooling_arguments(class_name, argument, value, received):
    kwargs = {"pool_size": 2, argument: value}
    expect_error(lambda: getattr(layers, class_name)(**kwargs), argument, received)


def test_average_pooling_needs_pool_size():
    with pytest.raises(TypeError, match="pool_size"):
        layers.AveragePooling2D()


@pytest.mark.parametrize("class_name", GLOBAL)
@pytest.mark.parametrize("argument,value,received", [
    ("keepdims", "yes", r"keepdims='yes'"), ("keepdims", 1, r"keepdims=1"),
    ("keepdims", None, r"keepdims=None"), ("data_format", "NCHW", r"data_format='NCHW'"),
])
def test_bad_global_pooling_arguments(class_name, argument, value, received):
    expect_error(lambda: getattr(layers, class_name)(**{argument: value}), argument, received)


def test_bad_inputs():
    expect_error(lambda: layers.MaxPooling2D()(torch.zeros(2, 4, 4)), "rank 4",
                 r"inputs.shape=\(2, 4, 4\)")
    expect_error(lambda: layers.GlobalMaxPooling1D()(torch.zeros(2, 4, 4, 1)), "rank 3",
                 r"inputs.shape=\(2, 4, 4, 1\)")
    expect_error(lambda: layers.AveragePooling2D(3)(torch.zeros(1, 2, 5, 1)),
                 "pool_size", r"inputs.shape=\(1, 2, 5, 1\), pool_size=\(3, 3\)")
    expect_error(lambda: layers.AveragePooling1D(2)(torch.zeros(1, 4, 1, dtype=torch.int64)),
                 "floating", r"inputs.dtype=torch.int64")
    expect_error(lambda: layers.MaxPooling3D().compute_output_shape((None, 4, 4, 3)),
                 "rank 5", r"input_shape=\(None, 4, 4, 3\)")
    expect_error(lambda: layers.MaxPooling2D(3).compute_output_shape((None, 2, 8, 3)),
                 "pool_size", r"input_shape=\(None, 2, 8, 3\)")
    expect_error(lambda: layers.GlobalAveragePooling2D().compute_output_shape((None, 3)),
                 "rank 4", r"input_shape=\(None, 3\)")
    expect_error(lambda: layers.GlobalAveragePooling1D()(torch.zeros(2, 5, 3),
                                                         mask=torch.ones(2, 4)),
                 "mask", r"mask.shape=\(2, 4\)")
    expect_error(lambda: layers.MaxPooling2D(pool_sise=2), "Unrecognized", r"pool_sise")
