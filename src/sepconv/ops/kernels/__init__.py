"""sepconv's own CPU kernels in C, compiled on first use (see
:mod:`sepconv.ops.kernels.build`): a fused SeparableConv2D forward
(depthwise + pointwise + bias + activation, the depthwise tile kept in
cache) and a DepthwiseConv2D forward (depthwise + bias + activation in one
pass), the backward passes of both without activation
(:func:`separable_conv2d_backward`, :func:`depthwise_conv2d_backward`), and
the optimizers' update steps in one pass over each weight
(:mod:`sepconv.ops.kernels.optimizer_updates`).

When switched on, ``sepconv.ops`` runs them for float32 channels_last 2D
inputs on the CPU, and PyTorch's convolutions otherwise: directly when no
gradient is wanted, else through their torch.library operators
(:mod:`sepconv.ops.kernels.custom_ops`), whose autograd runs the backward
kernels and which torch.compile traces. Every kernel is on by default: each
beats PyTorch on the benchmark shapes (see benchmarks/README.md).
Switches: :func:`set_enabled` (also ``sepconv.config.set_kernels_enabled``),
the environment variable ``SEPCONV_KERNELS=1`` (every kernel) or ``0`` (none),
and ``SEPCONV_KERNEL_ISA=avx512|avx2|portable`` to force a code path (the
best one the CPU runs is the default).

>>> import torch
>>> x = torch.rand(1, 5, 5, 3)
>>> out = separable_conv2d(x, torch.rand(3, 3, 3, 1), torch.rand(3, 4), None,
...                        strides=(1, 1), dilation=(1, 1), padding="same")
>>> tuple(out.shape)
(1, 5, 5, 4)
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import warnings

import torch

from sepconv.ops.kernels.build import ISA_FLAGS, KernelBuildError, load
from sepconv.ops.shapes import conv_output_length, padding_pair

ACTIVATIONS = {None: 0, "linear": 0, "relu": 1, "relu6": 2}

_SWITCH_WORDS = {"1": True, "true": True, "on": True, "yes": True,
                 "0": False, "false": False, "off": False, "no": False}
# The one switch: True (every kernel), False (none: PyTorch only) or None,
# the default: the kernels that beat PyTorch wherever they apply, which
# today is all of them (the convolutions and the optimizer updates).
_state = {"switch": _SWITCH_WORDS.get(os.environ.get("SEPCONV_KERNELS", "").strip().lower()),
          "libraries": {}, "failed": {}}
# What runs when a library cannot be built.
_FALLBACKS = {"convolutions": "PyTorch's convolutions run instead",
              "optimizer_updates": "the optimizers run on PyTorch's operations"}


def set_enabled(enabled) -> None:
    """Use every C kernel where it applies (True), none (False: PyTorch
    only), or the default (None: those that beat PyTorch, today all)."""
    if enabled is not None and not isinstance(enabled, bool):
        raise TypeError(
            f"`enabled` must be True, False or None. Received: enabled={enabled!r}")
    _state["switch"] = enabled


def enabled() -> bool:
    """Whether the kernels are switched on (the default; they may still be
    unavailable)."""
    return _state["switch"] is not False


@contextlib.contextmanager
def switched(enabled):
    """The kernels switched as by :func:`set_enabled` inside the block, and
    back as they were after it.

    >>> with switched(False):
    ...     enabled()
    False
    """
    before = _state["switch"]
    set_enabled(enabled)
    try:
        yield
    finally:
        _state["switch"] = before


def requested_isa():
    """The instruction set forced by ``SEPCONV_KERNEL_ISA``, or None."""
    isa = os.environ.get("SEPCONV_KERNEL_ISA", "").strip().lower()
    if not isa:
        return None
    if isa not in ISA_FLAGS:
        raise ValueError(
            f"SEPCONV_KERNEL_ISA must be one of {sorted(ISA_FLAGS)}. "
            f"Received: SEPCONV_KERNEL_ISA={isa!r}"
        )
    return isa


def _best_isa():
    cpu = load("portable", "cpu")
    for isa in ("avx512", "avx2"):
        if cpu.sc_cpu_supports(isa.encode()):
            return isa
    return "portable"


def library(unit="convolutions"):
    """The loaded library ``unit`` ("convolutions" or "optimizer_updates",
    built on first use), or None when it cannot be built here (a warning
    says why, once)."""
    libraries, failed = _state["libraries"], _state["failed"]
    if unit not in libraries and unit not in failed:
        try:
            libraries[unit] = load(requested_isa() or _best_isa(), unit)
        except KernelBuildError as error:
            failed[unit] = str(error)
            warnings.warn(f"sepconv's C kernels are unavailable, {_FALLBACKS[unit]}: {error}",
                          RuntimeWarning, stacklevel=2)
    return libraries.get(unit)


def isa():
    """The instruction set of the loaded kernels ('avx512', 'avx2',
    'portable'), or None when they are unavailable."""
    lib = library()
    return None if lib is None else lib.sc_isa().decode()


def usable() -> bool:
    """The convolution kernels switched on and built (building on first
    use). Under torch.compile this is read once per trace as a constant,
    instead of dynamo tracing into the build (file checks, a compiler run)."""
    return enabled() and _built()


@torch._dynamo.assume_constant_result
def _built() -> bool:
    return library() is not None


class Geometry(ctypes.Structure):
    """The C ``sc_geometry`` (see csrc/geometry.h)."""

    _fields_ = [(name, ctypes.c_int64) for name in (
        "batch", "height", "width", "channels", "kernel_h", "kernel_w", "multiplier",
        "filters", "out_h", "out_w", "stride_h", "stride_w", "dilation_h", "dilation_w",
        "pad_top", "pad_left", "activation", "threads")]


def _library(lib):
    lib = lib or library()
    if lib is None:
        raise RuntimeError(
            f"sepconv's C kernels are unavailable: {_state['failed'].get('convolutions')}")
    return lib


# Geometries already built, by call signature: a network calls each layer on
# the same shapes again and again, and building one costs more than the
# lookup (tens of microseconds when the caches are cold, as they are after a
# large convolution). Bounded: cleared when full.
_GEOMETRIES: dict = {}
_GEOMETRIES_KEPT = 512


def _geometry(x, depthwise_kernel, filters, strides, dilation, padding, activation):
    """The C geometry of a depthwise step on ``x`` (N, H, W, C) with
    ``depthwise_kernel`` (kh, kw, C, M), and the output's shape (N, oh, ow,
    ``filters``). The geometry is shared between calls: the kernels only
    read it."""
    key = (x.shape, depthwise_kernel.shape, filters, tuple(strides), tuple(dilation), padding,
           activation, torch.get_num_threads())
    found = _GEOMETRIES.get(key)
    if found is None:
        if len(_GEOMETRIES) >= _GEOMETRIES_KEPT:
            _GEOMETRIES.clear()
        found = _GEOMETRIES[key] = _new_geometry(*key)
    return found


def _new_geometry(x_shape, kernel_shape, filters, strides, dilation, padding, activation,
                  threads):
    n, h, w, c = x_shape
    kh, kw, _, m = kernel_shape
    pads, out_size = [], []
    for length, k, s, d in zip((h, w), (kh, kw), strides, dilation):
        pads.append(padding_pair(length, k, s, padding, d)[0])
        out_size.append(conv_output_length(length, k, s, padding, d))
    geometry = Geometry(n, h, w, c, kh, kw, m, filters, *out_size, *strides, *dilation, *pads,
                        ACTIVATIONS[activation], threads)
    return geometry, (n, *out_size, filters)


def _checked(status, out):
    if status != 0:
        raise MemoryError("sepconv's C kernels ran out of memory.")
    return out


def separable_conv2d(x, depthwise_kernel, pointwise_kernel, bias, strides, dilation, padding,
                     activation=None, lib=None):
    """The fused kernel on contiguous float32 CPU tensors: ``x`` (N, H, W, C),
    ``depthwise_kernel`` (kh, kw, C, M), ``pointwise_kernel`` (C * M, F),
    ``bias`` (F,) or None; ``padding`` 'same' (TensorFlow's, asymmetric
    included) or 'valid'; ``activation`` None, 'relu' or 'relu6'; ``lib`` a
    library from :func:`build.load` (default: the active one). Returns
    (N, oh, ow, F)."""
    lib = _library(lib)
    filters = pointwise_kernel.shape[-1]
    geometry, out_shape = _geometry(x, depthwise_kernel, filters, strides, dilation, padding,
                                    activation)
    out = x.new_empty(out_shape)  # float32 on the CPU, as x
    status = _call(lib.sc_separable_forward, geometry, x, depthwise_kernel, pointwise_kernel,
                   bias, out)
    return _checked(status, out)


def depthwise_conv2d(x, kernel, bias, strides, dilation, padding, activation=None, lib=None):
    """The depthwise kernel (+ bias + activation in the same pass) on
    contiguous float32 CPU tensors: ``x`` (N, H, W, C), ``kernel``
    (kh, kw, C, M), ``bias`` (C * M,) or None; the other arguments as for
    :func:`separable_conv2d`. Returns (N, oh, ow, C * M), channel
    ``c * M + m`` from ``kernel[..., c, m]`` as in Keras."""
    lib = _library(lib)
    channels = x.shape[-1] * kernel.shape[-1]
    geometry, out_shape = _geometry(x, kernel, channels, strides, dilation, padding, activation)
    out = x.new_empty(out_shape)  # float32 on the CPU, as x
    status = _call(lib.sc_depthwise_forward, geometry, x, kernel, bias, out)
    return _checked(status, out)


def _call(function, geometry, *tensors):
    """A kernel entry point (its arguments declared as pointers by
    :func:`build.load`) on ``geometry`` and the tensors' buffers (None: NULL)."""
    pointers = [ctypes.byref(geometry)]
    for t in tensors:  # a loop, not a generator: every layer call runs this
        pointers.append(None if t is None else t.data_ptr())
    return function(*pointers)


