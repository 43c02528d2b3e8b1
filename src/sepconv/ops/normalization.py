"""Batch normalization with Keras 3's semantics on PyTorch's engine.

``batch_normalization`` normalizes with given statistics (inference);
``batch_norm_training`` normalizes with the batch's own statistics and returns
them (biased variance, as Keras), with gradients flowing through them;
``masked_moments`` gives Keras's masked batch statistics. The normalized axes
are any set of axes (the "channels"); statistics are over all other axes.

How a call runs: the input is viewed as ``(rest-before, channels, rest-after)``
without a copy and handed to ``torch.batch_norm`` (one fused pass; cuDNN on a
GPU). A contiguous input gives that view for any consecutive set of axes; a
4D/5D tensor whose channel axis is innermost in memory (torch's channels_last
memory format, e.g. NCHW viewed from NHWC) is passed as is. Only non-adjacent
axes on a non-contiguous input need a copy. Measured on 2 cores, 32x56x56x64
channels_last float32: 1.0 ms inference, 1.7 ms training (Keras's torch
backend: about 15 ms and 8 ms with its elementwise formula).

Statistics come from torch's own one-pass reduction (Welford), which is more
exact than Keras's ``E[x^2] - E[x]^2``; outputs agree with Keras to float32
rounding for data whose mean is within a few hundred standard deviations of 0.

>>> import torch
>>> x = torch.tensor([[1.0, 10.0], [3.0, 30.0]])
>>> out, mean, var = batch_norm_training(x, axis=-1, epsilon=0.0)
>>> out, mean, var
(tensor([[-1., -1.],
        [ 1.,  1.]]), tensor([ 2., 20.]), tensor([  1., 100.]))
>>> batch_normalization(x, mean, var, axis=-1, epsilon=0.0)
tensor([[-1., -1.],
        [ 1.,  1.]])
"""

from __future__ import annotations

import math

import torch


def normalized_axes(ndim, axis):
    """``axis`` (an int or a list of ints, negative counting from the end) as a
    sorted tuple of distinct non-negative axes of a rank-``ndim`` tensor.

    >>> normalized_axes(4, -1), normalized_axes(4, [2, -3])
    ((3,), (1, 2))
    """
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    result = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(
                f"Axis {a} is out of bounds for inputs of rank {ndim}: an axis must be "
                f"in [-{ndim}, {ndim - 1}]. Received: axis={axis!r}"
            )
        result.append(a % ndim)
    if len(set(result)) != len(result):
        raise ValueError(
            "The normalized axes must be distinct (after counting negative axes "
            f"from the end, for inputs of rank {ndim}). Received: axis={axis!r}"
        )
    return tuple(sorted(result))


def _channels_first_view(x, axes):
    """``(view, restore)``: ``view`` has the normalized axes flattened at dim 1
    and the other axes before/after it (no copy when the layout allows);
    ``restore(out)`` brings a result of ``view``'s shape back to ``x``'s."""
    ndim = x.ndim
    first, last = axes[0], axes[-1]
    consecutive = last - first + 1 == len(axes)
    if consecutive and x.is_contiguous():
        shape = x.shape
        pre = math.prod(shape[:first])
        channels = math.prod(shape[first:last + 1])
        post = math.prod(shape[last + 1:])
        view = x.view(pre, channels) if post == 1 else x.view(pre, channels, post)
        return view, lambda out: out.view(shape)
    if len(axes) == 1 and ndim in (4, 5):
        moved = x.movedim(first, 1)
        memory_format = torch.channels_last if ndim == 4 else torch.channels_last_3d
        if moved.is_contiguous(memory_format=memory_format) or moved.is_contiguous():
            return moved, lambda out: out.movedim(1, first)
    # General case (copies): the other axes first, then the normalized ones.
    others = [a for a in range(ndim) if a not in axes]
    moved = x.permute(*others, *axes)
    moved_shape = moved.shape
    channels = math.prod(moved_shape[len(others):])
    view = moved.reshape(-1, channels)
    inverse = [0] * ndim
    for position, a in enumerate(others + list(axes)):
        inverse[a] = position
    return view, lambda out: out.reshape(moved_shape).permute(*inverse)


def _vector(value, dtype):
    return None if value is None else value.reshape(-1).to(dtype)


def _requires_grad(*tensors):
    return torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in tensors
    )


def _elementwise(x, axes, mean, variance, offset, scale, epsilon):
    """Keras's formula ``(x - mean) * rsqrt(variance + epsilon) * scale + offset``
    with broadcasting (differentiable in every argument)."""
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]
    factor = torch.rsqrt(variance.reshape(shape) + epsilon)
    if scale is not None:
        factor = factor * scale.reshape(shape)
    out = (x - mean.reshape(shape)) * factor
    if offset is not None:
        out = out + offset.reshape(shape)
    return out


