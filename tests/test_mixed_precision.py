"""The global dtype policy and mixed precision against Keras 3.15.1.

``keras.config.set_dtype_policy`` / ``keras.mixed_precision.set_global_policy``
and their readers, ``keras.dtype_policies``, what layers created with
``dtype=None`` take, and a SeparableConv2D + BatchNormalization + Dense model
built under ``"mixed_bfloat16"`` in both libraries with the same weights:
policies, variable dtypes, per-layer output dtypes and values, one epoch of
``fit``, configs and a ``.keras`` file read by Keras.

bfloat16 keeps 8 significant bits, so values are compared with a relative
tolerance of a few 2**-8 and an absolute one scaled to the tensor's size.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import sepconv
from error_checks import expect_error
from keras_reference import keras

BF16_RTOL = 2e-2
LIBS = (keras, sepconv)


@pytest.fixture(autouse=True)
def restore_global_policies():
    """Each test starts and ends with both libraries' own global policy and floatx."""
    saved = [(lib, lib.config.dtype_policy(), lib.config.floatx()) for lib in LIBS]
    yield
    for lib, policy, floatx in saved:
        lib.config.set_floatx(floatx)
        lib.config.set_dtype_policy(policy)


def set_both(policy):
    for lib in LIBS:
        lib.mixed_precision.set_global_policy(policy)


def assert_bf16_close(got, expected, err_msg=""):
    got = np.asarray(torch.as_tensor(got).detach().float())
    expected = np.asarray(torch.as_tensor(expected).detach().float())
    np.testing.assert_allclose(got, expected, rtol=BF16_RTOL,
                               atol=BF16_RTOL * max(np.abs(expected).max(), 1e-3),
                               err_msg=err_msg)


# ------------------------------------------------------------------------- API


def test_mixed_precision_and_dtype_policies_export_keras_names():
    """Every name of keras.mixed_precision but LossScaleOptimizer, Keras's
    non-quantized dtype_policies names, and the same aliasing as Keras's."""
    exported = {name for name in dir(keras.mixed_precision) if not name.startswith("_")}
    assert exported - {"LossScaleOptimizer"} <= set(dir(sepconv.mixed_precision))
    for name in ("DTypePolicy", "FloatDTypePolicy", "get", "serialize", "deserialize"):
        assert hasattr(keras.dtype_policies, name) and hasattr(sepconv.dtype_policies, name)
    for name in ("DTypePolicy", "FloatDTypePolicy"):
        assert hasattr(keras, name) and hasattr(sepconv, name)
    for name in ("set_dtype_policy", "dtype_policy"):
        assert hasattr(keras.config, name) and hasattr(sepconv.config, name)

    def aliases(lib):
        mp = lib.mixed_precision
        return [mp.Policy is lib.DTypePolicy, mp.DTypePolicy is lib.DTypePolicy,
                mp.set_global_policy is mp.set_dtype_policy,
                mp.global_policy is mp.dtype_policy,
                lib.config.set_dtype_policy is mp.set_global_policy,
                lib.config.dtype_policy is mp.global_policy,
                lib.dtype_policies.DTypePolicy is lib.DTypePolicy,
                issubclass(lib.FloatDTypePolicy, lib.DTypePolicy)]

    assert aliases(sepconv) == aliases(keras)


POLICY_NAMES = ["float32", "float64", "float16", "bfloat16", "mixed_float16", "mixed_bfloat16"]


def describe(policy):
    return (type(policy).__name__, policy.name, policy.variable_dtype, policy.compute_dtype,
            repr(policy))


@pytest.mark.parametrize("name", POLICY_NAMES)
@pytest.mark.parametrize("setter", ["config.set_dtype_policy",
                                    "mixed_precision.set_global_policy"])
def test_set_and_read_the_global_policy_as_keras(name, setter):
    described = []
    for lib in LIBS:
        module, function = setter.split(".")
        getattr(getattr(lib, module), function)(name)
        assert lib.config.dtype_policy() is lib.mixed_precision.global_policy()
        described.append(describe(lib.mixed_precision.global_policy()))
    assert described[1] == described[0]


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_a_policy_instance_is_kept_as_given(name):
    for lib in LIBS:
        policy = lib.mixed_precision.Policy(name)
        lib.config.set_dtype_policy(policy)
        assert lib.config.dtype_policy() is policy
    assert describe(sepconv.config.dtype_policy()) == describe(keras.config.dtype_policy())


