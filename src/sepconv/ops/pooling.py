"""Pooling with Keras 3's semantics on torch's pooling kernels.

``max_pool`` and ``average_pool`` take inputs of rank 3, 4 or 5 (1 to 3
spatial dimensions) in either data format and return what Keras returns;
``global_max_pool`` and ``global_average_pool`` reduce every spatial
dimension. ``pooling_output_shape`` is the pure shape arithmetic.

How a call runs:

* A channels_last input is viewed as channels-first with ``movedim`` (no
  copy): torch's max and average pooling kernels read that view (torch's
  channels_last memory format) in place and write a channels_last output, so
  moving the channel axis back is free too. The exception is ``avg_pool3d``:
  it copies a channels_last_3d input to NCDHW, and it rejects an input
  smaller than the window even when 'same' padding makes room. 3D average
  pooling therefore runs as two 2D average pools on views (over height and
  width, then over depth), which is exact because a box average with a
  per-dimension count of valid elements is separable.
* 'same' padding is TensorFlow's: along each dimension
  ``total = max((ceil(n / s) - 1) * s + k - n, 0)``, ``before = total // 2``,
  the odd pixel after. Padded positions never count: max pooling ignores them
  and average pooling divides by the number of valid (un-padded) elements in
  each window, as TensorFlow and Keras's JAX/NumPy backends do. No padded copy
  of the input is made: torch pads ``before`` implicitly on both sides, and
  ``ceil_mode`` adds the last window that reaches into the extra pixel after.
  With stride 1 ``ceil_mode`` cannot add it, so those dimensions are padded
  with ``after`` on both sides and the first output is dropped (a view; its
  backward zero-pads the output gradient, in its memory format).
* Rank 1 runs as rank 2 with a unit height (``max_pool1d`` copies a
  channels-last-strided input when autograd is off).

Keras's torch backend differs in one case: for average pooling with
asymmetric 'same' padding it pads by replicating the edge and counts the
replicas, so its edge windows differ from TensorFlow's (Keras's own tests skip
that case on torch). sepconv follows TensorFlow there.

>>> import torch
>>> x = torch.arange(1.0, 5.0).reshape(1, 4, 1)        # channels_last, 1 channel
>>> average_pool(x, 3, 2, "same")[0, :, 0].tolist()      # windows [1, 2, 3], [3, 4]
[2.0, 3.5]
>>> max_pool(x, 2, 1, "same")[0, :, 0].tolist()
[2.0, 3.0, 4.0, 4.0]
>>> pooling_output_shape((None, 7, None, 3), (2, 2), None, "same")
(None, 4, None, 3)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sepconv.ops.conv import _channels_first, _fmt, _restore, _spatial_rank, _tuple
from sepconv.ops.shapes import (
    conv_output_length,
    same_padding,
    standardize_padding,
    standardize_tuple,
)

_MAX_POOL = {2: F.max_pool2d, 3: F.max_pool3d}


def _check_inputs(inputs):
    return _spatial_rank(inputs, "pooling")


def _spatial(shape, data_format):
    return tuple(shape[1:-1]) if data_format == "channels_last" else tuple(shape[2:])


def pooling_output_shape(input_shape, pool_size, strides=None, padding="valid",
                         data_format=None):
    """Output shape of max or average pooling; None dimensions stay None.

    ``strides=None`` means ``pool_size``. 'valid' gives
    ``floor((n - pool) / stride) + 1`` per spatial dimension (an error if that
    is < 1), 'same' gives ``ceil(n / stride)``.

    >>> pooling_output_shape((2, 3, 9, 8), 3, 2, "valid", "channels_first")
    (2, 3, 4, 3)
    >>> pooling_output_shape((2, 1, 1, 3), 2)
    Traceback (most recent call last):
    ...
    ValueError: The input is smaller than the pooling window: with padding='valid' each spatial dimension must be at least pool_size. Received: input_shape=(2, 1, 1, 3), pool_size=(2, 2)
    """
    input_shape = tuple(input_shape)
    rank = len(input_shape) - 2
    if rank < 1:
        raise ValueError(
            "The input shape must have a batch, a channel and at least one "
            f"spatial dimension. Received: input_shape={input_shape}"
        )
    pool_size = standardize_tuple(pool_size, rank, "pool_size")
    strides = pool_size if strides is None else standardize_tuple(strides, rank, "strides")
    padding = standardize_padding(padding)
    data_format = _fmt(data_format)
    out = tuple(
        conv_output_length(n, k, s, padding)
        for n, k, s in zip(_spatial(input_shape, data_format), pool_size, strides)
    )
    if any(o is not None and o < 1 for o in out):
        raise ValueError(
            "The input is smaller than the pooling window: with padding='valid' "
            "each spatial dimension must be at least pool_size. "
            f"Received: input_shape={input_shape}, pool_size={pool_size}"
        )
    if data_format == "channels_last":
        return (input_shape[0],) + out + (input_shape[-1],)
    return input_shape[:2] + out


def _torch_padding(x, pool_size, strides, padding, inputs):
    """(implicit padding per dim, ceil_mode, dims whose first output is dropped)
    that make torch's pooling of the channels-first view ``x`` equal Keras's."""
    spatial = x.shape[2:]
    if padding == "valid":
        if any(n < k for n, k in zip(spatial, pool_size)):
            raise ValueError(
                "The input is smaller than the pooling window: with padding='valid' "
                "each spatial dimension must be at least pool_size. "
                f"Received: inputs.shape={tuple(inputs.shape)}, pool_size={pool_size}"
            )
        return (0,) * len(spatial), False, ()
    pads, trims = [], []
    for dim, (n, k, s) in enumerate(zip(spatial, pool_size, strides)):
        before, after = same_padding(n, k, s, 1)
        if after > before and s == 1:
            pads.append(after)
            trims.append(dim + 2)
        else:
            pads.append(before)
    # ceil_mode only ever adds the window that starts before the input's end and
    # reaches into the odd pixel after it: with symmetric padding, stride 1 or
    # a window that fits, the division is exact or the extra window is dropped.
    return tuple(pads), True, tuple(trims)


class _DropFirst(torch.autograd.Function):
    """``out`` without its first entry along each of ``dims`` (a view).

    Autograd's own slice backward writes the gradient into a contiguous
    (NCHW) zero buffer, which would turn a channels_last backward pass into
    NCHW; padding the gradient keeps its memory format."""

    @staticmethod
    def forward(ctx, out, dims):
        ctx.dims = dims
        for dim in dims:
            out = out.narrow(dim, 1, out.shape[dim] - 1)
        return out

    @staticmethod
    def backward(ctx, grad):
        pad = [0] * (2 * (grad.ndim - 2))
        for dim in ctx.dims:
            pad[2 * (grad.ndim - 1 - dim)] = 1  # one zero before, along dim
        return F.pad(grad, pad), None


def _trim(out, trims):
    return _DropFirst.apply(out, trims) if trims else out


def _pool(mode, inputs, pool_size, strides, padding, data_format):
    rank = _check_inputs(inputs)
    pool_size = _tuple(pool_size, rank, "pool_size")
    strides = pool_size if strides is None else _tuple(strides, rank, "strides")
    if padding != "valid" and padding != "same":
        padding = standardize_padding(padding)
    data_format = _fmt(data_format)
    if mode == "average" and not inputs.is_floating_point():
        raise TypeError(
            "Average pooling needs a floating-point input. "
            f"Received: inputs.dtype={inputs.dtype}"
        )
    x = _channels_first(inputs, data_format)
    pads, ceil_mode, trims = _torch_padding(x, pool_size, strides, padding, inputs)
    if rank == 1:
        # As 2D with a unit height: max_pool1d copies a channels-last-strided
        # input (without autograd), max_pool2d reads it in place.
        x, pool_size, strides, pads = x.unsqueeze(2), (1,) + pool_size, (1,) + strides, (0,) + pads
        trims = tuple(dim + 1 for dim in trims)
    if mode == "max":
        out = _MAX_POOL[x.ndim - 2](x, pool_size, strides, pads, ceil_mode=ceil_mode)
    elif x.ndim == 5:
        out = _avg_pool3d(x, pool_size, strides, pads, ceil_mode)
    else:
        out = _avg_pool2d(x, pool_size, strides, pads, ceil_mode)
    out = _trim(out, trims)
    return _restore(out.squeeze(2) if rank == 1 else out, data_format)


def _avg_pool2d(x, pool_size, strides, pads, ceil_mode):
    return F.avg_pool2d(x, pool_size, strides, pads, ceil_mode=ceil_mode,
                        count_include_pad=False)


def _avg_pool3d(x, pool_size, strides, pads, ceil_mode):
    """3D average pooling of the NCDHW view ``x`` as two 2D passes, over (H, W)
    and then over D, on views of ``x``'s memory: depth is folded into the
    batch (channels_last_3d memory) or into the channels (NCDHW memory)."""
    n, c, d = x.shape[:3]
    channels_last = x.is_contiguous(memory_format=torch.channels_last_3d)
    if channels_last:
        planes = x.movedim(1, -1).flatten(0, 1).movedim(-1, 1)  # (N*D, C, H, W)
    else:
        planes = x.flatten(1, 2)  # (N, C*D, H, W)
    hw = _avg_pool2d(planes, pool_size[1:], strides[1:], pads[1:], ceil_mode)
    h, w = hw.shape[2:]
    if channels_last:
        depth = hw.movedim(1, -1).reshape(n, d, h * w, c).movedim(-1, 1)
    else:
        depth = hw.reshape(n, c, d, h * w)
    out = _avg_pool2d(depth, (pool_size[0], 1), (strides[0], 1), (pads[0], 0), ceil_mode)
    if channels_last:
        return out.movedim(1, -1).reshape(n, out.shape[2], h, w, c).movedim(-1, 1)
    return out.reshape(n, c, out.shape[2], h, w)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling over 1-3 spatial dimensions, as ``keras.ops.max_pool``.

    ``pool_size`` and ``strides`` are ints or tuples (one per spatial
    dimension); ``strides=None`` means ``pool_size``. With 'same' padding
    (TensorFlow's) padded positions never win.

    >>> import torch
    >>> x = torch.tensor([[1., 2., 3.], [4., 5., 6.], [7., 8., 9.]]).reshape(1, 3, 3, 1)
    >>> max_pool(x, 2, 1, "same")[0, :, :, 0].tolist()
    [[5.0, 6.0, 6.0], [8.0, 9.0, 9.0], [8.0, 9.0, 9.0]]
    """
    return _pool("max", inputs, pool_size, strides, padding, data_format)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling over 1-3 spatial dimensions, as ``keras.ops.average_pool``.

    With 'same' padding each window is averaged over its valid (un-padded)
    elements only, as TensorFlow does.

    >>> import torch
    >>> x = torch.tensor([[1., 2., 3.], [4., 5., 6.], [7., 8., 9.]]).reshape(1, 1, 3, 3)
    >>> average_pool(x, 2, 2, "same", "channels_first")[0, 0].tolist()
    [[3.0, 4.5], [7.5, 9.0]]
    """
    return _pool("average", inputs, pool_size, strides, padding, data_format)


def _global_axes(inputs, data_format):
    rank = _check_inputs(inputs)
    first = 1 if _fmt(data_format) == "channels_last" else 2
    return tuple(range(first, first + rank))


def global_max_pool(inputs, data_format=None, keepdims=False):
    """The maximum over every spatial dimension (kept with size 1 if ``keepdims``).

    >>> import torch
    >>> global_max_pool(torch.arange(12.0).reshape(1, 2, 3, 2)).tolist()
    [[10.0, 11.0]]
    """
    return torch.amax(inputs, dim=_global_axes(inputs, data_format), keepdim=keepdims)


def global_average_pool(inputs, data_format=None, keepdims=False, mask=None):
    """The mean over every spatial dimension (kept with size 1 if ``keepdims``).

    ``mask`` (optional, shape ``(batch, *spatial)``, nonzero = keep) restricts
    each mean to the kept positions; a sample with no kept position gives NaN,
    as in Keras. Integer inputs are averaged in float32, as Keras does.

    >>> import torch
    >>> x = torch.tensor([[[1.0], [2.0], [6.0]]])                # (batch, steps, features)
    >>> global_average_pool(x).tolist()
    [[3.0]]
    >>> global_average_pool(x, mask=torch.tensor([[True, True, False]])).tolist()
    [[1.5]]
    """
    axes = _global_axes(inputs, data_format)
    if not inputs.is_floating_point():
        inputs = inputs.to(torch.float32)
    if mask is None:
        return torch.mean(inputs, dim=axes, keepdim=keepdims)
    mask = torch.as_tensor(mask, device=inputs.device)
    spatial = tuple(inputs.shape[a] for a in axes)
    if tuple(mask.shape) != (inputs.shape[0],) + spatial:
        raise ValueError(
            "`mask` must have the shape (batch, *spatial dims) of the inputs, "
            f"{(inputs.shape[0],) + spatial}. Received: mask.shape={tuple(mask.shape)}"
        )
    keep = mask.to(torch.bool).unsqueeze(-1 if axes[0] == 1 else 1)
    total = torch.where(keep, inputs, 0).sum(dim=axes, keepdim=keepdims)
    return total / keep.to(inputs.dtype).sum(dim=axes, keepdim=keepdims)
