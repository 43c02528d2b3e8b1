"""``Lambda`` against ``keras.layers.Lambda`` (Keras 3.15.1): outputs,
gradients, shapes and configs for the same functions, Keras reading our
configs, and loading Keras's: by name, or for lambdas only when the caller
supplies the function (``safe_mode=False`` + ``custom_objects``), without
ever running the stored bytecode."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

import sepconv
from error_checks import expect_error
from keras_reference import GRAD_RTOL, OUTPUT_RTOL, assert_close, forward_and_grads, keras
from saving_fixtures import isolated_registries, no_code_from_configs  # noqa: F401
from sepconv.layers import Lambda
from sepconv.saving.serialization import UnknownObjectError


def guarded(load, *args, **kwargs):
    """``load(*args, **kwargs)`` (a from_config) with no code from the config run."""
    with no_code_from_configs():
        return load(*args, **kwargs)


def through_json(value):
    return json.loads(json.dumps(value))


def jsonable(value):
    return through_json(value)


def affine(x, scale, shift):
    return x * scale + shift


def halve_in_training(x, training=None):
    return x * 0.5 if training else x


def first_two(input_shape):
    return input_shape[:-1] + (2,)


def mask_first(inputs, mask=None):
    return inputs[..., 0] > 0


def both(**kwargs):
    """(ours, Keras's) Lambda layers from the same arguments."""
    return Lambda(**kwargs), keras.layers.Lambda(**copy.copy(kwargs))


# -- forward ------------------------------------------------------------------------

FORWARD = {
    "lambda": dict(function=lambda x: torch.tanh(x) * 2),
    "named_with_arguments": dict(function=affine, arguments={"scale": 2.0, "shift": -1.0}),
    "lambda_with_defaults": dict(function=lambda x, p=3: x ** p),
    "shape_changing": dict(function=lambda x: x[:, 1:].sum(dim=-1, keepdim=True)),
}


@pytest.mark.parametrize("kwargs", FORWARD.values(), ids=FORWARD.keys())
def test_outputs_and_gradients_match_keras(kwargs):
    ours, theirs = both(**kwargs)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4)).astype("float32")
    with torch.no_grad():
        expected = theirs(torch.tensor(x)).numpy()
    r = rng.standard_normal(expected.shape).astype("float32")
    k_out, (k_grad,) = forward_and_grads(theirs, [], x, r)
    o_out, (o_grad,) = forward_and_grads(ours, [], x, r)
    assert_close(o_out, k_out, OUTPUT_RTOL, "Lambda output")
    assert_close(o_grad, k_grad, GRAD_RTOL, "Lambda input gradient")
    assert ours.weights == [] and ours.count_params() == 0


def test_several_inputs_and_outputs_match_keras():
    ours, theirs = both(function=lambda xs: [xs[0] - xs[1], xs[0] * xs[1]])
    a, b = torch.randn(2, 3), torch.randn(2, 3)
    for mine, reference in zip(ours([a, b]), theirs([a, b])):
        assert_close(mine.numpy(), reference.detach().numpy(), OUTPUT_RTOL, "outputs")


def test_training_and_mask_reach_the_function_when_it_names_them():
    x = torch.ones(2, 3)
    ours, theirs = both(function=halve_in_training)
    for training in (True, False):
        assert torch.equal(ours(x, training=training), theirs(x, training=training))
    seen = {}

    def records(inputs, mask=None):
        seen["mask"] = mask
        return inputs

    Lambda(records)(x, mask="m")
    assert seen["mask"] == "m"
    assert Lambda(lambda t: t)(x) is x  # the function gets no mask or training


def test_compute_mask_as_keras():
    x = torch.tensor([[1.0, 2.0], [-1.0, 0.0]])
    for mask in (None, mask_first, torch.tensor([True, False])):
        ours, theirs = both(function=lambda t: t, mask=mask)
        assert ours.supports_masking == theirs.supports_masking == (mask is not None)
        mine, reference = ours.compute_mask(x), theirs.compute_mask(x)
        assert (mine is None and reference is None) or torch.equal(mine, reference)


# -- shapes --------------------------------------------------------------------------

