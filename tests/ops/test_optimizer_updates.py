"""The optimizer update kernel (Adam's step in C): bitwise the weights and
states of the PyTorch path (PyTorch's foreach kernels, themselves checked
against Keras in tests/training/test_optimizers.py) on every code path, in
threads, with AMSGrad, weight decay and odd sizes; and when it stands aside."""

from __future__ import annotations

import os

import pytest
import torch

import sepconv
from sepconv.ops import kernels
from sepconv.ops.kernels import build, optimizer_updates
from test_kernels import ISAS

# Sizes that are not multiples of any vector width, a scalar, and a matrix.
SHAPES = [(3, 3, 5, 2), (7,), (1,), (33, 17), (16,)]


def trained(kernels_switch, shapes=SHAPES, steps=4, optimizer="Adam", **kwargs):
    """Weights and optimizer variables after ``steps`` steps from fixed
    starting weights and gradients of many magnitudes."""
    generator = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(shape, generator=generator)) for shape in shapes]
    opt = getattr(sepconv.optimizers, optimizer)(**kwargs)
    opt.build(params)
    with kernels.switched(kernels_switch):
        for step in range(steps):
            for param in params:
                scale = 10.0 ** (step - 2)
                param.grad = torch.randn(param.shape, generator=generator) * scale
            opt.step()
    return [p.detach().clone() for p in params] + [v.clone() for v in opt.variables]


def assert_identical(got, expected):
    assert len(got) == len(expected)
    for index, (a, b) in enumerate(zip(got, expected)):
        assert torch.equal(a, b), f"tensor {index}: {(a - b).abs().max()}"


@pytest.mark.parametrize("optimizer, kwargs", [
    ("Adam", {"learning_rate": 0.05}),
    ("Adam", {"learning_rate": 0.05, "amsgrad": True, "beta_2": 0.9}),
    ("Adam", {"learning_rate": 0.01, "epsilon": 1e-3, "clipnorm": 1.0}),
    ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.1}),
])
def test_kernel_equals_the_pytorch_path(optimizer, kwargs, monkeypatch):
    calls = []
    original = optimizer_updates.adam_update
    monkeypatch.setattr(optimizer_updates, "adam_update",
                        lambda *a, **k: calls.append(original(*a, **k)) or calls[-1])
    with_kernel = trained(None, optimizer=optimizer, **kwargs)
    assert calls == [True] * 4
    assert_identical(with_kernel, trained(False, optimizer=optimizer, **kwargs))
    assert calls[4:] == [False] * 4  # switched off: the kernel stood aside


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("amsgrad", [False, True])
def test_every_code_path_and_threads(isa, amsgrad, monkeypatch):
    """Each instruction set's build, one thread and three (weights large
    enough to be split), against the PyTorch path."""
    lib = build.load(isa, "optimizer_updates")
    original = optimizer_updates.adam_update
    monkeypatch.setattr(optimizer_updates, "adam_update",
                        lambda *a, **k: original(*a, **k, lib=lib))
    shapes = SHAPES + [(300, 700), (70001,)]
    expected = trained(False, shapes, amsgrad=amsgrad, learning_rate=0.02)
    for threads in (1, 3):
        monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
        assert_identical(trained(None, shapes, amsgrad=amsgrad, learning_rate=0.02), expected)


def test_pthread_build_where_torch_does_not_run_openmp(tmp_path, monkeypatch):
    monkeypatch.setenv("SEPCONV_KERNEL_CACHE", str(tmp_path))
    monkeypatch.setattr(build, "_torch_runs_openmp", lambda: False)
    lib = build.load("portable", "optimizer_updates")
    assert os.listdir(tmp_path)[0].startswith("libsepconv_optimizer_updates_portable_")
    original = optimizer_updates.adam_update
    monkeypatch.setattr(optimizer_updates, "adam_update",
                        lambda *a, **k: original(*a, **k, lib=lib))
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    shapes = [(200, 1000), (5,)]
    assert_identical(trained(None, shapes), trained(False, shapes))


