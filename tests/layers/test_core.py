"""Dense and Dropout against Keras 3.15.1 (torch backend).

Dense: same weights, same inputs (any rank) into ours and keras.layers.Dense;
outputs and gradients compared (tolerances of tests/keras_reference.py),
weights, configs, output shapes, LoRA, errors.

Dropout: only what is deterministic is compared with Keras (inference, rate 0
and rate 1, configs, shapes); the random masks are checked statistically
(drop fraction, scaling by 1 / (1 - rate)), for broadcasting by noise_shape,
for gradients, and for reproducibility of seeded layers.
"""

from __future__ import annotations

import copy
import pickle
import re

import keras
import numpy as np
import pytest
import torch

from error_checks import expect_error
from keras_reference import GRAD_RTOL, OUTPUT_RTOL, assert_close, normalize
from sepconv import layers


def run(layer, x_np, r_np, weights):
    x = torch.tensor(x_np, requires_grad=True)
    out = layer(x)
    grads = torch.autograd.grad((out * torch.tensor(r_np)).sum(), [x] + list(weights))
    return out.detach().numpy(), [g.numpy() for g in grads]


def random_weights(klayer, rng):
    return [rng.standard_normal(tuple(w.shape)).astype(np.float32) for w in klayer.weights]


def check_config(ours, theirs):
    o_config, k_config = normalize(ours.get_config()), normalize(theirs.get_config())
    assert o_config == k_config
    assert list(ours.get_config()) == list(theirs.get_config())
    cls, kcls = type(ours), type(theirs)
    assert normalize(cls.from_config(ours.get_config()).get_config()) == o_config
    assert normalize(cls.from_config(theirs.get_config()).get_config()) == o_config
    assert normalize(kcls.from_config(ours.get_config()).get_config()) == k_config


# ---------------------------------------------------------------------- Dense
DENSE_CASES = [
    pytest.param({"units": 3}, (4, 5), id="2d"),
    pytest.param({"units": 2}, (3, 4, 5), id="3d"),
    pytest.param({"units": 4}, (2, 3, 4, 5), id="4d"),
    pytest.param({"units": 1}, (2, 1, 1, 1, 6), id="5d-units1"),
    pytest.param({"units": 3, "use_bias": False}, (3, 2, 4), id="no-bias"),
    pytest.param({"units": 5, "activation": "relu"}, (3, 4), id="relu"),
    pytest.param({"units": 5, "activation": "softmax"}, (2, 3, 4), id="softmax"),
    pytest.param({"units": 5, "activation": "gelu"}, (3, 4), id="gelu"),
    pytest.param({"units": 5, "activation": "tanh", "use_bias": False}, (3, 4), id="tanh"),
    pytest.param({"units": 8}, (64, 32), id="larger"),
]


@pytest.mark.parametrize("kwargs,shape", DENSE_CASES)
def test_dense_against_keras(kwargs, shape):
    kwargs = dict(kwargs, name="dense_under_test")
    ours, theirs = layers.Dense(**kwargs), keras.layers.Dense(**kwargs)
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(shape).astype(np.float32)
    theirs.build(shape)
    ours(torch.tensor(x_np))  # builds on first call
    assert [(w.path, tuple(w.shape)) for w in ours.weights] == [
        (w.path, tuple(w.shape)) for w in theirs.weights]
    assert ours.count_params() == theirs.count_params()
    weights = random_weights(theirs, rng)
    theirs.set_weights(weights)
    ours.set_weights(weights)
    r_np = rng.standard_normal(shape[:-1] + (kwargs["units"],)).astype(np.float32)
    k_out, k_grads = run(theirs, x_np, r_np, [w.value for w in theirs.weights])
    o_out, o_grads = run(ours, x_np, r_np, ours.weights)
    what = f"Dense({kwargs}) on {shape}"
    assert_close(o_out, k_out, OUTPUT_RTOL, f"{what}: output")
    for name, og, kg in zip(["input"] + [w.name for w in theirs.weights], o_grads, k_grads):
        assert_close(og, kg, GRAD_RTOL, f"{what}: gradient w.r.t. {name}")
    for axes in ([0], list(range(len(shape) - 1)), [0, len(shape) - 2]):
        symbolic = tuple(None if i in axes else d for i, d in enumerate(shape))
        assert ours.compute_output_shape(symbolic) == tuple(
            theirs.compute_output_shape(symbolic)), symbolic
    check_config(ours, theirs)


