"""sepconv.ops.pooling against a brute-force NumPy reference (TensorFlow's
definition, tests/pooling_reference.py) and against keras.ops (torch backend).

Keras's torch backend is the reference wherever it computes TensorFlow's
result: max pooling always, average pooling with 'valid' or symmetric 'same'
padding. For average pooling with asymmetric 'same' padding it counts
replicated edge values (Keras's own tests skip that case on torch); there the
NumPy reference decides, and one test pins Keras's deviation.
"""

from __future__ import annotations

import itertools
import re

import keras
import numpy as np
import pytest
import torch
from keras.src.ops.operation_utils import compute_pooling_output_shape
from torch.profiler import profile

from keras_reference import GRAD_RTOL, OUTPUT_RTOL, assert_close
from pooling_reference import keras_torch_matches_tf, pool, replicate_average_pool
from sepconv.ops import pooling

OPS = {"max": pooling.max_pool, "average": pooling.average_pool}
KERAS_OPS = {"max": keras.ops.max_pool, "average": keras.ops.average_pool}
FORMATS = ("channels_last", "channels_first")


def tup(value, rank):
    return (value,) * rank if isinstance(value, int) else tuple(value)


def sample(rank, spatial, data_format, channels=3, batch=2, seed=0):
    """Standard-normal float32 input: no ties within a window (max pooling's
    gradient is then unambiguous)."""
    spatial = tup(spatial, rank)[:rank]
    shape = ((batch,) + spatial + (channels,) if data_format == "channels_last"
             else (batch, channels) + spatial)
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def run(mode, x, pool_size, strides, padding, data_format, upstream=None):
    """Our output (and the gradient of sum(out * upstream) w.r.t. x) as NumPy."""
    xt = torch.tensor(x, requires_grad=upstream is not None)
    out = OPS[mode](xt, pool_size, strides, padding, data_format)
    if upstream is None:
        return out.detach().numpy()
    (grad,) = torch.autograd.grad(out, xt, torch.tensor(upstream))
    return out.detach().numpy(), grad.numpy()


# ------------------------------------------------------------- exhaustive 1D

def test_1d_every_small_geometry_matches_reference():
    """Every n <= 11, pool <= 5, stride <= 5, both paddings, modes and data
    formats: output shape and values, and the input gradient, equal
    TensorFlow's definition."""
    failures = []
    for n, k, s, fmt in itertools.product(range(1, 12), range(1, 6), range(1, 6), FORMATS):
        x = sample(1, n, fmt, seed=n * 100 + k * 10 + s)
        for padding, mode in itertools.product(("valid", "same"), OPS):
            if padding == "valid" and n < k:
                continue
            shape = pool(x, k, s, padding, mode, fmt).shape
            r = np.random.default_rng(n).standard_normal(shape).astype(np.float32)
            expected, expected_grad = pool(x, k, s, padding, mode, fmt, r)
            got = run(mode, x, k, s, padding, fmt)
            if got.shape == expected.shape:
                got, grad = run(mode, x, k, s, padding, fmt, r)
            if got.shape != expected.shape or not (
                np.allclose(got, expected, rtol=1e-6, atol=1e-6)
                and np.allclose(grad, expected_grad, rtol=1e-6, atol=1e-6)
            ):
                failures.append((n, k, s, padding, mode, fmt))
    assert not failures, f"(n, pool, stride, padding, mode, format) that differ: {failures}"


# ------------------------------------------------------ table, ranks 1 to 3
# (spatial sizes, pool_size, strides); per-dimension tuples cut to the rank.
# Comments: TF's 'same' split along dim 0.
GEOMETRIES = [
    ((6, 5, 4), 2, None),                 # default strides; odd sizes floor
    ((7, 6, 5), 3, 1),                    # same: (1, 1)
    ((5, 4, 3), 2, 1),                    # same: (0, 1), stride 1 (dropped first output)
    ((5, 6, 4), 4, 1),                    # same: (1, 2), stride 1
    ((8, 6, 4), 3, 2),                    # same: (0, 1), strided (ceil_mode)
    ((7, 5, 5), 3, 2),                    # same: (1, 1)
    ((7, 5, 3), 2, 2),                    # same: (0, 1)
    ((8, 7, 5), 2, 3),                    # stride > pool; same: clamped (0, 0)
    ((3, 2, 3), 5, 1),                    # same: window larger than the input, (2, 2)
    ((2, 3, 1), 4, 3),                    # same: (1, 2), strided, one output
    ((7, 6, 5), (3, 2, 4), (2, 1, 3)),    # mixed
    ((9, 8, 6), (4, 3, 2), (3, 2, 1)),    # mixed, asymmetric in every dim
]

