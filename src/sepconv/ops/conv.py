"""Convolutions with Keras 3's semantics on PyTorch's engine.

``conv``, ``depthwise_conv`` and ``separable_conv`` take weights in Keras's
layout and inputs of rank 3, 4 or 5 in either data format, and return what
``keras.ops`` returns (plus an optional bias on the channel axis).

How a call runs:

* A channels_last input is viewed as channels-first with ``movedim`` (no
  copy): that view is a tensor in torch's channels_last memory format, which
  oneDNN reads in place and whose output comes back channels_last, so moving
  the channel axis back is free too. Rank 1 runs as rank 2 with a unit height,
  because ``conv1d`` copies a channels-last-strided input and ``conv2d`` does not.
* The kernel is permuted to torch's ``(out, in / groups, *k)`` and copied
  densely in the input's memory format per call (weights are small): oneDNN
  handles a dense kernel faster than a strided view of the Keras layout (e.g.
  depthwise 3x3 on 16x19x19x728: 1.47 ms vs 1.77 ms, 2 cores, AVX-512).
* 'same' padding is TensorFlow's (the odd pixel goes after). Symmetric padding
  goes to the conv's own ``padding`` argument. Asymmetric padding (and
  'causal') on a depthwise conv is done by extending the kernel with zero taps
  and padding symmetrically, which costs a little compute but no copy of the
  activations; otherwise the difference is padded explicitly.
* The 1x1 pointwise step of ``separable_conv`` is a 1x1 conv: on channels_last
  data oneDNN runs it as a GEMM and measured faster than ``torch.addmm`` on the
  same data (e.g. 18.7 ms vs 31.4 ms for 32x28x28x256->256, 2 cores, AVX-512).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sepconv.ops.shapes import (
    conv_output_length,
    padding_pair,
    standardize_data_format,
    standardize_padding,
    standardize_tuple,
)

_CONV_FN = {2: F.conv2d, 3: F.conv3d}


def _fmt(data_format):
    if data_format == "channels_last" or data_format == "channels_first":
        return data_format
    return standardize_data_format(data_format)


def _tuple(value, n, name):
    """standardize_tuple with fast paths for what layers pass (no per-call cost)."""
    if type(value) is int:
        if value >= 1:
            return (value,) * n
    elif type(value) is tuple and len(value) == n:
        for v in value:  # a loop, not a generator: every layer call runs this
            if type(v) is not int or v < 1:
                break
        else:
            return value
    return standardize_tuple(value, n, name)


def _spatial_rank(inputs, purpose="a 1D, 2D or 3D convolution"):
    """The number of spatial dimensions of ``inputs`` (a tensor of rank 3-5)."""
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(
            "`inputs` must be a torch.Tensor. "
            f"Received: inputs of type {type(inputs).__name__}"
        )
    if inputs.ndim not in (3, 4, 5):
        raise ValueError(
            "`inputs` must have rank 3, 4 or 5 (batch, 1 to 3 spatial dims, channels) "
            f"for {purpose}. Received: inputs.shape={tuple(inputs.shape)}"
        )
    return inputs.ndim - 2


def _check_kernel(kernel, inputs, name):
    if kernel.ndim != inputs.ndim:
        raise ValueError(
            f"`{name}` must have the same rank as `inputs` ({inputs.ndim}): "
            f"spatial kernel dims, then input and output channels. "
            f"Received: {name}.shape={tuple(kernel.shape)}, "
            f"inputs.shape={tuple(inputs.shape)}"
        )


def _channels(inputs, data_format):
    return inputs.shape[-1] if data_format == "channels_last" else inputs.shape[1]


def _torch_weight(kernel):
    """Keras ``(*k, in, out)`` as torch's ``(out, in, *k)`` (a view)."""
    r = kernel.ndim - 2
    return kernel.permute(r + 1, r, *range(r))


_CHANNELS_LAST = {4: torch.channels_last, 5: torch.channels_last_3d}


