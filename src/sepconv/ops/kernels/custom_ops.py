"""The C kernels as PyTorch operators (``torch.library``): autograd runs
their backward kernels, and a fake implementation (shapes only) lets
``torch.compile`` trace through them.

``torch.ops.sepconv.separable_conv2d`` and ``torch.ops.sepconv.depthwise_conv2d``
take contiguous float32 CPU tensors in the layouts of
:func:`sepconv.ops.kernels.separable_conv2d` and
:func:`sepconv.ops.kernels.depthwise_conv2d` (no activation: that runs as
a PyTorch op after them); their backward passes are the operators
``separable_conv2d_backward`` and ``depthwise_conv2d_backward``.

>>> import torch
>>> x = torch.rand(1, 5, 5, 3, requires_grad=True)
>>> depthwise = torch.rand(3, 3, 3, 1, requires_grad=True)
>>> pointwise = torch.rand(3, 4, requires_grad=True)
>>> out = separable_conv2d(x, depthwise, pointwise, None, (1, 1), (1, 1), "same")
>>> out.sum().backward()
>>> tuple(x.grad.shape), tuple(depthwise.grad.shape), tuple(pointwise.grad.shape)
((1, 5, 5, 3), (3, 3, 3, 1), (3, 4))
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from sepconv.ops import kernels
from sepconv.ops.shapes import conv_output_length


def _output_size(x, kernel_size, strides, dilation, padding):
    return [conv_output_length(length, k, s, padding, d)
            for length, k, s, d in zip(x.shape[1:3], kernel_size, strides, dilation)]


def _nothing(like):
    """What a backward operator returns for a gradient nobody asked for (an
    operator cannot return None)."""
    return like.new_empty(0)


def _returned(grads, like):
    """A backward kernel's gradients (None where not wanted) as an operator
    returns them."""
    return tuple(_nothing(like) if grad is None else grad for grad in grads)


def _fake_grads(wanted, shapes, like):
    """A backward operator's fake outputs: a tensor like each of ``shapes``
    whose gradient is wanted, else nothing."""
    return tuple(torch.empty_like(shape) if want else _nothing(like)
                 for shape, want in zip(shapes, wanted))


# ------------------------------------------------------------------ autograd
# Shared by both layers. A forward operator's inputs are its tensors
# (x, kernels), the bias, then strides, dilation and padding; its backward
# operator takes grad_out, the same tensors, the geometry and `wanted` (one
# flag per gradient, the bias last) and returns one gradient per flag.


def _save_forward(ctx, inputs, output):
    *tensors, bias, strides, dilation, padding = inputs
    ctx.save_for_backward(*tensors)
    ctx.geometry = (list(strides), list(dilation), padding)
    ctx.has_bias = bias is not None


def _through(backward_operator):
    """A forward operator's autograd formula: ``backward_operator`` computes
    the gradients autograd asks for."""
    def backward(ctx, grad_out):
        tensors = ctx.saved_tensors
        n = len(tensors)
        wanted = list(ctx.needs_input_grad[:n]) + [ctx.has_bias and ctx.needs_input_grad[n]]
        grads = backward_operator(grad_out.contiguous(), *tensors, *ctx.geometry, wanted)
        return tuple(grad if want else None for grad, want in zip(grads, wanted)) + (None,) * 3
    return backward


def _save_backward(ctx, inputs, output):
    *tensors, strides, dilation, padding, wanted = inputs
    ctx.save_for_backward(*tensors)
    ctx.geometry, ctx.wanted = (list(strides), list(dilation), padding), list(wanted)


def _twice_through(reference):
    """A backward operator's autograd formula: the gradients of its outputs
    (the first-order gradients of the tensors, then of the bias, which is
    the sum of grad_out) w.r.t. its tensor inputs (grad_out, x, kernels),
    given their cotangents, by differentiating ``reference`` (the same layer
    on PyTorch's convolutions) twice. Higher derivatives (create_graph=True
    twice) are not tracked."""
    def backward(ctx, *cotangents):
        saved = [t.detach().requires_grad_() for t in ctx.saved_tensors]
        grad_out, primals = saved[0], saved[1:]
        with torch.enable_grad():
            out = reference(*primals, *ctx.geometry)
            first = list(torch.autograd.grad(out, primals, grad_out, create_graph=True))
            first.append(grad_out.sum(dim=(0, 1, 2)))
            pairs = [(value, cotangent) for value, cotangent, want
                     in zip(first, cotangents, ctx.wanted)
                     if want and cotangent is not None and cotangent.numel()]
            grads = (None,) * len(saved)
            if pairs:
                values, given = zip(*pairs)
                grads = tuple(torch.autograd.grad(values, saved, given, allow_unused=True))
        return grads + (None,) * 4  # strides, dilation, padding, wanted
    return backward


# ------------------------------------------------------------------ separable


@torch.library.custom_op("sepconv::separable_conv2d", mutates_args=())
def _separable(x: Tensor, depthwise_kernel: Tensor, pointwise_kernel: Tensor,
               bias: Optional[Tensor], strides: list[int], dilation: list[int],
               padding: str) -> Tensor:
    return kernels.separable_conv2d(x, depthwise_kernel, pointwise_kernel, bias,
                                    tuple(strides), tuple(dilation), padding)


@_separable.register_fake
def _separable_shape(x, depthwise_kernel, pointwise_kernel, bias, strides, dilation, padding):
    size = _output_size(x, depthwise_kernel.shape[:2], strides, dilation, padding)
    return x.new_empty((x.shape[0], *size, pointwise_kernel.shape[-1]))


@torch.library.custom_op("sepconv::separable_conv2d_backward", mutates_args=())
def _separable_backward(grad_out: Tensor, x: Tensor, depthwise_kernel: Tensor,
                        pointwise_kernel: Tensor, strides: list[int],
                        dilation: list[int], padding: str, wanted: list[bool]
                        ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``wanted``: whether the gradients of (x, depthwise_kernel,
    pointwise_kernel, bias) are wanted."""
    grads = kernels.separable_conv2d_backward(
        x, depthwise_kernel, pointwise_kernel, grad_out, tuple(strides), tuple(dilation),
        padding, needs_input_grad=wanted[0], needs_depthwise_grad=wanted[1],
        needs_pointwise_grad=wanted[2], needs_bias_grad=wanted[3])
    return _returned(grads, x)


