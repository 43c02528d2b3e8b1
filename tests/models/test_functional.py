"""Functional models against Keras 3.15.1: graphs, outputs, configs, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import sepconv
from keras_models import assert_same_outputs, both, jsonable, keras, keras_config

RNG = np.random.default_rng(0)


def article_model(lib):
    """The article's test_model: Input -> SeparableConv2D(32, 3x3, relu, same)."""
    inputs = lib.Input(shape=(24, 24, 10), name="input")
    outputs = lib.layers.SeparableConv2D(32, (3, 3), activation="relu", padding="same",
                                         name="separable_conv2d")(inputs)
    return lib.Model(inputs, outputs, name="test_model")


def dag_model(lib):
    """Two inputs, a shared layer, a merge, a nested Sequential and two outputs."""
    a = lib.Input(shape=(9, 9, 3), name="a")
    b = lib.Input(shape=(9, 9, 3), name="b")
    shared = lib.layers.SeparableConv2D(4, 3, padding="same", name="shared")
    merged = lib.layers.Add(name="add")([shared(a), shared(b)])
    inner = lib.Sequential([lib.Input(shape=(9, 9, 4), name="inner_in"),
                            lib.layers.DepthwiseConv2D(3, name="inner_dw"),
                            lib.layers.Conv2D(5, 1, activation="relu", name="inner_pw")],
                           name="inner")
    left = inner(merged)
    right = lib.layers.Concatenate(name="concat")([lib.layers.Conv2D(2, 3, name="c_a")(a),
                                                    lib.layers.Conv2D(3, 3, name="c_b")(b)])
    return lib.Model([a, b], [left, right], name="dag")


def test_article_model_matches_keras():
    ours, theirs = both(article_model)
    assert isinstance(ours, torch.nn.Module) and isinstance(ours, sepconv.Model)
    assert ours.count_params() == theirs.count_params() == 442
    assert ours.output_shape == tuple(theirs.output_shape) == (None, 24, 24, 32)
    x = RNG.standard_normal((2, 24, 24, 10)).astype(np.float32)
    assert_same_outputs(ours, theirs, x)


def test_dag_with_shared_and_nested_layers_matches_keras():
    ours, theirs = both(dag_model)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    assert ours.count_params() == theirs.count_params()
    xa = RNG.standard_normal((3, 9, 9, 3)).astype(np.float32)
    xb = RNG.standard_normal((3, 9, 9, 3)).astype(np.float32)
    assert_same_outputs(ours, theirs, [xa, xb])
    assert [tuple(s) for s in ours.output_shape] == [tuple(s) for s in theirs.output_shape]


def test_dag_gradients_match_keras():
    ours, theirs = both(dag_model)
    xa = RNG.standard_normal((2, 9, 9, 3)).astype(np.float32)
    xb = RNG.standard_normal((2, 9, 9, 3)).astype(np.float32)

    def grads(model, weights):
        outs = model([torch.tensor(xa), torch.tensor(xb)])
        loss = sum((o * o).sum() for o in outs)
        return [g.numpy() for g in torch.autograd.grad(loss, weights)]

    expected = grads(theirs, [w.value for w in theirs.weights])
    got = grads(ours, list(ours.weights))
    for mine, reference in zip(got, expected):
        scale = float(np.max(np.abs(reference))) or 1.0
        np.testing.assert_allclose(mine, reference, rtol=1e-4, atol=1e-4 * scale)


def test_config_equals_keras_and_round_trips_both_ways():
    ours, theirs = both(dag_model)
    assert jsonable(ours.get_config()) == keras_config(theirs)
    # Keras reads our config; we read Keras's.
    from_ours = keras.Model.from_config(jsonable(ours.get_config()))
    from_theirs = sepconv.Model.from_config(jsonable(theirs.get_config()))
    from_theirs.set_weights(theirs.get_weights())
    from_ours.set_weights(theirs.get_weights())
    x = [RNG.standard_normal((2, 9, 9, 3)).astype(np.float32) for _ in range(2)]
    assert_same_outputs(from_theirs, from_ours, x)
    # Keras's config as Python objects (tuples, not yet through JSON) loads too
    direct = sepconv.Model.from_config(theirs.get_config())
    direct.set_weights(theirs.get_weights())
    assert_same_outputs(direct, theirs, x)


