"""Optimizer updates as C loops over each weight (csrc/optimizer_updates.c)
instead of a chain of PyTorch's foreach kernels, each of which walks every
weight: for a small network those calls cost more than the arithmetic. Each
element goes through the same float32 operations in the same order (the
square roots are PyTorch's, one call for all weights), so the weights come
out bitwise the same as on the PyTorch path.

>>> import torch
>>> weight, grad = torch.ones(3), torch.full((3,), 0.5)
>>> momentum, velocity = torch.zeros(3), torch.zeros(3)
>>> adam_update([weight], [grad], [momentum], [velocity], None,
...             alpha=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
True
>>> momentum, velocity  # 0.1 * grad, 0.001 * grad ** 2
(tensor([0.0500, 0.0500, 0.0500]), tensor([0.0003, 0.0003, 0.0003]))
>>> weight  # 1 - 0.1 * 0.05 / (sqrt(0.00025) + 1e-7)
tensor([0.6838, 0.6838, 0.6838])
"""

from __future__ import annotations

import ctypes

import torch

from sepconv.ops.kernels import enabled, library


class AdamStep(ctypes.Structure):
    """The C ``sc_adam_step``: the weights' buffers and the step's scalars."""

    _fields_ = [("count", ctypes.c_int64), ("sizes", ctypes.c_void_p),
                *((name, ctypes.c_void_p) for name in (
                    "params", "grads", "momentums", "velocities", "velocity_hats")),
                *((name, ctypes.c_float) for name in (
                    "alpha", "beta_1", "one_minus_beta_1", "beta_2", "one_minus_beta_2",
                    "epsilon")),
                ("threads", ctypes.c_int64)]


def _plain(tensor, size):
    """A contiguous float32 CPU tensor of ``size`` elements."""
    return tensor.dtype is torch.float32 and tensor.is_cpu and tensor.layout is torch.strided \
        and tensor.is_contiguous() and tensor.numel() == size


def _buffers(grads, columns, checked):
    """(each weight's number of elements, an array of addresses per column)
    when the weights, their states (``columns``) and ``grads`` are all
    contiguous float32 CPU tensors of the weights' sizes, else None.

    ``checked`` (a dict, or None) remembers the weights and states that
    passed, by object and buffer address, and holds on to them so that no
    other tensor can take their ids: a training loop passes the same ones
    every step. A tensor PyTorch gives other contents (``.data = ...``) gets
    another buffer, and one viewed anew in place would no longer match its
    gradient, which is checked every time."""
    addresses = [[tensor.data_ptr() for tensor in column] for column in columns]
    key = (*(id(tensor) for column in columns for tensor in column),
           *(address for column in addresses for address in column))
    if checked is not None and checked.get("key") == key:
        sizes = checked["sizes"]
    else:
        sizes = [tensor.numel() for tensor in columns[0]]
        if not all(_plain(t, size) for column in columns for t, size in zip(column, sizes)):
            return None
        if checked is not None:
            checked.update(key=key, sizes=sizes, tensors=[list(column) for column in columns])
    if not all(_plain(grad, size) for grad, size in zip(grads, sizes)):
        return None
    addresses.insert(1, [grad.data_ptr() for grad in grads])
    return sizes, [(ctypes.c_void_p * len(sizes))(*column) for column in addresses]


def adam_update(params, grads, momentums, velocities, velocity_hats, alpha, beta_1, beta_2,
                epsilon, lib=None, checked=None) -> bool:
    """Keras's Adam update of every weight in ``params`` (lists of tensors,
    one entry per weight; ``velocity_hats`` None without AMSGrad) in place,
    with ``alpha`` the step's learning rate times its bias corrections;
    ``lib`` a library from ``build.load(isa, "optimizer_updates")`` (default:
    the active one); ``checked`` a dict kept between calls for the same
    tensors (their checks are then done once). Returns True, or False with
    nothing changed when the kernels are off or unavailable, under
    torch.compile, or when a tensor is not a contiguous float32 CPU tensor
    of its weight's size: the caller then runs PyTorch's operations."""
    if not enabled() or torch.compiler.is_compiling():
        return False
    columns = [params, momentums, velocities] + (
        [velocity_hats] if velocity_hats is not None else [])
    if any(len(column) != len(params) for column in (grads, *columns)):
        raise ValueError(
            "Every weight needs one gradient and one of each state. Received: lists of "
            f"{[len(column) for column in (params, grads, *columns[1:])]} tensors")
    buffers = _buffers(grads, columns, checked)
    lib = (lib or library("optimizer_updates")) if buffers is not None else None
    if lib is None:
        return False
    sizes, addresses = buffers
    count = (ctypes.c_int64 * len(sizes))(*sizes)
    step = AdamStep(len(sizes), ctypes.addressof(count),
                    *(ctypes.addressof(array) for array in addresses[:4]),
                    ctypes.addressof(addresses[4]) if velocity_hats is not None else None,
                    alpha, beta_1, 1 - beta_1, beta_2, 1 - beta_2, epsilon,
                    torch.get_num_threads())
    roots = torch.empty(sum(sizes), dtype=torch.float32)
    lib.sc_adam_moments(ctypes.byref(step), roots.data_ptr())
    torch.sqrt(roots, out=roots)
    lib.sc_adam_weights(ctypes.byref(step), roots.data_ptr())
    # Autograd learns of in-place changes from the ops that make them; these
    # bypassed it, so a graph that saved a weight still sees it changed.
    torch.autograd.graph.increment_version([tensor for column in columns for tensor in column])
    return True