def test_dense_integer_and_noncontiguous_inputs():
    ours, theirs = layers.Dense(3), keras.layers.Dense(3)
    x = np.arange(12, dtype=np.int64).reshape(3, 4) % 3
    theirs.build((3, 4))
    ours.build((3, 4))
    ours.set_weights(theirs.get_weights())
    out = ours(torch.tensor(x))
    assert out.dtype == torch.float32
    assert_close(out.detach().numpy(), theirs(x).detach().numpy(), OUTPUT_RTOL, "int input")
    x_f = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    transposed = torch.tensor(x_f).t()  # a (3, 4) non-contiguous view
    assert_close(ours(transposed).detach().numpy(),
                 theirs(np.ascontiguousarray(x_f.T)).detach().numpy(), OUTPUT_RTOL,
                 "non-contiguous input")


def test_dense_weight_options_config_and_losses():
    kwargs = dict(units=3, kernel_initializer="he_normal",
                  bias_initializer={"class_name": "Constant", "config": {"value": 0.5}},
                  kernel_regularizer="l2", bias_regularizer={"class_name": "L1",
                                                             "config": {"l1": 0.1}},
                  activity_regularizer="l1", kernel_constraint="max_norm",
                  bias_constraint="non_neg", name="dense_options")
    ours, theirs = layers.Dense(**kwargs), keras.layers.Dense(**kwargs)
    check_config(ours, theirs)
    x = np.random.default_rng(2).standard_normal((5, 4)).astype(np.float32)
    theirs.build((5, 4))
    ours.build((5, 4))
    ours.set_weights(theirs.get_weights())
    ours(torch.tensor(x))
    theirs(x)
    assert len(ours.losses) == len(theirs.losses) == 3
    assert_close(sorted(v.item() for v in ours.losses),
                 sorted(float(v.detach()) for v in theirs.losses), OUTPUT_RTOL, "losses")
    assert np.all(ours.bias.detach().numpy() == 0.5)


@pytest.mark.parametrize("kwargs", [
    pytest.param({"units": 3}, id="default"),
    pytest.param({"units": 3, "activation": "swish", "use_bias": False, "trainable": False,
                  "dtype": "float64"}, id="custom"),
    pytest.param({"units": 3, "lora_rank": 2}, id="lora"),
    pytest.param({"units": 3, "lora_rank": 0}, id="lora-rank-0-means-none"),
])
def test_dense_config(kwargs):
    kwargs = dict(kwargs, name="dense_config")
    check_config(layers.Dense(**kwargs), keras.layers.Dense(**kwargs))


# ------------------------------------------------------------------ Dense LoRA
def lora_pair(ours_kwargs, keras_kwargs, shape, enable_keras=None):
    ours = layers.Dense(name="lora_dense", **ours_kwargs)
    theirs = keras.layers.Dense(name="lora_dense", **keras_kwargs)
    theirs.build(shape)
    if enable_keras is not None:
        theirs.enable_lora(*enable_keras[0], **enable_keras[1])
    ours.build(shape)
    weights = random_weights(theirs, np.random.default_rng(3))  # lora_kernel_b nonzero
    theirs.set_weights(weights)
    ours.set_weights(weights)
    return ours, theirs