SHAPES = {
    "inferred": (lambda x: x[:, :2], None, (None, 5)),
    "inferred_3d": (lambda x: x.mean(dim=1), None, (None, 4, 6)),
    "tuple": (lambda x: x, (7,), (None, 5)),
    "tuple_several_inputs": (lambda x: x, (7,), [(4, 5), (4, 6)]),
    "several_outputs": (lambda x: x, [(7,), (8, 2)], (3, 5)),
    "callable": (lambda x: x[..., :2], first_two, (None, 4, 5)),
}


@pytest.mark.parametrize("function, output_shape, input_shape", SHAPES.values(),
                         ids=SHAPES.keys())
def test_compute_output_shape_matches_keras(function, output_shape, input_shape):
    ours, theirs = both(function=function, output_shape=output_shape)
    assert ours.compute_output_shape(input_shape) == theirs.compute_output_shape(input_shape)


def test_symbolic_call_matches_keras():
    for lib in (sepconv, keras):
        inputs = lib.Input((6, 5))
        outputs = lib.layers.Lambda(lambda x: x[:, ::2, :3])(inputs)
        assert tuple(outputs.shape) == (None, 3, 3), lib


def test_shape_of_a_function_needing_real_data_is_traced_on_zeros_as_keras():
    def first_two_via_numpy(x):
        return torch.as_tensor(x.numpy())[:, :2]

    ours, theirs = both(function=first_two_via_numpy)
    assert ours.compute_output_shape((None, 3)) == theirs.compute_output_shape((None, 3)) \
        == (None, 2)


def test_shape_that_cannot_be_inferred_asks_for_output_shape():
    def broken(x):
        raise RuntimeError("no shape here")

    with pytest.raises(NotImplementedError, match="output_shape"):
        keras.layers.Lambda(broken).compute_output_shape((None, 3))
    with pytest.raises(NotImplementedError, match="no shape here.*Pass the `output_shape` "
                                                  "argument.*Received: input_shape=\\(None, 3\\)"):
        Lambda(broken).compute_output_shape((None, 3))
    assert Lambda(broken, output_shape=(3,)).compute_output_shape((None, 3)) == (None, 3)


# -- arguments --------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, argument, received", [
    ({"function": 3}, "function", "function=3"),
    ({"function": None}, "function", "function=None"),
    ({"function": abs, "output_shape": 3}, "output_shape", "output_shape=3"),
    ({"function": abs, "output_shape": (2, -1)}, "output_shape", r"output_shape=\(2, -1\)"),
    ({"function": abs, "output_shape": (True,)}, "output_shape", r"output_shape=\(True,\)"),
    ({"function": abs, "output_shape": "2"}, "output_shape", "output_shape='2'"),
    ({"function": abs, "arguments": [1]}, "arguments", r"arguments=\[1\]"),
    ({"function": abs, "arguments": {1: 2}}, "arguments", r"arguments=\{1: 2\}"),
    ({"function": abs, "bogus": 1}, "Unrecognized keyword", "bogus"),
], ids=["int", "none", "int-shape", "negative-dim", "bool-dim", "str-shape", "list-arguments",
        "int-keys", "unknown-kwarg"])
def test_bad_arguments(kwargs, argument, received):
    expect_error(lambda: Lambda(**kwargs), argument, received)


# -- configs ----------------------------------------------------------------------------


def lambda_configs():
    factor = 5.0
    return {
        "named": dict(function=affine, arguments={"scale": np.float32(2.0), "shift": 1}),
        "lambda_tuple_shape": dict(function=lambda x, a=2: x * a, output_shape=(3,),
                                   arguments={"a": np.float32(2)}),
        "closure_and_lambdas": dict(function=lambda x: x * factor,
                                    output_shape=lambda s: s, mask=lambda i, m: None),
        "named_shape_and_mask": dict(function=affine, output_shape=first_two, mask=mask_first),
        "tensor_mask": dict(function=abs, mask=torch.tensor([True, False])),
        "several_shapes": dict(function=abs, output_shape=[(2,), (3, 4)]),
        "base_arguments": dict(function=abs, activity_regularizer="l2", dtype="float64",
                               trainable=False),
    }


@pytest.mark.parametrize("name", lambda_configs())
def test_get_config_equals_keras(name):
    kwargs = lambda_configs()[name]
    ours, theirs = both(name="lam", **kwargs)
    config = ours.get_config()
    expected = theirs.get_config()
    assert config == expected
    assert list(config) == list(expected)
    if name != "tensor_mask":  # a tensor's config is not JSON (as in Keras)
        assert json.dumps(config) == json.dumps(expected)


