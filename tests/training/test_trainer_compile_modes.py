"""compile(jit_compile=True) and the "mixed_bfloat16" dtype policy.

jit_compile=True runs the model through torch.compile (Inductor, C++ from
gcc on the CPU): training must give the eager history. A model whose layers
(and the model itself) take dtype="mixed_bfloat16" -- sepconv's way to ask
for Keras's mixed precision, per layer; Keras's global
keras.config.set_dtype_policy("mixed_bfloat16") is the reference -- keeps
float32 variables, computes in bfloat16 and trains as Keras does within
bfloat16 tolerance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import sepconv
from keras_reference import keras
from trainer_fixtures import assert_history_as_keras, classifier, data, same_weights

# torch._dynamo's import trips torch's own deprecation of torch.jit.script_method.
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")

#: bfloat16 keeps 8 significant bits: a relative error of 2**-8 per rounding.
BF16_RTOL = 2e-2


def tiny_classifier(lib):
    return lib.Sequential([
        lib.Input((4,)),
        lib.layers.Dense(5, activation="relu", name="hidden"),
        lib.layers.Dense(3, activation="softmax", name="probs"),
    ], name="tiny")


def test_jit_compile_trains_as_eager():
    """The same history, weights and evaluate() as jit_compile=False."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype("float32")
    y = rng.integers(0, 3, 32)
    eager, jitted = tiny_classifier(sepconv), tiny_classifier(sepconv)
    same_weights(jitted, eager)
    state_names = list(jitted.state_dict())
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    histories = []
    for model, jit_compile in ((eager, False), (jitted, True)):
        model.compile(optimizer=sepconv.optimizers.Adam(0.01),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      jit_compile=jit_compile)
        # Equal batches (24 training, 8 validation rows): no recompilation
        # for a smaller last batch.
        histories.append(model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                                   validation_split=0.25).history)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 1, "nothing was compiled"
    # The eager run is the reference here: same names, same order, same values.
    assert_history_as_keras(histories[1], histories[0], rtol=1e-5, atol=1e-6)
    for compiled, reference in zip(jitted.get_weights(), eager.get_weights()):
        np.testing.assert_allclose(compiled, reference, rtol=1e-5, atol=1e-6)
    # The compiled wrapper is not a submodule: the model's state is unchanged.
    assert list(jitted.state_dict()) == state_names
    np.testing.assert_allclose(jitted.evaluate(x, y, verbose=0), eager.evaluate(x, y, verbose=0),
                               rtol=1e-5, atol=1e-6)


@pytest.fixture
def keras_mixed_bfloat16():
    """Keras's global dtype policy set to mixed_bfloat16, restored afterwards."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def mixed_pair():
    """(Keras model under the global policy, ours with dtype per layer),
    same weights."""
    theirs = classifier(keras)
    ours = classifier(sepconv, dtype="mixed_bfloat16")
    assert {layer.dtype_policy.name for layer in theirs.layers} == {"mixed_bfloat16"}
    assert {layer.dtype_policy.name for layer in ours.layers} == {"mixed_bfloat16"}
    same_weights(ours, theirs)
    return theirs, ours


def float32_weights(model):
    return all(p.dtype == torch.float32 for p in model.weights)


def test_mixed_bfloat16_fits_as_keras(keras_mixed_bfloat16):
    x, y = data()
    theirs, ours = mixed_pair()
    assert float32_weights(ours)
    seen = []
    ours.get_layer("head").register_forward_hook(
        lambda layer, inputs, output: seen.append(output.dtype))
    histories = []
    for model, lib in ((theirs, keras), (ours, sepconv)):
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        histories.append(model.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0,
                                   validation_split=0.25).history)
    keras_history, history = histories
    losses = np.array(history["loss"])
    assert np.isfinite(losses).all() and np.all(np.diff(losses) < 0), losses
    assert float32_weights(ours)
    assert seen and set(seen) == {torch.bfloat16}  # training and validation steps
    assert list(history) == list(keras_history)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(history[key], keras_history[key], rtol=BF16_RTOL, err_msg=key)
    for key in ("accuracy", "val_accuracy"):  # one flipped prediction at most
        np.testing.assert_allclose(history[key], keras_history[key], atol=1 / 12 + 1e-6,
                                   err_msg=key)
    for mine, reference in zip(ours.get_weights(), theirs.get_weights()):
        assert mine.dtype == reference.dtype == np.float32
        np.testing.assert_allclose(mine, reference, rtol=BF16_RTOL,
                                   atol=BF16_RTOL * np.abs(reference).max())


def test_mixed_bfloat16_forward_as_keras(keras_mixed_bfloat16):
    """Called outside fit (no autocast around it), the layers compute in
    bfloat16 with their float32 weights, as Keras's do."""
    x, _ = data(16)
    theirs, ours = mixed_pair()
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x), training=False)
        got = ours(torch.from_numpy(x), training=False)
    assert expected.dtype == torch.bfloat16
    assert got.dtype == torch.bfloat16
    np.testing.assert_allclose(got.float().numpy(), expected.float().numpy(),
                               rtol=BF16_RTOL, atol=1e-2)
    assert float32_weights(ours)


def test_mixed_bfloat16_predict_as_keras(keras_mixed_bfloat16):
    """predict returns Keras's array type (bfloat16 through ml_dtypes) and values."""
    x, _ = data(16)
    theirs, ours = mixed_pair()
    expected = theirs.predict(x, verbose=0)
    predicted = ours.predict(x, verbose=0)
    assert predicted.dtype == expected.dtype
    np.testing.assert_allclose(predicted.astype(np.float32), expected.astype(np.float32),
                               rtol=BF16_RTOL, atol=1e-2)
