"""BatchNormalization against Keras 3.15.1 (torch backend).

Both layers get the same random weights (gamma, beta and moving statistics
away from their initial values) and the same inputs. Checked: inference and
training outputs, gradients w.r.t. the input, gamma and beta, the moving
statistics after several training steps (momentum update, biased variance),
the frozen layer (trainable=False runs in inference mode even when
training=True), masks, renorm, weights, configs, output shapes and errors.
"""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest
import torch

from error_checks import expect_error
from keras_reference import GRAD_RTOL, OUTPUT_RTOL, assert_close, normalize
from sepconv import layers

# (id, input shape, axis): 2D-5D inputs, channels_last and channels_first,
# negative and positive axes, a middle axis.
GEOMETRIES = [
    ("2d-last", (6, 4), -1),
    ("2d-first", (6, 4), 1),
    ("3d-channels-last", (3, 5, 4), -1),
    ("3d-channels-first", (3, 4, 5), 1),
    ("4d-channels-last", (2, 5, 6, 3), -1),
    ("4d-channels-last-pos", (2, 5, 6, 3), 3),
    ("4d-channels-first", (2, 3, 5, 6), 1),
    ("4d-channels-first-neg", (2, 3, 5, 6), -3),
    ("4d-middle", (2, 5, 3, 6), 2),
    ("5d-channels-last", (2, 3, 4, 5, 3), -1),
    ("5d-channels-first", (2, 3, 3, 4, 5), 1),
    ("5d-middle", (2, 3, 4, 5, 3), 2),
    ("batch-axis", (4, 3, 2), 0),
]
GEOMETRY_PARAMS = [pytest.param(shape, axis, id=gid) for gid, shape, axis in GEOMETRIES]

OPTIONS = [
    pytest.param({}, id="default"),
    pytest.param({"center": False}, id="no-center"),
    pytest.param({"scale": False}, id="no-scale"),
    pytest.param({"center": False, "scale": False, "epsilon": 0.1, "momentum": 0.5},
                 id="plain-eps-momentum"),
]


def _data(rng, shape):
    """Inputs with a mean away from 0 and a spread away from 1 per channel."""
    return (rng.standard_normal(shape) * 2.0 + 1.5).astype(np.float32)


def paired(kwargs, shape, seed=0):
    """(ours, keras) built on ``shape``, with the same random weights."""
    kwargs = dict(kwargs)
    kwargs.setdefault("name", "bn_under_test")
    ours = layers.BatchNormalization(**kwargs)
    theirs = keras.layers.BatchNormalization(**kwargs)
    theirs.build(shape)
    ours.build(shape)
    rng = np.random.default_rng(seed)
    values = []
    for w in theirs.weights:
        name = w.name
        if name in ("moving_variance", "moving_stddev", "renorm_stddev"):
            values.append(rng.uniform(0.5, 2.0, w.shape).astype(np.float32))
        elif name == "gamma":
            values.append((1.0 + 0.3 * rng.standard_normal(w.shape)).astype(np.float32))
        else:
            values.append((0.5 * rng.standard_normal(w.shape)).astype(np.float32))
    theirs.set_weights(values)
    ours.set_weights(values)
    return ours, theirs


def run(layer, x_np, r_np, weights, **call_kwargs):
    """Output and gradients of sum(out * r) w.r.t. the input and ``weights``."""
    x = torch.tensor(x_np, requires_grad=True)
    out = layer(x, **call_kwargs)
    grads = torch.autograd.grad((out * torch.tensor(r_np)).sum(), [x] + list(weights))
    return out.detach().numpy(), [g.numpy() for g in grads]


def trainable_tensors(layer, keras_layer=False):
    names = [w.name for w in layer.weights if w.name in ("gamma", "beta")]
    if keras_layer:
        return names, [getattr(layer, n).value for n in names]
    return names, [getattr(layer, n) for n in names]


def compare_step(ours, theirs, x_np, r_np, what, **call_kwargs):
    names, k_weights = trainable_tensors(theirs, keras_layer=True)
    _, o_weights = trainable_tensors(ours)
    k_out, k_grads = run(theirs, x_np, r_np, k_weights, **call_kwargs)
    o_out, o_grads = run(ours, x_np, r_np, o_weights, **call_kwargs)
    assert_close(o_out, k_out, OUTPUT_RTOL, f"{what}: output")
    for name, og, kg in zip(["input"] + names, o_grads, k_grads):
        assert_close(og, kg, GRAD_RTOL, f"{what}: gradient w.r.t. {name}")
    return o_out


