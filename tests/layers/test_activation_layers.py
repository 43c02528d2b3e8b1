"""Activation and ReLU layers against Keras 3.15.1 (torch backend): outputs and
input gradients on the same inputs, configs, output shapes and errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

from error_checks import expect_error
from keras_reference import GRAD_RTOL, OUTPUT_RTOL, assert_close, normalize
from sepconv import activations, layers

SHAPE = (3, 4, 6)


def inputs(seed=0, shape=SHAPE):
    """Values away from the kinks of piecewise activations (0, thresholds)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 3.0
    x = np.where(np.abs(x - np.round(x * 2) / 2) < 1e-3, x + 0.01, x)
    return x.astype(np.float32), rng.standard_normal(shape).astype(np.float32)


def compare(ours, theirs, what, seed=0, shape=SHAPE):
    x_np, _ = inputs(seed, shape)
    results = []
    for layer in (ours, theirs):
        x = torch.tensor(x_np, requires_grad=True)
        out = layer(x)
        r = torch.tensor(np.random.default_rng(seed + 1).standard_normal(tuple(out.shape)),
                         dtype=torch.float32)
        (grad,) = torch.autograd.grad((out * r).sum(), x)
        results.append((out.detach().numpy(), grad.numpy()))
    (o_out, o_grad), (k_out, k_grad) = results
    assert_close(o_out, k_out, OUTPUT_RTOL, f"{what}: output")
    assert_close(o_grad, k_grad, GRAD_RTOL, f"{what}: input gradient")


def check_config(ours, theirs):
    o_config, k_config = normalize(ours.get_config()), normalize(theirs.get_config())
    assert o_config == k_config
    cls, kcls = type(ours), type(theirs)
    assert normalize(cls.from_config(ours.get_config()).get_config()) == o_config
    assert normalize(cls.from_config(theirs.get_config()).get_config()) == o_config
    assert normalize(kcls.from_config(ours.get_config()).get_config()) == k_config


def check_shapes(ours, theirs):
    for shape in [(None, 3), (None, None, 4), (2, None, None, 5), (None,)]:
        assert ours.compute_output_shape(shape) == tuple(theirs.compute_output_shape(shape))


# ----------------------------------------------------------------- Activation
NAMES = [
    None, "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu",
    "swish", "hard_silu", "hard_swish", "sigmoid", "hard_sigmoid", "log_sigmoid",
    "sparse_sigmoid", "tanh", "hard_tanh", "tanh_shrink", "softplus", "softsign",
    "sparse_plus", "squareplus", "soft_shrink", "hard_shrink", "mish", "exponential",
    "softmax", "log_softmax", "sparsemax", "glu",
]


@pytest.mark.parametrize("name", NAMES, ids=[str(n) for n in NAMES])
def test_activation_by_name_against_keras(name):
    ours = layers.Activation(name, name="act")
    theirs = keras.layers.Activation(name, name="act")
    compare(ours, theirs, f"Activation({name!r})")
    check_config(ours, theirs)
    if name == "glu":  # Keras's compute_output_shape ignores that glu halves the last axis
        assert ours.compute_output_shape((None, 5, 6)) == (None, 5, 3)
        assert ours.compute_output_shape((None, None)) == (None, None)
        assert tuple(ours(torch.ones(2, 5, 6)).shape) == (2, 5, 3)
    else:
        check_shapes(ours, theirs)
    assert ours.built and ours.weights == [] and ours.count_params() == theirs.count_params()


def test_activation_callables_and_configs():
    # A sepconv activation object, a Keras config dict, a plain torch function.
    compare(layers.Activation(activations.gelu), keras.layers.Activation(keras.activations.gelu),
            "Activation(gelu function)")
    config = {"module": "keras.activations", "class_name": "function", "config": "elu",
              "registered_name": "function"}
    assert layers.Activation(config).activation is activations.elu
    out = layers.Activation(torch.tanh)(torch.tensor([0.0, 1.0]))
    assert torch.equal(out, torch.tanh(torch.tensor([0.0, 1.0])))
    # Keras's softmax layer on channels_last images: the last axis.
    compare(layers.Activation("softmax"), keras.layers.Activation("softmax"),
            "softmax 4D", shape=(2, 3, 3, 5))
    assert layers.Activation("swish").get_config()["activation"] == "silu"
    # A user function's output shape comes from running it (shape-changing or not).
    assert layers.Activation(torch.tanh).compute_output_shape((None, 3)) == (None, 3)
    halve = layers.Activation(lambda t: t[..., ::2])
    assert halve.compute_output_shape((2, None, 6)) == (2, None, 3)


@pytest.mark.parametrize("value", ["nope", 3, [1]], ids=["unknown-name", "int", "list"])
def test_activation_bad_argument(value):
    expect_error(lambda: layers.Activation(value), "activation", "activation=")


# ----------------------------------------------------------------------- ReLU
RELU_CASES = [
    {}, {"max_value": 6}, {"max_value": 6.0}, {"max_value": 2.5}, {"max_value": 0},
    {"negative_slope": 0.3}, {"negative_slope": 1}, {"threshold": 0.5}, {"threshold": 2},
    {"max_value": 4, "negative_slope": 0.2}, {"max_value": 3, "threshold": 1.5},
    {"negative_slope": 0.1, "threshold": 1.0},
    {"max_value": 5, "negative_slope": 0.25, "threshold": 0.5},
    {"max_value": 1, "threshold": 2.0},  # threshold above the cap: as Keras
]


@pytest.mark.parametrize("kwargs", RELU_CASES, ids=[str(k) for k in RELU_CASES])
def test_relu_against_keras(kwargs):
    ours = layers.ReLU(name="re_lu_test", **kwargs)
    theirs = keras.layers.ReLU(name="re_lu_test", **kwargs)
    compare(ours, theirs, f"ReLU({kwargs})")
    check_config(ours, theirs)
    check_shapes(ours, theirs)
    # Exactly at the kinks (no gradient compared there).
    x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0])
    np.testing.assert_array_equal(ours(x).numpy(), theirs(x).numpy())


def test_relu_doc_example_and_int_config_values():
    ours = layers.ReLU(max_value=10, negative_slope=0.5, threshold=0)
    theirs = keras.layers.ReLU(max_value=10, negative_slope=0.5, threshold=0)
    x = np.array([-10, -5, 0.0, 5, 10], dtype=np.float32)
    np.testing.assert_array_equal(ours(x).numpy(), theirs(x).numpy())
    assert ours.get_config()["max_value"] == 10 and isinstance(ours.get_config()["max_value"], int)
    assert ours.built and ours.count_params() == 0


RELU_BAD = [
    ("max_value", -1, ValueError), ("max_value", "6", TypeError),
    ("max_value", float("nan"), ValueError), ("max_value", True, TypeError),
    ("negative_slope", None, TypeError), ("negative_slope", -0.1, ValueError),
    ("negative_slope", "x", TypeError), ("negative_slope", float("inf"), ValueError),
    ("threshold", None, TypeError), ("threshold", -1, ValueError),
    ("threshold", [1.0], TypeError),
]


@pytest.mark.parametrize("argument,value,error", [
    pytest.param(a, v, e, id=f"{a}={v!r}") for a, v, e in RELU_BAD])
def test_relu_bad_arguments(argument, value, error):
    expect_error(lambda: layers.ReLU(**{argument: value}), argument, f"{argument}=",
                 types=error)
    # Keras rejects the negative values and None too (but lets NaN, inf and bools through).
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)
                         and value < 0):
        with pytest.raises(ValueError):
            keras.layers.ReLU(**{argument: value})
