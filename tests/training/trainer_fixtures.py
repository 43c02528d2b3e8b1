"""Shared by the trainer tests: the same small models built in Keras 3.15.1
and in sepconv with identical weights, their data, and comparisons of what
``fit`` / ``evaluate`` report against Keras's."""

from __future__ import annotations

import numpy as np

import sepconv
from keras_reference import keras

#: float32 tolerance for losses and metrics after a few training steps.
HISTORY_RTOL, HISTORY_ATOL = 1e-4, 1e-6


def classifier(lib, dtype=None):
    """SeparableConv2D + BatchNormalization + a regularized, constrained Dense head;
    ``dtype`` (e.g. "mixed_bfloat16") goes to every layer and the model."""
    kw = {} if dtype is None else {"dtype": dtype}
    model = lib.Sequential([
        lib.Input((6, 6, 2)),
        lib.layers.SeparableConv2D(4, 3, padding="same", use_bias=False, name="sep", **kw),
        lib.layers.BatchNormalization(name="bn", **kw),
        lib.layers.ReLU(name="relu", **kw),
        lib.layers.GlobalAveragePooling2D(name="gap", **kw),
        lib.layers.Dense(3, activation="softmax", name="head",
                         kernel_regularizer=lib.regularizers.L2(0.01),
                         kernel_constraint=lib.constraints.MaxNorm(0.8), **kw),
    ], name="clf", **kw)
    return model


def data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6, 6, 2)).astype("float32")
    y = (x[..., 0].mean(axis=(1, 2)) > 0).astype("int64") + (x[..., 1].mean(axis=(1, 2)) > 0.2)
    return x, y.astype("int64")


def same_weights(ours, theirs):
    ours.set_weights(theirs.get_weights())


def paired(build, *args, **kwargs):
    """(Keras model, sepconv model) from ``build(lib, ...)``, ours with Keras's weights."""
    theirs, ours = build(keras, *args, **kwargs), build(sepconv, *args, **kwargs)
    same_weights(ours, theirs)
    return theirs, ours


def assert_weights_close(ours, theirs, rtol=2e-5, atol=2e-6):
    for mine, reference in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, reference, rtol=rtol, atol=atol)


def assert_history_as_keras(history, keras_history, rtol=HISTORY_RTOL, atol=HISTORY_ATOL):
    """The same names in the same order, and per-epoch values within tolerance."""
    assert list(history) == list(keras_history)
    for key in keras_history:
        np.testing.assert_allclose(history[key], keras_history[key], rtol=rtol, atol=atol,
                                   err_msg=key)


def assert_logs_as_keras(logs, keras_logs, rtol=HISTORY_RTOL, atol=HISTORY_ATOL):
    """A returned dict (``return_dict=True``): the same names and values."""
    assert sorted(logs) == sorted(keras_logs)
    for key in keras_logs:
        np.testing.assert_allclose(logs[key], keras_logs[key], rtol=rtol, atol=atol,
                                   err_msg=key)