def test_default_policy_follows_floatx_once_then_stays_until_clear_session():
    """Keras fixes the global policy from floatx at its first read; a later
    set_floatx leaves it; clear_session forgets it (a set policy too)."""
    seen = []
    for lib in LIBS:
        lib.utils.clear_session()
        lib.config.set_floatx("float64")
        first = lib.config.dtype_policy().name
        layer = lib.layers.Dense(2).dtype_policy.name
        lib.config.set_floatx("float32")
        kept = lib.config.dtype_policy().name
        lib.mixed_precision.set_global_policy("mixed_bfloat16")
        lib.utils.clear_session()
        cleared = lib.config.dtype_policy().name
        seen.append((first, layer, kept, cleared))
    assert seen[1] == seen[0] == ("float64", "float64", "float64", "float32")


# Values both libraries refuse, per entry point (Keras accepts more dtype
# names than sepconv, such as "string"; those are not compared).
BAD_GLOBAL = ["float17", "mixed_float32", "", 5, None, 1.5, ["float32"], "int8",
              "float8_e4m3fn"]
BAD_NAME = ["float17", "mixed_float32", 5, 2.0, ["float32"]]
BAD_IDENTIFIER = ["float17", "mixed_float32", 5, 3.0, "int8", object()]


def raised(fn):
    try:
        fn()
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        return type(error)
    raise AssertionError(f"{fn} raised nothing")


@pytest.mark.parametrize("value", BAD_GLOBAL, ids=repr)
def test_set_global_policy_rejects_as_keras(value):
    expected = raised(lambda: keras.config.set_dtype_policy(value))
    for setter in (sepconv.config.set_dtype_policy, sepconv.mixed_precision.set_global_policy):
        expect_error(lambda: setter(value), "policy", f"policy={value!r}".replace("[", r"\["),
                     types=expected)
    assert sepconv.config.dtype_policy() == sepconv.DTypePolicy("float32")  # unchanged


@pytest.mark.parametrize("value", BAD_NAME, ids=repr)
def test_policy_constructor_rejects_as_keras(value):
    expected = raised(lambda: keras.mixed_precision.Policy(value))
    expect_error(lambda: sepconv.mixed_precision.Policy(value), "name",
                 f"name={value!r}".replace("[", r"\["), types=expected)


@pytest.mark.parametrize("value", BAD_IDENTIFIER, ids=repr)
@pytest.mark.parametrize("entry", ["get", "layer"])
def test_dtype_identifiers_are_rejected_as_keras(value, entry):
    def call(lib):
        if entry == "get":
            return lambda: lib.dtype_policies.get(value)
        return lambda: lib.layers.Dense(2, dtype=value)

    expected = raised(call(keras))
    expect_error(call(sepconv), "dtype", "dtype=", types=expected)


@pytest.mark.parametrize("name", POLICY_NAMES)
@pytest.mark.parametrize("class_name", ["DTypePolicy", "FloatDTypePolicy"])
def test_policies_serialize_as_keras_and_read_each_others(name, class_name):
    ours = getattr(sepconv.dtype_policies, class_name)(name)
    theirs = getattr(keras.dtype_policies, class_name)(name)
    config = sepconv.dtype_policies.serialize(ours)
    assert config == keras.dtype_policies.serialize(theirs)
    assert describe(sepconv.dtype_policies.deserialize(config)) == \
        describe(keras.dtype_policies.deserialize(config))
    assert describe(sepconv.dtype_policies.get(config)) == \
        describe(keras.dtype_policies.get(config))
    assert sepconv.dtype_policies.get(config) == ours


def test_get_takes_none_names_and_dtypes_as_keras():
    set_both("mixed_float16")
    for identifier in (None, "mixed_bfloat16", "float64", torch.float16, np.float32,
                       np.dtype("float64")):
        assert describe(sepconv.dtype_policies.get(identifier)) == \
            describe(keras.dtype_policies.get(identifier)), identifier


# ---------------------------------------------------------------------- layers

LAYER_MAKERS = {
    "SeparableConv2D": lambda lib, **kw: lib.layers.SeparableConv2D(3, 3, **kw),
    "Conv2D": lambda lib, **kw: lib.layers.Conv2D(3, 3, **kw),
    "DepthwiseConv2D": lambda lib, **kw: lib.layers.DepthwiseConv2D(3, **kw),
    "BatchNormalization": lambda lib, **kw: lib.layers.BatchNormalization(**kw),
    "Dense": lambda lib, **kw: lib.layers.Dense(3, **kw),
    "ReLU": lambda lib, **kw: lib.layers.ReLU(**kw),
    "Activation": lambda lib, **kw: lib.layers.Activation("softmax", **kw),
    "MaxPooling2D": lambda lib, **kw: lib.layers.MaxPooling2D(**kw),
    "GlobalAveragePooling2D": lambda lib, **kw: lib.layers.GlobalAveragePooling2D(**kw),
    "Flatten": lambda lib, **kw: lib.layers.Flatten(**kw),
}


