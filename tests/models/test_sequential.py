"""Sequential against Keras 3.15.1: ways to give the input, add/pop/build,
predict, configs and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import sepconv
from keras_models import assert_same_outputs, both, jsonable, keras, keras_config

RNG = np.random.default_rng(1)


def stack(lib, first_kwargs=None):
    first_kwargs = first_kwargs or {}
    return [
        lib.layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw", **first_kwargs),
        lib.layers.Conv2D(8, 1, activation="relu", name="pw"),
        lib.layers.SeparableConv2D(4, 3, strides=2, name="sep"),
    ]


def test_sequential_with_input_matches_keras():
    ours, theirs = both(lambda lib: lib.Sequential(
        [lib.Input(shape=(10, 10, 6), name="seq_in")] + stack(lib), name="seq"))
    assert ours.output_shape == tuple(theirs.output_shape) == (None, 4, 4, 4)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    x = RNG.standard_normal((3, 10, 10, 6)).astype(np.float32)
    assert_same_outputs(ours, theirs, x)
    np.testing.assert_allclose(ours.predict(x, batch_size=2, verbose=0),
                               theirs.predict(x, batch_size=2, verbose=0), rtol=2e-5, atol=1e-5)
    assert jsonable(ours.get_config()) == keras_config(theirs)


def test_first_layer_input_shape_builds_at_once_keras2_and_r_style():
    model = sepconv.Sequential(stack(sepconv, {"input_shape": (10, 10, 6)}))
    assert model.built and model.output_shape == (None, 4, 4, 4)
    batch = sepconv.Sequential(stack(sepconv, {"batch_input_shape": (5, 10, 10, 6)}))
    assert batch.input_shape == (5, 10, 10, 6)


def test_deferred_build_on_first_call_keeps_the_batch_size_free():
    model = sepconv.Sequential(stack(sepconv))
    assert not model.built
    with pytest.raises(AttributeError, match="no output shape yet"):
        model.output_shape
    out = model(np.zeros((2, 10, 10, 6), np.float32))
    assert out.shape == (2, 4, 4, 4)
    assert model.built and model.input_shape == (None, 10, 10, 6)
    assert model(np.zeros((5, 10, 10, 6), np.float32)).shape == (5, 4, 4, 4)


def test_build_and_weight_paths_like_keras():
    ours = sepconv.Sequential(stack(sepconv), name="built_later")
    theirs = keras.Sequential(stack(keras), name="built_later")
    ours.build((None, 10, 10, 6))
    theirs.build((None, 10, 10, 6))
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    assert ours.count_params() == theirs.count_params()


def test_add_and_pop():
    model = sepconv.Sequential(name="grow")
    model.add(sepconv.Input(shape=(10, 10, 6)))
    for layer in stack(sepconv):
        model.add(layer)
    assert model.output_shape == (None, 4, 4, 4)
    popped = model.pop()
    assert popped.name == "sep" and model.output_shape == (None, 10, 10, 8)
    assert [layer.name for layer in model.layers] == ["dw", "pw"]
    assert "sep" not in dict(model.named_children())
    # each layer keeps one node however often the model was rebuilt
    assert len(model.get_layer("dw")._inbound_nodes) == 1
    assert model.get_layer("dw").output_shape == (None, 10, 10, 6)


def test_add_rejects_non_layers_duplicates_and_late_inputs():
    model = sepconv.Sequential([sepconv.layers.Conv2D(1, 1, name="c", input_shape=(4, 4, 1))])
    with pytest.raises(TypeError, match=r"Only layers.*Received: 3"):
        model.add(3)
    with pytest.raises(ValueError, match=r"already has a layer named 'c'"):
        model.add(sepconv.layers.Conv2D(1, 1, name="c"))
    with pytest.raises(ValueError, match="InputLayer can only be the first"):
        model.add(sepconv.Input((4, 4, 1)))


def test_a_layer_that_does_not_fit_is_not_kept():
    model = sepconv.Sequential([sepconv.Input((4, 4, 3)), sepconv.layers.Conv2D(2, 3, name="c")])
    with pytest.raises(ValueError):
        model.add(sepconv.layers.Conv2D(2, 5, name="too_big"))  # 2x2 input, 5x5 kernel
    assert [layer.name for layer in model.layers] == ["c"]
    assert model.output_shape == (None, 2, 2, 2)


def test_pop_on_empty_model():
    with pytest.raises(TypeError, match="no layers to pop"):
        sepconv.Sequential().pop()


def test_build_without_shape_is_a_clear_error():
    with pytest.raises(ValueError, match="Received: input_shape=None"):
        sepconv.Sequential([sepconv.layers.Conv2D(1, 1)]).build()


def test_config_round_trip_both_ways():
    ours, theirs = both(lambda lib: lib.Sequential(
        [lib.Input(shape=(10, 10, 6), name="seq_in")] + stack(lib), name="seq"))
    from_keras = sepconv.Sequential.from_config(keras_config(theirs))
    from_ours = keras.Sequential.from_config(jsonable(ours.get_config()))
    from_keras.set_weights(theirs.get_weights())
    from_ours.set_weights(theirs.get_weights())
    x = RNG.standard_normal((2, 10, 10, 6)).astype(np.float32)
    assert_same_outputs(from_keras, from_ours, x)


def test_predict_batches_and_returns_numpy():
    model = sepconv.Sequential([sepconv.Input((3,)), sepconv.layers.Reshape((3, 1))])
    x = np.arange(15, dtype=np.float32).reshape(5, 3)
    out = model.predict(x, batch_size=2, verbose=0)
    assert isinstance(out, np.ndarray) and out.shape == (5, 3, 1)
    np.testing.assert_array_equal(out[..., 0], x)
    assert model.predict(x, batch_size=2, steps=1, verbose=0).shape == (2, 3, 1)
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        model.predict(x, batch_size=0)
    with pytest.raises(ValueError, match="Received: verbose=3"):
        model.predict(x, verbose=3)


def test_predict_prints_a_progress_line(capsys):
    model = sepconv.Sequential([sepconv.Input((3,)), sepconv.layers.Reshape((3, 1))])
    model.predict(np.zeros((5, 3), np.float32), batch_size=2)
    out = capsys.readouterr().out  # not a terminal: "auto" is the one-line format
    assert out.startswith("3/3 - ") and out.rstrip().endswith("/step") and "\r" not in out


def test_predict_runs_in_inference_mode_without_gradients():
    seen = []

    class Probe(sepconv.layers.Layer):
        def call(self, inputs, training=None):
            seen.append((training, torch.is_grad_enabled()))
            return inputs

    model = sepconv.Sequential([sepconv.Input((2,)), Probe()])
    model.train()
    seen.clear()
    model.predict(np.zeros((3, 2), np.float32), verbose=0)
    assert seen == [(False, False)]
