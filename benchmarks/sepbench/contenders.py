"""The in-process contenders of one case, all on the same weights and input:

* ``ours``: the sepconv layer (C kernels switched on by the harness);
* ``torch_nchw`` / ``torch_cl``: ``nn.Conv2d`` modules on an NCHW-contiguous
  and on a channels_last memory-format input;
* ``keras_torch``: the Keras 3 layer on its torch backend, when importable.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time

import torch
from torch import nn

from sepbench.cases import KERNEL_SIZE, build_layer


@dataclasses.dataclass
class Contender:
    """``fn(x) -> y``; ``params`` get their gradients cleared before each
    forward+backward call; ``memory_format`` None means an NHWC tensor,
    otherwise an NCHW tensor in that memory format (input and output alike)."""

    fn: object
    params: list
    x: torch.Tensor
    memory_format: object = None

    def to_nhwc(self, t):
        return t if self.memory_format is None else t.permute(0, 2, 3, 1)

    def from_nhwc(self, t):
        if self.memory_format is None:
            return t
        return t.permute(0, 3, 1, 2).contiguous(memory_format=self.memory_format)


def make_data(case, seed=0):
    """(x, weights, grad_out): the NHWC input, the weights in Keras's order
    and shapes, and an NHWC upstream gradient for forward+backward."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(case.input_shape, generator=g)
    weights = []
    for _, shape in case.weight_shapes():
        # 3x3 taps ~0.2, 1x1 kernels ~1/sqrt(C) (outputs of unit scale), biases ~1
        scale = 1.0 if len(shape) == 1 else 0.2 if shape[0] == KERNEL_SIZE else case.c ** -0.5
        weights.append(torch.randn(shape, generator=g) * scale)
    grad_out = torch.randn(case.output_shape, generator=g)
    return x, weights, grad_out


def _keras_like(module, case, weights, x):
    layer = build_layer(module, case)
    layer.set_weights([w.numpy() for w in weights])
    params = [getattr(v, "value", v) for v in layer.weights]  # Keras variables -> tensors
    return Contender(layer, params, x)


def build_ours(case, weights, x):
    import sepconv

    return _keras_like(sepconv, case, weights, x)


def torch_module(case, weights):
    """The case as ``nn.Conv2d`` modules, weights converted from Keras's layout."""
    c, f, k = case.c, case.f, KERNEL_SIZE
    if case.kind == "pointwise":
        kernel, bias = weights
        module = nn.Conv2d(c, f, 1)
        pointwise = kernel.reshape(c, f).t().reshape(f, c, 1, 1)
        tensors = [(module.weight, pointwise), (module.bias, bias)]
    elif case.kind == "depthwise":
        kernel, bias = weights
        module = nn.Conv2d(c, c, k, padding=k // 2, groups=c)
        tensors = [(module.weight, kernel.permute(2, 3, 0, 1)), (module.bias, bias)]
    else:
        depthwise, pointwise, bias = weights
        module = nn.Sequential(nn.Conv2d(c, c, k, padding=k // 2, groups=c, bias=False),
                               nn.Conv2d(c, f, 1))
        tensors = [(module[0].weight, depthwise.permute(2, 3, 0, 1)),
                   (module[1].weight, pointwise.reshape(c, f).t().reshape(f, c, 1, 1)),
                   (module[1].bias, bias)]
    with torch.no_grad():
        for param, value in tensors:
            param.copy_(value)
    return module


def build_torch(case, weights, x, memory_format):
    module = torch_module(case, weights).to(memory_format=memory_format)
    contender = Contender(module, list(module.parameters()), None, memory_format)
    contender.x = contender.from_nhwc(x)
    return contender


def build_keras_torch(case, weights, x):
    """Keras 3 on its torch backend, or None (with the reason) when Keras is
    missing or runs another backend in this process."""
    try:
        import keras
    except Exception as error:  # noqa: BLE001 - any import failure: not available
        return None, f"keras not importable: {error}"
    if keras.config.backend() != "torch":
        return None, f"keras runs the {keras.config.backend()} backend in this process"
    return _keras_like(keras, case, weights, x), None


def build_all(case, weights, x, with_keras=True):
    """name -> Contender, and name -> why a contender is missing."""
    found = {"ours": build_ours(case, weights, x),
             "torch_nchw": build_torch(case, weights, x, torch.contiguous_format),
             "torch_cl": build_torch(case, weights, x, torch.channels_last)}
    missing = {}
    if with_keras:
        keras_torch, why = build_keras_torch(case, weights, x)
        if keras_torch is None:
            missing["keras_torch"] = why
        else:
            found["keras_torch"] = keras_torch
    else:
        missing["keras_torch"] = "switched off (--no-keras)"
    return found, missing


def forward_output(contender):
    """One no-grad call; the output as NHWC."""
    with torch.no_grad():
        return contender.to_nhwc(contender.fn(contender.x))


class Step:
    """One timed call of a contender in a mode, as a zero-argument callable
    returning seconds. Forward runs under ``torch.no_grad``; forward+backward
    back-propagates the case's ``grad_out`` (in the contender's layout) into
    the input and every weight."""

    def __init__(self, contender, mode, grad_out_nhwc=None):
        self.contender = contender
        self.mode = mode
        self.x = contender.x.detach().requires_grad_(mode != "forward")
        self.grad_out = None if mode == "forward" else contender.from_nhwc(grad_out_nhwc)

    def __call__(self):
        fn = self.contender.fn
        if self.mode == "forward":
            start = time.perf_counter()
            with torch.no_grad():
                fn(self.x)
            return time.perf_counter() - start
        self.x.grad = None
        for p in self.contender.params:
            p.grad = None
        start = time.perf_counter()
        fn(self.x).backward(self.grad_out)
        return time.perf_counter() - start

    def input_grad(self):
        """grad_x of the last forward+backward call, as NHWC."""
        return self.contender.to_nhwc(self.x.grad)


def relative_error(value, reference) -> float:
    """max |value - reference| / max |reference| (inputs: tensors or arrays)."""
    value, reference = torch.as_tensor(value), torch.as_tensor(reference)
    return ((value - reference).abs().max() / reference.abs().max().clamp_min(1e-30)).item()


def path_of(step, kernel_isa):
    """Which code ran one call of ``step``, seen through the profiler: the
    kernels' ISA when no aten convolution op ran, 'pytorch' when no sepconv
    op ran but aten convolutions did, '<isa>+pytorch' when both ran."""
    if kernel_isa is None:
        return "pytorch"
    with _stderr_silenced(), torch.profiler.profile(
            activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        step()
    names = {event.key for event in prof.key_averages()}
    aten = any(name.startswith("aten::") and "conv" in name for name in names)
    ours = any(name.startswith("sepconv") for name in names)
    if aten and not ours:
        return "pytorch"
    return f"{kernel_isa}+pytorch" if aten else kernel_isa


@contextlib.contextmanager
def _stderr_silenced():
    """File descriptor 2 to /dev/null (the profiler's C++ side logs a line
    at each start and stop)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