@pytest.mark.parametrize("class_name", sorted(LAYER_MAKERS))
@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_layers_take_the_global_policy_and_compute_as_keras(class_name, policy):
    """dtype=None takes the global policy; variables stay float32; a float32
    input is cast to the compute dtype on entry; output dtype and values as
    Keras's with the same weights."""
    set_both(policy)
    x = np.random.default_rng(1).standard_normal((2, 6, 6, 4)).astype("float32")
    theirs, ours = LAYER_MAKERS[class_name](keras), LAYER_MAKERS[class_name](sepconv)
    expected = theirs(x)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    got = ours(x)
    assert describe(ours.dtype_policy) == describe(theirs.dtype_policy)
    assert (ours.compute_dtype, ours.variable_dtype, ours.dtype) == \
        (theirs.compute_dtype, theirs.variable_dtype, theirs.dtype)
    assert [str(w.dtype).replace("torch.", "") for w in ours.weights] == \
        [w.dtype for w in theirs.weights]
    assert got.dtype == expected.dtype
    assert_bf16_close(got, expected)


@pytest.mark.parametrize("class_name", sorted(LAYER_MAKERS))
def test_an_explicit_dtype_overrides_the_global_policy(class_name):
    set_both("mixed_bfloat16")
    for dtype in ("float32", "mixed_float16"):
        theirs = LAYER_MAKERS[class_name](keras, dtype=dtype)
        ours = LAYER_MAKERS[class_name](sepconv, dtype=dtype)
        assert describe(ours.dtype_policy) == describe(theirs.dtype_policy)


def test_dtype_policy_can_be_assigned_as_keras():
    for lib in LIBS:
        layer = lib.layers.Dense(2)
        layer.dtype_policy = "mixed_bfloat16"
        assert (layer.compute_dtype, layer.variable_dtype) == ("bfloat16", "float32")
        layer.dtype_policy = lib.DTypePolicy("float64")
        assert layer.dtype_policy.name == "float64"
    expect_error(lambda: setattr(sepconv.layers.Dense(2), "dtype_policy", "float17"),
                 "dtype", "float17", types=ValueError)


def test_batch_normalization_trains_in_float32_under_mixed_bfloat16():
    """Keras computes the batch statistics in float32 and returns bfloat16;
    the moving statistics (float32) move as Keras's."""
    set_both("mixed_bfloat16")
    x = np.random.default_rng(2).standard_normal((8, 5, 5, 3)).astype("float32") * 3 + 1
    theirs = keras.layers.BatchNormalization(momentum=0.5)
    ours = sepconv.layers.BatchNormalization(momentum=0.5)
    expected = theirs(x, training=True)
    got = ours(x, training=True)
    assert got.dtype == expected.dtype == torch.bfloat16
    assert_bf16_close(got, expected)
    for mine, reference in zip(ours.get_weights(), theirs.get_weights()):
        assert mine.dtype == reference.dtype == np.float32
        np.testing.assert_allclose(mine, reference, rtol=1e-2, atol=1e-2)


def test_losses_and_metrics_default_to_floatx_not_the_global_policy():
    set_both("mixed_bfloat16")
    for name in ("SparseCategoricalCrossentropy", "MeanSquaredError"):
        ours, theirs = getattr(sepconv.losses, name)(), getattr(keras.losses, name)()
        assert ours.dtype == theirs.dtype == "float32"
    for name in ("Mean", "SparseCategoricalAccuracy"):
        ours, theirs = getattr(sepconv.metrics, name)(), getattr(keras.metrics, name)()
        assert ours.dtype == theirs.dtype == "float32"


# ----------------------------------------------------------------------- model


def sep_bn_dense(lib, float32_head=True):
    """The brief's model: SeparableConv2D + BatchNormalization + Dense softmax
    (float32 when ``float32_head``), all other layers on the global policy."""
    head = {"dtype": "float32"} if float32_head else {}
    return lib.Sequential([
        lib.Input((8, 8, 3)),
        lib.layers.SeparableConv2D(6, 3, padding="same", name="sep"),
        lib.layers.BatchNormalization(name="bn"),
        lib.layers.ReLU(name="relu"),
        lib.layers.MaxPooling2D(name="pool"),
        lib.layers.Flatten(name="flat"),
        lib.layers.Dense(10, activation="softmax", name="head", **head),
    ], name="sep_bn_dense")