def check_lora_numbers(ours, theirs, shape):
    rng = np.random.default_rng(4)
    x_np = rng.standard_normal(shape).astype(np.float32)
    r_np = rng.standard_normal(shape[:-1] + (ours.units,)).astype(np.float32)
    trainable = [w for w in theirs.weights if w.trainable]
    k_out, k_grads = run(theirs, x_np, r_np, [w.value for w in trainable])
    o_out, o_grads = run(ours, x_np, r_np, ours.trainable_weights)
    assert_close(o_out, k_out, OUTPUT_RTOL, "LoRA output")
    for name, og, kg in zip(["input"] + [w.name for w in trainable], o_grads, k_grads):
        assert_close(og, kg, GRAD_RTOL, f"LoRA gradient w.r.t. {name}")
    assert_close(ours.kernel.detach().numpy(), theirs.kernel.detach().numpy(), OUTPUT_RTOL,
                 "effective kernel")


def test_dense_lora_against_keras():
    shape = (3, 2, 5)
    ours, theirs = lora_pair({"units": 4, "lora_rank": 2}, {"units": 4, "lora_rank": 2}, shape)
    assert [(w.path, tuple(w.shape), w.requires_grad) for w in ours.weights] == [
        (w.path, tuple(w.shape), w.trainable) for w in theirs.weights]
    assert [w.path for w in ours.trainable_weights] == [w.path for w in theirs.trainable_weights]
    assert [w.path for w in ours.non_trainable_weights] == [
        w.path for w in theirs.non_trainable_weights]
    assert ours.count_params() == theirs.count_params()
    check_lora_numbers(ours, theirs, shape)
    check_config(ours, theirs)
    # Freezing and unfreezing the layer keeps the LoRA-frozen kernel frozen.
    ours.trainable = False
    assert ours.trainable_weights == []
    ours.trainable = True
    assert [w.name for w in ours.trainable_weights] == ["bias", "lora_kernel_a", "lora_kernel_b"]
    # The LoRA weights take the kernel regularizer, as in Keras.
    ours, theirs = lora_pair({"units": 4, "lora_rank": 2, "kernel_regularizer": "l2"},
                             {"units": 4, "lora_rank": 2, "kernel_regularizer": "l2"}, (2, 5))
    assert_close(sorted(v.item() for v in ours.losses),
                 sorted(float(v.detach()) for v in theirs.losses), OUTPUT_RTOL, "LoRA losses")


def test_dense_lora_alpha_and_enable_lora():
    # Keras 3.15.1's constructor drops lora_alpha when it builds (enable_lora
    # is called without it), although its docs say the delta is scaled by
    # lora_alpha / lora_rank; enable_lora(rank, lora_alpha) honours it. We
    # honour the constructor's lora_alpha: compare with Keras's enable_lora.
    keras_layer = keras.layers.Dense(4, lora_rank=2, lora_alpha=6)
    keras_layer.build((2, 5))
    assert keras_layer.lora_alpha == 2  # the Keras behaviour we do not copy
    shape = (3, 5)
    ours, theirs = lora_pair({"units": 4, "lora_rank": 2, "lora_alpha": 6}, {"units": 4}, shape,
                             enable_keras=((2,), {"lora_alpha": 6}))
    assert ours.lora_alpha == theirs.lora_alpha == 6
    check_lora_numbers(ours, theirs, shape)
    check_config(ours, theirs)
    # enable_lora on a built layer, with initializers: same structure as Keras.
    ours, theirs = layers.Dense(3, name="d"), keras.layers.Dense(3, name="d")
    ours.build((2, 4))
    theirs.build((2, 4))
    ours.enable_lora(3, a_initializer="zeros", b_initializer="ones")
    theirs.enable_lora(3, a_initializer="zeros", b_initializer="ones")
    assert [(w.path, tuple(w.shape), w.requires_grad) for w in ours.weights] == [
        (w.path, tuple(w.shape), w.trainable) for w in theirs.weights]
    for mine, keras_w in zip(ours.get_weights()[2:], theirs.get_weights()[2:]):
        np.testing.assert_array_equal(mine, keras_w)
    assert ours.get_config()["lora_rank"] == 3 and ours.get_config()["lora_alpha"] == 3
    check_config(ours, theirs)