def _dense_weight(weight, x):
    """``weight`` as a dense tensor in the memory format of the input ``x``."""
    memory_format = _CHANNELS_LAST.get(x.ndim)
    if memory_format is not None and x.is_contiguous(memory_format=memory_format):
        return weight.contiguous(memory_format=memory_format)
    return weight.contiguous()


def _conv_operands(x, weight):
    """``x`` and ``weight`` laid out for the conv call: the weight densely in
    ``x``'s memory format, except where a channel axis of size 1 makes the
    format ambiguous.

    A channels_last tensor with one channel (input channels, or a weight with
    one output channel) counts as contiguous in both memory formats, and torch
    2.13's CPU kernels mishandle it: oneDNN computes wrong values for some
    strided geometries (e.g. a (3, 1, 9, 4) input of strides (36, 1, 4, 1),
    kernel 5x4, strides (1, 3); Keras's torch backend has the same fault), and
    the fallback kernel's backward raises "grad_weight must be contiguous".
    Such operands get the strides of a fresh tensor instead: ``x`` as a view
    (no copy), the small weight as a dense copy.
    """
    if x.shape[1] != 1 and weight.shape[0] != 1:
        return x, _dense_weight(weight, x)
    if x.shape[1] == 1:
        x = x.squeeze(1).unsqueeze(1)
    return x, weight.clone(memory_format=torch.contiguous_format)


def _channels_first(inputs, data_format):
    """A channels-first view (no copy) of ``inputs``."""
    return inputs.movedim(-1, 1) if data_format == "channels_last" else inputs


def _restore(out, data_format):
    """``out`` back in ``data_format``. One output channel moves by squeeze
    and unsqueeze, so the gradient coming back has the strides of a fresh
    tensor (see :func:`_conv_operands` for why that matters)."""
    if data_format != "channels_last":
        return out
    return out.squeeze(1).unsqueeze(-1) if out.shape[1] == 1 else out.movedim(1, -1)


