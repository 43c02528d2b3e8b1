"""Shape arithmetic against a brute-force window enumeration and against Keras."""

import itertools
import math

import numpy as np
import pytest

from sepconv.ops import shapes


# ---------------------------------------------------------------- references

def brute_same(n, k, s, d):
    """TF 'same' by enumeration: the smallest total padding whose output has
    ceil(n/s) windows, split with the odd pixel after."""
    want = math.ceil(n / s)
    span = (k - 1) * d + 1
    total = 0
    while len(range(0, n + total - span + 1, s)) < want:
        total += 1
    return total // 2, total - total // 2


def brute_windows(n, k, s, d, before, after):
    """Start positions (in input coordinates) of every window that fits."""
    span = (k - 1) * d + 1
    return [i - before for i in range(0, n + before + after - span + 1, s)]


def grid(k):
    return itertools.product(range(1, 14), range(1, 5), range(1, 4))


@pytest.mark.parametrize("k", range(1, 6))
def test_same_padding_matches_enumeration(k):
    for n, s, d in grid(k):
        check_same(n, k, s, d)


def check_same(n, k, s, d):
    before, after = shapes.same_padding(n, k, s, d)
    assert (before, after) == brute_same(n, k, s, d)
    assert after - before in (0, 1)
    windows = brute_windows(n, k, s, d, before, after)
    assert len(windows) == shapes.conv_output_length(n, k, s, "same", d)
    # Every window touches the input (TF never emits a window of pure padding).
    span = (k - 1) * d + 1
    assert all(w + span > 0 and w < n for w in windows)


@pytest.mark.parametrize("k", range(1, 6))
def test_valid_and_causal_lengths_match_enumeration(k):
    for n, s, d in grid(k):
        check_valid_causal(n, k, s, d)


def check_valid_causal(n, k, s, d):
    valid = shapes.conv_output_length(n, k, s, "valid", d)
    assert valid == len(brute_windows(n, k, s, d, 0, 0)) or valid < 1
    before, after = shapes.padding_pair(n, k, s, "causal", d)
    assert (before, after) == ((k - 1) * d, 0)
    causal = brute_windows(n, k, s, d, before, after)
    assert len(causal) == shapes.conv_output_length(n, k, s, "causal", d)
    # Causal: window i ends at input position i * s, never later.
    assert [w + (k - 1) * d for w in causal] == list(range(0, n, s))


def test_none_length_stays_none():
    assert shapes.conv_output_length(None, 3, 2, "same", 1) is None
    assert shapes.compute_conv_output_shape(
        (None, None, 7, 3), 5, 3, 2, "valid", "channels_last", 1
    ) == (None, None, 3, 5)


KERAS_CASES = [
    ((2, 9, 3), 4, (3,), (1,), "valid", "channels_last", (1,)),
    ((2, 3, 9), 4, (3,), (2,), "same", "channels_first", (1,)),
    ((2, 9, 3), 4, (2,), (1,), "causal", "channels_last", (3,)),
    ((None, 8, 7, 3), 6, (3, 2), (2, 1), "same", "channels_last", (1, 1)),
    ((1, 3, 10, 11), 6, (3, 3), (1, 1), "valid", "channels_first", (2, 3)),
    ((2, 5, 6, 7, 2), 3, (2, 3, 1), (1, 2, 3), "same", "channels_last", (1, 1, 1)),
    ((2, 2, 5, 6, 7), 3, (2, 2, 2), (2, 1, 1), "valid", "channels_first", (1, 2, 3)),
]


@pytest.mark.parametrize("case", KERAS_CASES)
def test_matches_keras_compute_conv_output_shape(case):
    from keras.src.ops.operation_utils import compute_conv_output_shape as keras_shape

    ours = shapes.compute_conv_output_shape(*case)
    assert ours == tuple(keras_shape(*case))


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("n,k,s,d", [(7, 3, 2, 1), (8, 4, 1, 2), (9, 2, 3, 1), (6, 3, 1, 2)])
def test_matches_keras_ops_conv_shape(n, k, s, d, padding):
    import keras

    x = np.zeros((1, n, n + 1, 2), "float32")
    kernel = np.zeros((k, k, 2, 3), "float32")
    y = keras.ops.conv(x, kernel, strides=s, padding=padding, dilation_rate=d)
    expected = shapes.compute_conv_output_shape(x.shape, 3, k, s, padding, None, d)
    assert tuple(y.shape) == expected