def batch_normalization(x, mean, variance, axis=-1, offset=None, scale=None, epsilon=1e-3):
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset`` with the
    statistics and parameters broadcast along ``axis`` (an int or a list of
    axes); they hold one value per position of those axes (any shape with that
    many elements, in the axes' order). As ``keras.ops.batch_normalization``.

    >>> import torch
    >>> x = torch.ones(2, 3, 4)
    >>> batch_normalization(x, torch.zeros(3), torch.ones(3), axis=1, epsilon=0.0,
    ...                     offset=torch.tensor([0.0, 1.0, 2.0]))[0, :, 0]
    tensor([1., 2., 3.])
    """
    axes = normalized_axes(x.ndim, axis)
    dtype = x.dtype
    mean, variance = _vector(mean, dtype), _vector(variance, dtype)
    offset, scale = _vector(offset, dtype), _vector(scale, dtype)
    if _requires_grad(mean, variance):  # torch.batch_norm treats the statistics as constants
        return _elementwise(x, axes, mean, variance, offset, scale, epsilon)
    view, restore = _channels_first_view(x, axes)
    out = torch.batch_norm(
        view, scale, offset, mean, variance, False, 0.0, epsilon, torch.backends.cudnn.enabled
    )
    return restore(out)


def batch_norm_training(x, axis=-1, offset=None, scale=None, epsilon=1e-3):
    """Normalize ``x`` with its own statistics over all axes but ``axis``.

    Returns ``(outputs, mean, variance)``: the variance is the biased one (as
    Keras uses for both normalizing and the moving average); gradients of the
    outputs flow through the statistics; ``mean`` and ``variance`` are
    detached vectors (one value per position of the normalized axes).

    >>> import torch
    >>> x = torch.tensor([[[0.0, 4.0]], [[2.0, 6.0]]])      # (batch, channels=1, 2)
    >>> out, mean, var = batch_norm_training(x, axis=1, epsilon=0.0)
    >>> mean.tolist(), var.tolist()
    ([3.0], [5.0])
    """
    axes = normalized_axes(x.ndim, axis)
    view, restore = _channels_first_view(x, axes)
    channels = view.shape[1]
    count = view.numel() // channels if channels else 0
    if count == 0:
        raise ValueError(
            "Batch statistics need at least one value per channel: the input has "
            f"no elements outside the normalized axes {axes}. "
            f"Received: inputs.shape={tuple(x.shape)}"
        )
    dtype = x.dtype
    # torch writes the batch mean and the unbiased variance into the running
    # buffers when momentum is 1 (its running update is momentum * batch + ...).
    mean = torch.zeros(channels, dtype=dtype, device=x.device)
    unbiased = torch.zeros(channels, dtype=dtype, device=x.device)
    out = torch.batch_norm(
        view, _vector(scale, dtype), _vector(offset, dtype), mean, unbiased, True, 1.0,
        epsilon, torch.backends.cudnn.enabled,
    )
    if count > 1:
        variance = unbiased * ((count - 1) / count)
    else:  # one value per channel: variance 0 (torch's unbiased estimate is 0/0)
        variance = torch.zeros_like(unbiased)
    return restore(out), mean, variance


def masked_moments(x, mask, axis=-1, epsilon=1e-7):
    """Mean and biased variance over all axes but ``axis``, counting only the
    positions where ``mask`` (``x``'s shape without its last axis, as Keras's
    ``BatchNormalization``) is true; ``epsilon`` guards the division as in
    Keras. Differentiable; returns vectors over the normalized axes.

    >>> import torch
    >>> x = torch.tensor([[1.0], [3.0], [100.0]])
    >>> masked_moments(x, torch.tensor([True, True, False]), epsilon=0.0)
    (tensor([2.]), tensor([1.]))
    """
    axes = normalized_axes(x.ndim, axis)
    if mask.ndim != x.ndim - 1:
        raise ValueError(
            "The mask must have one dimension less than the inputs (it covers every "
            f"axis but the last). Received: mask.shape={tuple(mask.shape)}, "
            f"inputs.shape={tuple(x.shape)}"
        )
    keep = mask.unsqueeze(-1).expand(x.shape).to(torch.bool)
    reduce = [a for a in range(x.ndim) if a not in axes]
    weights = keep.to(x.dtype).sum(dim=reduce, keepdim=True) + epsilon
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    mean = torch.where(keep, x, zero).sum(dim=reduce, keepdim=True) / weights
    deviation = torch.where(keep, x - mean, zero)
    variance = deviation.square().sum(dim=reduce, keepdim=True) / weights
    return mean.reshape(-1), variance.reshape(-1)


def moving_average(variable, value, momentum):
    """Set ``variable`` to ``variable * momentum + value * (1 - momentum)`` in
    place, outside autograd (Keras's moving-statistics update); ``value`` has
    as many elements as ``variable``.

    >>> import torch
    >>> moving = torch.ones(2)
    >>> moving_average(moving, torch.tensor([3.0, 5.0]), momentum=0.75)
    >>> moving.tolist()
    [1.5, 2.0]
    """
    with torch.no_grad():
        value = value.detach().reshape(variable.shape).to(variable.dtype)
        variable.copy_(variable * momentum + value * (1.0 - momentum))


__all__ = [
    "batch_norm_training",
    "batch_normalization",
    "masked_moments",
    "moving_average",
    "normalized_axes",
]