def compare_weights(ours, theirs, what):
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights], what
    for mine, keras_w, w in zip(ours.get_weights(), theirs.get_weights(), theirs.weights):
        assert_close(mine, keras_w, OUTPUT_RTOL, f"{what}: weight {w.name}")


@pytest.mark.parametrize("kwargs", OPTIONS)
@pytest.mark.parametrize("shape,axis", GEOMETRY_PARAMS)
def test_inference_and_training_against_keras(shape, axis, kwargs):
    kwargs = dict(kwargs, axis=axis)
    what = f"BatchNormalization({kwargs}) on {shape}"
    ours, theirs = paired(kwargs, shape)
    rng = np.random.default_rng(1)
    r_np = rng.standard_normal(shape).astype(np.float32)
    # Inference (the default mode) uses the moving statistics.
    compare_step(ours, theirs, _data(rng, shape), r_np, f"{what}, inference")
    compare_step(ours, theirs, _data(rng, shape), r_np, f"{what}, training=False",
                 training=False)
    compare_weights(ours, theirs, f"{what}, after inference")
    # Several training steps: batch statistics, moving averages updated each step.
    for step in range(3):
        compare_step(ours, theirs, _data(rng, shape), r_np, f"{what}, training step {step}",
                     training=True)
        compare_weights(ours, theirs, f"{what}, after training step {step}")
    # Inference again, now with the updated moving statistics.
    compare_step(ours, theirs, _data(rng, shape), r_np, f"{what}, inference after training")


def test_moving_statistics_are_keras_convention():
    # momentum * old + (1 - momentum) * batch, with the biased batch variance,
    # computed here in float64 from the data (not by our code).
    x = _data(np.random.default_rng(2), (5, 4, 3))
    layer = layers.BatchNormalization(momentum=0.8)
    layer(x, training=True)
    mean = x.astype(np.float64).mean(axis=(0, 1))
    variance = x.astype(np.float64).var(axis=(0, 1))  # ddof=0: biased
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.2 * mean, rtol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.8 + 0.2 * variance, rtol=1e-6)
    assert not layer.moving_mean.requires_grad and layer.moving_mean.grad is None


@pytest.mark.parametrize("offset", [10.0, 100.0, 1000.0])
def test_at_least_as_exact_as_keras_far_from_zero(offset):
    # Data whose mean is `offset` standard deviations from 0: torch's fused
    # pass (x * a + b) and its one-pass statistics against Keras's
    # (x - mean) * a + b and E[x^2] - E[x]^2, both measured against float64.
    rng = np.random.default_rng(12)
    x = (rng.standard_normal((64, 16)) + offset).astype(np.float32)
    ours, theirs = paired({}, x.shape)
    weights = theirs.get_weights()
    weights[2][:] = offset + 0.1
    ours.set_weights(weights)
    theirs.set_weights(weights)
    gamma, beta, moving_mean, moving_var = (w.astype(np.float64) for w in weights)
    x64 = x.astype(np.float64)
    references = {
        False: (x64 - moving_mean) / np.sqrt(moving_var + 1e-3) * gamma + beta,
        True: (x64 - x64.mean(0)) / np.sqrt(x64.var(0) + 1e-3) * gamma + beta,
    }
    for training, reference in references.items():
        scale = np.abs(reference).max()
        ours_error = np.abs(ours(x, training=training).detach().numpy() - reference).max()
        keras_error = np.abs(theirs(x, training=training).detach().numpy() - reference).max()
        assert ours_error <= max(keras_error, OUTPUT_RTOL * scale), (training, ours_error,
                                                                     keras_error)


