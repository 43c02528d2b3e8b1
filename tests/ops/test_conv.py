"""sepconv.ops convolutions against Keras 3's keras.ops (torch backend)."""

import itertools

import numpy as np
import pytest
import torch
from torch.profiler import profile

import keras
from sepconv import ops

RNG = np.random.default_rng(0)

# Per rank: (spatial size, kernel, strides, dilation). Odd and even sizes; the
# even-kernel, strided-even and dilated-even rows give asymmetric 'same' padding
# (the last one with a gap that is not a multiple of the dilation).
GEOMETRIES = {
    1: [(9, 3, 1, 1), (8, 2, 1, 1), (8, 3, 2, 1), (9, 3, 1, 2), (10, 4, 1, 3), (11, 3, 3, 1)],
    2: [((7, 6), (3, 3), 1, 1), ((6, 8), (2, 4), 1, 1), ((8, 7), (3, 3), 2, 1),
        ((9, 8), (3, 2), 1, (2, 1)), ((10, 9), (4, 3), (1, 2), (3, 1)),
        ((7, 9), (1, 3), (3, 2), 1)],
    3: [((5, 4, 6), (3, 3, 3), 1, 1), ((4, 6, 5), (2, 3, 2), (2, 1, 2), 1),
        ((6, 5, 4), (3, 2, 2), 1, (2, 1, 1))],
}
TABLE = [
    pytest.param(rank, *geo, padding, fmt, id=f"r{rank}-{geo}-{padding}-{fmt}")
    for rank, geos in GEOMETRIES.items()
    for geo in geos
    for padding in ("valid", "same")
    for fmt in ("channels_last", "channels_first")
]
# (op, groups or depth_multiplier)
OPS = [("conv", 1), ("conv", 2), ("depthwise", 1), ("depthwise", 2),
       ("separable", 1), ("separable", 3)]


def tup(v, rank):
    return (v,) * rank if isinstance(v, int) else tuple(v)