def test_dict_inputs_and_outputs():
    def build(lib):
        image = lib.Input(shape=(6, 6, 2), name="image")
        mask = lib.Input(shape=(6, 6, 2), name="mask")
        out = lib.layers.Add(name="sum")([lib.layers.Conv2D(2, 1, name="proj")(image), mask])
        return lib.Model({"image": image, "mask": mask}, {"out": out}, name="dicts")

    ours, theirs = both(build)
    x = {"image": RNG.standard_normal((2, 6, 6, 2)).astype(np.float32),
         "mask": RNG.standard_normal((2, 6, 6, 2)).astype(np.float32)}
    assert_same_outputs(ours, theirs, x)
    assert jsonable(ours.get_config()) == keras_config(theirs)


def test_model_is_callable_on_symbolic_inputs_as_a_layer():
    inner = article_model(sepconv)
    x = sepconv.Input(shape=(24, 24, 10))
    y = sepconv.layers.Conv2D(1, 1)(inner(x))
    outer = sepconv.Model(x, y)
    assert y.shape == (None, 24, 24, 1)
    assert outer.count_params() == 442 + 33
    assert outer(np.zeros((1, 24, 24, 10), np.float32)).shape == (1, 24, 24, 1)


def test_get_layer_by_name_and_index():
    model = dag_model(sepconv)
    assert model.get_layer("shared") is model.layers[2]
    assert model.get_layer(index=-1).name == model.layers[-1].name
    with pytest.raises(ValueError, match=r"(?s)no layer named 'nope'.*Received: name='nope'"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="exactly one"):
        model.get_layer()
    with pytest.raises(ValueError, match=r"Received: index=99"):
        model.get_layer(index=99)


def test_weights_are_parameters_with_keras_paths_and_state_dict_uses_layer_names():
    model = article_model(sepconv)
    assert [w.path for w in model.weights] == [
        "separable_conv2d/depthwise_kernel", "separable_conv2d/pointwise_kernel",
        "separable_conv2d/bias"]
    assert list(model.state_dict()) == [
        "separable_conv2d.depthwise_kernel", "separable_conv2d.pointwise_kernel",
        "separable_conv2d.bias"]
    assert {id(p) for p in model.parameters()} == {id(w) for w in model.weights}


def test_a_layer_named_output_does_not_clash_with_the_property():
    x = sepconv.Input((4, 4, 1))
    model = sepconv.Model(x, sepconv.layers.Conv2D(1, 1, name="output")(x))
    assert model.get_layer("output").name == "output"
    assert model.output.shape == (None, 4, 4, 1)


def test_training_flag_reaches_layers_and_module_mode_decides_otherwise():
    seen = []

    class Probe(sepconv.layers.Layer):
        def call(self, inputs, training=None):
            seen.append(training)
            return inputs

    x = sepconv.Input((3,))
    model = sepconv.Model(x, Probe()(x))
    seen.clear()  # the symbolic call ran `call` on meta tensors to infer shapes
    data = np.ones((2, 3), np.float32)
    model(data)
    model(data, training=True)
    model(data, training=False)
    model.train()
    model(data)
    model.eval()
    model(data)
    assert seen == [False, True, False, True, False]


def test_custom_layer_without_shape_code_gets_shapes_from_meta_call():
    class Tile(sepconv.layers.Layer):
        def build(self, input_shape):
            self.inner = sepconv.layers.Conv2D(2, 1, name="tile_inner")

        def call(self, inputs):
            return torch.cat([self.inner(inputs)] * 3, dim=-1)

    x = sepconv.Input((None, 5, 4))
    y = Tile()(x)
    assert y.shape == (None, None, 5, 6)
    model = sepconv.Model(x, y)
    assert all(w.device.type == "cpu" for w in model.weights)
    assert model(np.ones((2, 7, 5, 4), np.float32)).shape == (2, 7, 5, 6)


def test_intermediate_values_are_freed_but_outputs_kept():
    x = sepconv.Input((4,))
    h = sepconv.layers.Activation("relu")(x) if hasattr(sepconv.layers, "Activation") else x
    out1 = sepconv.layers.Reshape((2, 2))(h)
    out2 = sepconv.layers.Flatten()(out1)
    model = sepconv.Model(x, [out1, out2])
    first, second = model(np.arange(8, dtype=np.float32).reshape(2, 4))
    assert first.shape == (2, 2, 2) and second.shape == (2, 4)