@pytest.mark.parametrize("shape,axis", [
    pytest.param((4, 3), -1, id="2d"), pytest.param((2, 3, 5, 4), 1, id="4d-channels-first"),
])
def test_frozen_layer_runs_in_inference_mode(shape, axis):
    ours, theirs = paired({"axis": axis, "trainable": False}, shape)
    rng = np.random.default_rng(3)
    x_np, r_np = _data(rng, shape), rng.standard_normal(shape).astype(np.float32)
    before = ours.get_weights()
    x = torch.tensor(x_np, requires_grad=True)
    out = ours(x, training=True)
    expected = theirs(x_np, training=True).detach().numpy()
    assert_close(out.detach().numpy(), expected, OUTPUT_RTOL, "frozen, training=True")
    with torch.no_grad():
        inference = ours(torch.tensor(x_np), training=False).numpy()
    np.testing.assert_array_equal(out.detach().numpy(), inference)
    for b, a in zip(before, ours.get_weights()):
        np.testing.assert_array_equal(a, b)  # moving statistics untouched
    for b, a in zip(before, theirs.get_weights()):
        np.testing.assert_array_equal(a, b)  # ... as in Keras
    assert ours.trainable_weights == [] and len(ours.non_trainable_weights) == 4
    # Freezing after creation behaves the same; unfreezing restores training mode.
    layer = layers.BatchNormalization()
    layer.build(shape if axis == -1 else (shape[0], shape[1]))
    layer.trainable = False
    layer(torch.ones(4, layer.moving_mean.shape[0]) * 3, training=True)
    assert float(layer.moving_mean.abs().max()) == 0.0
    layer.trainable = True
    layer(torch.ones(4, layer.moving_mean.shape[0]) * 3, training=True)
    assert float(layer.moving_mean.min()) > 0.0


def test_train_mode_of_the_module_means_training():
    ours, theirs = paired({}, (6, 3))
    x_np = _data(np.random.default_rng(4), (6, 3))
    ours.train()
    with torch.no_grad():
        out = ours(torch.tensor(x_np)).numpy()
    assert_close(out, theirs(x_np, training=True).detach().numpy(), OUTPUT_RTOL, "train()")
    compare_weights(ours, theirs, "after a train() call")
    ours.eval()
    with torch.no_grad():
        out = ours(torch.tensor(x_np)).numpy()
    assert_close(out, theirs(x_np).detach().numpy(), OUTPUT_RTOL, "eval()")


@pytest.mark.parametrize("kwargs", [
    pytest.param({"renorm": True}, id="renorm"),
    pytest.param({"renorm": True, "renorm_clipping": {"rmax": 1.2, "rmin": 0.9, "dmax": 0.1},
                  "renorm_momentum": 0.7, "momentum": 0.6}, id="renorm-clipped"),
    pytest.param({"renorm": True, "scale": False, "axis": 1,
                  "renorm_clipping": {"dmax": 0.2}}, id="renorm-no-scale-axis1"),
])
def test_renorm_against_keras(kwargs):
    shape = (4, 3, 5)
    ours, theirs = paired(kwargs, shape)
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    rng = np.random.default_rng(5)
    r_np = rng.standard_normal(shape).astype(np.float32)
    for step in range(3):
        compare_step(ours, theirs, _data(rng, shape), r_np, f"renorm {kwargs} step {step}",
                     training=True)
        compare_weights(ours, theirs, f"renorm {kwargs} after step {step}")
    compare_step(ours, theirs, _data(rng, shape), r_np, "renorm, inference")


def test_renorm_initial_weights_match_keras():
    ours = layers.BatchNormalization(renorm=True, moving_variance_initializer="ones")
    theirs = keras.layers.BatchNormalization(renorm=True)
    ours.build((2, 3))
    theirs.build((2, 3))
    for mine, keras_w in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(mine, keras_w)


def test_mask_against_keras():
    shape = (3, 5, 4)
    ours, theirs = paired({}, shape)
    rng = np.random.default_rng(6)
    r_np = rng.standard_normal(shape).astype(np.float32)
    mask = rng.random(shape[:-1]) > 0.4
    for step in range(2):
        compare_step(ours, theirs, _data(rng, shape), r_np, f"masked step {step}",
                     training=True, mask=torch.tensor(mask))
        compare_weights(ours, theirs, f"masked, after step {step}")
    # A mask in inference mode changes nothing (moving statistics are used).
    compare_step(ours, theirs, _data(rng, shape), r_np, "masked inference",
                 mask=torch.tensor(mask))
    with pytest.raises(ValueError, match=r"one dimension less.*Received: mask.shape"):
        ours(torch.ones(shape), training=True, mask=torch.ones(shape, dtype=torch.bool))


