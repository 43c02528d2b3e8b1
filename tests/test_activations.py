"""sepconv.activations against keras.activations (Keras 3, torch backend)."""

import keras
import numpy as np
import pytest
import torch

from sepconv import activations as ours

theirs = keras.activations

KERAS_FUNCTIONS = sorted(
    n for n in dir(theirs)
    if not n.startswith("_") and n not in ("get", "serialize", "deserialize")
)

# (function name, keyword arguments): every Keras activation, with its arguments.
CASES = [(name, {}) for name in KERAS_FUNCTIONS if name != "threshold"] + [
    ("relu", {"negative_slope": 0.1}),
    ("relu", {"max_value": 6.0}),
    ("relu", {"max_value": 2.5}),
    ("relu", {"threshold": 1.0}),
    ("relu", {"negative_slope": 0.2, "max_value": 3.0}),
    ("relu", {"negative_slope": 0.3, "threshold": -0.5}),
    ("relu", {"negative_slope": 0.1, "max_value": 4.0, "threshold": 0.5}),
    ("leaky_relu", {"negative_slope": 0.05}),
    ("elu", {"alpha": 0.5}),
    ("celu", {"alpha": 2.0}),
    ("soft_shrink", {"threshold": 1.0}),
    ("hard_shrink", {"threshold": 0.2}),
    ("squareplus", {"b": 1}),
    ("gelu", {"approximate": True}),
    ("glu", {"axis": 1}),
    ("threshold", {"threshold": 0.5, "default_value": -2.0}),
    ("softmax", {"axis": 0}),
    ("softmax", {"axis": (1, 2)}),
    ("softmax", {"axis": None}),
    ("log_softmax", {"axis": 1}),
    ("log_softmax", {"axis": (0, 2)}),
    ("sparsemax", {"axis": 1}),
]
CASE_IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


def sample(dtype=torch.float32):
    x = 3 * torch.randn(4, 6, 8, generator=torch.Generator().manual_seed(0), dtype=dtype)
    # The edges of the piecewise definitions.
    x.view(-1)[:9] = torch.tensor([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0, 2.5], dtype=dtype)
    return x


def test_every_keras_activation_exists():
    missing = [n for n in KERAS_FUNCTIONS if not callable(getattr(ours, n, None))]
    assert missing == []


@pytest.mark.parametrize("name,kwargs", CASES, ids=CASE_IDS)
def test_outputs_equal_keras(name, kwargs):
    for dtype in (torch.float32, torch.float64):
        x = sample(dtype)
        mine = getattr(ours, name)(x, **kwargs)
        reference = getattr(theirs, name)(x, **kwargs)
        assert mine.dtype == dtype and mine.shape == reference.shape
        torch.testing.assert_close(mine, reference, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_float16_softmax_equals_keras(name):
    x = sample().half()
    mine = getattr(ours, name)(x)
    assert mine.dtype == torch.float16
    torch.testing.assert_close(mine, getattr(theirs, name)(x), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("name", KERAS_FUNCTIONS + ["swish", "hard_swish"])
def test_serialize_equals_keras(name):
    mine = getattr(ours, name)
    config = theirs.serialize(getattr(theirs, name))
    assert ours.serialize(mine) == config
    assert ours.deserialize(config) is ours.get(name)
    assert theirs.deserialize(ours.serialize(mine)) is theirs.get(name)


def test_get_accepts_every_identifier_kind():
    assert ours.get(None) is ours.linear
    assert ours.get("relu") is ours.relu
    assert ours.get("swish") is ours.silu
    assert ours.get("hard_swish") is ours.hard_silu
    keras3_dict = {"module": "keras.activations", "class_name": "function",
                   "config": "gelu", "registered_name": "gelu"}
    assert ours.get(keras3_dict) is ours.gelu
    assert ours.get({"class_name": "function", "config": "tanh"}) is ours.tanh
    assert ours.get({"class_name": "elu", "config": {}}) is ours.elu
    assert isinstance(ours.get(torch.nn.ReLU), torch.nn.ReLU)  # a class is instantiated
    module = torch.nn.Hardtanh()
    assert ours.get(module) is module

    def double(x):
        return 2 * x

    assert ours.get(double) is double
    assert ours.deserialize("silu") is ours.silu


def test_custom_function_serialization():
    def my_act(x):
        return x

    config = ours.serialize(my_act)
    assert config == {"module": __name__, "class_name": "function", "config": "my_act",
                      "registered_name": "my_act"}
    assert ours.deserialize(config, custom_objects={"my_act": my_act}) is my_act
    with pytest.raises(ValueError, match="'my_act' is neither a built-in"):
        ours.deserialize(config)
    with pytest.raises(ValueError, match="lambda"):
        ours.serialize(lambda x: x)
    with pytest.raises(TypeError, match="get_config"):
        ours.serialize(torch.nn.ReLU())


def test_bad_identifiers_raise_with_the_value():
    with pytest.raises(ValueError) as info:
        ours.get("rleu")
    message = str(info.value)
    assert "Could not interpret activation function identifier: 'rleu'" in message
    assert "Did you mean 'relu'?" in message
    assert message.endswith("Received: identifier='rleu'")
    with pytest.raises(TypeError, match="Received: identifier=3"):
        ours.get(3)


@pytest.mark.parametrize("call,match", [
    (lambda: ours.relu(torch.ones(2), negative_slope=-1.0), "negative_slope=-1.0"),
    (lambda: ours.relu(torch.ones(2), max_value=-1.0), "max_value=-1.0"),
    (lambda: ours.glu(torch.ones(2, 3)), r"x.shape=\(2, 3\) with axis=-1"),
    (lambda: ours.squareplus(torch.ones(2), b=-1), "b=-1"),
])
def test_argument_errors_name_the_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_accepts_lists_and_arrays_and_keeps_gradients():
    assert ours.relu([-1.0, 2.0]).tolist() == [0.0, 2.0]
    assert ours.relu(np.array([-1.0, 2.0])).dtype == torch.float64
    x = torch.randn(3, 4, requires_grad=True)
    ours.mish(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_softmax_remembers_logits_like_keras():
    x = torch.randn(2, 3)
    assert ours.softmax(x)._keras_logits is x
    assert ours.sigmoid(x)._keras_logits is x