def test_dense_saved_variables_match_keras():
    # Keras files hold the kernel with LoRA merged in, and the bias; loading
    # zeroes the LoRA weights. Both directions against Keras's own methods.
    for kwargs in ({"units": 4}, {"units": 4, "use_bias": False}, {"units": 4, "lora_rank": 2}):
        ours, theirs = lora_pair(kwargs, kwargs, (3, 5))
        o_store, k_store = {}, {}
        ours.save_own_variables(o_store)
        theirs.save_own_variables(k_store)
        assert sorted(o_store) == sorted(k_store), kwargs
        for key in k_store:
            assert_close(o_store[key], keras.ops.convert_to_numpy(k_store[key]), OUTPUT_RTOL,
                         f"{kwargs} {key}")
        # Load Keras's store into a fresh layer: same outputs as Keras's layer.
        fresh = layers.Dense(name="lora_dense", **kwargs)
        fresh.build((3, 5))
        fresh.load_own_variables(k_store)
        keras_fresh = keras.layers.Dense(name="lora_dense", **kwargs)
        keras_fresh.build((3, 5))
        keras_fresh.load_own_variables(k_store)
        x = np.random.default_rng(5).standard_normal((3, 5)).astype(np.float32)
        assert_close(fresh(x).detach().numpy(), keras_fresh(x).detach().numpy(), OUTPUT_RTOL,
                     f"{kwargs} after loading")
        assert_close(fresh(x).detach().numpy(), theirs(x).detach().numpy(), OUTPUT_RTOL,
                     f"{kwargs} loaded vs original")
        if kwargs.get("lora_rank"):
            assert float(fresh.lora_kernel_b.detach().abs().max()) == 0.0
    with pytest.raises(ValueError, match=r"holds 2 saved weights.*Received: 1 weights"):
        layer = layers.Dense(2)
        layer.build((1, 3))
        layer.load_own_variables({"0": np.zeros((3, 2), np.float32)})


def test_dense_enable_lora_errors():
    layer = layers.Dense(3)
    expect_error(lambda: layer.enable_lora(2), "built", r"rank=2")
    layer.build((2, 4))
    expect_error(lambda: layer.enable_lora(0), "`rank`", r"rank=0")
    expect_error(lambda: layer.enable_lora(2, lora_alpha=-1), "lora_alpha", r"lora_alpha=-1")
    layer.enable_lora(2)
    expect_error(lambda: layer.enable_lora(2), "already enabled", r"rank=2")
    constrained = layers.Dense(3, kernel_constraint="max_norm")
    constrained.build((2, 4))
    expect_error(lambda: constrained.enable_lora(2), "kernel_constraint", r"kernel_constraint=")
    expect_error(lambda: layers.Dense(3, lora_rank=2, kernel_constraint="max_norm").build((2, 4)),
                 "kernel_constraint", r"kernel_constraint=")


DENSE_BAD = [
    ("units", 0), ("units", -2), ("units", 2.5), ("units", "3"), ("units", True),
    ("units", None), ("activation", "nope"), ("use_bias", "yes"),
    ("kernel_initializer", "nope"), ("bias_regularizer", "nope"), ("kernel_constraint", "nope"),
    ("quantization_config", {"mode": "int8"}), ("lora_rank", -1), ("lora_rank", 1.5),
    ("lora_alpha", 0), ("lora_alpha", "2"),
]


@pytest.mark.parametrize("argument,value", [
    pytest.param(a, v, id=f"{a}={v!r}") for a, v in DENSE_BAD])