# ---------------------------------------------------------------- standardisers

@pytest.mark.parametrize(
    "value,n,expected",
    [(3, 2, (3, 3)), ((1, 2), 2, (1, 2)), ([4], 1, (4,)), (np.int64(2), 3, (2, 2, 2)),
     ((np.int32(1), 5), 2, (1, 5))],
)
def test_standardize_tuple(value, n, expected):
    result = shapes.standardize_tuple(value, n, "kernel_size")
    assert result == expected and all(type(v) is int for v in result)


@pytest.mark.parametrize(
    "value", [(3, "a"), (3,), (3, 3, 3), 2.0, (2.0, 2), True, (True, 1), "33", None, 0, (1, -1)]
)
def test_standardize_tuple_rejects(value):
    with pytest.raises(ValueError, match=r"`kernel_size`.*Received: kernel_size="):
        shapes.standardize_tuple(value, 2, "kernel_size")


def test_standardize_tuple_message():
    with pytest.raises(ValueError) as e:
        shapes.standardize_tuple((3, "a"), 2, "kernel_size")
    assert str(e.value) == (
        "The `kernel_size` argument must be a tuple of 2 integers. "
        "Received: kernel_size=(3, 'a')"
    )


def test_standardize_tuple_allow_zero():
    assert shapes.standardize_tuple((0, 1), 2, "padding", allow_zero=True) == (0, 1)
    with pytest.raises(ValueError, match=">= 0"):
        shapes.standardize_tuple(-1, 2, "padding", allow_zero=True)


def test_standardize_padding():
    assert shapes.standardize_padding("Valid") == "valid"
    assert shapes.standardize_padding("CAUSAL", allow_causal=True) == "causal"
    for bad, kwargs in [("causal", {}), ("full", {}), (2, {}), (None, {"allow_causal": True})]:
        with pytest.raises(ValueError, match=f"Received: padding={bad!r}"):
            shapes.standardize_padding(bad, **kwargs)


def test_standardize_data_format():
    from sepconv import config

    assert shapes.standardize_data_format("CHANNELS_LAST") == "channels_last"
    config.set_image_data_format("channels_first")
    try:
        assert shapes.standardize_data_format(None) == "channels_first"
    finally:
        config.set_image_data_format("channels_last")
    for bad in ["nhwc", 3]:
        with pytest.raises(ValueError, match=f"Received: data_format={bad!r}"):
            shapes.standardize_data_format(bad)


# ---------------------------------------------------------------- errors

def test_input_smaller_than_dilated_kernel():
    with pytest.raises(ValueError) as e:
        shapes.compute_conv_output_shape((None, 2, 2, 3), 8, (3, 3), 1, "valid",
                                         "channels_last", 1)
    assert "Received: input_shape=(None, 2, 2, 3), kernel_size=(3, 3), " \
           "dilation_rate=(1, 1)" in str(e.value)
    with pytest.raises(ValueError, match="smaller than the dilated kernel"):
        shapes.compute_conv_output_shape((1, 3, 4), 8, 2, 1, "valid", "channels_first", 4)
    # 'same' never fails.
    assert shapes.compute_conv_output_shape((1, 2, 3), 8, 5, 1, "same", None, 4) == (1, 2, 8)


def test_rank_errors():
    with pytest.raises(ValueError, match="spatial dimension"):
        shapes.compute_conv_output_shape((1, 3), 8, 2)
    with pytest.raises(ValueError, match="kernel_size"):
        shapes.compute_conv_output_shape((1, 5, 5, 3), 8, (2, 2, 2))