def _grad_out(grad_out, expected):
    """grad_out as a contiguous tensor of the output's shape."""
    if tuple(grad_out.shape) != tuple(expected):
        raise ValueError(f"`grad_out` must have the shape of the op's output, "
                         f"{tuple(expected)}. Received: grad_out.shape={tuple(grad_out.shape)}")
    return grad_out.contiguous()


def separable_conv2d_backward(x, depthwise_kernel, pointwise_kernel, grad_out, strides, dilation,
                              padding, needs_input_grad=True, needs_bias_grad=True,
                              needs_depthwise_grad=True, needs_pointwise_grad=True, lib=None):
    """The gradients of :func:`separable_conv2d` without activation
    (``out = pointwise(depthwise(x)) + bias``) for ``grad_out`` (N, oh, ow, F),
    on contiguous float32 CPU tensors laid out as for the forward. Returns
    ``(grad_x, grad_depthwise, grad_pointwise, grad_bias)``, each None (and
    not computed) when its ``needs_..._grad`` is False. The weight gradients
    are summed in a fixed order for a given thread count.

    >>> import torch
    >>> x, grad_out = torch.rand(2, 5, 5, 3), torch.rand(2, 5, 5, 4)
    >>> grads = separable_conv2d_backward(x, torch.rand(3, 3, 3, 2), torch.rand(6, 4),
    ...                                   grad_out, (1, 1), (1, 1), "same")
    >>> [tuple(g.shape) for g in grads]
    [(2, 5, 5, 3), (3, 3, 3, 2), (6, 4), (4,)]
    >>> torch.allclose(grads[3], grad_out.sum((0, 1, 2)))
    True
    """
    lib = _library(lib)
    filters = pointwise_kernel.shape[-1]
    geometry, out_shape = _geometry(x, depthwise_kernel, filters, strides, dilation, padding,
                                    None)
    x, depthwise_kernel, pointwise_kernel = (
        x.contiguous(), depthwise_kernel.contiguous(), pointwise_kernel.contiguous())
    grad_out = _grad_out(grad_out, out_shape)
    grad_x = torch.empty_like(x) if needs_input_grad else None
    grad_depthwise = torch.empty_like(depthwise_kernel) if needs_depthwise_grad else None
    grad_pointwise = torch.empty_like(pointwise_kernel) if needs_pointwise_grad else None
    grad_bias = torch.empty(filters, dtype=torch.float32) if needs_bias_grad else None
    status = _call(lib.sc_separable_backward, geometry, x, depthwise_kernel, pointwise_kernel,
                   grad_out, grad_x, grad_depthwise, grad_pointwise, grad_bias)
    return _checked(status, (grad_x, grad_depthwise, grad_pointwise, grad_bias))