# ------------------------------------------------------------------ errors
def test_inputs_must_be_symbolic():
    with pytest.raises(TypeError, match=r"(?s)inputs.*Received: inputs containing"):
        sepconv.Model(torch.zeros(1, 3), sepconv.Input((3,)))


def test_graph_disconnected_is_a_clear_error():
    a, b = sepconv.Input((3,), name="a"), sepconv.Input((3,), name="b")
    out = sepconv.layers.Add()([a, b])
    with pytest.raises(ValueError, match=r"(?s)Graph disconnected.*'b'.*Received: inputs=\['a'\]"):
        sepconv.Model(a, out)


def test_duplicate_layer_names_are_rejected():
    x = sepconv.Input((4, 4, 1))
    y = sepconv.layers.Conv2D(1, 1, name="same_name")(x)
    y = sepconv.layers.Conv2D(1, 1, name="same_name")(y)
    with pytest.raises(ValueError, match=r"'same_name' is used by 2 different layers"):
        sepconv.Model(x, y)


def test_wrong_number_or_shape_of_inputs():
    model = dag_model(sepconv)
    with pytest.raises(ValueError, match=r"expects 2 input\(s\).*Received: 1 input"):
        model(np.zeros((1, 9, 9, 3), np.float32))
    with pytest.raises(ValueError, match=r"Input 'a'.*\(None, 9, 9, 3\).*Received: inputs.shape"):
        model([np.zeros((1, 8, 9, 3), np.float32), np.zeros((1, 9, 9, 3), np.float32)])


def test_symbolic_tensors_have_no_values():
    x = sepconv.Input((3,))
    with pytest.raises(TypeError, match="no value"):
        bool(x)
    with pytest.raises(TypeError, match="no value"):
        np.asarray(x)


def test_model_losses_aggregate_layers_like_keras():
    def build(lib):
        x = lib.Input((6, 6, 3), name="x")
        h = lib.layers.Conv2D(4, 3, kernel_regularizer="l2", activity_regularizer="l1",
                              name="c1")(x)
        y = lib.layers.SeparableConv2D(2, 3, depthwise_regularizer="l1", name="c2")(h)
        return lib.Model(x, y, name="regularized")

    ours, theirs = both(build)
    x = RNG.standard_normal((2, 6, 6, 3)).astype(np.float32)
    ours(x)
    theirs(x)
    got = [float(loss.detach()) for loss in ours.losses]
    expected = [float(loss.detach()) for loss in theirs.losses]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


class TwoConvs(sepconv.Model):
    def __init__(self, filters=4, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.first = sepconv.layers.Conv2D(filters, 3, padding="same", name="first")
        self.second = sepconv.layers.SeparableConv2D(2, 3, name="second")

    def call(self, inputs, training=None):
        return self.second(self.first(inputs))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


def test_subclassed_model_layers_weights_predict_and_summary():
    model = TwoConvs(name="two_convs")
    assert [layer.name for layer in model.layers] == ["first", "second"]
    x = RNG.standard_normal((3, 8, 8, 1)).astype(np.float32)
    out = model.predict(x, verbose=0)
    assert out.shape == (3, 6, 6, 2)
    assert [w.path for w in model.weights] == [
        "two_convs/first/kernel", "two_convs/first/bias", "two_convs/second/depthwise_kernel",
        "two_convs/second/pointwise_kernel", "two_convs/second/bias"]
    assert model.count_params() == 86
    lines = []
    model.summary(print_fn=lines.append)
    assert " Total params: 86 (344.00 B)" in lines
    clone = TwoConvs.from_config(model.get_config())
    assert clone.filters == 4 and clone.name == "two_convs"


def test_subclassed_model_weight_paths_match_keras():
    class KerasTwoConvs(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.first = keras.layers.Conv2D(4, 3, padding="same", name="first")
            self.second = keras.layers.SeparableConv2D(2, 3, name="second")

        def call(self, inputs):
            return self.second(self.first(inputs))

    ours, theirs = TwoConvs(name="sub"), KerasTwoConvs(name="sub")
    x = RNG.standard_normal((2, 8, 8, 1)).astype(np.float32)
    ours(x)
    theirs(x)
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    assert_same_outputs(ours, theirs, x)