def test_keras_loads_the_lambda_configs_we_write():
    # Keras needs the bytecode to load a lambda, so we write it (never read it).
    ours = Lambda(lambda x: x * 3 - 1, output_shape=(4,), name="lam")
    loaded = keras.layers.Lambda.from_config(through_json(ours.get_config()), safe_mode=False)
    x = torch.randn(2, 4)
    assert torch.equal(loaded(x), ours(x))
    named = Lambda(affine, arguments={"scale": 2.0, "shift": 1.0}, name="aff")
    loaded = keras.layers.Lambda.from_config(through_json(named.get_config()),
                                             custom_objects={"affine": affine})
    assert torch.equal(loaded(x), named(x))


@pytest.mark.parametrize("how", ["custom_objects", "scope", "registered"])
def test_named_functions_load_by_lookup(how):
    config = through_json(keras.layers.Lambda(affine, output_shape=first_two, name="aff",
                                              arguments={"scale": 2.0, "shift": 1.0}
                                              ).get_config())
    objects = {"affine": affine, "first_two": first_two}
    kwargs = {"custom_objects": objects} if how == "custom_objects" else {}
    if how == "registered":
        for fn in objects.values():
            sepconv.saving.register_keras_serializable("fns")(fn)
        config = through_json(Lambda(affine, output_shape=first_two, name="aff",
                                     arguments={"scale": 2.0, "shift": 1.0}).get_config())
    with sepconv.saving.custom_object_scope(objects if how == "scope" else {}):
        layer = guarded(Lambda.from_config, config, **kwargs)
    assert layer.function is affine and layer._output_shape is first_two
    assert layer.arguments == {"scale": 2.0, "shift": 1.0}
    if how != "registered":
        with pytest.raises(UnknownObjectError, match="function 'affine'.*custom_objects="):
            guarded(Lambda.from_config, config)


def keras_lambda_config(**kwargs):
    fn = lambda x: x + 10  # noqa: E731
    return fn, through_json(keras.layers.Lambda(fn, name="lam", **kwargs).get_config())


def test_a_lambda_is_refused_in_safe_mode():
    fn, config = keras_lambda_config()
    with pytest.raises(ValueError, match="arbitrary code execution"):
        keras.layers.Lambda.from_config(copy.deepcopy(config))
    for kwargs in ({}, {"safe_mode": True}, {"custom_objects": {"lam": fn}}):
        error = expect_error(lambda: guarded(Lambda.from_config, config, **kwargs), "function",
                             "function=.*__lambda__", types=ValueError)
        message = str(error)
        assert "refused in safe mode" in message and "safe_mode=False" in message
        assert "custom_objects={'lam': <the function>}" in message


def test_safe_mode_off_still_needs_the_function_itself():
    fn, config = keras_lambda_config()
    for custom_objects in (None, {"other": fn}, {"lam": "not callable"}):
        with pytest.raises(ValueError, match="never runs, even with safe_mode=False.*"
                                             "custom_objects=\\{'lam': <the function>\\}"):
            guarded(Lambda.from_config, config, custom_objects=custom_objects, safe_mode=False)
    layer = guarded(Lambda.from_config, config, custom_objects={"lam": fn}, safe_mode=False)
    assert layer.function is fn and layer.name == "lam"


def test_output_shape_and_mask_lambdas_are_keyed_under_the_layer_name():
    fn, config = keras_lambda_config(output_shape=lambda s: s, mask=lambda i, m: None)
    objects = {"lam": fn, "lam/output_shape": first_two}
    with pytest.raises(ValueError, match="'lam/mask'"):
        guarded(Lambda.from_config, config, custom_objects=objects, safe_mode=False)
    objects["lam/mask"] = mask_first
    layer = guarded(Lambda.from_config, config, custom_objects=objects, safe_mode=False)
    assert layer.compute_output_shape((None, 5)) == (None, 2)
    assert layer.compute_mask(torch.tensor([[1.0]])).tolist() == [True]


