"""sepconv.regularizers against keras.regularizers (Keras 3, torch backend)."""

import keras
import pytest
import torch

from sepconv import regularizers as ours

theirs = keras.regularizers

CASES = [
    ("L1", {}),
    ("L1", {"l1": 0.3}),
    ("L1", {"l1": 1}),
    ("L1", {"l1": None}),
    ("L2", {}),
    ("L2", {"l2": 0.1}),
    ("L2", {"l2": 2}),
    ("L1L2", {}),
    ("L1L2", {"l1": 0.1, "l2": 0.2}),
    ("L1L2", {"l1": None, "l2": 0.05}),
    ("OrthogonalRegularizer", {}),
    ("OrthogonalRegularizer", {"factor": 0.5, "mode": "columns"}),
]
CASE_IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


def test_every_keras_public_name_exists():
    missing = [n for n in dir(theirs) if not n.startswith("_") and not hasattr(ours, n)]
    assert missing == []


@pytest.mark.parametrize("name,kwargs", CASES, ids=CASE_IDS)
def test_serialize_equals_keras(name, kwargs):
    mine = getattr(ours, name)(**kwargs)
    config = theirs.serialize(getattr(theirs, name)(**kwargs))
    assert ours.serialize(mine) == config
    assert ours.serialize(ours.deserialize(config)) == config
    assert theirs.serialize(theirs.deserialize(ours.serialize(mine))) == config


@pytest.mark.parametrize("name,kwargs", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_values_equal_keras(name, kwargs, dtype):
    x = torch.randn(6, 9, generator=torch.Generator().manual_seed(0), dtype=dtype)
    mine = getattr(ours, name)(**kwargs)(x)
    reference = getattr(theirs, name)(**kwargs)(x)
    assert mine.shape == () and mine.dtype == dtype
    torch.testing.assert_close(mine, torch.as_tensor(reference, dtype=dtype), rtol=1e-6, atol=0)


def test_conv_kernel_values_equal_keras():
    x = torch.randn(3, 3, 4, 8, generator=torch.Generator().manual_seed(1))
    for name in ("L1", "L2", "L1L2"):
        torch.testing.assert_close(getattr(ours, name)(0.02)(x), getattr(theirs, name)(0.02)(x),
                                   rtol=1e-6, atol=0)


def test_penalties_are_differentiable():
    x = torch.randn(4, 5, requires_grad=True)
    ours.L2(0.5)(x).backward()
    torch.testing.assert_close(x.grad, x.detach())  # d/dx 0.5 * sum(x^2) = x
    y = torch.randn(4, 5, requires_grad=True)
    (ours.L1L2(0.1, 0.1)(y) + ours.OrthogonalRegularizer()(y)).backward()
    assert torch.isfinite(y.grad).all()


def test_base_regularizer():
    assert ours.Regularizer()(torch.ones(3)).item() == 0.0
    with pytest.raises(NotImplementedError):
        ours.Regularizer().get_config()


def test_orthogonal_regularizer_on_orthogonal_rows_is_zero():
    assert ours.OrthogonalRegularizer(factor=1.0)(torch.eye(4)).item() == 0.0
    parallel = torch.ones(3, 5)
    # All pairs have cosine 1: factor * 0.5 * (2 * pairs) / pairs = factor.
    assert ours.OrthogonalRegularizer(factor=0.2)(parallel).item() == pytest.approx(0.2)


def test_get_accepts_every_identifier_kind():
    assert ours.get(None) is None
    assert ours.get("l1").get_config() == ours.L1().get_config()
    assert type(ours.get("L2")) is ours.L2
    assert ours.get("l1_l2").get_config() == {"l1": 0.01, "l2": 0.01}  # as Keras documents
    assert ours.get("L1L2").get_config() == {"l1": 0.0, "l2": 0.0}  # as Keras does
    assert type(ours.get("orthogonal_regularizer")) is ours.OrthogonalRegularizer
    assert type(ours.get(ours.L2)) is ours.L2
    assert ours.get(theirs.serialize(theirs.L2(0.3))).l2 == 0.3
    assert ours.get({"class_name": "L1L2", "config": {"l1": 0.5}}).l1 == 0.5
    instance = ours.L1(0.1)
    assert ours.get(instance) is instance

    def penalty(x):
        return x.abs().max()

    assert ours.get(penalty) is penalty
    assert type(ours.deserialize("l2")) is ours.L2


def test_bad_identifiers_raise_with_the_value():
    with pytest.raises(ValueError) as info:
        ours.get("l3")
    assert "Could not interpret regularizer identifier: 'l3'" in str(info.value)
    assert str(info.value).endswith("Received: identifier='l3'")
    with pytest.raises(TypeError, match="Received: identifier=0.1"):
        ours.get(0.1)
    with pytest.raises(ValueError, match="'L3' is neither a built-in"):
        ours.deserialize({"class_name": "L3", "config": {}})


@pytest.mark.parametrize("make,match", [
    (lambda: ours.L1(-0.1), "l1=-0.1"),
    (lambda: ours.L2("0.1"), "l2='0.1'"),
    (lambda: ours.L1L2(l1=float("nan")), "l1=nan"),
    (lambda: ours.L1L2(l2=float("inf")), "l2=inf"),
    (lambda: ours.L2(True), "l2=True"),
    (lambda: ours.OrthogonalRegularizer(factor=-1), "factor=-1"),
    (lambda: ours.OrthogonalRegularizer(mode="diagonal"), "mode='diagonal'"),
    (lambda: ours.OrthogonalRegularizer()(torch.ones(2, 2, 2)), r"inputs.shape=\(2, 2, 2\)"),
    (lambda: ours.OrthogonalRegularizer()(torch.ones(1, 4)), r"inputs.shape=\(1, 4\)"),
])
def test_argument_errors_name_the_value(make, match):
    with pytest.raises(ValueError, match=match):
        make()


class MaxAbs(ours.Regularizer):
    def __init__(self, factor=1.0):
        self.factor = factor

    def __call__(self, x):
        return self.factor * x.abs().max()

    def get_config(self):
        return {"factor": self.factor}


def test_custom_regularizer_serialization():
    config = ours.serialize(MaxAbs(2.0))
    assert config["class_name"] == "MaxAbs" and config["registered_name"] == "MaxAbs"
    assert ours.deserialize(config, custom_objects={"MaxAbs": MaxAbs}).factor == 2.0
