"""The C backward kernels (``separable_conv2d_backward``,
``depthwise_conv2d_backward``) on every code path the CPU runs, against
float64 autograd through the float64 references of test_kernels: every
gradient over kernel sizes, strides, dilations, 'same' (asymmetric) and
'valid' padding, depth multipliers, channel and filter counts that are not
multiples of the vector width, tiny outputs, and tiles and images split
across threads."""

from __future__ import annotations

import itertools

import zlib

import pytest
import torch

from sepconv.ops import kernels
from sepconv.ops.kernels import build
from test_kernels import ISAS, ROW_KERNEL_CASES, depthwise_only_reference, reference

CASES = {
    # name: (N, H, W, C, kernel, M, F, strides, dilation, padding)
    "3x3 same": (2, 7, 9, 5, (3, 3), 1, 11, (1, 1), (1, 1), "same"),
    "multiplier 2, stride 2, asymmetric same": (2, 8, 8, 20, (3, 3), 2, 40, (2, 2), (1, 1),
                                                "same"),
    "multiplier 3, 5x5": (1, 9, 8, 6, (5, 5), 3, 19, (1, 1), (1, 1), "same"),
    "valid dilated": (1, 10, 11, 33, (3, 3), 2, 70, (1, 1), (2, 2), "valid"),
    "5x3 stride (2, 1), C 17, F 33": (1, 9, 8, 17, (5, 3), 2, 33, (2, 1), (1, 1), "same"),
    "stride 3 on 8, dilation 2": (2, 8, 8, 7, (3, 3), 1, 9, (3, 3), (2, 2), "same"),
    "even kernel same": (3, 6, 7, 16, (2, 4), 1, 32, (1, 1), (1, 1), "same"),
    "1x1 kernel": (2, 4, 4, 64, (1, 1), 1, 1, (1, 1), (1, 1), "valid"),
    "1x1 kernel, stride 2 (inputs no tap reads)": (2, 5, 6, 9, (1, 1), 2, 3, (2, 2), (1, 1),
                                                   "valid"),
    "one channel, many filters": (2, 8, 8, 1, (3, 3), 8, 48, (1, 1), (1, 1), "same"),
    "batch 1, output 1x1 (valid)": (1, 3, 3, 4, (3, 3), 1, 5, (1, 1), (1, 1), "valid"),
    "output 1x1 (same, stride 3)": (1, 2, 3, 3, (3, 3), 2, 2, (3, 3), (1, 1), "same"),
    "7x7 on a 3x3 input": (1, 3, 3, 8, (7, 7), 1, 7, (1, 1), (1, 1), "same"),
    "wide": (1, 5, 6, 130, (3, 3), 1, 150, (1, 1), (1, 1), "same"),
    # 512-byte pixels: the kernel gradient pixel by pixel, not row by row.
    "128 channels, multiplier 2": (1, 5, 6, 128, (3, 3), 2, 16, (1, 1), (1, 1), "same"),
    **ROW_KERNEL_CASES,
}
# K = 256: tiles of a few hundred output pixels, three per image of 20 x 37
# (ending in the middle of rows), six in all over three threads (the second
# thread gets the last tile of the first image and the first of the second).
SPLIT = (2, 20, 37, 128, (3, 3), 2, 40, (1, 1), (1, 1), "same")


def tensors(case, seed):
    n, h, w, c, kernel, m, f, *_ = case
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, h, w, c, generator=generator)
    depthwise = torch.randn(*kernel, c, m, generator=generator)
    pointwise = torch.randn(c * m, f, generator=generator)
    return x, depthwise, pointwise, generator


def assert_gradient_close(got, expected, name):
    """float32 sums against float64: a relative part, and an absolute part
    scaled to the gradient's magnitude (an element can be small through
    cancellation of large terms)."""
    assert got is not None and got.shape == expected.shape, name
    scale = expected.abs().max().item() or 1.0
    torch.testing.assert_close(got.double(), expected, rtol=1e-4, atol=2e-5 * scale,
                               msg=lambda m: f"{name}: {m}")