def test_keras2_lambda_configs():
    legacy = {"name": "lam", "trainable": True, "dtype": "float32",
              "function": ["4wEAAAAAAAAA", None, None], "function_type": "lambda",
              "module": "__main__", "output_shape": [3], "output_shape_type": "raw",
              "output_shape_module": None, "arguments": {}}
    with pytest.raises(ValueError, match="refused in safe mode"):
        guarded(Lambda.from_config, legacy)
    layer = guarded(Lambda.from_config, legacy, custom_objects={"lam": torch.tanh}, safe_mode=False)
    assert layer.function is torch.tanh and layer.compute_output_shape((None, 5)) == (None, 3)
    by_name = dict(legacy, function="affine", function_type="function", module="tools")
    with pytest.raises(ValueError, match="'affine'.*custom_objects=\\{'affine': affine\\}"):
        guarded(Lambda.from_config, by_name)
    assert guarded(Lambda.from_config, by_name, custom_objects={"affine": affine}).function is affine


# -- models -----------------------------------------------------------------------------


def keras_model_with_a_lambda(fn):
    inputs = keras.Input((4,), name="x")
    hidden = keras.layers.Dense(3, name="dense")(inputs)
    outputs = keras.layers.Lambda(fn, name="lam")(hidden)
    return keras.Model(inputs, outputs, name="with_lambda")


def test_functional_model_with_a_lambda_from_keras():
    fn = lambda t: torch.sin(t) * 2 + 1  # noqa: E731
    theirs = keras_model_with_a_lambda(fn)
    config = theirs.get_config()
    with pytest.raises(ValueError, match="refused in safe mode.*safe_mode=False.*'lam'"):
        guarded(sepconv.Model.from_config, copy.deepcopy(config))
    with pytest.raises(ValueError, match="even with safe_mode=False"):
        guarded(sepconv.Model.from_config, copy.deepcopy(config), safe_mode=False)
    ours = guarded(sepconv.Model.from_config, copy.deepcopy(config), custom_objects={"lam": fn},
                                     safe_mode=False)
    assert jsonable(ours.get_config()) == jsonable(config)
    ours.set_weights(theirs.get_weights())
    x = np.random.default_rng(1).standard_normal((5, 4)).astype("float32")
    assert_close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), OUTPUT_RTOL,
                 "model with a Lambda")
    # The whole serialized model too, through JSON as in a .keras archive.
    data = through_json(keras.saving.serialize_keras_object(theirs))
    with pytest.raises(ValueError, match="refused in safe mode"):
        guarded(sepconv.saving.deserialize_keras_object, data)
    rebuilt = guarded(sepconv.saving.deserialize_keras_object, data, custom_objects={"lam": fn},
                                                      safe_mode=False)
    assert rebuilt.get_layer("lam").function is fn


def test_sequential_with_a_named_function_from_keras():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(affine, name="aff", arguments={
        "scale": 3.0, "shift": 0.5})], name="seq")
    config = through_json(model.get_config())
    with pytest.raises(UnknownObjectError, match="'affine'"):
        guarded(sepconv.Sequential.from_config, config)
    ours = guarded(sepconv.Sequential.from_config, config, custom_objects={"affine": affine})
    x = torch.randn(2, 3)
    assert_close(ours(x).numpy(), model(x).detach().numpy(), OUTPUT_RTOL, "Sequential")
    lambda_model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(
        lambda t: t * 2, name="twice")])
    config = through_json(lambda_model.get_config())
    with pytest.raises(ValueError, match="refused in safe mode"):
        guarded(sepconv.Sequential.from_config, config)
    ours = guarded(sepconv.Sequential.from_config, config, safe_mode=False,
                                          custom_objects={"twice": lambda t: t * 2})
    assert torch.equal(ours(x), x * 2)


def test_a_keras_file_with_a_lambda_is_refused_until_allowed(tmp_path):
    fn = lambda t: t * 3 - 1  # noqa: E731
    theirs = keras_model_with_a_lambda(fn)
    path = tmp_path / "with_lambda.keras"
    theirs.save(path)
    with pytest.raises(ValueError) as refused, no_code_from_configs():
        sepconv.models.load_model(path)
    message = str(refused.value)
    assert "refused in safe mode" in message and "safe_mode=False" in message
    assert "custom_objects" in message and "'lam'" in message
    with no_code_from_configs():
        ours = sepconv.models.load_model(path, safe_mode=False, custom_objects={"lam": fn})
    x = np.random.default_rng(2).standard_normal((4, 4)).astype("float32")
    assert_close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), OUTPUT_RTOL,
                 "model with a Lambda from a .keras file")
