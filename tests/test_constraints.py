"""sepconv.constraints against keras.constraints (Keras 3, torch backend)."""

import keras
import pytest
import torch

from sepconv import constraints as ours
from sepconv.variables import Variable

theirs = keras.constraints

CASES = [
    ("Constraint", {}),
    ("MaxNorm", {}),
    ("MaxNorm", {"max_value": 1.5, "axis": [0, 1, 2]}),
    ("MaxNorm", {"max_value": 3, "axis": (0, 1, 2)}),
    ("MaxNorm", {"max_value": 0.5, "axis": -1}),
    ("MinMaxNorm", {}),
    ("MinMaxNorm", {"min_value": 0.5, "max_value": 1.5, "rate": 0.5, "axis": [0, 1, 2]}),
    ("MinMaxNorm", {"min_value": 2.0, "max_value": 3.0, "axis": 3}),
    ("NonNeg", {}),
    ("UnitNorm", {}),
    ("UnitNorm", {"axis": [0, 1, 2]}),
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
def test_projection_equals_keras_on_conv_kernel(name, kwargs, dtype):
    w = torch.randn(3, 3, 4, 8, generator=torch.Generator().manual_seed(0), dtype=dtype)
    mine = getattr(ours, name)(**kwargs)(w)
    reference = getattr(theirs, name)(**kwargs)(w)
    assert mine.dtype == dtype  # (Keras's NonNeg turns float64 into float32; we keep it)
    torch.testing.assert_close(mine, reference.to(dtype), rtol=1e-6, atol=1e-7)


def test_max_norm_bounds_each_filter():
    w = torch.randn(3, 3, 4, 8) * 5
    projected = ours.MaxNorm(1.0, axis=[0, 1, 2])(w)
    norms = projected.square().sum(dim=(0, 1, 2)).sqrt()
    assert (norms <= 1.0 + 1e-5).all()
    small = torch.full((2, 2), 0.1)
    torch.testing.assert_close(ours.MaxNorm(2.0)(small), small, rtol=1e-5, atol=0)


def test_unit_norm_and_non_neg():
    w = torch.randn(5, 7)
    torch.testing.assert_close(ours.UnitNorm()(w).norm(dim=0), torch.ones(7))
    assert (ours.NonNeg()(w) >= 0).all()
    assert ours.NonNeg()([-1.0, 2.0]).tolist() == [0.0, 2.0]


class Counting(ours.Constraint):
    """NonNeg that counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, w):
        self.calls += 1
        return torch.clamp(w, min=0)


def test_apply_constraints_on_a_module_tree():
    shared_constraint = Counting()
    shared = Variable(torch.tensor([-1.0, 1.0]), name="shared", constraint=shared_constraint)
    inner = torch.nn.Module()
    inner.kernel = Variable(torch.full((3, 3, 2, 4), 3.0), name="kernel",
                            constraint=ours.MaxNorm(1.0, axis=[0, 1, 2]))
    inner.bias = Variable(torch.tensor([-2.0, 2.0]), name="bias")  # constraint=None
    inner.shared = shared
    model = torch.nn.Sequential(inner, torch.nn.Linear(2, 2))
    model.other = torch.nn.Module()
    model.other.shared = shared
    linear_before = model[1].weight.detach().clone()

    assert ours.apply_constraints(model) == 2
    norms = inner.kernel.detach().square().sum(dim=(0, 1, 2)).sqrt()
    torch.testing.assert_close(norms, torch.ones(4))
    assert inner.bias.tolist() == [-2.0, 2.0]
    assert shared.tolist() == [0.0, 1.0]
    assert shared_constraint.calls == 1
    assert torch.equal(model[1].weight, linear_before)
    assert isinstance(inner.kernel, Variable) and inner.kernel.requires_grad
    assert inner.kernel.grad is None


def test_apply_constraints_rejects_a_wrong_shape():
    module = torch.nn.Module()
    module.w = Variable(torch.ones(2, 2), name="w", constraint=lambda w: w.sum())
    with pytest.raises(ValueError, match="parameter 'w'"):
        ours.apply_constraints(module)


def test_get_accepts_every_identifier_kind():
    assert ours.get(None) is None
    assert type(ours.get("max_norm")) is ours.MaxNorm
    assert type(ours.get("MinMaxNorm")) is ours.MinMaxNorm
    assert type(ours.get("non_neg")) is ours.NonNeg
    assert type(ours.get("unit_norm")) is ours.UnitNorm
    assert type(ours.get(ours.NonNeg)) is ours.NonNeg
    assert ours.get(theirs.serialize(theirs.MaxNorm(3, axis=[0, 1]))).axis == [0, 1]
    assert ours.get({"class_name": "UnitNorm", "config": {"axis": 1}}).axis == 1
    instance = ours.MaxNorm(4)
    assert ours.get(instance) is instance

    def clip(w):
        return w.clamp(-1, 1)

    assert ours.get(clip) is clip


def test_bad_identifiers_raise_with_the_value():
    with pytest.raises(ValueError) as info:
        ours.get("maxnorm")
    assert "Could not interpret constraint identifier: 'maxnorm'" in str(info.value)
    assert "Did you mean 'max_norm'?" in str(info.value)
    assert str(info.value).endswith("Received: identifier='maxnorm'")
    with pytest.raises(TypeError, match=r"Received: identifier=\[1\]"):
        ours.get([1])


@pytest.mark.parametrize("make,match", [
    (lambda: ours.MaxNorm(-1), "max_value=-1"),
    (lambda: ours.MaxNorm(axis="0"), "axis='0'"),
    (lambda: ours.MaxNorm(axis=[]), r"axis=\[\]"),
    (lambda: ours.MinMaxNorm(min_value=2.0, max_value=1.0), "max_value=1.0"),
    (lambda: ours.MinMaxNorm(rate=1.5), "rate=1.5"),
    (lambda: ours.UnitNorm(axis=1.0), "axis=1.0"),
])
def test_argument_errors_name_the_value(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_attach_projects_after_every_step_of_a_plain_torch_loop():
    import sepconv

    torch.manual_seed(0)
    layer = sepconv.layers.SeparableConv2D(
        4, 3, depthwise_constraint=ours.MaxNorm(0.5, axis=[0, 1, 2]),
        pointwise_constraint="non_neg")
    layer.build((None, 6, 6, 3))
    optimizer = torch.optim.SGD(layer.parameters(), lr=1.0)
    handle = ours.attach(optimizer, layer)
    x = torch.randn(2, 6, 6, 3)
    for _ in range(5):
        optimizer.zero_grad()
        (-(layer(x) ** 2).sum()).backward()  # pushes weights to grow without bound
        optimizer.step()
        norms = layer.depthwise_kernel.detach().pow(2).sum(dim=(0, 1, 2)).sqrt()
        assert float(norms.max()) <= 0.5 + 1e-6
        assert float(layer.pointwise_kernel.detach().min()) >= 0.0
    handle.remove()
    optimizer.zero_grad()
    (-(layer(x) ** 2).sum()).backward()
    optimizer.step()
    assert float(layer.depthwise_kernel.detach().pow(2).sum(dim=(0, 1, 2)).sqrt().max()) > 0.5


def test_attach_rejects_non_optimizers():
    with pytest.raises(TypeError, match="Received: optimizer of type list"):
        ours.attach([], torch.nn.Linear(1, 1))
