"""Bad arguments and bad inputs of the convolution layers.

Every error is a ValueError or TypeError whose message names the argument (or
the input), states the rule, and ends with ``Received: arg=value``
(DESIGN.md, principle 5). ``expect_error`` checks all three parts.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from sepconv import layers

ALL = ["Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D",
       "SeparableConv1D", "SeparableConv2D"]
RANK = {"Conv1D": 1, "Conv2D": 2, "Conv3D": 3, "DepthwiseConv1D": 1, "DepthwiseConv2D": 2,
        "SeparableConv1D": 1, "SeparableConv2D": 2}
WITH_FILTERS = ["Conv1D", "Conv2D", "Conv3D", "SeparableConv1D", "SeparableConv2D"]
WITH_DEPTH_MULTIPLIER = ["DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D",
                         "SeparableConv2D"]
CONV = ["Conv1D", "Conv2D", "Conv3D"]


def make(class_name, **kwargs):
    """A layer of ``class_name`` with filters=4, kernel_size=3 unless given."""
    cls = getattr(layers, class_name)
    if class_name in WITH_FILTERS:
        kwargs.setdefault("filters", 4)
    kwargs.setdefault("kernel_size", 3)
    return cls(**kwargs)


def expect_error(fn, argument, received, types=(ValueError, TypeError)):
    """``fn()`` raises one of ``types``; the message names ``argument`` and
    has ``Received:`` followed (somewhere) by ``received`` (a regex)."""
    with pytest.raises(types) as info:
        fn()
    message = str(info.value)
    assert re.search(argument, message), (
        f"the message does not name {argument!r}: {type(info.value).__name__}: {message}"
    )
    assert re.search(r"Received:.*" + received, message, flags=re.S), (
        f"the message lacks 'Received: ...{received}': "
        f"{type(info.value).__name__}: {message}"
    )
    return info.value


def sample(class_name, spatial=6, channels=3, batch=2, data_format="channels_last"):
    shape = (spatial,) * RANK[class_name]
    if data_format == "channels_last":
        shape = (batch,) + shape + (channels,)
    else:
        shape = (batch, channels) + shape
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------- padding
def test_separable_conv2d_doc_example_padding_2():
    # The Keras 3 doc example: positional (filters, kernel_size, strides, padding).
    x = np.random.rand(4, 10, 10, 12)
    expect_error(lambda: layers.SeparableConv2D(3, 4, 3, 2, activation="relu")(x),
                 r"`?padding`?", r"padding=2\b")


@pytest.mark.parametrize("class_name", ALL)
@pytest.mark.parametrize("padding", [2, "full", None, ""], ids=["int", "full", "None", "empty"])
def test_bad_padding(class_name, padding):
    expect_error(lambda: make(class_name, padding=padding), "padding",
                 r"padding=" + re.escape(repr(padding)))


@pytest.mark.parametrize("class_name", ["Conv2D", "Conv3D", "DepthwiseConv1D",
                                        "DepthwiseConv2D", "SeparableConv1D",
                                        "SeparableConv2D"])
def test_causal_padding_only_for_conv1d(class_name):
    expect_error(lambda: make(class_name, padding="causal"), "padding",
                 r"padding='causal'")


# --------------------------------------------------- strides with dilation
STRIDES_WITH_DILATION = [
    pytest.param(cls, s, d, id=f"{cls}-{cid}")
    for cls in ALL
    for cid, s, d in [("both2", 2, 2), ("s3-d2", 3, 2), ("s1x2-d2x1", (1, 2, 1), (2, 1, 1))]
    if not (cid == "s1x2-d2x1" and RANK[cls] == 1)  # needs two dimensions
]


@pytest.mark.parametrize("class_name,strides,dilation_rate", STRIDES_WITH_DILATION)
def test_strides_with_dilation(class_name, strides, dilation_rate):
    # Keras's docs: "strides > 1 is incompatible with dilation_rate > 1" (Keras
    # itself only checks it for Conv); one dimension strided and another
    # dilated is rejected too, as Keras's Conv does.
    rank = RANK[class_name]
    if isinstance(strides, tuple):
        strides, dilation_rate = strides[:rank], dilation_rate[:rank]
    error = expect_error(
        lambda: make(class_name, strides=strides, dilation_rate=dilation_rate),
        "strides", "strides=", types=ValueError,
    )
    assert "dilation_rate" in str(error) and re.search(r"Received:.*dilation_rate=", str(error))


# ---------------------------------------------------------------- filters
@pytest.mark.parametrize("class_name", WITH_FILTERS)
@pytest.mark.parametrize(
    "filters,received",
    [(2.5, r"filters=2\.5"), ("8", r"filters='8'"), (0, r"filters=0\b"),
     (-1, r"filters=-1\b"), (None, r"filters=None"), (True, r"filters=True")],
    ids=["float", "str", "zero", "negative", "None", "bool"],
)
def test_bad_filters(class_name, filters, received):
    expect_error(lambda: make(class_name, filters=filters), "filters", received)


# ------------------------------------------------ kernel_size, strides, dilation
@pytest.mark.parametrize("class_name", ALL)
@pytest.mark.parametrize(
    "kernel_size,received",
    [(0, r"kernel_size=0\b"), ("3", r"kernel_size='3'"), (-2, r"kernel_size=-2"),
     (2.0, r"kernel_size=2\.0"), (None, r"kernel_size=None")],
    ids=["zero", "str", "negative", "float", "None"],
)
def test_bad_kernel_size(class_name, kernel_size, received):
    expect_error(lambda: make(class_name, kernel_size=kernel_size), "kernel_size", received)


@pytest.mark.parametrize("class_name", ALL)
def test_kernel_size_of_wrong_length(class_name):
    rank = RANK[class_name]
    wrong = (3,) * (rank + 1) if rank == 1 else (3,) * (rank - 1)
    expect_error(lambda: make(class_name, kernel_size=wrong), "kernel_size",
                 re.escape(f"kernel_size={wrong!r}"))


def test_kernel_size_3_tuple_1_for_2d():
    expect_error(lambda: layers.Conv2D(4, (3,)), "kernel_size", r"kernel_size=\(3,\)")
    expect_error(lambda: layers.SeparableConv2D(4, (3,)), "kernel_size", r"kernel_size=\(3,\)")
    expect_error(lambda: layers.DepthwiseConv2D((3,)), "kernel_size", r"kernel_size=\(3,\)")


@pytest.mark.parametrize("class_name", ALL)
@pytest.mark.parametrize("argument", ["strides", "dilation_rate"])
@pytest.mark.parametrize("value", [0, -1, "2", 1.5], ids=["zero", "negative", "str", "float"])
def test_bad_strides_and_dilation(class_name, argument, value):
    expect_error(lambda: make(class_name, **{argument: value}), argument,
                 re.escape(f"{argument}={value!r}"))


@pytest.mark.parametrize("class_name", ["Conv2D", "DepthwiseConv2D", "SeparableConv2D"])
def test_zero_in_strides_tuple(class_name):
    expect_error(lambda: make(class_name, strides=(1, 0)), "strides", r"strides=\(1, 0\)")


# ------------------------------------------------------- depth_multiplier
@pytest.mark.parametrize("class_name", WITH_DEPTH_MULTIPLIER)
@pytest.mark.parametrize(
    "value,received",
    [(0, r"depth_multiplier=0\b"), (-2, r"depth_multiplier=-2"),
     (1.5, r"depth_multiplier=1\.5"), ("2", r"depth_multiplier='2'")],
    ids=["zero", "negative", "float", "str"],
)
def test_bad_depth_multiplier(class_name, value, received):
    expect_error(lambda: make(class_name, depth_multiplier=value), "depth_multiplier", received)


# ----------------------------------------------------------------- groups
@pytest.mark.parametrize("class_name", CONV)
def test_groups_must_divide_filters(class_name):
    error = expect_error(lambda: make(class_name, filters=6, groups=4), "groups",
                         r"groups=4", types=ValueError)
    assert re.search(r"Received:.*filters=6", str(error)), str(error)


@pytest.mark.parametrize("class_name", CONV)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_groups_must_divide_input_channels(class_name, data_format):
    layer = make(class_name, filters=4, groups=2, data_format=data_format)
    x = sample(class_name, channels=3, data_format=data_format)
    expect_error(lambda: layer(x), "groups", r"\b3\b", types=ValueError)
    assert not layer.built and layer.weights == []


@pytest.mark.parametrize("class_name", CONV)
@pytest.mark.parametrize("groups", [0, -1, 1.5, "2"], ids=["zero", "negative", "float", "str"])
def test_bad_groups(class_name, groups):
    expect_error(lambda: make(class_name, groups=groups), "groups",
                 re.escape(f"groups={groups!r}"))


# ------------------------------------------------------------ data_format
@pytest.mark.parametrize("class_name", ALL)
@pytest.mark.parametrize("data_format", ["NHWC", "channels_middle", 1])
def test_bad_data_format(class_name, data_format):
    expect_error(lambda: make(class_name, data_format=data_format), "data_format",
                 re.escape(f"data_format={data_format!r}"))


# ------------------------------------------------- other constructor args
@pytest.mark.parametrize("class_name", ALL)
def test_unknown_keyword(class_name):
    expect_error(lambda: make(class_name, kernel_sise=3), "kernel_sise", r"kernel_sise")


@pytest.mark.parametrize("class_name", ALL)
def test_unknown_activation(class_name):
    expect_error(lambda: make(class_name, activation="nope"), "activation",
                 r"activation='nope'")


@pytest.mark.parametrize(
    "class_name,argument",
    [("Conv2D", "kernel_initializer"), ("Conv1D", "bias_initializer"),
     ("DepthwiseConv2D", "depthwise_initializer"),
     ("SeparableConv2D", "pointwise_initializer"),
     ("SeparableConv1D", "depthwise_initializer")],
)
def test_unknown_initializer(class_name, argument):
    expect_error(lambda: make(class_name, **{argument: "nope"}), argument,
                 re.escape(f"{argument}='nope'"))


@pytest.mark.parametrize(
    "class_name,argument",
    [("Conv2D", "kernel_regularizer"), ("SeparableConv2D", "pointwise_regularizer"),
     ("DepthwiseConv1D", "activity_regularizer"), ("Conv3D", "kernel_constraint"),
     ("SeparableConv1D", "depthwise_constraint")],
)
def test_unknown_regularizer_or_constraint(class_name, argument):
    expect_error(lambda: make(class_name, **{argument: "nope"}), argument,
                 re.escape(f"{argument}='nope'"))


@pytest.mark.parametrize("class_name", ALL)
@pytest.mark.parametrize("value", ["yes", 1, None], ids=["str", "int", "None"])
def test_use_bias_must_be_bool(class_name, value):
    expect_error(lambda: make(class_name, use_bias=value), "use_bias",
                 re.escape(f"use_bias={value!r}"))


# ----------------------------------------------------------------- inputs
@pytest.mark.parametrize("class_name", ALL)
@pytest.mark.parametrize("delta", [-1, 1], ids=["rank-1", "rank+1"])
def test_wrong_input_rank(class_name, delta):
    layer = make(class_name)
    rank = RANK[class_name] + 2 + delta
    x = np.zeros((2,) + (6,) * (rank - 2) + (3,), dtype=np.float32)
    expect_error(lambda: layer(x), r"rank", re.escape(f"shape={x.shape}"), types=ValueError)


def test_3d_input_to_conv2d():
    expect_error(lambda: layers.Conv2D(4, 3)(np.zeros((2, 10, 3), np.float32)),
                 r"rank 4", r"\(2, 10, 3\)", types=ValueError)


@pytest.mark.parametrize("class_name", ALL)
def test_wrong_input_rank_after_build(class_name):
    layer = make(class_name)
    layer(sample(class_name))
    x = sample(class_name)[..., None]
    expect_error(lambda: layer(x), r"rank", re.escape(f"shape={x.shape}"), types=ValueError)


@pytest.mark.parametrize("class_name", ALL)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_channel_count_changed_after_build(class_name, data_format):
    layer = make(class_name, data_format=data_format)
    layer(sample(class_name, channels=3, data_format=data_format))
    x = sample(class_name, channels=4, data_format=data_format)
    expect_error(lambda: layer(x), r"axis|channel", re.escape(f"shape={x.shape}"),
                 types=ValueError)


@pytest.mark.parametrize("class_name", ALL)
def test_input_smaller_than_dilated_kernel_at_first_call(class_name):
    layer = make(class_name, kernel_size=3, dilation_rate=2, padding="valid")
    x = sample(class_name, spatial=4)  # needs (3 - 1) * 2 + 1 = 5
    expect_error(lambda: layer(x), r"kernel", re.escape(f"shape={x.shape}"), types=ValueError)
    assert not layer.built


@pytest.mark.parametrize("class_name", ALL)
def test_input_smaller_than_kernel_on_a_later_call(class_name):
    layer = make(class_name, kernel_size=3, padding="valid")
    layer(sample(class_name, spatial=6))
    x = sample(class_name, spatial=2)
    expect_error(lambda: layer(x), r"kernel", re.escape(f"shape={x.shape}"), types=ValueError)


@pytest.mark.parametrize("class_name", ALL)
def test_compute_output_shape_rejects_too_small_and_wrong_rank(class_name):
    layer = make(class_name, kernel_size=3, padding="valid")
    rank = RANK[class_name]
    small = (None,) + (2,) * rank + (3,)
    expect_error(lambda: layer.compute_output_shape(small), r"kernel",
                 re.escape(str(small)), types=ValueError)
    wrong = (None,) * (rank + 2) + (3,)
    expect_error(lambda: layer.compute_output_shape(wrong), r"rank",
                 re.escape(str(wrong)), types=ValueError)


@pytest.mark.parametrize("class_name", ALL)
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
def test_integer_tensor_input(class_name, dtype):
    layer = make(class_name)
    x = torch.ones(sample(class_name).shape, dtype=dtype)
    expect_error(lambda: layer(x), r"inputs?\b|dtype", re.escape(str(dtype)), types=TypeError)


def test_integer_numpy_input():
    layer = layers.Conv2D(4, 3)
    x = np.ones((2, 6, 6, 3), dtype=np.int64)
    expect_error(lambda: layer(x), r"inputs?\b|dtype", r"int64", types=TypeError)


# ----------------------------------------------------------------- weights
@pytest.mark.parametrize("class_name", ALL)
def test_set_weights_wrong_count(class_name):
    layer = make(class_name)
    layer(sample(class_name))
    weights = layer.get_weights()
    expect_error(lambda: layer.set_weights(weights[:-1]), r"weight",
                 str(len(weights) - 1), types=ValueError)
    expect_error(lambda: layer.set_weights(weights + [weights[-1]]), r"weight",
                 str(len(weights) + 1), types=ValueError)
    # nothing changed
    for before, after in zip(weights, layer.get_weights()):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("class_name", ALL)
def test_set_weights_wrong_shape(class_name):
    layer = make(class_name)
    layer(sample(class_name))
    weights = layer.get_weights()
    bad = [w.copy() for w in weights]
    bad[0] = np.zeros(weights[0].shape + (1,), np.float32)
    expected_before = [w.copy() for w in weights]
    expect_error(lambda: layer.set_weights(bad), r"shape",
                 re.escape(str(bad[0].shape)), types=ValueError)
    # An error on a later weight must not leave the earlier ones changed.
    bad = [w + 1 for w in weights]
    bad[-1] = np.zeros((99,), np.float32)
    expect_error(lambda: layer.set_weights(bad), r"shape", r"\(99,\)", types=ValueError)
    for before, after in zip(expected_before, layer.get_weights()):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("class_name", ALL)
def test_set_weights_before_build(class_name):
    layer = make(class_name)
    with pytest.raises(ValueError, match=r"built|build"):
        layer.set_weights([np.zeros((3, 3))])


@pytest.mark.parametrize("class_name", ALL)
def test_count_params_before_build(class_name):
    # No argument or value is involved here, so no ``Received:``: the message
    # names the method and the missing build, as Keras's does.
    layer = make(class_name)
    with pytest.raises(ValueError, match=r"count_params.*built|built.*count_params"):
        layer.count_params()


def test_weights_argument_with_wrong_shape_fails_at_build():
    layer = layers.SeparableConv2D(4, 3, weights=[np.zeros((3, 3, 3, 1)), np.zeros((1, 1, 3, 4))])
    expect_error(lambda: layer(np.zeros((1, 5, 5, 3), np.float32)), r"weight", r"2",
                 types=ValueError)


@pytest.mark.parametrize("value", ["yes", 0], ids=["str", "int"])
def test_trainable_must_be_bool(value):
    expect_error(lambda: layers.Conv2D(4, 3, trainable=value), "trainable",
                 re.escape(f"trainable={value!r}"))