def test_tensors_the_kernel_does_not_take_go_to_pytorch():
    """Not contiguous, not float32, or lists that do not line up: the
    kernel changes nothing and says so (or names the mismatch)."""
    weight, grad = torch.ones(4, 3), torch.ones(3, 4).t()
    m, v = torch.zeros(4, 3), torch.zeros(4, 3)
    args = (0.1, 0.9, 0.999, 1e-7)
    assert not optimizer_updates.adam_update([weight], [grad], [m], [v], None, *args)
    assert not optimizer_updates.adam_update([weight.double()], [grad.double().contiguous()],
                                             [m.double()], [v.double()], None, *args)
    assert not optimizer_updates.adam_update([weight], [grad.contiguous()], [m[:1]], [v], None,
                                             *args)
    assert torch.equal(weight, torch.ones(4, 3)) and not m.any() and not v.any()
    with pytest.raises(ValueError, match=r"Received: lists of \[1, 1, 0, 1\] tensors"):
        optimizer_updates.adam_update([weight], [grad], [], [v], None, *args)


def test_checks_remembered_between_steps_see_replaced_tensors(monkeypatch):
    """An optimizer's checks are remembered from step to step: a state
    replaced by a smaller tensor, or by a float64 one, is seen, and the
    PyTorch path takes the step."""
    calls = []
    original = optimizer_updates.adam_update
    monkeypatch.setattr(optimizer_updates, "adam_update",
                        lambda *a, **k: calls.append(original(*a, **k)) or calls[-1])
    weight = torch.nn.Parameter(torch.ones(6))
    opt = sepconv.optimizers.Adam(0.1)
    opt.build([weight])
    for _ in range(2):
        weight.grad = torch.ones(6)
        opt.step()
    opt.state[weight]["momentum"] = opt.state[weight]["momentum"][:3]
    weight.grad = torch.ones(6)
    with pytest.raises(RuntimeError):  # PyTorch's own error for the mismatch
        opt.step()
    opt.state[weight]["momentum"] = torch.zeros(6, dtype=torch.float64)
    weight.grad = torch.ones(6)
    opt.step()
    assert calls == [True, True, False, False]


def test_autograd_sees_the_weights_change():
    """As after an in-place PyTorch update, a graph that saved a weight
    refuses to backpropagate once the step changed it."""
    weight = torch.nn.Parameter(torch.ones(3))
    opt = sepconv.optimizers.Adam(0.1)
    opt.build([weight])
    saved = (weight * weight).sum()
    weight.grad = torch.ones(3)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        saved.backward()


def test_switches():
    with kernels.switched(None):
        assert kernels.enabled()
        with kernels.switched(True):
            assert kernels.enabled()
        with kernels.switched(False):
            assert not kernels.enabled()
        assert kernels.enabled()
    with pytest.raises(TypeError, match="Received: enabled='yes'"):
        sepconv.config.set_kernels_enabled("yes")


def test_every_source_file_is_built():
    sources = {name for name in os.listdir(build.SOURCE_DIR) if name.endswith(".c")}
    assert sources == {name for unit in build.UNITS.values() for name in unit}
    for unit, entry_points in build.ENTRY_POINTS.items():
        lib = build.load("portable", unit)
        assert all(hasattr(lib, name) for name in entry_points)


def test_without_a_compiler_the_pytorch_path_runs(monkeypatch):
    """A library that cannot be built (no compiler): the step still runs,
    on PyTorch's operations, with the same result."""
    monkeypatch.setitem(kernels._state, "libraries", {})
    monkeypatch.setitem(kernels._state, "failed", {"optimizer_updates": "no compiler"})
    weight, grad = torch.ones(3), torch.ones(3)
    assert not optimizer_updates.adam_update([weight], [grad], [torch.zeros(3)],
                                             [torch.zeros(3)], None, 0.1, 0.9, 0.999, 1e-7)
    assert_identical(trained(None), trained(False))