def _convolve(x, weight, bias, groups, strides, padding, dilation_rate,
              inputs, allow_causal=False):
    """The one rank-generic path, on a channels-first view ``x`` of ``inputs``
    (named in errors) and a torch-layout ``weight``."""
    rank = x.ndim - 2
    strides = _tuple(strides, rank, "strides")
    dilation = _tuple(dilation_rate, rank, "dilation_rate")
    if padding != "valid" and padding != "same":
        padding = standardize_padding(padding, allow_causal=allow_causal)
    kernel_size = weight.shape[2:]
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(
            f"`bias` must have shape ({weight.shape[0]},), one value per output "
            f"channel. Received: bias.shape={tuple(bias.shape)}"
        )

    conv_pad, x_pad, taps = [], [], []
    for n, k, s, d in zip(x.shape[2:], kernel_size, strides, dilation):
        if padding == "valid":
            if n < (k - 1) * d + 1:
                raise ValueError(
                    "The input is smaller than the dilated kernel: with "
                    "padding='valid' each spatial dimension must be at least "
                    "(kernel_size - 1) * dilation_rate + 1. "
                    f"Received: inputs.shape={tuple(inputs.shape)}, "
                    f"kernel_size={tuple(kernel_size)}, dilation_rate={dilation}"
                )
            conv_pad.append(0)
            continue
        before, after = padding_pair(n, k, s, padding, d)
        gap = after - before
        if gap and weight.shape[1] == 1 and gap % d == 0:
            # Depthwise: zero taps on the kernel shift its window instead of
            # copying the input into a padded buffer.
            conv_pad.append(max(before, after))
            taps.append((max(gap, 0) // d, max(-gap, 0) // d))
            x_pad.append((0, 0))
        else:
            conv_pad.append(min(before, after))
            taps.append((0, 0))
            x_pad.append((before - conv_pad[-1], after - conv_pad[-1]))

    if any(t != (0, 0) for t in taps):
        weight = F.pad(weight, [p for t in reversed(taps) for p in t])
    if any(p != (0, 0) for p in x_pad):
        x = F.pad(x, [p for t in reversed(x_pad) for p in t])
    if rank == 1:
        x, weight = x.unsqueeze(2), weight.unsqueeze(2)
        strides, dilation, conv_pad = (1,) + strides, (1,) + dilation, [0] + conv_pad
    x, weight = _conv_operands(x, weight)
    out = _CONV_FN[x.ndim - 2](x, weight, bias, strides, conv_pad, dilation, groups)
    return out.squeeze(2) if rank == 1 else out


def _pointwise(y, kernel, bias):
    """1x1 conv of a channels-first view (channels_last memory: oneDNN GEMM)."""
    if bias is not None and bias.shape != (kernel.shape[-1],):
        raise ValueError(
            f"`bias` must have shape ({kernel.shape[-1]},), one value per output "
            f"channel. Received: bias.shape={tuple(bias.shape)}"
        )
    weight = _torch_weight(kernel)
    rank_1 = y.ndim == 3
    if rank_1:
        y, weight = y.unsqueeze(2), weight.unsqueeze(2)
    y, weight = _conv_operands(y, weight)
    out = _CONV_FN[y.ndim - 2](y, weight, bias)
    return out.squeeze(2) if rank_1 else out


def conv(inputs, kernel, bias=None, strides=1, padding="valid", dilation_rate=1,
         data_format=None):
    """N-D convolution (N = 1, 2, 3), as ``keras.ops.conv`` plus an optional bias.

    ``kernel`` is Keras's ``(*kernel_size, in_channels // groups, filters)``;
    ``groups = in_channels // kernel.shape[-2]``. ``padding`` is 'valid',
    'same' (TensorFlow's) or, for rank 1 only, 'causal' (left-pad
    ``(k - 1) * dilation`` then 'valid', as Keras's Conv1D).

    >>> import torch
    >>> x = torch.ones(2, 5, 5, 3)                 # channels_last
    >>> k = torch.ones(3, 3, 3, 4)
    >>> y = conv(x, k, torch.zeros(4), padding="same")
    >>> tuple(y.shape), y[0, 0, 0, 0].item(), y[0, 2, 2, 0].item()
    ((2, 5, 5, 4), 12.0, 27.0)
    >>> conv(torch.ones(1, 3, 6), torch.ones(2, 3, 1), padding="causal",
    ...      data_format="channels_first")[0, 0].tolist()
    [3.0, 6.0, 6.0, 6.0, 6.0, 6.0]
    """
    rank = _spatial_rank(inputs)
    data_format = _fmt(data_format)
    _check_kernel(kernel, inputs, "kernel")
    in_channels, kernel_in = _channels(inputs, data_format), kernel.shape[-2]
    groups = in_channels // kernel_in if kernel_in else 0
    if not groups or in_channels % kernel_in or kernel.shape[-1] % groups:
        raise ValueError(
            "The input channels must be a multiple of the kernel's input channels "
            "(kernel.shape[-2]; the ratio is the number of groups), and the "
            "kernel's output channels (filters) a multiple of the groups. "
            f"Received: inputs.shape={tuple(inputs.shape)}, "
            f"kernel.shape={tuple(kernel.shape)}, data_format={data_format!r}"
        )
    x = _channels_first(inputs, data_format)
    out = _convolve(x, _torch_weight(kernel), bias, groups, strides, padding,
                    dilation_rate, inputs, allow_causal=rank == 1)
    return _restore(out, data_format)


def depthwise_conv(inputs, kernel, bias=None, strides=1, padding="valid",
                   dilation_rate=1, data_format=None):
    """Depthwise convolution, as ``keras.ops.depthwise_conv`` plus an optional bias.

    ``kernel`` is Keras's ``(*kernel_size, in_channels, depth_multiplier)``;
    output channel ``c * depth_multiplier + m`` is input channel ``c`` convolved
    with ``kernel[..., c, m]``.

    >>> import torch
    >>> x = torch.arange(4.0).reshape(1, 1, 4)      # channels_first, 1 channel
    >>> k = torch.tensor([[[1.0, 10.0]], [[1.0, 0.0]]])   # k=2, C=1, M=2
    >>> depthwise_conv(x, k, data_format="channels_first").tolist()
    [[[1.0, 3.0, 5.0], [0.0, 10.0, 20.0]]]
    """
    _spatial_rank(inputs)
    data_format = _fmt(data_format)
    _check_kernel(kernel, inputs, "kernel")
    _check_depthwise_channels(kernel, inputs, data_format)
    fused = _fused_depthwise(inputs, kernel, bias, strides, padding, dilation_rate, data_format)
    if fused is not None:
        return fused
    return depthwise_conv_pytorch(inputs, kernel, bias, strides, padding, dilation_rate,
                                  data_format)


def depthwise_conv_pytorch(inputs, kernel, bias, strides, padding, dilation_rate, data_format):
    """:func:`depthwise_conv` (checked arguments) on PyTorch's convolutions,
    never the C kernels (whose backward passes differentiate it)."""
    x = _channels_first(inputs, data_format)
    return _restore(_depthwise(x, kernel, bias, strides, padding, dilation_rate, inputs),
                    data_format)


def _check_depthwise_channels(kernel, inputs, data_format):
    if kernel.shape[-2] != _channels(inputs, data_format):
        raise ValueError(
            "The depthwise kernel's input channels (kernel.shape[-2]) must equal "
            f"the input channels. Received: inputs.shape={tuple(inputs.shape)}, "
            f"kernel.shape={tuple(kernel.shape)}, data_format={data_format!r}"
        )


def _depthwise(x, kernel, bias, strides, padding, dilation_rate, inputs):
    """The depthwise step on channels_first ``x`` (a kernel already checked
    against ``inputs``)."""
    in_channels = x.shape[1]
    flat = kernel.reshape(*kernel.shape[:-2], 1, in_channels * kernel.shape[-1])
    return _convolve(x, _torch_weight(flat), bias, in_channels, strides,
                     padding, dilation_rate, inputs)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, bias=None, strides=1,
                   padding="valid", dilation_rate=1, data_format=None):
    """Depthwise then 1x1 convolution, as ``keras.ops.separable_conv`` plus a bias.

    ``depthwise_kernel``: ``(*kernel_size, in_channels, depth_multiplier)``;
    ``pointwise_kernel``: ``(1, ..., 1, in_channels * depth_multiplier, filters)``;
    ``bias``: ``(filters,)``, added after the pointwise step.

    >>> import torch
    >>> x = torch.ones(2, 6, 6, 3)
    >>> y = separable_conv(x, torch.ones(3, 3, 3, 2), torch.ones(1, 1, 6, 5),
    ...                    torch.zeros(5), strides=2, padding="same")
    >>> tuple(y.shape), y[0, 2, 2, 0].item()
    ((2, 3, 3, 5), 24.0)
    """
    _spatial_rank(inputs)
    data_format = _fmt(data_format)
    _check_kernel(depthwise_kernel, inputs, "depthwise_kernel")
    _check_kernel(pointwise_kernel, inputs, "pointwise_kernel")
    mid = _channels(inputs, data_format) * depthwise_kernel.shape[-1]
    if any(k != 1 for k in pointwise_kernel.shape[:-2]) or pointwise_kernel.shape[-2] != mid:
        raise ValueError(
            "The pointwise kernel must have shape (1, ..., 1, in_channels * "
            f"depth_multiplier, filters) = (1, ..., 1, {mid}, filters). "
            f"Received: pointwise_kernel.shape={tuple(pointwise_kernel.shape)}"
        )
    _check_depthwise_channels(depthwise_kernel, inputs, data_format)
    fused = _fused_separable(inputs, depthwise_kernel, pointwise_kernel, bias, strides,
                             padding, dilation_rate, data_format)
    if fused is not None:
        return fused
    return separable_conv_pytorch(inputs, depthwise_kernel, pointwise_kernel, bias, strides,
                                  padding, dilation_rate, data_format)


def separable_conv_pytorch(inputs, depthwise_kernel, pointwise_kernel, bias, strides, padding,
                           dilation_rate, data_format):
    """:func:`separable_conv` (checked arguments) on PyTorch's convolutions,
    never the C kernels (whose backward passes differentiate it)."""
    x = _channels_first(inputs, data_format)
    y = _depthwise(x, depthwise_kernel, None, strides, padding, dilation_rate, inputs)
    return _restore(_pointwise(y, pointwise_kernel, bias), data_format)


def _kernel_geometry(inputs, tensors, kernel_size, strides, padding, dilation_rate,
                     data_format):
    """(strides, dilation) pairs when sepconv's C kernels apply to this call
    (a 2D channels_last float32 CPU input laid out densely, the kernels
    switched on and built), else None."""
    from sepconv.ops import kernels

    if not kernels.enabled() or inputs.ndim != 4 or data_format != "channels_last":
        return None
    for t in tensors:  # loops, not generators, here: every layer call runs this
        if t.dtype is not torch.float32 or not t.is_cpu:
            return None
    if not inputs.is_contiguous() or padding not in ("same", "valid") or not kernels.usable():
        return None
    strides = _tuple(strides, 2, "strides")
    dilation = _tuple(dilation_rate, 2, "dilation_rate")
    for axis in (0, 1):
        if conv_output_length(inputs.shape[axis + 1], kernel_size[axis], strides[axis], padding,
                              dilation[axis]) < 1:
            return None  # the PyTorch path raises the error
    return strides, dilation


def _fused_separable(inputs, depthwise_kernel, pointwise_kernel, bias, strides, padding,
                     dilation_rate, data_format):
    """The C kernel's result where it applies (see :func:`_kernel_geometry`),
    else None."""
    from sepconv.ops import kernels
    from sepconv.ops.kernels import custom_ops

    tensors = (inputs, depthwise_kernel, pointwise_kernel) + (() if bias is None else (bias,))
    if bias is not None and bias.shape != (pointwise_kernel.shape[-1],):
        return None
    pairs = _kernel_geometry(inputs, tensors, depthwise_kernel.shape[:2], strides, padding,
                             dilation_rate, data_format)
    if pairs is None:
        return None
    run = _differentiable(tensors, kernels.separable_conv2d, custom_ops.separable_conv2d)
    return run(inputs, depthwise_kernel.contiguous(),
               pointwise_kernel.reshape(pointwise_kernel.shape[-2:]).contiguous(),
               None if bias is None else bias.contiguous(), *pairs, padding)


def _fused_depthwise(inputs, kernel, bias, strides, padding, dilation_rate, data_format):
    """The C depthwise kernel's result where it applies (see
    :func:`_kernel_geometry`), else None."""
    from sepconv.ops import kernels
    from sepconv.ops.kernels import custom_ops

    tensors = (inputs, kernel) + (() if bias is None else (bias,))
    if bias is not None and bias.shape != (kernel.shape[-2] * kernel.shape[-1],):
        return None
    pairs = _kernel_geometry(inputs, tensors, kernel.shape[:2], strides, padding,
                             dilation_rate, data_format)
    if pairs is None:
        return None
    run = _differentiable(tensors, kernels.depthwise_conv2d, custom_ops.depthwise_conv2d)
    return run(inputs, kernel.contiguous(), None if bias is None else bias.contiguous(), *pairs,
               padding)


def _differentiable(tensors, plain, operator):
    """``plain`` (the kernel called directly) when no gradient is wanted and
    nothing is being compiled, else ``operator`` (its torch.library operator:
    autograd runs the backward kernel, torch.compile traces it)."""
    if torch.compiler.is_compiling():
        return operator
    if torch.is_grad_enabled():
        for t in tensors:
            if t.requires_grad:
                return operator
    return plain
