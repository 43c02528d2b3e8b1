"""Flatten, Reshape and ZeroPadding2D against keras.layers (Keras 3.15.1, torch).

Differential checks (outputs, input gradients, compute_output_shape with None
dims, get_config both ways, from_config round trip) go through
``keras_reference.check_against_keras``; bad arguments must raise
ValueError/TypeError naming the argument with ``Received: ...``.
"""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest
import torch

from error_checks import expect_error
from keras_reference import check_against_keras, normalize
from sepconv import layers

FORMATS = ("channels_last", "channels_first")

# ------------------------------------------------------------------ Flatten

FLATTEN_SHAPES = [(2,), (2, 5), (2, 3, 4), (2, 3, 4, 5), (2, 2, 3, 4, 5), (2, 1, 3, 1)]


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("shape", FLATTEN_SHAPES, ids=str)
def test_flatten_matches_keras(shape, data_format):
    # channels_first inputs are flattened in channels_last order, as Keras does.
    check_against_keras("Flatten", dict(data_format=data_format), shape)


@pytest.mark.parametrize("shape", [(None, 3, 4), (2, None, 4), (None, None), (None,), (3, 0, 2)],
                         ids=str)
def test_flatten_output_shape_matches_keras(shape):
    for fmt in FORMATS:
        expected = keras.layers.Flatten(data_format=fmt).compute_output_shape(shape)
        assert layers.Flatten(data_format=fmt).compute_output_shape(shape) == tuple(expected)


def test_flatten_returns_views():
    x = torch.randn(2, 4, 5, 3)  # NHWC memory
    assert layers.Flatten()(x).data_ptr() == x.data_ptr()
    assert layers.Flatten()(x)._base is x
    # channels_first view of NHWC memory: the channels_last order is the
    # memory order, so no copy is needed.
    nchw = x.movedim(-1, 1)
    out = layers.Flatten(data_format="channels_first")(nchw)
    assert out._base is x
    np.testing.assert_array_equal(out.numpy(), x.reshape(2, -1).numpy())


# ------------------------------------------------------------------ Reshape

RESHAPE_CASES = [
    ((2, 12), (3, 4)),
    ((2, 12), (-1,)),
    ((2, 3, 4), (4, -1)),
    ((2, 3, 4, 5), (-1, 5)),
    ((2, 3, 4, 5), (2, -1, 5)),
    ((2, 3, 4), (2, 3, 2)),
    ((2, 3, 4), (1, 12, 1)),
    ((2, 6), [2, 3]),
]


@pytest.mark.parametrize("shape,target_shape", RESHAPE_CASES, ids=str)
def test_reshape_matches_keras(shape, target_shape):
    check_against_keras("Reshape", dict(target_shape=target_shape), shape)


@pytest.mark.parametrize("shape,target_shape", [
    ((None, 12), (3, -1)), ((2, None, 4), (-1, 2)), ((None, 3, 4), (2, 6)),
    ((None, 3, None), (3, -1)), ((2, 3, 4), (None, 6)), ((None, 0, 3), (-1, 3)),
], ids=str)
def test_reshape_output_shape_matches_keras(shape, target_shape):
    expected = keras.layers.Reshape(target_shape).compute_output_shape(shape)
    assert layers.Reshape(target_shape).compute_output_shape(shape) == tuple(expected)


def test_reshape_with_none_target_matches_keras():
    # Keras treats a None target dimension as -1 when called, but its
    # compute_output_shape leaves it None even for a known input shape.
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    ours, theirs = layers.Reshape((None, 6)), keras.layers.Reshape((None, 6))
    np.testing.assert_array_equal(ours(x).numpy(), theirs(x).numpy())
    assert ours.compute_output_shape((2, 3, 4)) == tuple(theirs.compute_output_shape((2, 3, 4)))
    assert normalize(ours.get_config())["target_shape"] == [None, 6]


def test_reshape_returns_a_view():
    x = torch.randn(2, 3, 4)
    assert layers.Reshape((-1, 2))(x)._base is x