def separable_expected(x, depthwise, pointwise, grad_out, strides, dilation, padding):
    leaves = [t.double().requires_grad_() for t in
              (x, depthwise, pointwise, torch.zeros(pointwise.shape[1]))]
    out = reference(*leaves, strides, dilation, padding)
    return torch.autograd.grad((out * grad_out.double()).sum(), leaves)


def depthwise_expected(x, depthwise, grad_out, strides, dilation, padding):
    leaves = [t.double().requires_grad_() for t in
              (x, depthwise, torch.zeros(depthwise.shape[2] * depthwise.shape[3]))]
    out = depthwise_only_reference(*leaves, strides, dilation, padding)
    return torch.autograd.grad((out * grad_out.double()).sum(), leaves)


def check_separable(lib, case, seed):
    *_, strides, dilation, padding = case
    x, depthwise, pointwise, generator = tensors(case, seed)
    out_shape = reference(x, depthwise, pointwise, None, strides, dilation, padding).shape
    grad_out = torch.randn(*out_shape, generator=generator)
    expected = separable_expected(x, depthwise, pointwise, grad_out, strides, dilation, padding)
    got = kernels.separable_conv2d_backward(x, depthwise, pointwise, grad_out, strides,
                                            dilation, padding, lib=lib)
    for name, g, e in zip(("grad_x", "grad_depthwise", "grad_pointwise", "grad_bias"), got,
                          expected):
        assert_gradient_close(g, e, name)
    return got


def check_depthwise(lib, case, seed):
    *_, strides, dilation, padding = case
    x, depthwise, _, generator = tensors(case, seed)
    out_shape = depthwise_only_reference(x, depthwise, None, strides, dilation, padding).shape
    grad_out = torch.randn(*out_shape, generator=generator)
    expected = depthwise_expected(x, depthwise, grad_out, strides, dilation, padding)
    got = kernels.depthwise_conv2d_backward(x, depthwise, grad_out, strides, dilation, padding,
                                            lib=lib)
    for name, g, e in zip(("grad_x", "grad_kernel", "grad_bias"), got, expected):
        assert_gradient_close(g, e, name)
    return got


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", list(CASES))
def test_separable_backward_matches_float64_autograd(isa, case):
    check_separable(build.load(isa), CASES[case], zlib.crc32(case.encode()))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", list(CASES))
def test_depthwise_backward_matches_float64_autograd(isa, case):
    check_depthwise(build.load(isa), CASES[case], zlib.crc32(case.encode()))


@pytest.mark.parametrize("isa", ISAS)
def test_tiles_and_images_split_across_three_threads(isa, monkeypatch):
    """Several tiles per image, chunks of tiles crossing images; the partial
    sums of the three chunks add up in a fixed order, so a second run gives
    the same bits."""
    lib = build.load(isa)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    first = check_separable(lib, SPLIT, 7)
    again = check_separable(lib, SPLIT, 7)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    first = check_depthwise(lib, SPLIT, 8)
    again = check_depthwise(lib, SPLIT, 8)
    assert all(torch.equal(a, b) for a, b in zip(first, again))


def test_pthread_build_splits_the_same_way(tmp_path, monkeypatch):
    """Without torch's OpenMP pool the chunks run on pthreads."""
    monkeypatch.setenv("SEPCONV_KERNEL_CACHE", str(tmp_path))
    monkeypatch.setattr(build, "_torch_runs_openmp", lambda: False)
    assert "-fopenmp" not in build._flags("portable")
    lib = build.load("portable")
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    check_separable(lib, SPLIT, 9)
    check_depthwise(lib, SPLIT, 10)