def test_dense_bad_arguments(argument, value):
    kwargs = {"units": 3, argument: value}
    if argument == "lora_alpha":
        kwargs["lora_rank"] = 2
    expect_error(lambda: layers.Dense(**kwargs), re.escape(argument), re.escape(argument) + "=")


def test_dense_bad_inputs():
    layer = layers.Dense(3, name="fc")
    expect_error(lambda: layer(torch.ones(4)), "rank", r"inputs.shape=\(4,\)")
    expect_error(lambda: layer.compute_output_shape((4,)), "rank >= 2", r"input_shape=\(4,\)")
    expect_error(lambda: layers.Dense(3).build((2, None)), "last dimension",
                 r"input_shape=\(2, None\)")
    layer(torch.ones(2, 4))
    expect_error(lambda: layer(torch.ones(2, 5)), "must have size 4", r"inputs.shape=\(2, 5\)")
    with pytest.raises(AttributeError, match="build"):
        layers.Dense(3).kernel


# -------------------------------------------------------------------- Dropout
def test_dropout_inference_is_the_identity_like_keras():
    x = torch.randn(4, 5)
    for layer in (layers.Dropout(0.5), layers.Dropout(0.5, seed=1),
                  layers.Dropout(0.5, noise_shape=(None, 1))):
        assert layer(x) is x
        assert layer(x, training=False) is x
        assert torch.equal(layer(x), keras.layers.Dropout(0.5)(x))
    # rate 0 keeps everything in training; rate 1 drops everything (as Keras).
    assert torch.equal(layers.Dropout(0)(x, training=True),
                       keras.layers.Dropout(0)(x, training=True))
    zeros = layers.Dropout(1.0)(x, training=True)
    assert torch.equal(zeros, keras.layers.Dropout(1.0)(x, training=True))
    assert torch.equal(zeros, torch.zeros_like(x))


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("variant", ["unseeded", "seeded", "noise_shape"])
def test_dropout_training_statistics_and_scaling(rate, variant):
    kwargs = {"seed": 123} if variant == "seeded" else {}
    if variant == "noise_shape":
        kwargs["noise_shape"] = (None, 1, None)
    layer = layers.Dropout(rate, **kwargs)
    torch.manual_seed(0)
    x = torch.rand(400, 3, 100) + 0.5  # no zeros in the input
    out = layer(x, training=True)
    dropped = out == 0
    kept = ~dropped
    # Kept values are x / (1 - rate) (Keras's scaling), dropped are exactly 0.
    torch.testing.assert_close(out[kept], x[kept] / (1 - rate), rtol=1e-6, atol=0)
    fraction = dropped.double().mean().item()
    n = dropped[:, 0].numel()  # independent draws
    assert abs(fraction - rate) < 5 * np.sqrt(rate * (1 - rate) / n), fraction
    # The expected sum is preserved.
    assert abs(out.mean().item() / x.mean().item() - 1) < 0.05


def test_dropout_noise_shape_broadcasts_like_keras():
    x = torch.ones(6, 4, 5)
    for noise_shape, constant_axes in [((None, 1, None), [1]), ((6, 1, 1), [1, 2]),
                                       ((1, None, 5), [0]), ((1, 1, 1), [0, 1, 2])]:
        out = layers.Dropout(0.5, noise_shape=noise_shape, seed=0)(x, training=True)
        for axis in constant_axes:
            reference = out.narrow(axis, 0, 1)
            assert torch.equal(out, reference.expand_as(out)), (noise_shape, axis)
        # Keras's mask is constant along the same axes (its values differ: another RNG).
        k_out = keras.layers.Dropout(0.5, noise_shape=noise_shape, seed=0)(x, training=True)
        for axis in constant_axes:
            assert torch.equal(k_out, k_out.narrow(axis, 0, 1).expand_as(k_out))
    with pytest.raises(ValueError, match=r"noise_shape.*Received: noise_shape=\(6, 2, None\)"):
        layers.Dropout(0.5, noise_shape=(6, 2, None))(x, training=True)
    with pytest.raises(ValueError, match=r"one entry per input dimension.*Received"):
        layers.Dropout(0.5, noise_shape=(6, 1))(x, training=True)