@_separable_backward.register_fake
def _separable_backward_shapes(grad_out, x, depthwise_kernel, pointwise_kernel, strides,
                               dilation, padding, wanted):
    bias = x.new_empty(pointwise_kernel.shape[-1])
    return _fake_grads(wanted, (x, depthwise_kernel, pointwise_kernel, bias), x)


def _separable_reference(x, depthwise_kernel, pointwise_kernel, strides, dilation, padding):
    from sepconv.ops.conv import separable_conv_pytorch

    return separable_conv_pytorch(x, depthwise_kernel, pointwise_kernel[None, None], None,
                                  strides, padding, dilation, "channels_last")


_separable.register_autograd(_through(_separable_backward), setup_context=_save_forward)
_separable_backward.register_autograd(_twice_through(_separable_reference),
                                      setup_context=_save_backward)


def separable_conv2d(x, depthwise_kernel, pointwise_kernel, bias, strides, dilation, padding):
    """The fused SeparableConv2D (no activation) as a differentiable
    operator; arguments as for :func:`sepconv.ops.kernels.separable_conv2d`."""
    return _separable(x, depthwise_kernel, pointwise_kernel, bias, list(strides),
                      list(dilation), padding)


# ------------------------------------------------------------------ depthwise


@torch.library.custom_op("sepconv::depthwise_conv2d", mutates_args=())
def _depthwise(x: Tensor, kernel: Tensor, bias: Optional[Tensor], strides: list[int],
               dilation: list[int], padding: str) -> Tensor:
    return kernels.depthwise_conv2d(x, kernel, bias, tuple(strides), tuple(dilation), padding)


@_depthwise.register_fake
def _depthwise_shape(x, kernel, bias, strides, dilation, padding):
    size = _output_size(x, kernel.shape[:2], strides, dilation, padding)
    return x.new_empty((x.shape[0], *size, kernel.shape[-2] * kernel.shape[-1]))


@torch.library.custom_op("sepconv::depthwise_conv2d_backward", mutates_args=())
def _depthwise_backward(grad_out: Tensor, x: Tensor, kernel: Tensor, strides: list[int],
                        dilation: list[int], padding: str, wanted: list[bool]
                        ) -> tuple[Tensor, Tensor, Tensor]:
    """``wanted``: whether the gradients of (x, kernel, bias) are wanted."""
    grads = kernels.depthwise_conv2d_backward(
        x, kernel, grad_out, tuple(strides), tuple(dilation), padding,
        needs_input_grad=wanted[0], needs_kernel_grad=wanted[1], needs_bias_grad=wanted[2])
    return _returned(grads, x)


@_depthwise_backward.register_fake
def _depthwise_backward_shapes(grad_out, x, kernel, strides, dilation, padding, wanted):
    bias = x.new_empty(kernel.shape[-2] * kernel.shape[-1])
    return _fake_grads(wanted, (x, kernel, bias), x)


def _depthwise_reference(x, kernel, strides, dilation, padding):
    from sepconv.ops.conv import depthwise_conv_pytorch

    return depthwise_conv_pytorch(x, kernel, None, strides, padding, dilation, "channels_last")


_depthwise.register_autograd(_through(_depthwise_backward), setup_context=_save_forward)
_depthwise_backward.register_autograd(_twice_through(_depthwise_reference),
                                      setup_context=_save_backward)


def depthwise_conv2d(x, kernel, bias, strides, dilation, padding):
    """The DepthwiseConv2D kernel (no activation) as a differentiable
    operator; arguments as for :func:`sepconv.ops.kernels.depthwise_conv2d`."""
    return _depthwise(x, kernel, bias, list(strides), list(dilation), padding)