def mixed_models(float32_head=True):
    set_both("mixed_bfloat16")
    theirs, ours = sep_bn_dense(keras, float32_head), sep_bn_dense(sepconv, float32_head)
    ours.set_weights(theirs.get_weights())
    return theirs, ours


def images(n=48, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 8, 8, 3)).astype("float32"), rng.integers(0, 10, n)


def test_model_under_mixed_bfloat16_matches_keras_layer_by_layer():
    theirs, ours = mixed_models()
    policies = [(layer.name, layer.dtype_policy.name) for layer in theirs.layers]
    assert [(layer.name, layer.dtype_policy.name) for layer in ours.layers] == policies
    assert policies[-1] == ("head", "float32") and {p for _, p in policies[:-1]} == {
        "mixed_bfloat16"}
    assert describe(ours.dtype_policy) == describe(theirs.dtype_policy)
    assert all(w.dtype == torch.float32 for w in ours.weights)
    x, _ = images(6)
    mine, reference = torch.from_numpy(x), torch.from_numpy(x)
    with torch.no_grad():
        for our_layer, their_layer in zip(ours.layers, theirs.layers):
            mine, reference = our_layer(mine), their_layer(reference)
            assert mine.dtype == reference.dtype, our_layer.name
            assert_bf16_close(mine, reference, err_msg=our_layer.name)
        assert mine.dtype == torch.float32  # the float32 head
        got, expected = ours(x), theirs(x)
    assert got.dtype == expected.dtype == torch.float32
    assert_bf16_close(got, expected)
    predicted, keras_predicted = ours.predict(x, verbose=0), theirs.predict(x, verbose=0)
    assert predicted.dtype == keras_predicted.dtype == np.float32
    assert_bf16_close(predicted, keras_predicted)


def test_fit_one_epoch_under_mixed_bfloat16_as_keras():
    """One epoch's loss and the trained weights (float32) as Keras's; during
    fit, the layers output bfloat16 and the float32 head float32."""
    theirs, ours = mixed_models()
    x, y = images()
    seen = {}
    for layer in ours.layers:
        layer.register_forward_hook(
            lambda module, args, output, name=layer.name: seen.setdefault(name, set()).add(
                output.dtype))
    histories = []
    for model, lib in ((theirs, keras), (ours, sepconv)):
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        histories.append(model.fit(x, y, batch_size=16, epochs=1, shuffle=False,
                                   verbose=0).history)
    keras_history, history = histories
    assert seen["head"] == {torch.float32}
    assert all(seen[name] == {torch.bfloat16} for name in ("sep", "bn", "relu", "pool", "flat"))
    np.testing.assert_allclose(history["loss"], keras_history["loss"], rtol=BF16_RTOL)
    np.testing.assert_allclose(history["accuracy"], keras_history["accuracy"], atol=2 / 48)
    # The separable bias feeds BatchNormalization, which cancels it: its
    # gradient is 0 up to bfloat16 rounding, so it moves by noise in both
    # (1e-5 to 2e-4 here, depending on the threads' summation order), not
    # by the ~1e-2 a real gradient at this learning rate gives.
    for mine, reference, weight in zip(ours.get_weights(), theirs.get_weights(), ours.weights):
        assert mine.dtype == reference.dtype == np.float32
        if weight.path.endswith("/sep/bias"):
            assert np.abs(mine).max() < 1e-3 and np.abs(reference).max() < 1e-3
            continue
        np.testing.assert_allclose(mine, reference, rtol=BF16_RTOL,
                                   atol=max(BF16_RTOL * np.abs(reference).max(), 1e-4))


def test_a_bfloat16_softmax_output_is_scored_as_keras():
    """Without a float32 head the model outputs bfloat16; the loss is computed
    from it as Keras computes it (evaluate and one epoch of fit)."""
    theirs, ours = mixed_models(float32_head=False)
    x, y = images()
    assert ours(x).dtype == theirs(x).dtype == torch.bfloat16
    results = []
    for model, lib in ((theirs, keras), (ours, sepconv)):
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
        evaluated = model.evaluate(x, y, batch_size=16, verbose=0)
        trained = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        results.append((evaluated, trained.history["loss"]))
    (keras_eval, keras_loss), (our_eval, our_loss) = results
    np.testing.assert_allclose(our_eval, keras_eval, rtol=BF16_RTOL)
    np.testing.assert_allclose(our_loss, keras_loss, rtol=BF16_RTOL)