def depthwise_conv2d_backward(x, kernel, grad_out, strides, dilation, padding,
                              needs_input_grad=True, needs_bias_grad=True,
                              needs_kernel_grad=True, lib=None):
    """The gradients of :func:`depthwise_conv2d` without activation
    (``out = depthwise(x) + bias``, channel ``c * M + m``) for ``grad_out``
    (N, oh, ow, C * M), on contiguous float32 CPU tensors. Returns
    ``(grad_x, grad_kernel, grad_bias)``, each None (and not computed) when
    its ``needs_..._grad`` is False.

    >>> import torch
    >>> x, grad_out = torch.rand(1, 6, 6, 2), torch.rand(1, 3, 3, 6)
    >>> grad_x, grad_kernel, grad_bias = depthwise_conv2d_backward(
    ...     x, torch.rand(3, 3, 2, 3), grad_out, (2, 2), (1, 1), "same",
    ...     needs_bias_grad=False)
    >>> tuple(grad_x.shape), tuple(grad_kernel.shape), grad_bias
    ((1, 6, 6, 2), (3, 3, 2, 3), None)
    """
    lib = _library(lib)
    channels = x.shape[-1] * kernel.shape[-1]
    geometry, out_shape = _geometry(x, kernel, channels, strides, dilation, padding, None)
    x, kernel = x.contiguous(), kernel.contiguous()
    grad_out = _grad_out(grad_out, out_shape)
    grad_x = torch.empty_like(x) if needs_input_grad else None
    grad_kernel = torch.empty_like(kernel) if needs_kernel_grad else None
    grad_bias = torch.empty(channels, dtype=torch.float32) if needs_bias_grad else None
    status = _call(lib.sc_depthwise_backward, geometry, x, kernel, grad_out, grad_x,
                   grad_kernel, grad_bias)
    return _checked(status, (grad_x, grad_kernel, grad_bias))