@pytest.mark.parametrize("target_shape,error,received", [
    (5, TypeError, r"target_shape=5"),
    ("12", TypeError, r"target_shape='12'"),
    ((3, 2.0), TypeError, r"target_shape=\(3, 2\.0\)"),
    ((3, True), TypeError, r"target_shape=\(3, True\)"),
    ((-1, -1), ValueError, r"target_shape=\(-1, -1\)"),
    ((None, -1), ValueError, r"target_shape=\(None, -1\)"),
    ((-2, 6), ValueError, r"target_shape=\(-2, 6\)"),
], ids=str)
def test_reshape_bad_target_shape(target_shape, error, received):
    expect_error(lambda: layers.Reshape(target_shape), "target_shape", received, types=error)


@pytest.mark.parametrize("target_shape,shape", [
    ((5,), (2, 12)), ((5, -1), (2, 12)), ((0, -1), (2, 12)), ((2, 0), (2, 3, 4)),
], ids=str)
def test_reshape_size_mismatch(target_shape, shape):
    layer = layers.Reshape(target_shape)
    received = r"target_shape=.*input_shape=" + re.escape(str(shape))
    expect_error(lambda: layer(torch.zeros(shape)), "target_shape", received, types=ValueError)
    expect_error(lambda: layer.compute_output_shape(shape), "target_shape", received,
                 types=ValueError)
    # Keras rejects the same shapes.
    with pytest.raises(ValueError):
        keras.layers.Reshape(target_shape).compute_output_shape(shape)


# ------------------------------------------------------------- ZeroPadding2D

PADDINGS = [1, 0, (1, 2), ((1, 2), (0, 3)), ((0, 0), (2, 1)), [[2, 0], [1, 1]], (3, (0, 2))]


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("padding", PADDINGS, ids=str)
def test_zero_padding2d_matches_keras(padding, data_format):
    shape = (2, 4, 5, 3) if data_format == "channels_last" else (2, 3, 4, 5)
    check_against_keras("ZeroPadding2D", dict(padding=padding, data_format=data_format),
                        shape)


def test_zero_padding2d_default_config_and_channels_last_output():
    ours, theirs = layers.ZeroPadding2D(name="z"), keras.layers.ZeroPadding2D(name="z")
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
    x = torch.randn(2, 4, 5, 3)
    out = ours(x)
    assert out.is_contiguous() and out.shape == (2, 6, 7, 3)
    out_cf = layers.ZeroPadding2D(data_format="channels_first")(x.movedim(-1, 1))
    assert out_cf.is_contiguous(memory_format=torch.channels_last)  # layout kept


BAD_PADDINGS = [
    (-1, r"padding=-1"),
    ((1, -2), r"padding=\(1, -2\)"),
    (((1, 2), (0, -1)), r"padding=\(\(1, 2\), \(0, -1\)\)"),
    ((1, 2, 3), r"padding=\(1, 2, 3\)"),
    (((1, 2, 3), (1, 1)), r"padding=\(\(1, 2, 3\), \(1, 1\)\)"),
    ("1", r"padding='1'"),
    (1.5, r"padding=1\.5"),
    (True, r"padding=True"),
    (None, r"padding=None"),
    ((1.0, 2), r"padding=\(1\.0, 2\)"),
]


@pytest.mark.parametrize("padding,received", BAD_PADDINGS, ids=[str(p) for p, _ in BAD_PADDINGS])
def test_zero_padding2d_bad_padding(padding, received):
    expect_error(lambda: layers.ZeroPadding2D(padding), "padding", received)


def test_bad_data_format_and_inputs():
    for cls in (layers.Flatten, layers.ZeroPadding2D):
        expect_error(lambda: cls(data_format="NHWC"), "data_format", r"data_format='NHWC'")
    expect_error(lambda: layers.ZeroPadding2D()(torch.zeros(2, 3, 4)), "rank 4",
                 r"inputs.shape=\(2, 3, 4\)")
    expect_error(lambda: layers.ZeroPadding2D().compute_output_shape((2, 3)), "rank 4",
                 r"input_shape=\(2, 3\)")
    expect_error(lambda: layers.Flatten()(torch.tensor(1.0)), "rank >= 1",
                 r"inputs.shape=\(\)")
    expect_error(lambda: layers.Flatten().compute_output_shape(()), "rank >= 1",
                 r"input_shape=\(\)")