def test_list_axis_against_a_float64_reference():
    # Keras 3 accepts only an int axis; a list normalizes per (h, w) position,
    # weights of tf.keras 2's full-rank shape. Reference: NumPy float64 formula.
    x = _data(np.random.default_rng(7), (4, 3, 2, 5))
    layer = layers.BatchNormalization(axis=[1, -2], momentum=0.5, epsilon=0.01)
    out = layer(x, training=True).detach().numpy()
    assert [tuple(w.shape) for w in layer.weights] == [(1, 3, 2, 1)] * 4
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=(0, 3), keepdims=True)
    var = x64.var(axis=(0, 3), keepdims=True)
    np.testing.assert_allclose(out, (x64 - mean) / np.sqrt(var + 0.01), rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.5 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.5 + 0.5 * var, rtol=1e-5)
    inference = layer(x).detach().numpy()
    expected = (x64 - 0.5 * mean) / np.sqrt(0.5 + 0.5 * var + 0.01)
    np.testing.assert_allclose(inference, expected, rtol=2e-5, atol=2e-5)
    # Non-adjacent axes (a layout copy inside) give the same kind of result.
    layer = layers.BatchNormalization(axis=[0, 2], epsilon=0.01)
    out = layer(x, training=True).detach().numpy()
    mean = x64.mean(axis=(1, 3), keepdims=True)
    var = x64.var(axis=(1, 3), keepdims=True)
    np.testing.assert_allclose(out, (x64 - mean) / np.sqrt(var + 0.01), rtol=2e-5, atol=2e-5)


