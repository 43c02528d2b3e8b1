"""Differential tests: every convolution layer against Keras 3.15.1 (torch backend).

For each configuration the sepconv layer and the Keras layer are built from the
same arguments on the same input shape; Keras's weights are copied into ours
and both run the same float32 input. Checked (see ``tests/keras_reference.py``
for the tolerances and the reasons for them):

* outputs (2e-5 relative, atol scaled to the output's magnitude);
* gradients of ``sum(out * r)`` (fixed random ``r``) w.r.t. the input and
  every weight (1e-4 relative);
* weight names, paths, shapes, order; ``count_params``;
* ``compute_output_shape`` for the concrete shape (= the eager output shape),
  with a None batch and with None spatial dims (= Keras's);
* ``get_config`` (our keys include Keras's, values equal), Keras's
  ``from_config`` on ours and ours on Keras's, and our ``from_config`` round trip.

The random-configuration test draws its seed from ``SEPCONV_TEST_SEED`` (or a
fresh one per run); a failure message names the seed, and
``SEPCONV_TEST_SEED=<seed> pytest -k random`` reproduces it.
"""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

import torch

from keras_reference import (
    LAYERS,
    check_against_keras,
    input_shape,
    keras_weight_tensors,
    outputs_close,
    paired_layers,
)

CHANNELS = 3
FILTERS = 4


def layer_kwargs(class_name, **kwargs):
    """Keyword arguments for ``class_name``: ``filters`` for Conv/Separable
    (not Depthwise); per-dimension tuples cut to the layer's rank."""
    rank, family = LAYERS[class_name]
    out = {}
    if family != "depthwise":
        out["filters"] = kwargs.pop("filters", FILTERS)
    else:
        kwargs.pop("filters", None)
    for key, value in kwargs.items():
        if key in ("kernel_size", "strides", "dilation_rate") and isinstance(value, tuple):
            value = value[:rank]
        out[key] = value
    return out


# --------------------------------------------------------------------------
# Geometry table: kernel / strides / dilation / padding / input sizes.
# Per-dimension tuples have 3 entries and are cut to the layer's rank; the
# spatial sizes likewise. Comments give TF's 'same' split along dim 0.
GEOMETRIES = [
    # id, kwargs, spatial sizes
    ("valid-k3-odd", dict(kernel_size=3, padding="valid"), (7, 5, 5)),
    ("valid-k3-even", dict(kernel_size=3, padding="valid"), (8, 6, 4)),
    ("valid-k2-s2-odd", dict(kernel_size=2, strides=2, padding="valid"), (7, 5, 5)),
    ("valid-k3-s3-even", dict(kernel_size=3, strides=3, padding="valid"), (8, 6, 4)),
    ("valid-k3-d2-odd", dict(kernel_size=3, dilation_rate=2, padding="valid"), (7, 5, 6)),
    ("valid-k3-d2-out1", dict(kernel_size=3, dilation_rate=2, padding="valid"), (5, 5, 5)),
    ("valid-k1", dict(kernel_size=1, padding="valid"), (4, 3, 2)),
    ("valid-upper", dict(kernel_size=3, padding="VALID"), (6, 5, 4)),
    ("same-k3-odd", dict(kernel_size=3, padding="same"), (7, 5, 5)),  # (1, 1)
    ("same-k3-even", dict(kernel_size=3, padding="same"), (8, 6, 4)),  # (1, 1)
    ("same-k2-odd-asym", dict(kernel_size=2, padding="same"), (7, 5, 3)),  # (0, 1)
    ("same-k4-even-asym", dict(kernel_size=4, padding="same"), (8, 6, 4)),  # (1, 2)
    ("same-k3-s2-odd", dict(kernel_size=3, strides=2, padding="same"), (7, 5, 5)),  # (1, 1)
    ("same-k3-s2-even-asym", dict(kernel_size=3, strides=2, padding="same"), (8, 6, 4)),  # (0, 1)
    ("same-k4-s2-odd-asym", dict(kernel_size=4, strides=2, padding="same"), (7, 5, 3)),  # (1, 2)
    ("same-k1-s3-even", dict(kernel_size=1, strides=3, padding="same"), (8, 6, 4)),  # (0, 0)
    ("same-k5-larger-than-input", dict(kernel_size=5, padding="same"), (3, 2, 3)),  # (2, 2)
    ("same-k3-d2-odd", dict(kernel_size=3, dilation_rate=2, padding="same"), (7, 5, 5)),  # (2, 2)
    ("same-k2-d3-even-asym", dict(kernel_size=2, dilation_rate=3, padding="same"), (8, 6, 4)),  # (1, 2)
    ("same-mixed-k-s", dict(kernel_size=(3, 2, 4), strides=(2, 1, 3), padding="same"), (7, 6, 5)),
    ("valid-mixed-k-d", dict(kernel_size=(2, 3, 1), dilation_rate=(3, 1, 2), padding="valid"), (8, 7, 5)),
    ("same-mixed-k-d", dict(kernel_size=(2, 3, 2), dilation_rate=(3, 1, 2), padding="same"), (8, 7, 5)),
]