TABLE = [
    pytest.param(rank, sizes[:rank], tup(k, 3)[:rank],
                 None if s is None else tup(s, 3)[:rank], padding, fmt,
                 id=f"r{rank}-{sizes[:rank]}-k{k}-s{s}-{padding}-{fmt}")
    for rank in (1, 2, 3)
    for sizes, k, s in GEOMETRIES
    for padding in ("valid", "same")
    for fmt in FORMATS
    if padding == "same" or all(n >= kk for n, kk in zip(sizes[:rank], tup(k, 3)[:rank]))
]


@pytest.mark.parametrize("mode", list(OPS))
@pytest.mark.parametrize("rank,spatial,pool_size,strides,padding,fmt", TABLE)
def test_matches_reference_and_keras(mode, rank, spatial, pool_size, strides, padding, fmt):
    x = sample(rank, spatial, fmt)
    expected = pool(x, pool_size, strides, padding, mode, fmt)
    r = np.random.default_rng(1).standard_normal(expected.shape).astype(np.float32)
    expected, expected_grad = pool(x, pool_size, strides, padding, mode, fmt, r)
    got, grad = run(mode, x, pool_size, strides, padding, fmt, r)
    assert_close(got, expected, OUTPUT_RTOL, "output vs NumPy reference")
    assert_close(grad, expected_grad, GRAD_RTOL, "input gradient vs NumPy reference")

    if keras_torch_matches_tf(mode, spatial, pool_size, strides or pool_size, padding):
        xk = torch.tensor(x, requires_grad=True)
        k_out = KERAS_OPS[mode](xk, pool_size, strides, padding, fmt)
        (k_grad,) = torch.autograd.grad(k_out, xk, torch.tensor(r))
        assert_close(got, k_out.detach().numpy(), OUTPUT_RTOL, "output vs keras.ops")
        assert_close(grad, k_grad.numpy(), GRAD_RTOL, "input gradient vs keras.ops")


def test_keras_torch_backend_counts_replicas_for_asymmetric_same_average():
    # Pins the one documented difference: Keras 3.15.1 on torch pads by
    # replicating the edge; TensorFlow (and sepconv) average valid elements only.
    x = sample(2, (8, 5), "channels_last")
    ours = run("average", x, (3, 2), (2, 1), "same", "channels_last")
    theirs = keras.ops.average_pool(torch.tensor(x), (3, 2), (2, 1), "same").numpy()
    assert_close(ours, pool(x, (3, 2), (2, 1), "same", "average", "channels_last"),
                 OUTPUT_RTOL, "TensorFlow's definition")
    assert_close(theirs, replicate_average_pool(x, (3, 2), (2, 1), "channels_last"),
                 OUTPUT_RTOL, "Keras-torch's replicate padding")
    assert not np.allclose(ours, theirs, atol=1e-3)


def test_gradcheck_float64():
    """Analytic gradients against finite differences (independent of any reference)."""
    for mode, rank, fmt in itertools.product(OPS, (1, 2, 3), FORMATS):
        x = torch.tensor(sample(rank, (5, 4, 3), fmt, channels=2, batch=1),
                         dtype=torch.float64, requires_grad=True)
        k, s = tup(2, rank), tup(1, rank)[:-1] + (2,)
        fn = OPS[mode]
        assert torch.autograd.gradcheck(lambda t: fn(t, k, s, "same", fmt), (x,)), (mode, rank)


# -------------------------------------------------------------- layout / copies