@pytest.mark.parametrize("isa", ISAS)
def test_unwanted_gradients(isa):
    """Every subset of the gradients asked for: the others come back None
    (and are not computed), the wanted ones bit-identical to those of a full
    call (the same sums in the same order)."""
    lib = build.load(isa)
    for case in (CASES["multiplier 2, stride 2, asymmetric same"], CASES["3x3 same"]):
        *_, strides, dilation, padding = case
        x, depthwise, pointwise, generator = tensors(case, 3)
        out = reference(x, depthwise, pointwise, None, strides, dilation, padding)
        grad_out = torch.randn(*out.shape, generator=generator)
        full = kernels.separable_conv2d_backward(x, depthwise, pointwise, grad_out, strides,
                                                 dilation, padding, lib=lib)
        for wanted in itertools.product([False, True], repeat=4):
            flags = dict(zip(("needs_input_grad", "needs_depthwise_grad",
                              "needs_pointwise_grad", "needs_bias_grad"), wanted))
            part = kernels.separable_conv2d_backward(x, depthwise, pointwise, grad_out, strides,
                                                     dilation, padding, lib=lib, **flags)
            for got, expected, want in zip(part, full, wanted):
                assert (got is None) != want and (got is None or torch.equal(got, expected))

        out = depthwise_only_reference(x, depthwise, None, strides, dilation, padding)
        grad_out = torch.randn(*out.shape, generator=generator)
        full = kernels.depthwise_conv2d_backward(x, depthwise, grad_out, strides, dilation,
                                                 padding, lib=lib)
        for wanted in itertools.product([False, True], repeat=3):
            flags = dict(zip(("needs_input_grad", "needs_kernel_grad", "needs_bias_grad"),
                             wanted))
            part = kernels.depthwise_conv2d_backward(x, depthwise, grad_out, strides, dilation,
                                                     padding, lib=lib, **flags)
            for got, expected, want in zip(part, full, wanted):
                assert (got is None) != want and (got is None or torch.equal(got, expected))


@pytest.mark.parametrize("isa", ISAS)
def test_no_output_pixels_gives_zero_gradients(isa):
    """'valid' with a kernel larger than the input: no output, so nothing
    depends on the input or the weights."""
    lib = build.load(isa)
    x = torch.randn(2, 2, 2, 3)
    depthwise, pointwise = torch.randn(3, 3, 3, 2), torch.randn(6, 5)
    grads = kernels.separable_conv2d_backward(x, depthwise, pointwise, torch.zeros(2, 0, 0, 5),
                                              (1, 1), (1, 1), "valid", lib=lib)
    assert [tuple(g.shape) for g in grads] == [(2, 2, 2, 3), (3, 3, 3, 2), (6, 5), (5,)]
    assert all(torch.equal(g, torch.zeros_like(g)) for g in grads)
    grads = kernels.depthwise_conv2d_backward(x, depthwise, torch.zeros(2, 0, 0, 6), (1, 1),
                                              (1, 1), "valid", lib=lib)
    assert [tuple(g.shape) for g in grads] == [(2, 2, 2, 3), (3, 3, 3, 2), (6,)]
    assert all(torch.equal(g, torch.zeros_like(g)) for g in grads)


def test_non_contiguous_grad_out():
    case = CASES["3x3 same"]
    x, depthwise, pointwise, generator = tensors(case, 5)
    grad_out = torch.randn(2, 9, 7, 11, generator=generator).transpose(1, 2)
    expected = separable_expected(x, depthwise, pointwise, grad_out, (1, 1), (1, 1), "same")
    got = kernels.separable_conv2d_backward(x, depthwise, pointwise, grad_out, (1, 1), (1, 1),
                                            "same")
    for name, g, e in zip("x dw pw b".split(), got, expected):
        assert_gradient_close(g, e, name)


def test_grad_out_of_another_shape_is_an_error():
    x, depthwise, pointwise = torch.randn(1, 5, 5, 3), torch.randn(3, 3, 3, 1), torch.randn(3, 4)
    with pytest.raises(ValueError, match=r"Received: grad_out.shape=\(1, 5, 5, 3\)"):
        kernels.separable_conv2d_backward(x, depthwise, pointwise, torch.zeros(1, 5, 5, 3),
                                          (1, 1), (1, 1), "same")
    with pytest.raises(ValueError, match=r"\(1, 3, 3, 3\). Received: grad_out.shape"):
        kernels.depthwise_conv2d_backward(x, depthwise, torch.zeros(1, 5, 5, 3), (1, 1), (1, 1),
                                          "valid")