GEOMETRY_CASES = [
    pytest.param(cls, fmt, kw, sizes, id=f"{cls}-{gid}-{fmt}")
    for cls in LAYERS
    for gid, kw, sizes in GEOMETRIES
    for fmt in ("channels_last", "channels_first")
]


@pytest.mark.parametrize("class_name,data_format,geometry,sizes", GEOMETRY_CASES)
def test_geometry(class_name, data_format, geometry, sizes):
    rank = LAYERS[class_name][0]
    kwargs = layer_kwargs(class_name, data_format=data_format, **geometry)
    check_against_keras(class_name, kwargs, input_shape(rank, sizes, CHANNELS, data_format))


# --------------------------------------------------------------------------
# Causal padding (Conv1D only).
CAUSAL_CASES = [
    ("k3", dict(kernel_size=3), 7),
    ("k2-even", dict(kernel_size=2), 8),
    ("k3-d2", dict(kernel_size=3, dilation_rate=2), 9),
    ("k4-d3", dict(kernel_size=4, dilation_rate=3), 6),
    ("k3-s2-odd", dict(kernel_size=3, strides=2), 7),
    ("k2-s3-even", dict(kernel_size=2, strides=3), 8),
    ("k5-longer-than-input", dict(kernel_size=5), 3),
    ("upper", dict(kernel_size=3, padding="CAUSAL"), 5),
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(
    "kw,length", [pytest.param(kw, n, id=cid) for cid, kw, n in CAUSAL_CASES]
)
def test_conv1d_causal(kw, length, data_format):
    kwargs = dict(padding="causal", data_format=data_format, use_bias=True)
    kwargs.update(kw)
    kwargs = layer_kwargs("Conv1D", **kwargs)
    check_against_keras("Conv1D", kwargs, input_shape(1, (length,), CHANNELS, data_format))


# --------------------------------------------------------------------------
# use_bias=False (weight list without bias) across geometries that matter.
BIAS_GEOMETRIES = [g for g in GEOMETRIES if g[0] in (
    "valid-k3-odd", "same-k4-even-asym", "same-k3-s2-even-asym")]


@pytest.mark.parametrize(
    "class_name,data_format,geometry,sizes",
    [
        pytest.param(cls, fmt, kw, sizes, id=f"{cls}-{gid}-{fmt}")
        for cls in LAYERS
        for gid, kw, sizes in BIAS_GEOMETRIES
        for fmt in ("channels_last", "channels_first")
    ],
)
def test_no_bias(class_name, data_format, geometry, sizes):
    rank = LAYERS[class_name][0]
    kwargs = layer_kwargs(class_name, data_format=data_format, use_bias=False, **geometry)
    check_against_keras(class_name, kwargs, input_shape(rank, sizes, CHANNELS, data_format))


# --------------------------------------------------------------------------
# Activations (by name), each on every layer class.
ACTIVATIONS = [
    None, "linear", "relu", "tanh", "sigmoid", "gelu", "swish", "silu", "elu", "selu",
    "softplus", "softsign", "leaky_relu", "relu6", "hard_sigmoid", "hard_silu", "mish",
    "log_sigmoid", "celu", "exponential", "softmax",
]


@pytest.mark.parametrize("class_name", list(LAYERS))
@pytest.mark.parametrize("activation", ACTIVATIONS, ids=[str(a) for a in ACTIVATIONS])
def test_activation(class_name, activation):
    rank = LAYERS[class_name][0]
    kwargs = layer_kwargs(class_name, kernel_size=3, padding="same", activation=activation)
    check_against_keras(class_name, kwargs, input_shape(rank, (5, 4, 3), CHANNELS, "channels_last"))


@pytest.mark.parametrize("class_name", ["Conv2D", "DepthwiseConv1D", "SeparableConv2D"])
@pytest.mark.parametrize("activation", ["relu", "softmax", "gelu"])
def test_activation_channels_first(class_name, activation):
    # softmax runs over the last axis, a spatial one in channels_first: as Keras.
    rank = LAYERS[class_name][0]
    kwargs = layer_kwargs(class_name, kernel_size=2, padding="valid", activation=activation,
                          data_format="channels_first")
    check_against_keras(class_name, kwargs, input_shape(rank, (5, 4), CHANNELS, "channels_first"))


# --------------------------------------------------------------------------
# depth_multiplier (Depthwise and Separable).
DM_GEOMETRIES = [g for g in GEOMETRIES if g[0] in (
    "valid-k3-even", "same-k2-odd-asym", "same-k3-s2-even-asym", "same-k2-d3-even-asym")]


@pytest.mark.parametrize("depth_multiplier", [2, 3])
@pytest.mark.parametrize(
    "class_name,data_format,geometry,sizes",
    [
        pytest.param(cls, fmt, kw, sizes, id=f"{cls}-{gid}-{fmt}")
        for cls in ("DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D")
        for gid, kw, sizes in DM_GEOMETRIES
        for fmt in ("channels_last", "channels_first")
    ],
)
def test_depth_multiplier(class_name, data_format, geometry, sizes, depth_multiplier):
    rank = LAYERS[class_name][0]
    kwargs = layer_kwargs(class_name, data_format=data_format,
                          depth_multiplier=depth_multiplier, **geometry)
    check_against_keras(class_name, kwargs, input_shape(rank, sizes, CHANNELS, data_format))


@pytest.mark.parametrize("class_name", ["SeparableConv1D", "SeparableConv2D"])
@pytest.mark.parametrize("filters", [1, 7])
def test_separable_filters(class_name, filters):
    rank = LAYERS[class_name][0]
    kwargs = layer_kwargs(class_name, filters=filters, kernel_size=3, padding="same",
                          depth_multiplier=2)
    check_against_keras(class_name, kwargs, input_shape(rank, (6, 5), CHANNELS, "channels_last"))


@pytest.mark.parametrize("class_name", list(LAYERS))
@pytest.mark.parametrize("channels", [1, 5])
def test_channel_counts(class_name, channels):
    rank = LAYERS[class_name][0]
    kwargs = layer_kwargs(class_name, kernel_size=2, padding="same")
    check_against_keras(class_name, kwargs, input_shape(rank, (5, 4, 3), channels, "channels_last"))


# --------------------------------------------------------------------------
# groups (Conv): input channels and filters divisible by groups.
GROUP_CASES = [
    # id, channels, filters, groups
    ("g1", 4, 6, 1),
    ("g2", 4, 6, 2),
    ("g4-depthwise-like", 4, 4, 4),
    ("g4-x2", 4, 8, 4),
    ("g3", 6, 3, 3),
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize(
    "channels,filters,groups", [pytest.param(c, f, g, id=gid) for gid, c, f, g in GROUP_CASES]
)
@pytest.mark.parametrize("class_name", ["Conv1D", "Conv2D", "Conv3D"])
def test_groups(class_name, channels, filters, groups, padding, data_format):
    rank = LAYERS[class_name][0]
    kwargs = layer_kwargs(class_name, filters=filters, groups=groups, kernel_size=(3, 2, 2),
                          strides=(1, 2, 1), padding=padding, data_format=data_format)
    check_against_keras(class_name, kwargs, input_shape(rank, (6, 5, 3), channels, data_format))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv1d_causal_groups(data_format):
    kwargs = layer_kwargs("Conv1D", filters=4, groups=2, kernel_size=3, dilation_rate=2,
                          padding="causal", data_format=data_format)
    check_against_keras("Conv1D", kwargs, input_shape(1, (7,), 4, data_format))


# --------------------------------------------------------------------------
# Larger inputs (whatever fast path a kernel takes for realistic sizes).
LARGER_CASES = [
    ("Conv2D", dict(filters=16, kernel_size=3, padding="same"), (2, 24, 24, 16)),
    ("Conv2D", dict(filters=16, kernel_size=3, strides=2, padding="same"), (2, 24, 24, 16)),
    ("Conv2D", dict(filters=32, kernel_size=1), (2, 16, 16, 24)),
    ("Conv2D", dict(filters=8, kernel_size=3, padding="same", groups=4,
                    data_format="channels_first"), (2, 16, 20, 20)),
    ("DepthwiseConv2D", dict(kernel_size=3, padding="same"), (2, 24, 24, 32)),
    ("DepthwiseConv2D", dict(kernel_size=3, strides=2, padding="same"), (2, 24, 24, 32)),
    ("DepthwiseConv2D", dict(kernel_size=5, padding="same", depth_multiplier=2,
                             data_format="channels_first"), (2, 16, 20, 20)),
    ("SeparableConv2D", dict(filters=32, kernel_size=3, padding="same"), (2, 24, 24, 16)),
    ("SeparableConv2D", dict(filters=32, kernel_size=3, strides=2, padding="same",
                             activation="relu"), (2, 25, 25, 16)),
    ("SeparableConv2D", dict(filters=24, kernel_size=3, dilation_rate=2, padding="same",
                             data_format="channels_first"), (2, 16, 20, 20)),
    ("SeparableConv1D", dict(filters=32, kernel_size=5, padding="same"), (2, 64, 32)),
    ("DepthwiseConv1D", dict(kernel_size=4, padding="same", depth_multiplier=2), (2, 64, 32)),
    ("Conv1D", dict(filters=32, kernel_size=3, padding="causal", dilation_rate=4), (2, 64, 16)),
    ("Conv3D", dict(filters=8, kernel_size=3, padding="same"), (1, 10, 10, 10, 8)),
]


@pytest.mark.parametrize(
    "class_name,kwargs,shape",
    [pytest.param(c, k, s, id=f"{c}-{i}") for i, (c, k, s) in enumerate(LARGER_CASES)],
)
def test_larger_inputs(class_name, kwargs, shape):
    check_against_keras(class_name, kwargs, shape)


# --------------------------------------------------------------------------
# One layer, many calls; other tensor kinds.
STATE_CASES = [
    pytest.param(cls, fmt, id=f"{cls}-{fmt}")
    for cls in LAYERS
    for fmt in ("channels_last", "channels_first")
]


def _x(rng, shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("class_name,data_format", STATE_CASES)
def test_later_calls_with_other_sizes(class_name, data_format):
    """Built on one size, called on others (odd/even flips the 'same' split)."""
    rank = LAYERS[class_name][0]
    rng = np.random.default_rng(1)
    kwargs = layer_kwargs(class_name, kernel_size=4, strides=2, padding="same",
                          data_format=data_format)
    ours, klayer = paired_layers(class_name, kwargs,
                                 input_shape(rank, (7, 5, 5), CHANNELS, data_format))
    for sizes, batch in [((7, 5, 5), 2), ((8, 6, 4), 3), ((3, 9, 2), 1), ((7, 5, 5), 2)]:
        shape = input_shape(rank, sizes, CHANNELS, data_format, batch=batch)
        outputs_close(ours, klayer, _x(rng, shape), f"{class_name} call on {shape}")
        assert ours.compute_output_shape(shape) == tuple(klayer.compute_output_shape(shape))


@pytest.mark.parametrize("class_name,data_format", STATE_CASES)
def test_weights_changed_in_place(class_name, data_format):
    """set_weights again, and an optimizer step on the same gradients: any
    cached kernel layout must follow the new values."""
    rank = LAYERS[class_name][0]
    rng = np.random.default_rng(2)
    kwargs = layer_kwargs(class_name, kernel_size=3, padding="same", data_format=data_format)
    shape = input_shape(rank, (6, 5, 4), CHANNELS, data_format)
    ours, klayer = paired_layers(class_name, kwargs, shape)
    x = _x(rng, shape)
    outputs_close(ours, klayer, x, "initial")
    new = [w + rng.standard_normal(w.shape).astype(np.float32) for w in klayer.get_weights()]
    klayer.set_weights(new)
    ours.set_weights(new)
    outputs_close(ours, klayer, x, "after set_weights")
    # One SGD step on each, from its own gradients (compared first).
    r = torch.tensor(_x(rng, klayer.compute_output_shape(shape)))
    k_params = keras_weight_tensors(klayer)
    k_loss = (klayer(torch.tensor(x)) * r).sum()
    k_grads = torch.autograd.grad(k_loss, k_params)
    o_loss = (ours(torch.tensor(x)) * r).sum()
    o_grads = torch.autograd.grad(o_loss, ours.weights)
    with torch.no_grad():
        for p, g in zip(k_params, k_grads):
            p -= 0.1 * g
    optimizer = torch.optim.SGD(ours.parameters(), lr=0.1)
    for p, g in zip(ours.weights, o_grads):
        p.grad = g
    optimizer.step()
    outputs_close(ours, klayer, x, "after an SGD step", rtol=1e-4)


@pytest.mark.parametrize("class_name,data_format", STATE_CASES)
def test_non_contiguous_inputs(class_name, data_format):
    """Transposed / strided / channels_last-memory views give Keras's output."""
    rank = LAYERS[class_name][0]
    rng = np.random.default_rng(3)
    kwargs = layer_kwargs(class_name, kernel_size=3, strides=2, padding="same",
                          data_format=data_format)
    shape = input_shape(rank, (7, 6, 5), CHANNELS, data_format)
    ours, klayer = paired_layers(class_name, kwargs, shape)
    base = torch.tensor(_x(rng, shape))
    # The same values, stored transposed (swap the first two spatial/channel axes).
    swapped = base.transpose(1, 2).contiguous().transpose(1, 2)
    assert not swapped.is_contiguous() and torch.equal(swapped, base)
    outputs_close(ours, klayer, swapped, "transposed storage")
    # Every other element of a bigger tensor.
    big = torch.tensor(_x(rng, tuple(2 * d for d in shape)))
    strided = big[tuple(slice(None, None, 2) for _ in shape)]
    outputs_close(ours, klayer, strided, "strided view")
    if rank == 2:
        cl = base.contiguous(memory_format=torch.channels_last)
        outputs_close(ours, klayer, cl, "channels_last memory format")
    if rank == 3:
        cl = base.contiguous(memory_format=torch.channels_last_3d)
        outputs_close(ours, klayer, cl, "channels_last_3d memory format")


@pytest.mark.parametrize("class_name,data_format", STATE_CASES)
def test_no_grad_inference_mode_and_float64_inputs(class_name, data_format):
    rank = LAYERS[class_name][0]
    rng = np.random.default_rng(4)
    kwargs = layer_kwargs(class_name, kernel_size=2, padding="same", data_format=data_format,
                          activation="relu")
    shape = input_shape(rank, (5, 4, 3), CHANNELS, data_format)
    ours, klayer = paired_layers(class_name, kwargs, shape)
    x64 = _x(rng, shape, np.float64)
    with torch.no_grad():
        expected = klayer(torch.tensor(x64.astype(np.float32))).numpy()
        # float64 input: cast to the layer's float32, as Keras does.
        assert klayer(torch.tensor(x64)).dtype == torch.float32
    with torch.inference_mode():
        got = ours(torch.tensor(x64.astype(np.float32)))
    from keras_reference import OUTPUT_RTOL, assert_close

    assert_close(got.numpy(), expected, OUTPUT_RTOL, "inference_mode")
    outputs_close(ours, klayer, x64, "float64 NumPy input")
    outputs_close(ours, klayer, torch.tensor(x64), "float64 tensor input")


def test_default_names_and_paths_as_keras():
    import keras

    import sepconv

    sepconv.utils.clear_session()
    keras.utils.clear_session()
    for class_name in list(LAYERS) * 2:
        kwargs = layer_kwargs(class_name, kernel_size=1)
        ours = getattr(sepconv.layers, class_name)(**kwargs)
        theirs = getattr(keras.layers, class_name)(**kwargs)
        assert ours.name == theirs.name, class_name
        shape = input_shape(LAYERS[class_name][0], (3, 3, 3), 2, "channels_last")
        ours.build(shape)
        theirs.build(shape)
        assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]


# --------------------------------------------------------------------------
# Random configurations.
def _seed():
    value = os.environ.get("SEPCONV_TEST_SEED")
    return int(value) if value else random.SystemRandom().randrange(2**31)


RANDOM_SEED = _seed()
RANDOM_CASES = 40
RANDOM_ACTIVATIONS = [None, "relu", "tanh", "sigmoid", "gelu", "swish", "elu", "softplus"]


def random_config(seed, index):
    """One valid random configuration: (class_name, kwargs, input shape)."""
    rng = np.random.default_rng([seed, index])
    class_name = list(LAYERS)[rng.integers(len(LAYERS))]
    rank, family = LAYERS[class_name]
    kernel = tuple(int(k) for k in rng.integers(1, 6, size=rank))
    if rng.random() < 0.5:
        strides = tuple(int(s) for s in rng.integers(1, 4, size=rank))
        dilation = (1,) * rank
    else:
        strides = (1,) * rank
        dilation = tuple(int(d) for d in rng.integers(1, 4, size=rank))
    paddings = ["valid", "same"] + (["causal"] if class_name == "Conv1D" else [])
    padding = paddings[rng.integers(len(paddings))]
    data_format = ["channels_last", "channels_first"][rng.integers(2)]
    kwargs = dict(
        kernel_size=kernel if rng.random() < 0.7 or len(set(kernel)) > 1 else kernel[0],
        strides=strides,
        dilation_rate=dilation,
        padding=padding,
        data_format=data_format,
        use_bias=bool(rng.integers(2)),
        activation=RANDOM_ACTIVATIONS[rng.integers(len(RANDOM_ACTIVATIONS))],
    )
    if family == "conv":
        groups = int(rng.integers(1, 4))
        channels = groups * int(rng.integers(1, 4))
        kwargs["filters"] = groups * int(rng.integers(1, 4))
        kwargs["groups"] = groups
    else:
        channels = int(rng.integers(1, 6))
        kwargs["depth_multiplier"] = int(rng.integers(1, 4))
        if family == "separable":
            kwargs["filters"] = int(rng.integers(1, 7))
    # Spatial sizes 1-12 (1-7 for 3D, to keep the run short) with a
    # non-empty output under 'valid'.
    high = 7 if rank == 3 else 12
    sizes = []
    for k, d in zip(kernel, dilation):
        low = (k - 1) * d + 1 if padding == "valid" else 1
        sizes.append(int(rng.integers(min(low, high), high + 1)))
    # A dilated kernel wider than the largest size under 'valid': shrink the dilation.
    if padding == "valid":
        dilation = tuple(
            d if (k - 1) * d + 1 <= n else max(1, (n - 1) // max(k - 1, 1))
            for k, d, n in zip(kernel, dilation, sizes)
        )
        kernel = tuple(min(k, (n - 1) // d + 1) for k, d, n in zip(kernel, dilation, sizes))
        kwargs["dilation_rate"] = dilation
        kwargs["kernel_size"] = kernel
    batch = int(rng.integers(1, 4))
    return class_name, kwargs, input_shape(rank, sizes, channels, data_format, batch=batch)


@pytest.mark.parametrize("index", range(RANDOM_CASES))
def test_random_configuration(index):
    class_name, kwargs, shape = random_config(RANDOM_SEED, index)
    context = (
        f" [random case {index}, SEPCONV_TEST_SEED={RANDOM_SEED}; reproduce with "
        f"SEPCONV_TEST_SEED={RANDOM_SEED} python -m pytest "
        f"'tests/layers/test_conv_differential.py::test_random_configuration[{index}]']"
    )
    try:
        check_against_keras(class_name, kwargs, shape, seed=index, context=context)
    except Exception as error:  # name the seed even for errors raised inside the layers
        if context in str(error):
            raise
        raise AssertionError(
            f"{type(error).__name__}: {error} in {class_name}({kwargs}) on input {shape}{context}"
        ) from error


def test_random_configurations_are_valid_and_varied():
    """The sampler itself: kernel sizes 1-5, never strides > 1 with dilation > 1,
    several layer classes drawn."""
    seen = set()
    for index in range(RANDOM_CASES):
        class_name, kwargs, shape = random_config(RANDOM_SEED, index)
        rank = LAYERS[class_name][0]
        kw = dict(kwargs)
        ks = kw["kernel_size"]
        ks = (ks,) * rank if isinstance(ks, int) else ks
        assert all(1 <= k <= 5 for k in ks)
        assert not (max(kw["strides"]) > 1 and max(kw["dilation_rate"]) > 1)
        seen.add(class_name)
    assert len(seen) >= 4, f"SEPCONV_TEST_SEED={RANDOM_SEED}: only {sorted(seen)}"
