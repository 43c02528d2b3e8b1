"""Build a sepconv application and its keras.applications twin (Keras 3.15.1,
torch backend) from the same arguments and compare them: layers, configs,
weights, and outputs with the same (randomised) weights."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import sepconv  # noqa: E402
from keras_reference import OUTPUT_RTOL, assert_close, normalize  # noqa: E402

#: BatchNormalization weights and biases: random, well conditioned (variance > 0).
_DRAWS = {
    "gamma": lambda rng, shape: rng.uniform(0.5, 1.5, shape),
    "beta": lambda rng, shape: rng.normal(0.0, 0.2, shape),
    "moving_mean": lambda rng, shape: rng.normal(0.0, 0.2, shape),
    "moving_variance": lambda rng, shape: rng.uniform(0.5, 1.5, shape),
    "bias": lambda rng, shape: rng.normal(0.0, 0.1, shape),
}


def _fan_in(layer, variable):
    """Inputs summed into one output of the kernel ``variable``."""
    shape = tuple(variable.shape)
    depthwise = variable.name == "depthwise_kernel" or type(layer).__name__.startswith(
        "Depthwise")
    return int(np.prod(shape[:-2] if depthwise else shape[:-1]))


def randomize_keras_weights(model, seed):
    """Random weights for Keras's model that keep the signal alive through
    the whole network: He-normal kernels (variance 2 / fan-in, which ReLU
    halves back) and random normalisation statistics and biases. (Keras's
    Glorot kernels shrink a depthwise layer's output ~5x, so after 13 blocks
    the output would be the normalisation constants alone, whatever the input,
    and comparing outputs would test nothing.)"""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for variable in layer.weights:
            shape = tuple(variable.shape)
            if variable.name in _DRAWS:
                value = _DRAWS[variable.name](rng, shape)
            else:
                value = rng.normal(0.0, np.sqrt(2.0 / _fan_in(layer, variable)), shape)
            variable.assign(value.astype(np.float32))


def build_pair(application, seed=0, **kwargs):
    """(ours, keras): ``sepconv.applications.<application>(**kwargs)`` and
    ``keras.applications.<application>(weights=None, **kwargs)``, both built with
    fresh automatic layer names; Keras's (randomised) weights copied into ours."""
    sepconv.utils.clear_session()
    ours = getattr(sepconv.applications, application)(**kwargs)
    keras.utils.clear_session()
    theirs = getattr(keras.applications, application)(weights=None, **kwargs)
    randomize_keras_weights(theirs, seed)
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def assert_same_structure(ours, theirs):
    """Same model name, layer names and order, layer classes, per-layer
    configs, weight paths/shapes/trainable flags and parameter count."""
    assert ours.name == theirs.name
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    for mine, reference in zip(ours.layers, theirs.layers):
        assert type(mine).__name__ == type(reference).__name__, reference.name
        assert normalize(mine.get_config()) == normalize(reference.get_config()), (
            f"get_config of layer {reference.name!r}"
        )
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.path for w in ours.trainable_weights] == [
        w.path for w in theirs.trainable_weights
    ]
    assert ours.count_params() == theirs.count_params()
    assert tuple(ours.output_shape) == tuple(theirs.output_shape)


def _as_float64(config):
    """A Keras model config with every float32 dtype (policies, inputs) as float64."""
    if isinstance(config, dict):
        return {key: ("float64" if key in ("dtype", "name") and value == "float32"
                      else _as_float64(value)) for key, value in config.items()}
    if isinstance(config, (list, tuple)):
        return type(config)(_as_float64(value) for value in config)
    return config


def keras_float32_error(theirs, x, training, expected):
    """max |Keras float32 - Keras float64| on ``x``: Keras's own rounding
    error, the floor of what agreement with it can mean."""
    twin = keras.Model.from_config(_as_float64(theirs.get_config()))
    twin.set_weights([w.astype(np.float64) for w in theirs.get_weights()])
    with torch.no_grad():
        exact = twin(torch.from_numpy(x.astype(np.float64)), training=training).numpy()
    assert exact.dtype == np.float64
    return np.max(np.abs(expected.astype(np.float64) - exact))


def assert_same_outputs(ours, theirs, batch_shape, seed=0, training=False):
    """Outputs (inference unless ``training``) on a random input agree within
    the output tolerance scaled by max|Keras's output| (widened by 4x Keras's
    own float32 error only if that strict check fails; see keras_reference)."""
    x = np.random.default_rng(seed).standard_normal(batch_shape).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x), training=training).numpy()
        got = ours(torch.from_numpy(x), training=training)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32
    assert np.all(np.isfinite(expected)), "Keras's output is not finite: test inputs too big"
    spread = float(np.max(np.std(expected, axis=0)))
    assert spread > 1e-3 * float(np.max(np.abs(expected))), (
        "the outputs hardly depend on the input, so comparing them tests little"
    )
    assert_close(got.numpy(), expected, OUTPUT_RTOL, f"{ours.name} on input {batch_shape}",
                 noise=lambda: keras_float32_error(theirs, x, training, expected))
    return got
