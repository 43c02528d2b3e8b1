"""The Layer contract: names, build-on-call, weights, trainable, losses, config."""

import copy

import numpy as np
import pytest
import torch

import sepconv
from sepconv import layers
from sepconv.utils import clear_session


class Scale(layers.Layer):
    """A user-style layer: one trainable and one non-trainable weight."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale",
                                     regularizer="l2")
        self.count = self.add_weight(shape=(), initializer="zeros", name="count", trainable=False)

    def call(self, inputs):
        return inputs * self.scale


class WithTraining(layers.Layer):
    def call(self, inputs, training=None):
        self.seen_training = training
        return inputs


class Outer(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = WithTraining()
        self.scale = Scale()

    def call(self, inputs):
        return self.scale(self.inner(inputs))


def test_auto_names_count_per_prefix_and_clear_session_resets():
    clear_session()
    names = [layers.SeparableConv2D(2, 3).name, layers.SeparableConv2D(2, 3).name,
             layers.Conv2D(2, 3).name, layers.DepthwiseConv2D(3).name, Scale().name]
    assert names == ["separable_conv2d", "separable_conv2d_1", "conv2d", "depthwise_conv2d", "scale"]
    clear_session()
    assert layers.SeparableConv2D(2, 3).name == "separable_conv2d"


def test_explicit_name_and_bad_names():
    assert layers.Conv2D(2, 3, name="stem").name == "stem"
    with pytest.raises(ValueError, match="Received: name='a/b'"):
        layers.Conv2D(2, 3, name="a/b")
    with pytest.raises(ValueError, match="Received: name=3"):
        layers.Conv2D(2, 3, name=3)


def test_builds_on_first_call_from_numpy_lists_and_tensors():
    layer = Scale()
    assert not layer.built and layer.weights == []
    out = layer(np.ones((2, 3)))  # float64 NumPy -> float32 tensor
    assert layer.built and out.dtype == torch.float32
    assert layer([[1.0, 2.0, 3.0]]).tolist() == [[1.0, 2.0, 3.0]]
    assert layer(torch.ones(1, 3, dtype=torch.float64)).dtype == torch.float32
    # Integer tensors are not cast by the base layer.
    assert layers.Layer()(torch.ones(2, dtype=torch.int64)).dtype == torch.int64


def test_weights_are_named_parameters_in_keras_order():
    layer = Scale(name="s")
    layer(np.ones((2, 3)))
    assert [w.path for w in layer.weights] == ["s/scale", "s/count"]
    assert [w.name for w in layer.weights] == ["scale", "count"]
    assert all(isinstance(w, torch.nn.Parameter) for w in layer.weights)
    assert [w.path for w in layer.trainable_weights] == ["s/scale"]
    assert [w.path for w in layer.non_trainable_weights] == ["s/count"]
    assert layer.variables == layer.weights
    assert layer.trainable_variables == layer.trainable_weights
    assert layer.non_trainable_variables == layer.non_trainable_weights
    assert sorted(dict(layer.named_parameters())) == ["count", "scale"]
    assert layer.scale is layer.weights[0]  # attribute and registered weight are one object
    assert layer.count_params() == 4


def test_count_params_before_build_is_an_error():
    with pytest.raises(ValueError, match="isn't built"):
        Scale(name="unbuilt").count_params()


def test_trainable_freezes_and_unfreezes_without_touching_frozen_weights():
    layer = Scale()
    layer(np.ones((2, 3)))
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    assert not any(p.requires_grad for p in layer.parameters())
    layer.trainable = True
    assert [w.name for w in layer.trainable_weights] == ["scale"]
    assert layer.count.requires_grad is False
    frozen = Scale(trainable=False)
    frozen(np.ones((1, 3)))
    assert frozen.trainable_weights == [] and not frozen.scale.requires_grad
    with pytest.raises(TypeError, match="Received: trainable='no'"):
        layer.trainable = "no"


def test_trainable_propagates_to_sublayers():
    outer = Outer()
    outer(np.ones((1, 3)))
    outer.trainable = False
    assert outer.scale.trainable is False and outer.trainable_weights == []
    assert [w.name for w in outer.weights] == ["scale", "count"]


def test_weights_argument_is_applied_at_build():
    values = [np.full((3,), 2.0, np.float32), np.array(5.0, np.float32)]
    layer = Scale(weights=values)
    out = layer(np.ones((1, 3)))
    assert out.tolist() == [[2.0, 2.0, 2.0]]
    np.testing.assert_array_equal(layer.get_weights()[1], 5.0)


def test_set_weights_checks_count_and_shape():
    layer = Scale(name="checked")
    with pytest.raises(ValueError, match="not built"):
        layer.set_weights([np.ones(3)])
    layer(np.ones((1, 3)))
    with pytest.raises(ValueError, match="expects 2 weight arrays.*Received: 1"):
        layer.set_weights([np.ones(3)])
    with pytest.raises(ValueError, match=r"checked/scale.*Received: weights\[0\].shape=\(4,\)"):
        layer.set_weights([np.ones(4), np.zeros(())])
    with pytest.raises(TypeError, match="list of arrays"):
        layer.set_weights(np.ones(3))
    layer.set_weights([torch.full((3,), 3.0), np.zeros(())])
    assert layer.get_weights()[0].tolist() == [3.0, 3.0, 3.0]


def test_add_weight_forms_and_add_variable():
    layer = layers.Layer(name="host")
    w3 = layer.add_weight((2, 2), "ones", name="k3")  # Keras 3 positional order
    w2 = layer.add_weight("k2", (3,), "float64")  # Keras 2 / tf.layers order
    v = layer.add_variable("v", [4], initializer="zeros", trainable=False, constraint="non_neg")
    assert (w3.path, tuple(w3.shape), w3.dtype) == ("host/k3", (2, 2), torch.float32)
    assert (w2.name, w2.dtype) == ("k2", torch.float64)
    assert v.trainable is False and v.requires_grad is False
    assert type(v.constraint).__name__ == "NonNeg"
    with pytest.raises(ValueError, match="partitioner"):
        layer.add_variable("p", [2], partitioner=lambda shape, dtype: [1])
    with pytest.raises(ValueError, match="Received: shape"):
        layer.add_weight(shape=(None, 2), name="bad")
    same = layer.add_weight(shape=(1,), name="k3")  # duplicate names stay distinct weights
    assert same is not w3 and same.path == "host/k3"


def test_dtype_argument_sets_weight_and_compute_dtype():
    layer = layers.Conv2D(2, 3, dtype="float64")
    out = layer(np.random.rand(1, 5, 5, 2))
    assert layer.dtype == "float64" and out.dtype == torch.float64
    assert layer.kernel.dtype == torch.float64
    assert layer.get_config()["dtype"]["config"] == {"name": "float64"}
    with pytest.raises(ValueError, match="Received: dtype='float8'"):
        layers.Conv2D(2, 3, dtype="float8")


def test_activity_regularizer_loss_is_divided_by_batch_size_like_keras():
    import keras

    x = np.random.default_rng(0).random((4, 6, 6, 3)).astype("float32")
    ours = layers.Conv2D(2, 3, activity_regularizer="l2")
    theirs = keras.layers.Conv2D(2, 3, activity_regularizer="l2")
    ours(x)
    theirs(x)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    ours(x)
    theirs(x)
    assert len(ours.losses) == len(theirs.losses) == 1
    np.testing.assert_allclose(float(ours.losses[0].detach()), float(theirs.losses[0].detach()), rtol=1e-5)
    ours(x)
    assert len(ours.losses) == 1  # replaced, not accumulated, by the next call


def test_weight_regularizers_follow_the_current_weights():
    layer = layers.Conv2D(2, 1, kernel_regularizer=sepconv.regularizers.L1(0.5), use_bias=False)
    layer(np.ones((1, 2, 2, 3)))
    layer.set_weights([np.ones((1, 1, 3, 2))])
    assert float(sum(layer.losses).detach()) == pytest.approx(0.5 * 6)
    layer.trainable = False  # frozen weights add no regularization (as in Keras)
    assert layer.losses == []


def test_add_loss_inside_and_outside_call_and_get_losses_for():
    class Penalised(layers.Layer):
        def call(self, inputs):
            self.add_loss(inputs.sum(), inputs=inputs)
            return inputs

    layer = Penalised()
    x = torch.ones(2, 3)
    layer(x)
    layer.add_loss(torch.tensor(7.0))
    layer.add_loss(lambda: torch.tensor(1.5))
    assert sorted(float(v) for v in layer.losses) == [1.5, 6.0, 7.0]
    assert sorted(float(v) for v in layer.get_losses_for(None)) == [1.5, 7.0]
    assert [float(v) for v in layer.get_losses_for(x)] == [6.0]
    layer(torch.zeros(1, 3))
    assert sorted(float(v) for v in layer.losses) == [0.0, 1.5, 7.0]
    with pytest.raises(TypeError, match="add_loss"):
        layer.add_loss("big")


def test_updates_are_eager_no_ops():
    layer = Scale()
    layer(np.ones((1, 3)))
    assert layer.add_update([lambda: None]) is None
    assert layer.updates == [] and layer.get_updates_for(None) == []
    assert layer.scope_name == layer.name


def test_training_flag_reaches_inner_layers():
    outer = Outer()
    outer(np.ones((1, 3)))
    assert outer.inner.seen_training is False  # inference by default
    outer(np.ones((1, 3)), training=True)
    assert outer.inner.seen_training is True
    outer.train()
    outer(np.ones((1, 3)))
    assert outer.inner.seen_training is True
    outer.eval()
    outer(np.ones((1, 3)))
    assert outer.inner.seen_training is False


def test_default_compute_output_shape_runs_call_on_meta_tensors():
    class Doubler(layers.Layer):
        def call(self, inputs):
            return torch.cat([inputs, inputs], dim=1)[:, ::2]

    assert Doubler().compute_output_shape((None, 5, 3)) == (None, 5, 3)
    scale = Scale()
    assert scale.compute_output_shape((None, 7)) == (None, 7)
    assert scale.built and [w.device.type for w in scale.weights] == ["cpu", "cpu"]


def test_unknown_keyword_and_bad_input_shapes_are_errors():
    with pytest.raises(ValueError, match="Unrecognized keyword arguments.*filter"):
        layers.Conv2D(2, 3, filter=3)
    with pytest.raises(ValueError, match="Received: input_shape="):
        layers.Conv2D(2, 3, input_shape=(5, "a", 3))
    with pytest.raises(ValueError, match="disagree"):
        layers.Conv2D(2, 3, input_shape=(5, 5, 3), batch_input_shape=(None, 5, 5, 4))
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        layers.Conv2D(2, 3, input_shape=(5, 5, 3), batch_size=0)
    layers.SeparableConv2D(2, 3, input_shape=(5, 5, 3), batch_size=8, dtype="float32",
                           trainable=True, name="r_style")


def test_config_round_trip_of_a_user_layer():
    layer = Scale(name="cfg", trainable=False, dtype="float64", activity_regularizer="l1")
    config = layer.get_config()
    assert config["name"] == "cfg" and config["trainable"] is False
    clone = Scale.from_config(config)
    assert clone.get_config() == config


def test_deepcopy_and_state_dict_keep_weights_and_metadata():
    layer = layers.SeparableConv2D(4, 3, name="sep")
    layer(np.random.rand(1, 6, 6, 2))
    twin = copy.deepcopy(layer)
    assert [w.path for w in twin.weights] == [w.path for w in layer.weights]
    assert all(a is not b for a, b in zip(twin.weights, layer.weights))
    assert list(layer.state_dict()) == ["depthwise_kernel", "pointwise_kernel", "bias"]
    twin.load_state_dict({k: torch.zeros_like(v) for k, v in layer.state_dict().items()})
    assert all(float(abs(w.detach()).sum()) == 0 for w in twin.weights)


def test_apply_is_call():
    layer = layers.Conv1D(2, 3)
    x = np.random.rand(2, 6, 1)
    torch.testing.assert_close(layer.apply(x), layer(x))


def test_constraints_projected_by_apply_constraints():
    layer = layers.Conv2D(2, 1, kernel_constraint="non_neg", use_bias=False)
    layer(np.ones((1, 2, 2, 1)))
    layer.set_weights([-np.ones((1, 1, 1, 2))])
    sepconv.constraints.apply_constraints(layer)
    assert layer.get_weights()[0].tolist() == [[[[0.0, 0.0]]]]