def test_dropout_gradient_is_the_mask():
    x = torch.rand(50, 20, requires_grad=True)
    out = layers.Dropout(0.3, seed=5)(x, training=True)
    (grad,) = torch.autograd.grad(out.sum(), x)
    expected = (out.detach() != 0).float() / 0.7
    torch.testing.assert_close(grad, expected, rtol=1e-6, atol=0)
    out = layers.Dropout(1.0)(x, training=True)
    (grad,) = torch.autograd.grad(out.sum(), x)
    assert torch.equal(grad, torch.zeros_like(x))


def test_dropout_seed_reproducibility():
    x = torch.ones(20, 30)
    first = layers.Dropout(0.5, seed=42)
    a1, a2 = first(x, training=True), first(x, training=True)
    assert not torch.equal(a1, a2)  # the generator moves on between calls
    second = layers.Dropout(0.5, seed=42)
    assert torch.equal(second(x, training=True), a1)
    assert torch.equal(second(x, training=True), a2)
    assert not torch.equal(layers.Dropout(0.5, seed=43)(x, training=True), a1)
    # Unseeded layers follow torch's global random state.
    torch.manual_seed(7)
    b1 = layers.Dropout(0.5)(x, training=True)
    torch.manual_seed(7)
    assert torch.equal(layers.Dropout(0.5)(x, training=True), b1)
    # Copies and pickles restart from the seed.
    clone = copy.deepcopy(first)
    assert torch.equal(clone(x, training=True), a1)
    assert torch.equal(pickle.loads(pickle.dumps(first))(x, training=True), a1)


def test_dropout_train_mode_and_shapes():
    layer = layers.Dropout(0.5, seed=0)
    layer.train()
    out = layer(torch.ones(10, 10))
    assert bool((out == 0).any()) and bool((out == 2).any())
    layer.eval()
    assert torch.equal(layer(torch.ones(10, 10)), torch.ones(10, 10))
    theirs = keras.layers.Dropout(0.5)
    for shape in [(None, 3), (None, None, 4), (2, None, None, 5)]:
        assert layer.compute_output_shape(shape) == tuple(theirs.compute_output_shape(shape))
    assert layer.built and layer.count_params() == theirs.count_params() == 0
    assert layer.weights == []


@pytest.mark.parametrize("kwargs", [
    pytest.param({"rate": 0.5}, id="default"),
    pytest.param({"rate": 0.25, "noise_shape": (None, 1, 3), "seed": 3, "name": "drop"},
                 id="custom"),
    pytest.param({"rate": 1}, id="rate-int-1"),
    pytest.param({"rate": 0, "noise_shape": [2, None]}, id="rate-0-list-shape"),
])
def test_dropout_config(kwargs):
    kwargs = dict(kwargs)
    kwargs.setdefault("name", "dropout_config")
    check_config(layers.Dropout(**kwargs), keras.layers.Dropout(**kwargs))


DROPOUT_BAD = [
    ("rate", -0.1), ("rate", 1.5), ("rate", "0.5"), ("rate", None), ("rate", float("nan")),
    ("noise_shape", "ab"), ("noise_shape", 3), ("noise_shape", (0, 1)), ("noise_shape", (2.5,)),
    ("seed", "x"), ("seed", 1.5),
]


@pytest.mark.parametrize("argument,value", [
    pytest.param(a, v, id=f"{a}={v!r}") for a, v in DROPOUT_BAD])
def test_dropout_bad_arguments(argument, value):
    kwargs = {"rate": 0.5, argument: value}
    expect_error(lambda: layers.Dropout(**kwargs), re.escape(argument), re.escape(argument) + "=")