def test_layouts_and_dtypes():
    # A channels_first tensor stored channels_last (torch's memory format), a
    # transposed (non-contiguous) input, float64: same results as contiguous float32.
    rng = np.random.default_rng(8)
    x_np = _data(rng, (2, 3, 4, 5))
    ours, theirs = paired({"axis": 1}, x_np.shape)
    expected_inf = theirs(x_np).detach().numpy()
    expected_train = theirs(x_np, training=True).detach().numpy()
    ours.set_weights(paired({"axis": 1}, x_np.shape)[1].get_weights())
    x = torch.tensor(x_np).contiguous(memory_format=torch.channels_last)
    assert_close(ours(x).detach().numpy(), expected_inf, OUTPUT_RTOL, "channels_last memory")
    assert_close(ours(x, training=True).detach().numpy(), expected_train, OUTPUT_RTOL,
                 "channels_last memory, training")
    compare_weights(ours, theirs, "channels_last memory")
    transposed = torch.tensor(np.ascontiguousarray(x_np.transpose(3, 1, 2, 0))).permute(3, 1, 2, 0)
    assert not transposed.is_contiguous()
    assert_close(ours(transposed).detach().numpy(), theirs(x_np).detach().numpy(), OUTPUT_RTOL,
                 "non-contiguous input")
    # float64 layer (weights and computation).
    ours64 = layers.BatchNormalization(dtype="float64")
    theirs64 = keras.layers.BatchNormalization(dtype="float64")
    x64 = _data(rng, (6, 3)).astype(np.float64)
    out = ours64(torch.tensor(x64), training=True)
    assert out.dtype == torch.float64 and ours64.moving_mean.dtype == torch.float64
    reference = (x64 - x64.mean(axis=0)) / np.sqrt(x64.var(axis=0) + 1e-3)
    np.testing.assert_allclose(out.detach().numpy(), reference, rtol=1e-12, atol=1e-14)
    # Keras's own float64 result is only float32-exact (2e-7 off the reference).
    np.testing.assert_allclose(out.detach().numpy(),
                               theirs64(torch.tensor(x64), training=True).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_mixed_float16_computes_statistics_in_float32():
    x_np = _data(np.random.default_rng(9), (8, 3)).astype(np.float16)
    ours = layers.BatchNormalization(dtype="mixed_float16")
    theirs = keras.layers.BatchNormalization(dtype="mixed_float16")
    out = ours(torch.tensor(x_np), training=True)
    expected = theirs(x_np, training=True)
    assert out.dtype == torch.float16 and ours.moving_mean.dtype == torch.float32
    np.testing.assert_allclose(out.detach().float().numpy(), expected.detach().float().numpy(),
                               rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(ours.moving_variance.numpy(), theirs.moving_variance.numpy(),
                               rtol=1e-5)


def test_single_value_per_channel_and_optimizer_step():
    # One value per channel in training: variance 0, output beta (as Keras).
    ours, theirs = paired({}, (1, 3))
    x = np.array([[1.0, -2.0, 5.0]], np.float32)
    assert_close(ours(x, training=True).detach().numpy(),
                 theirs(x, training=True).detach().numpy(), OUTPUT_RTOL, "batch of 1")
    compare_weights(ours, theirs, "batch of 1")
    # A torch optimizer trains gamma/beta only; the moving statistics move by
    # the layer's own update, never by the optimizer.
    layer = layers.BatchNormalization()
    layer.build((None, 3))
    optimizer = torch.optim.SGD([p for p in layer.parameters() if p.requires_grad], lr=0.1)
    assert len(optimizer.param_groups[0]["params"]) == 2
    out = layer(_data(np.random.default_rng(10), (8, 3)), training=True)
    (out * torch.arange(3.0)).sum().backward()
    optimizer.step()
    assert layer.moving_mean.grad is None and float(layer.beta.detach().abs().sum()) > 0


# ------------------------------------------------------------------ structure
def test_weights_names_order_and_counts():
    ours, theirs = paired({"name": "bn"}, (None, 7, 5))
    assert [(w.path, tuple(w.shape)) for w in ours.weights] == [
        (w.path, tuple(w.shape)) for w in theirs.weights]
    assert [w.path for w in ours.trainable_weights] == [w.path for w in theirs.trainable_weights]
    assert [w.path for w in ours.non_trainable_weights] == [
        w.path for w in theirs.non_trainable_weights]
    assert [w.requires_grad for w in ours.weights] == [True, True, False, False]
    assert [w.trainable for w in ours.weights] == [True, True, False, False]
    assert ours.count_params() == theirs.count_params() == 20
    for center, scale, names in [(False, True, ["gamma"]), (True, False, ["beta"]),
                                 (False, False, [])]:
        layer = layers.BatchNormalization(center=center, scale=scale)
        layer.build((2, 4))
        assert [w.name for w in layer.weights] == names + ["moving_mean", "moving_variance"]
        assert (layer.gamma is None) != scale and (layer.beta is None) != center


def test_mobilenet_block_parameter_counts():
    # The seed example (a MobileNet v1 block on 32 channels): 2,720 parameters,
    # 192 of them non-trainable (the moving statistics of both BN layers).
    x = torch.zeros(1, 8, 8, 32)
    block = [
        layers.DepthwiseConv2D(kernel_size=(3, 3), strides=(1, 1), padding="same",
                               use_bias=False),
        layers.BatchNormalization(),
        layers.Activation("relu"),
        layers.Conv2D(64, (1, 1), strides=(1, 1), padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.Activation("relu"),
    ]
    for layer in block:
        x = layer(x)
    total = sum(layer.count_params() for layer in block)
    frozen = sum(int(w.numel()) for layer in block for w in layer.non_trainable_weights)
    assert (total, frozen, total - frozen) == (2720, 192, 2528)
    assert tuple(x.shape) == (1, 8, 8, 64)


@pytest.mark.parametrize("axis,shape", [
    (-1, (None, 3)), (-1, (None, None, None, 4)), (1, (None, 3, None, None)),
    (2, (4, None, 5, None, 2)), (0, (3, None)),
])
def test_compute_output_shape(axis, shape):
    ours = layers.BatchNormalization(axis=axis)
    theirs = keras.layers.BatchNormalization(axis=axis)
    assert ours.compute_output_shape(shape) == tuple(theirs.compute_output_shape(shape))


def test_build_and_call_checks():
    layer = layers.BatchNormalization(axis=3, name="bn")
    with pytest.raises(ValueError, match=r"out of bounds.*Received: axis=3"):
        layer.compute_output_shape((None, 3))
    with pytest.raises(ValueError, match=r"out of bounds.*Received: axis=3"):
        layer(torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"known size.*Received: input_shape=\(None, None\)"):
        layers.BatchNormalization().build((None, None))
    with pytest.raises(ValueError, match=r"distinct.*Received: axis=\[1, -1\]"):
        layers.BatchNormalization(axis=[1, -1]).build((2, 3))
    layer = layers.BatchNormalization()
    layer(torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"axis (-1|1) must have size 3.*Received: inputs.shape"):
        layer(torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"rank 2.*Received: inputs.shape"):
        layer(torch.ones(2, 2, 3))
    layer = layers.BatchNormalization(axis=0)
    with pytest.raises(ValueError, match=r"at least one value per channel.*Received"):
        layer(torch.ones(3, 0), training=True)


# --------------------------------------------------------------------- config
CONFIGS = [
    pytest.param({}, id="default"),
    pytest.param({"axis": 1, "momentum": 0.9, "epsilon": 1e-5, "center": False}, id="custom"),
    pytest.param({"beta_initializer": "ones", "gamma_initializer": "random_normal",
                  "moving_mean_initializer": {"class_name": "Constant",
                                              "config": {"value": 0.5}},
                  "moving_variance_initializer": "he_uniform",
                  "beta_regularizer": "l2", "gamma_regularizer": {"class_name": "L1",
                                                                 "config": {"l1": 0.1}},
                  "beta_constraint": "non_neg", "gamma_constraint": "max_norm"},
                 id="weight-options"),
    pytest.param({"renorm": True, "renorm_clipping": {"rmax": 3.0, "dmax": 5.0},
                  "renorm_momentum": 0.9}, id="renorm"),
    pytest.param({"momentum": 1, "epsilon": 0, "trainable": False, "dtype": "float64",
                  "name": "frozen_bn"}, id="int-values-frozen-float64"),
]


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_config_matches_keras_and_round_trips(kwargs):
    kwargs = dict(kwargs)
    kwargs.setdefault("name", "bn_config")
    ours = layers.BatchNormalization(**kwargs)
    theirs = keras.layers.BatchNormalization(**kwargs)
    o_config, k_config = normalize(ours.get_config()), normalize(theirs.get_config())
    assert o_config == k_config
    assert list(ours.get_config()) == list(theirs.get_config())  # same keys, same order
    clone = layers.BatchNormalization.from_config(ours.get_config())
    assert normalize(clone.get_config()) == o_config
    assert normalize(layers.BatchNormalization.from_config(theirs.get_config()).get_config()) == (
        o_config)
    assert normalize(
        keras.layers.BatchNormalization.from_config(ours.get_config()).get_config()) == k_config
    # Built from the same config: the same weights structure as Keras.
    clone.build((2, 3, 4))
    keras_clone = keras.layers.BatchNormalization.from_config(ours.get_config())
    keras_clone.build((2, 3, 4))
    assert [(w.name, tuple(w.shape)) for w in clone.weights] == [
        (w.name, tuple(w.shape)) for w in keras_clone.weights]


def test_regularizer_losses_match_keras():
    ours, theirs = paired({"beta_regularizer": "l2", "gamma_regularizer": "l1"}, (4, 3))
    x = _data(np.random.default_rng(11), (4, 3))
    ours(x)
    theirs(x)
    assert len(ours.losses) == len(theirs.losses) == 2
    assert_close(sorted(v.item() for v in ours.losses),
                 sorted(float(v.detach()) for v in theirs.losses), OUTPUT_RTOL, "losses")


# --------------------------------------------------------------------- errors
BAD_ARGUMENTS = [
    ("axis", "1", TypeError),
    ("axis", 1.5, TypeError),
    ("axis", [], TypeError),
    ("axis", [1, "2"], TypeError),
    ("axis", True, TypeError),
    ("momentum", 1.5, ValueError),
    ("momentum", -0.1, ValueError),
    ("momentum", "0.9", TypeError),
    ("momentum", float("nan"), ValueError),
    ("epsilon", -1e-3, ValueError),
    ("epsilon", None, TypeError),
    ("center", 1, TypeError),
    ("scale", "yes", TypeError),
    ("synchronized", True, ValueError),
    ("renorm", 1, TypeError),
    ("renorm_momentum", 2, ValueError),
    ("renorm_clipping", [1.0], TypeError),
    ("renorm_clipping", {"rmax": 1.0, "bogus": 2}, ValueError),
    ("renorm_clipping", {"rmax": 1.0, "rmin": 2.0}, ValueError),
    ("renorm_clipping", {"dmax": -1.0}, ValueError),
    ("beta_initializer", "nope", ValueError),
    ("gamma_regularizer", "nope", ValueError),
    ("beta_constraint", 3, (TypeError, ValueError)),
    ("moving_variance_initializer", "nope", ValueError),
]


@pytest.mark.parametrize("argument,value,error", [
    pytest.param(a, v, e, id=f"{a}={v!r}") for a, v, e in BAD_ARGUMENTS])
def test_bad_arguments(argument, value, error):
    kwargs = {argument: value}
    if argument == "renorm_clipping":
        kwargs["renorm"] = True
    expect_error(lambda: layers.BatchNormalization(**kwargs), re.escape(argument),
                 re.escape(argument), types=error)


def test_unknown_keyword_argument():
    with pytest.raises(ValueError, match=r"Unrecognized keyword arguments.*fused"):
        layers.BatchNormalization(fused=True)