def make_case(op, mult, rank, size, k, fmt, channels=4, filters=6):
    size, k = tup(size, rank), tup(k, rank)
    shape = (2, *size, channels) if fmt == "channels_last" else (2, channels, *size)
    x = RNG.standard_normal(shape).astype("float32")
    if op == "conv":
        weights = [RNG.standard_normal(k + (channels // mult, filters))]
        out_channels = filters
    elif op == "depthwise":
        weights = [RNG.standard_normal(k + (channels, mult))]
        out_channels = channels * mult
    else:
        weights = [RNG.standard_normal(k + (channels, mult)),
                   RNG.standard_normal((1,) * rank + (channels * mult, filters))]
        out_channels = filters
    bias = RNG.standard_normal(out_channels)
    return x, [w.astype("float32") for w in weights], bias.astype("float32")


def ours(op, x, weights, bias, **kw):
    fn = {"conv": ops.conv, "depthwise": ops.depthwise_conv, "separable": ops.separable_conv}[op]
    return fn(x, *weights, bias, **kw)


def reference(op, x, weights, bias, data_format, **kw):
    fn = {"conv": keras.ops.conv, "depthwise": keras.ops.depthwise_conv,
          "separable": keras.ops.separable_conv}[op]
    y = fn(x, *weights, data_format=data_format, **kw)
    axis_shape = [1] * y.ndim
    axis_shape[-1 if data_format == "channels_last" else 1] = -1
    return y + torch.as_tensor(bias).reshape(axis_shape)


def rel_err(a, b):
    a, b = torch.as_tensor(a).detach().double(), torch.as_tensor(b).detach().double()
    assert a.shape == b.shape
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


@pytest.mark.parametrize("op,mult", OPS, ids=[f"{o}{m}" for o, m in OPS])
@pytest.mark.parametrize("rank,size,k,strides,dilation,padding,fmt", TABLE)
def test_forward_matches_keras(op, mult, rank, size, k, strides, dilation, padding, fmt):
    x, weights, bias = make_case(op, mult, rank, size, k, fmt)
    kw = dict(strides=strides, padding=padding, dilation_rate=dilation)
    expected = reference(op, x, weights, bias, fmt, **kw)
    got = ours(op, torch.from_numpy(x), [torch.from_numpy(w) for w in weights],
               torch.from_numpy(bias), data_format=fmt, **kw)
    assert rel_err(got, expected) < 2e-5


GRAD_TABLE = [p for p in TABLE if p.values[-2] == "same"][::2]


@pytest.mark.parametrize("op,mult", OPS[::2] + [("separable", 2)],
                         ids=["conv1", "depthwise1", "separable1", "separable2"])
@pytest.mark.parametrize("rank,size,k,strides,dilation,padding,fmt", GRAD_TABLE)
def test_gradients_match_keras(op, mult, rank, size, k, strides, dilation, padding, fmt):
    x, weights, bias = make_case(op, mult, rank, size, k, fmt)
    kw = dict(strides=strides, padding=padding, dilation_rate=dilation)
    grads = []
    for side in ("ours", "keras"):
        tensors = [torch.tensor(a, requires_grad=True) for a in [x, *weights, bias]]
        xt, *wt, bt = tensors
        if side == "ours":
            y = ours(op, xt, wt, bt, data_format=fmt, **kw)
        else:
            y = reference(op, xt, wt, bt, fmt, **kw)
        g = torch.from_numpy(np.random.default_rng(1).standard_normal(tuple(y.shape)))
        (y * g.float()).sum().backward()
        grads.append([t.grad for t in tensors])
    for got, expected in zip(*grads):
        assert rel_err(got, expected) < 1e-4


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("k,strides,dilation", [(3, 1, 1), (2, 1, 3), (4, 2, 1), (1, 1, 1)])
def test_causal_matches_keras_conv1d(k, strides, dilation, fmt):
    layer = keras.layers.Conv1D(5, k, strides=strides, padding="causal",
                                dilation_rate=dilation, data_format=fmt)
    x = RNG.standard_normal((2, 11, 3) if fmt == "channels_last" else (2, 3, 11))
    x = x.astype("float32")
    expected = layer(x)
    kernel, bias = (w.value.detach().clone() for w in layer.weights)
    got = ops.conv(torch.from_numpy(x), kernel, bias, strides, "causal", dilation, fmt)
    assert rel_err(got, expected) < 2e-5


def test_default_data_format_is_config():
    from sepconv import config

    x = torch.randn(1, 3, 6, 6)
    config.set_image_data_format("channels_first")
    try:
        y = ops.depthwise_conv(x, torch.randn(3, 3, 3, 1))
    finally:
        config.set_image_data_format("channels_last")
    assert y.shape == (1, 3, 4, 4)


# ---------------------------------------------------------------- no layout copies

def big_copies(fn, numel):
    """Copy-like ops that touched a tensor of at least ``numel`` elements."""
    with profile(record_shapes=True) as prof:
        fn()
    names = ("aten::copy_", "aten::clone", "aten::contiguous", "aten::constant_pad_nd")
    return [(e.name, e.input_shapes) for e in prof.events()
            if e.name in names and e.input_shapes and e.input_shapes[0]
            and int(np.prod(e.input_shapes[0])) >= numel]


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("padding,k,strides", [("valid", 3, 1), ("same", 3, 1),
                                               ("same", 2, 1), ("same", 3, 2)])
def test_channels_last_is_not_copied(rank, padding, k, strides):
    # Even sizes keep 'same' with k=3, s=2 asymmetric; activations outsize weights.
    x = torch.randn(2, *({1: 64, 2: 16, 3: 8}[rank],) * rank, 8)
    dw = torch.randn(*(k,) * rank, 8, 2)
    pw = torch.randn(*(1,) * rank, 16, 24)
    kernel = torch.randn(*(k,) * rank, 8, 24)
    with torch.no_grad():
        for fn in (lambda: ops.separable_conv(x, dw, pw, torch.zeros(24), strides, padding),
                   lambda: ops.depthwise_conv(x, dw, None, strides, padding)):
            assert big_copies(fn, x.numel()) == []
            assert fn().is_contiguous()
        # The detector does see copies: Keras's torch backend copies to NCHW.
        assert big_copies(lambda: keras.ops.depthwise_conv(x, dw, strides, padding), x.numel())
        if padding == "valid" or k == 3 and strides == 1:  # symmetric: no pad
            fn = lambda: ops.conv(x, kernel, None, strides, padding)  # noqa: E731
            assert big_copies(fn, x.numel()) == []
            assert fn().is_contiguous()


# ---------------------------------------------------------------- errors

def test_error_cases():
    x = torch.randn(2, 6, 6, 4)
    k = torch.randn(3, 3, 4, 8)
    cases = [
        (lambda: ops.conv(torch.randn(2, 4), k), r"rank 3, 4 or 5.*inputs.shape=\(2, 4\)"),
        (lambda: ops.conv(x, torch.randn(3, 4, 8)), r"same rank.*kernel.shape=\(3, 4, 8\)"),
        (lambda: ops.conv(x, torch.randn(3, 3, 3, 8)), r"multiple of the kernel's input"),
        (lambda: ops.conv(x, torch.randn(3, 3, 2, 5)), r"kernel.shape=\(3, 3, 2, 5\)"),
        (lambda: ops.conv(x, k, torch.zeros(7)), r"bias.shape=\(7,\)"),
        (lambda: ops.conv(x, torch.randn(7, 7, 4, 8)),
         r"smaller than the dilated kernel.*inputs.shape=\(2, 6, 6, 4\), "
         r"kernel_size=\(7, 7\), dilation_rate=\(1, 1\)"),
        (lambda: ops.conv(x, k, dilation_rate=3), r"dilation_rate=\(3, 3\)"),
        (lambda: ops.conv(x, k, padding="causal"), r"Received: padding='causal'"),
        (lambda: ops.conv(x, k, padding=2), r"Received: padding=2"),
        (lambda: ops.conv(x, k, strides=(1, 0)), r"Received: strides=\(1, 0\)"),
        (lambda: ops.conv(x, k, strides=1.5), r"Received: strides=1.5"),
        (lambda: ops.conv(x, k, data_format="nhwc"), r"Received: data_format='nhwc'"),
        (lambda: ops.depthwise_conv(x, torch.randn(3, 3, 3, 1)), r"kernel.shape=\(3, 3, 3, 1\)"),
        (lambda: ops.depthwise_conv(torch.randn(1, 9, 4), torch.randn(3, 4, 1),
                                    padding="causal"), r"padding='causal'"),
        (lambda: ops.separable_conv(x, torch.randn(3, 3, 4, 2), torch.randn(1, 1, 4, 8)),
         r"pointwise_kernel.shape=\(1, 1, 4, 8\)"),
        (lambda: ops.separable_conv(x, torch.randn(3, 3, 4, 1), torch.randn(3, 3, 4, 8)),
         r"pointwise_kernel.shape=\(3, 3, 4, 8\)"),
    ]
    for fn, pattern in cases:
        with pytest.raises(ValueError, match=pattern):
            fn()
    with pytest.raises(TypeError, match="torch.Tensor"):
        ops.conv(x.numpy(), k)


def test_gradient_reaches_every_weight():
    x = torch.randn(2, 7, 7, 4, requires_grad=True)
    dw = torch.randn(3, 3, 4, 2, requires_grad=True)
    pw = torch.randn(1, 1, 8, 5, requires_grad=True)
    b = torch.randn(5, requires_grad=True)
    ops.separable_conv(x, dw, pw, b, 2, "same").square().sum().backward()
    assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in (x, dw, pw, b))


# -- one channel: torch 2.13's CPU kernels mishandle a size-1 channel axis
# (wrong oneDNN results, or a backward that raises "grad_weight must be
# contiguous"), and Keras's torch backend inherits that, so the reference here
# is float64 arithmetic with no conv kernel at all: a sum over kernel taps of
# strided slices contracted with einsum, differentiated by autograd.
def direct_conv(x, kernel, strides, depthwise=False):
    """Valid convolution of channels-first ``x`` with a Keras-layout kernel
    ``(*k, in, out)``, or ``(*k, in, multiplier)`` when ``depthwise``."""
    rank = len(strides)
    sizes = [(n - k) // s + 1 for n, k, s in zip(x.shape[2:], kernel.shape[:rank], strides)]
    total = 0
    for tap in itertools.product(*[range(k) for k in kernel.shape[:rank]]):
        window = x[(slice(None), slice(None)) + tuple(
            slice(t, t + s * (m - 1) + 1, s) for t, s, m in zip(tap, strides, sizes))]
        if depthwise:  # output channel c * multiplier + m, as Keras orders them
            term = torch.einsum("nc...,cm->ncm...", window, kernel[tap]).flatten(1, 2)
        else:
            term = torch.einsum("nc...,co->no...", window, kernel[tap])
        total = total + term
    return total


def float64_reference(op, x, weights, strides, padding, data_format):
    """(output, gradients of sum(output * ramp) w.r.t. x and each weight, ramp)."""
    rank = x.ndim - 2
    channels_first = np.moveaxis(x, -1, 1) if data_format == "channels_last" else x
    x = torch.tensor(channels_first, dtype=torch.float64, requires_grad=True)
    kernels = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in weights]
    pads = []
    for n, k, s in zip(x.shape[2:], kernels[0].shape[:rank], strides):
        total = max((-(-n // s) - 1) * s + k - n, 0) if padding == "same" else 0
        pads.append((total // 2, total - total // 2))
    y = torch.nn.functional.pad(x, [p for pair in reversed(pads) for p in pair])
    y = direct_conv(y, kernels[0], strides, depthwise=op != "conv")
    if op == "separable":
        y = direct_conv(y, kernels[1], (1,) * rank)
    ramp = torch.linspace(-1, 1, y.numel(), dtype=torch.float64).reshape(y.shape)
    grads = torch.autograd.grad((y * ramp).sum(), [x] + kernels)
    y, grad_x = y.detach(), grads[0]
    if data_format == "channels_last":
        y, grad_x, ramp = y.movedim(1, -1), grad_x.movedim(1, -1), ramp.movedim(1, -1)
    return y, [grad_x] + list(grads[1:]), ramp


SINGLE_CHANNEL = [
    # op, rank, spatial, kernel, strides, padding, channels, filters or multiplier
    ("separable", 2, (5, 1), (5, 4), (1, 3), "same", 1, 2),  # found by the random test
    ("conv", 2, (5, 1), (4, 4), (1, 2), "same", 1, 3),
    ("conv", 2, (3, 6), (2, 4), (1, 3), "valid", 1, 2),
    ("conv", 3, (7, 5, 6), (2, 3, 4), (3, 1, 3), "valid", 1, 2),
    ("depthwise", 2, (7, 5), (1, 4), (1, 3), "valid", 1, 1),
    ("depthwise", 3, (4, 4, 3), (1, 3, 3), (2, 1, 2), "valid", 1, 2),
    ("separable", 3, (2, 7, 2), (2, 1, 2), (2, 1, 3), "same", 1, 1),
    ("conv", 2, (4, 7), (4, 3), (1, 1), "same", 3, 1),  # one filter: backward raised
    ("conv", 1, (7,), (2,), (2,), "valid", 3, 1),
    ("conv", 2, (1, 1), (1, 4), (1, 2), "same", 2, 1),
]


@pytest.mark.parametrize("op, rank, spatial, k, strides, padding, channels, last",
                         SINGLE_CHANNEL)
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_single_channel_axes_give_right_values_and_gradients(
        op, rank, spatial, k, strides, padding, channels, last, fmt):
    rng = np.random.default_rng(7)
    shape = (2, *spatial, channels) if fmt == "channels_last" else (2, channels, *spatial)
    x = rng.standard_normal(shape)
    if op == "conv":
        weights = [rng.standard_normal(k + (channels, last))]
    else:
        weights = [rng.standard_normal(k + (channels, last))]
        if op == "separable":
            weights.append(rng.standard_normal((1,) * rank + (channels * last, 2)))
    expected, expected_grads, ramp = float64_reference(op, x, weights, strides, padding, fmt)
    tensors = [torch.tensor(a, dtype=torch.float32, requires_grad=True) for a in [x] + weights]
    out = ours(op, tensors[0], tensors[1:], None, strides=strides, padding=padding,
               data_format=fmt)
    grads = torch.autograd.grad((out * ramp.float()).sum(), tensors)
    assert rel_err(out, expected) < 1e-5
    for grad, want in zip(grads, expected_grads):
        assert rel_err(grad, want) < 1e-5