def big_copies(fn, numel):
    """Copy-like ops that touched a tensor of at least ``numel`` elements."""
    with profile(record_shapes=True) as prof:
        fn()
    names = ("aten::copy_", "aten::clone", "aten::contiguous", "aten::constant_pad_nd")
    return [(e.name, e.input_shapes) for e in prof.events()
            if e.name in names and e.input_shapes and e.input_shapes[0]
            and int(np.prod(e.input_shapes[0])) >= numel]


@pytest.mark.parametrize("mode", list(OPS))
@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("pool_size,strides,padding", [(2, None, "valid"), (3, 1, "same"),
                                                       (3, 2, "same"), (2, 1, "same")])
def test_channels_last_is_not_copied(mode, rank, pool_size, strides, padding):
    # Even sizes: 'same' with pool 3 stride 2 and pool 2 stride 1 is asymmetric.
    x = torch.randn(2, *({1: 64, 2: 16, 3: 8}[rank],) * rank, 8, requires_grad=True)
    fn = lambda: OPS[mode](x, pool_size, strides, padding)  # noqa: E731
    with torch.no_grad():
        assert big_copies(fn, x.numel() // 8) == []
    out = fn()
    upstream = torch.randn(out.shape)
    grads = []
    backward = big_copies(lambda: grads.extend(torch.autograd.grad(out, x, upstream)),
                          x.numel() // 8)
    if strides == 1 and pool_size == 2 and padding == "same":
        # Stride 1, even window: the output is a view without its first row;
        # the backward zero-pads its gradient (one pad, in the channels_last
        # format, so the pooling backward copies nothing).
        assert [name for name, _ in backward] == ["aten::constant_pad_nd", "aten::copy_"]
    else:
        assert backward == []
        assert out.is_contiguous()  # channels_last output, nothing strided
    assert grads[0].is_contiguous()
    # The detector does see copies: Keras's torch backend copies to NCHW.
    with torch.no_grad():
        assert big_copies(lambda: KERAS_OPS[mode](x, pool_size, strides, padding),
                          x.numel() // 8)


# ------------------------------------------------------------------ shapes

SHAPE_CASES = [
    ((None, 7, 6, 3), 2, None, "valid", "channels_last"),
    ((2, None, 6, 3), 3, 2, "same", "channels_last"),
    ((None, 3, None, None), (2, 3), (1, 2), "valid", "channels_first"),
    ((None, None, 3), 4, 3, "same", "channels_last"),
    ((1, 3, 5, None, 4), (2, 2, 2), 1, "valid", "channels_first"),
    ((4, 9, 8, 7, 2), (3, 2, 4), (2, 3, 1), "same", "channels_last"),
]


@pytest.mark.parametrize("shape,pool_size,strides,padding,fmt", SHAPE_CASES)
def test_output_shape_matches_keras(shape, pool_size, strides, padding, fmt):
    rank = len(shape) - 2
    expected = compute_pooling_output_shape(
        shape, tup(pool_size, rank), None if strides is None else tup(strides, rank),
        padding, fmt)
    assert pooling.pooling_output_shape(shape, pool_size, strides, padding, fmt) == expected


def test_output_shape_equals_the_computed_one():
    for (rank, spatial, k, s, padding, fmt) in (p.values for p in TABLE):
        x = torch.zeros(sample(rank, spatial, fmt).shape)
        assert tuple(OPS["max"](x, k, s, padding, fmt).shape) == \
            pooling.pooling_output_shape(x.shape, k, s, padding, fmt)


# ------------------------------------------------------------------ global

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_global_pools_match_keras(rank, keepdims, fmt):
    x = sample(rank, (5, 4, 3), fmt, seed=rank)
    axes = tuple(range(1, rank + 1)) if fmt == "channels_last" else tuple(range(2, rank + 2))
    for ours, theirs in ((pooling.global_average_pool, keras.ops.mean),
                         (pooling.global_max_pool, keras.ops.max)):
        xt, xk = torch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        got = ours(xt, fmt, keepdims)
        expected = theirs(xk, axis=axes, keepdims=keepdims)
        assert_close(got.detach().numpy(), expected.detach().numpy(), OUTPUT_RTOL, "output")
        r = torch.randn(got.shape)
        (g,) = torch.autograd.grad(got, xt, r)
        (gk,) = torch.autograd.grad(expected, xk, r)
        assert_close(g.numpy(), gk.numpy(), GRAD_RTOL, "gradient")


def test_global_average_with_mask():
    x = sample(1, 6, "channels_last")
    mask = np.array([[1, 1, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0]], dtype=bool)
    got = pooling.global_average_pool(torch.tensor(x), mask=torch.tensor(mask)).numpy()
    np.testing.assert_allclose(got[0], x[0][mask[0]].mean(0), rtol=1e-6)
    assert np.isnan(got[1]).all()  # no kept step: 0 / 0, as in Keras
    cf = pooling.global_average_pool(torch.tensor(x).transpose(1, 2), "channels_first",
                                     keepdims=True, mask=torch.tensor(mask))
    np.testing.assert_allclose(cf[0, :, 0].numpy(), got[0], rtol=1e-6)


def test_global_average_of_integers_is_float32():
    out = pooling.global_average_pool(torch.arange(6).reshape(1, 3, 2))
    assert out.dtype == torch.float32 and out.tolist() == [[2.0, 3.0]]


# ------------------------------------------------------------------ errors

def test_error_cases():
    x = torch.randn(2, 6, 6, 4)
    cases = [
        (lambda: pooling.max_pool(torch.randn(2, 4), 2), r"rank 3, 4 or 5.*inputs.shape=\(2, 4\)"),
        (lambda: pooling.max_pool(torch.randn(1, 2, 2, 2, 2, 2), 2), r"inputs.shape=\(1, 2, 2"),
        (lambda: pooling.average_pool(x, 7),
         r"smaller than the pooling window.*inputs.shape=\(2, 6, 6, 4\), pool_size=\(7, 7\)"),
        (lambda: pooling.max_pool(x, 0), r"pool_size.*Received: pool_size=0"),
        (lambda: pooling.max_pool(x, (2, 2, 2)), r"Received: pool_size=\(2, 2, 2\)"),
        (lambda: pooling.max_pool(x, 2.5), r"Received: pool_size=2.5"),
        (lambda: pooling.max_pool(x, 2, strides=0), r"Received: strides=0"),
        (lambda: pooling.max_pool(x, 2, strides=(1, "a")), r"Received: strides=\(1, 'a'\)"),
        (lambda: pooling.max_pool(x, 2, padding="full"), r"Received: padding='full'"),
        (lambda: pooling.max_pool(x, 2, data_format="nhwc"), r"Received: data_format='nhwc'"),
        (lambda: pooling.global_max_pool(torch.randn(2, 3)), r"inputs.shape=\(2, 3\)"),
        (lambda: pooling.global_average_pool(torch.randn(2, 5, 3), mask=torch.ones(2, 4)),
         r"mask.*Received: mask.shape=\(2, 4\)"),
        (lambda: pooling.pooling_output_shape((2, 1, 1, 3), 2),
         r"Received: input_shape=\(2, 1, 1, 3\), pool_size=\(2, 2\)"),
        (lambda: pooling.pooling_output_shape((2, 3), 2), r"Received: input_shape=\(2, 3\)"),
    ]
    for fn, pattern in cases:
        with pytest.raises(ValueError, match=pattern):
            fn()
    with pytest.raises(TypeError, match=re.escape("Received: inputs.dtype=torch.int64")):
        pooling.average_pool(torch.ones(1, 4, 4, 1, dtype=torch.int64), 2)
    with pytest.raises(TypeError, match="torch.Tensor"):
        pooling.max_pool(x.numpy(), 2)


def test_default_data_format_is_config():
    from sepconv import config

    config.set_image_data_format("channels_first")
    try:
        y = pooling.max_pool(torch.randn(1, 3, 6, 4), 2)
        z = pooling.global_average_pool(torch.randn(1, 3, 6, 4))
    finally:
        config.set_image_data_format("channels_last")
    assert y.shape == (1, 3, 3, 2) and z.shape == (1, 3)