def test_a_custom_layer_reads_its_float32_weights_in_the_compute_dtype():
    """A user's layer under mixed_bfloat16: float32 weight, bfloat16 product
    (Keras autocasts the weight), inside and outside fit."""
    def project(lib, matmul):
        class Project(lib.layers.Layer):
            def build(self, input_shape):
                self.w = self.add_weight(shape=(input_shape[-1], 3), name="w")

            def call(self, x):
                return matmul(x, self.w)
        return Project(name="project")

    set_both("mixed_bfloat16")
    x = np.random.default_rng(3).standard_normal((16, 5)).astype("float32")
    theirs, ours = project(keras, keras.ops.matmul), project(sepconv, torch.matmul)
    expected = theirs(x)
    ours(x[:1])  # builds it
    ours.set_weights(theirs.get_weights())
    got = ours(x)
    assert ours.w.dtype == torch.float32
    assert got.dtype == expected.dtype == torch.bfloat16
    assert_bf16_close(got, expected)
    models = [lib.Sequential([lib.Input((5,)), layer, lib.layers.Activation("softmax",
                                                                             dtype="float32")])
              for lib, layer in ((keras, theirs), (sepconv, ours))]
    losses = []
    for model, lib in zip(models, LIBS):
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
        losses.append(model.fit(x, np.arange(16) % 3, batch_size=8, epochs=1, shuffle=False,
                                verbose=0).history["loss"])
    np.testing.assert_allclose(losses[1], losses[0], rtol=BF16_RTOL)
    assert ours.w.dtype == torch.float32
    assert_bf16_close(ours.w, theirs.get_weights()[0])


def test_torch_autocast_around_a_float32_model_is_left_to_torch():
    """Without a mixed policy, a caller's own torch.autocast still applies
    (PyTorch's mixed precision on our modules): the Dense runs in bfloat16."""
    layer = sepconv.layers.Dense(3)
    x = torch.randn(4, 5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = layer(x)
        expected = torch.nn.functional.linear(x, layer.kernel.t(), layer.bias)
    assert got.dtype == expected.dtype == torch.bfloat16
    assert torch.equal(got, expected)


# -------------------------------------------------------------- serialization


@pytest.mark.parametrize("class_name", sorted(LAYER_MAKERS))
def test_layer_configs_under_mixed_policy_round_trip_as_keras(class_name):
    """get_config carries the mixed policy as Keras writes it; after the
    global policy goes back to float32, from_config in either library keeps it."""
    set_both("mixed_bfloat16")
    config = LAYER_MAKERS[class_name](sepconv).get_config()
    assert config["dtype"] == LAYER_MAKERS[class_name](keras).get_config()["dtype"]
    set_both("float32")
    ours = getattr(sepconv.layers, class_name).from_config(config)
    theirs = getattr(keras.layers, class_name).from_config(config)
    assert describe(ours.dtype_policy) == describe(theirs.dtype_policy)
    assert ours.dtype_policy.name == "mixed_bfloat16"
    assert ours.get_config() == config


def test_model_config_under_mixed_policy_is_keras_config():
    set_both("mixed_bfloat16")
    assert sep_bn_dense(sepconv).get_config() == sep_bn_dense(keras).get_config()


@pytest.mark.parametrize("how", ["call", "build"])
def test_sequential_without_input_gets_the_first_layers_compute_dtype(how):
    """As Keras: a Sequential that makes its own InputLayer gives it the
    first layer's compute dtype (bfloat16 here)."""
    set_both("mixed_bfloat16")
    configs = []
    for lib in LIBS:
        model = lib.Sequential([lib.layers.Dense(3), lib.layers.Dense(2, dtype="float32")])
        if how == "call":
            model(np.ones((2, 4), "float32"))
        else:
            model.build((None, 4))
        configs.append(model.get_config()["layers"][0]["config"]["dtype"])
    assert configs[1] == configs[0] == "bfloat16"


def test_keras_archive_saved_under_mixed_policy_loads_in_keras(tmp_path):
    """Saved by sepconv under mixed_bfloat16, read by Keras (global policy
    back to float32): the same layer policies, weights and outputs; and back
    in sepconv."""
    set_both("mixed_bfloat16")
    ours = sep_bn_dense(sepconv)
    x, _ = images(6)
    with torch.no_grad():
        expected = ours(x)
    path = tmp_path / "mixed.keras"
    ours.save(path)
    set_both("float32")
    theirs = keras.models.load_model(path)
    again = sepconv.models.load_model(path)
    names = [(layer.name, layer.dtype_policy.name) for layer in ours.layers]
    assert [(layer.name, layer.dtype_policy.name) for layer in theirs.layers] == names
    assert [(layer.name, layer.dtype_policy.name) for layer in again.layers] == names
    for mine, reference in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(mine, reference)
    with torch.no_grad():
        assert_bf16_close(theirs(x), expected)
        assert_bf16_close(again(x), expected)
