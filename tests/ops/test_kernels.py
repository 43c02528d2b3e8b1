"""sepconv's C kernels: every code path (avx512, avx2, portable — forced,
as on a machine without AVX-512) against a float64 PyTorch reference over
kernel sizes, strides, dilations, 'same'/'valid' padding (asymmetric
included), depth multipliers, channel and filter counts that are not
multiples of the vector width, bias, activations; and the switches."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

import sepconv
from sepconv.ops import kernels
from sepconv.ops.kernels import build
from sepconv.ops.shapes import padding_pair
from keras_reference import kernels_on


def _available_isas():
    cpu = build.load("portable", "cpu")
    return [isa for isa in ("avx512", "avx2", "portable") if cpu.sc_cpu_supports(isa.encode())]


ISAS = _available_isas()


def depthwise_reference(x, depthwise, bias, strides, dilation, padding):
    """The depthwise step (Keras's channel order c * M + m, plus ``bias``) in
    float64 on explicitly padded NCHW input; returns NCHW."""
    x64 = x.double().permute(0, 3, 1, 2)
    pads = []
    for n, k, s, d in zip(x.shape[1:3], depthwise.shape[:2], strides, dilation):
        pads.append(padding_pair(n, k, s, padding, d))
    x64 = F.pad(x64, [*pads[1], *pads[0]])
    kh, kw, c, m = depthwise.shape
    weight = depthwise.double().permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw)
    return F.conv2d(x64, weight, None if bias is None else bias.double(), stride=strides,
                    dilation=dilation, groups=c)


def activate(out, activation):
    if activation == "relu":
        return torch.where(out < 0, 0.0, out)
    if activation == "relu6":
        return torch.where(out < 0, 0.0, torch.where(out > 6, 6.0, out))
    return out


def reference(x, depthwise, pointwise, bias, strides, dilation, padding, activation=None):
    """Depthwise then 1x1, in float64; returns NHWC."""
    mid = depthwise_reference(x, depthwise, None, strides, dilation, padding)
    out = F.conv2d(mid, pointwise.double().t()[:, :, None, None],
                   None if bias is None else bias.double())
    return activate(out, activation).permute(0, 2, 3, 1)


def depthwise_only_reference(x, depthwise, bias, strides, dilation, padding, activation=None):
    """Depthwise + bias + activation, in float64; returns NHWC."""
    out = depthwise_reference(x, depthwise, bias, strides, dilation, padding)
    return activate(out, activation).permute(0, 2, 3, 1)


def run(lib, x, depthwise, pointwise, bias, strides, dilation, padding, activation=None):
    return kernels.separable_conv2d(x, depthwise, pointwise, bias, strides, dilation, padding,
                                    activation=activation, lib=lib)


# 3x3 with horizontal stride 1 and dilation 1 take the row kernels (when C
# >= the vector length), in the forward passes and in the backward's
# recompute and input gradient: multipliers, a last partial vector, edge
# columns on both sides of one pixel pair, rows missing above or below.
ROW_KERNEL_CASES = {
    "row kernel, multiplier 2": (2, 6, 7, 20, (3, 3), 2, 24, (1, 1), (1, 1), "same"),
    "row kernel, valid": (1, 5, 5, 16, (3, 3), 1, 16, (1, 1), (1, 1), "valid"),
    "row kernel, 2x2 input": (1, 2, 2, 17, (3, 3), 1, 8, (1, 1), (1, 1), "same"),
    "row kernel, one row": (1, 1, 4, 16, (3, 3), 1, 8, (1, 1), (1, 1), "same"),
    "row kernel, vertical stride and dilation": (1, 9, 6, 24, (3, 3), 1, 8, (2, 1), (2, 1), "same"),
}

CASES = {
    # name: (N, H, W, C, kernel, M, F, strides, dilation, padding)
    "3x3 same": (2, 7, 9, 5, (3, 3), 1, 11, (1, 1), (1, 1), "same"),
    "even input stride 2 (asymmetric same)": (2, 8, 8, 20, (3, 3), 3, 40, (2, 2), (1, 1), "same"),
    "valid dilated": (1, 10, 11, 33, (3, 3), 2, 70, (1, 1), (2, 2), "valid"),
    "even kernel same": (3, 6, 7, 16, (2, 4), 1, 32, (1, 1), (1, 1), "same"),
    "5x3 stride (2, 1)": (1, 9, 8, 17, (5, 3), 2, 33, (2, 1), (1, 1), "same"),
    "1x1 kernel": (2, 4, 4, 64, (1, 1), 1, 1, (1, 1), (1, 1), "valid"),
    "7x7 on a 3x3 input": (1, 3, 3, 8, (7, 7), 1, 7, (1, 1), (1, 1), "same"),
    "9x9 kernel (over 64 taps)": (1, 10, 10, 3, (9, 9), 2, 5, (1, 1), (1, 1), "same"),
    "one channel, many filters": (2, 8, 8, 1, (3, 3), 8, 48, (1, 1), (1, 1), "same"),
    "wide": (1, 5, 6, 130, (3, 3), 1, 150, (1, 1), (1, 1), "same"),
    # K = 256: tiles of 192 output pixels, which end in the middle of a row of 37.
    "tiles split rows": (1, 20, 37, 256, (3, 3), 1, 40, (1, 1), (1, 1), "same"),
    **ROW_KERNEL_CASES,
}


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", list(CASES))
def test_fused_forward_matches_the_reference(isa, case):
    n, h, w, c, kernel, m, f, strides, dilation, padding = CASES[case]
    generator = torch.Generator().manual_seed(hash(case) % 2**31)
    x = torch.randn(n, h, w, c, generator=generator)
    depthwise = torch.randn(*kernel, c, m, generator=generator)
    pointwise = torch.randn(c * m, f, generator=generator)
    bias = torch.randn(f, generator=generator)
    expected = reference(x, depthwise, pointwise, bias, strides, dilation, padding)
    got = run(build.load(isa), x, depthwise, pointwise, bias, strides, dilation, padding)
    assert got.shape == expected.shape
    # float32 rounding of sums of c * m * taps products of unit-variance values
    scale = (x.abs().max() * depthwise.abs().max() * pointwise.abs().max()).item()
    tolerance = 4e-7 * scale * kernel[0] * kernel[1] * c * m
    torch.testing.assert_close(got.double(), expected, rtol=0, atol=tolerance)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", list(CASES))
def test_depthwise_forward_matches_the_reference(isa, case):
    n, h, w, c, kernel, m, _, strides, dilation, padding = CASES[case]
    generator = torch.Generator().manual_seed(hash(case) % 2**31)
    x = torch.randn(n, h, w, c, generator=generator)
    depthwise = torch.randn(*kernel, c, m, generator=generator)
    bias = torch.randn(c * m, generator=generator)
    expected = depthwise_only_reference(x, depthwise, bias, strides, dilation, padding)
    got = kernels.depthwise_conv2d(x, depthwise, bias, strides, dilation, padding,
                                   lib=build.load(isa))
    assert got.shape == expected.shape
    scale = (x.abs().max() * depthwise.abs().max()).item() + bias.abs().max().item()
    torch.testing.assert_close(got.double(), expected, rtol=0,
                               atol=4e-7 * scale * kernel[0] * kernel[1])


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("activation", ["relu", "relu6"])
def test_activation_epilogue_and_nan(isa, activation):
    x = torch.randn(2, 6, 6, 4) * 4
    x[0, 2, 2, 1] = float("nan")
    depthwise, pointwise, bias = torch.randn(3, 3, 4, 1), torch.randn(4, 35), torch.randn(35)
    lib = build.load(isa)
    for got, expected in (
            (run(lib, x, depthwise, pointwise, bias, (1, 1), (1, 1), "same", activation),
             reference(x, depthwise, pointwise, bias, (1, 1), (1, 1), "same", activation)),
            (kernels.depthwise_conv2d(x, depthwise, bias[:4], (1, 1), (1, 1), "same",
                                      activation, lib=lib),
             depthwise_only_reference(x, depthwise, bias[:4], (1, 1), (1, 1), "same",
                                      activation))):
        assert torch.equal(got.isnan(), expected.isnan()) and got.isnan().any()
        torch.testing.assert_close(got.double().nan_to_num(), expected.nan_to_num(),
                                   rtol=0, atol=1e-4)


def test_outputs_over_4_mib_streamed_past_the_caches():
    """Large outputs take the non-temporal store path of both kernels."""
    x = torch.randn(2, 64, 64, 544)
    depthwise, pointwise, bias = torch.randn(3, 3, 544, 1), torch.randn(544, 560), torch.randn(560)
    got = kernels.depthwise_conv2d(x, depthwise, bias[:544], (1, 1), (1, 1), "same", "relu")
    assert got.numel() * 4 > 4 << 20
    torch.testing.assert_close(
        got.double(), depthwise_only_reference(x, depthwise, bias[:544], (1, 1), (1, 1), "same",
                                               "relu"), rtol=0, atol=1e-4)
    x, depthwise = x[..., :16].contiguous(), depthwise[..., :16, :].contiguous()
    got = run(None, x, depthwise, pointwise[:16], bias, (1, 1), (1, 1), "same")
    assert got.numel() * 4 > 4 << 20
    torch.testing.assert_close(
        got.double(), reference(x, depthwise, pointwise[:16], bias, (1, 1), (1, 1), "same"),
        rtol=0, atol=1e-3)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_streamed_depthwise_output_with_misaligned_pixels(isa, padding):
    """28 channels are 112 bytes, not whole vectors: a large output streams
    the groups of pixels that are (two or four), the pixels at the rows'
    edges going through the cache; an odd number of output pixels leaves a
    short last group."""
    generator = torch.Generator().manual_seed(28)
    x = torch.randn(3, 131, 129, 28, generator=generator)
    depthwise = torch.randn(3, 3, 28, 1, generator=generator)
    bias = torch.randn(28, generator=generator)
    got = kernels.depthwise_conv2d(x, depthwise, bias, (1, 1), (1, 1), padding, "relu6",
                                   lib=build.load(isa))
    assert got.numel() * 4 > 4 << 20 and got.shape[0] * got.shape[1] * got.shape[2] % 2 == 1
    expected = depthwise_only_reference(x, depthwise, bias, (1, 1), (1, 1), padding, "relu6")
    torch.testing.assert_close(got.double(), expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("isa", ISAS)
def test_no_bias_and_one_thread(isa, monkeypatch):
    x, depthwise, pointwise = torch.randn(3, 5, 5, 6), torch.randn(3, 3, 6, 2), torch.randn(12, 9)
    expected = reference(x, depthwise, pointwise, None, (1, 1), (1, 1), "same")
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    got = run(build.load(isa), x, depthwise, pointwise, None, (1, 1), (1, 1), "same")
    torch.testing.assert_close(got.double(), expected, rtol=0, atol=1e-4)


def test_geometry_is_reused_per_call_signature_and_thread_count(monkeypatch):
    monkeypatch.setattr(kernels, "_GEOMETRIES", {})
    x, depthwise = torch.randn(2, 7, 6, 3), torch.randn(3, 3, 3, 2)
    geometry, out_shape = kernels._geometry(x, depthwise, 6, (2, 1), [1, 1], "same", None)
    assert out_shape == (2, 4, 6, 6) and (geometry.out_h, geometry.pad_top) == (4, 1)
    again, _ = kernels._geometry(x, depthwise, 6, [2, 1], (1, 1), "same", None)
    assert again is geometry  # lists and tuples name the same call
    threads = torch.get_num_threads()
    assert geometry.threads == threads
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads + 1)
    more, _ = kernels._geometry(x, depthwise, 6, (2, 1), (1, 1), "same", None)
    assert more is not geometry and more.threads == threads + 1
    monkeypatch.setattr(kernels, "_GEOMETRIES_KEPT", 1)
    kernels._geometry(x, depthwise, 6, (1, 1), (1, 1), "valid", None)
    assert len(kernels._GEOMETRIES) == 1  # bounded: cleared when full


def layer_pair():
    layer = sepconv.layers.SeparableConv2D(8, 3, padding="same", depth_multiplier=2)
    x = torch.randn(2, 9, 9, 5)
    return layer, x


@pytest.fixture
def switched_on():
    with kernels_on():
        yield


def test_kernels_are_on_by_default():
    with kernels.switched(None):
        assert sepconv.config.kernels_enabled()


def test_ops_dispatch_uses_the_kernel_with_and_without_gradients(monkeypatch, switched_on):
    """Without gradients the kernel is called directly; with them through its
    operator, whose backward runs the backward kernel."""
    layer, x = layer_pair()
    calls = []
    original = kernels.separable_conv2d
    monkeypatch.setattr(kernels, "separable_conv2d",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    with_grad = layer(x)
    assert calls == [1] and "sepconv_separable_conv2d" in type(with_grad.grad_fn).__name__
    with torch.no_grad():
        inference = layer(x)
    assert calls == [1, 1] and inference.grad_fn is None
    torch.testing.assert_close(inference, with_grad.detach(), rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        layer(x.permute(0, 2, 1, 3))  # not laid out densely: PyTorch's path
    assert calls == [1, 1]


def test_depthwise_layer_dispatches_to_its_kernel(monkeypatch, switched_on):
    layer = sepconv.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2,
                                           activation="relu")
    x = torch.randn(2, 9, 9, 5)
    calls = []
    original = kernels.depthwise_conv2d
    monkeypatch.setattr(kernels, "depthwise_conv2d",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    with_grad = layer(x)
    assert calls == [1] and with_grad.requires_grad
    with torch.no_grad():
        inference = layer(x)
    assert calls == [1, 1]
    torch.testing.assert_close(inference, with_grad.detach(), rtol=1e-5, atol=1e-5)


def test_depthwise_kernel_for_other_channels_is_an_error_on_the_kernel_path(switched_on):
    """Checked before dispatch: the C kernels would read past the kernel."""
    x = torch.randn(1, 5, 5, 4)
    depthwise = torch.randn(3, 3, 2, 2)  # 2 input channels, not 4
    with torch.no_grad():
        with pytest.raises(ValueError, match="kernel.shape\\[-2\\]\\) must equal the input "
                                             "channels. Received: inputs.shape=\\(1, 5, 5, 4\\)"):
            sepconv.ops.separable_conv(x, depthwise, torch.randn(1, 1, 8, 3), padding="same")
        with pytest.raises(ValueError, match="must equal the input channels"):
            sepconv.ops.depthwise_conv(x, depthwise, padding="same")


def test_switching_the_kernels_off(switched_on):
    layer, x = layer_pair()
    with torch.no_grad():
        fused = layer(x)
        with kernels.switched(False):
            sepconv.config.set_kernels_enabled(False)
            assert not sepconv.config.kernels_enabled()
            plain = layer(x)
    torch.testing.assert_close(fused, plain, rtol=1e-5, atol=1e-5)
    with pytest.raises(TypeError, match="Received: enabled=1"):
        sepconv.config.set_kernels_enabled(1)


SCRIPT = """
import torch, sepconv
from sepconv.ops import kernels
layer = sepconv.layers.SeparableConv2D(4, 3, padding="same")
with torch.no_grad():
    layer(torch.ones(1, 5, 5, 3))
print(kernels.enabled(), kernels.isa())
"""


@pytest.mark.parametrize("environment, expected", [
    ({"SEPCONV_KERNELS": ""}, "True"),
    ({"SEPCONV_KERNELS": "0"}, "False"),
    ({"SEPCONV_KERNELS": "1", "SEPCONV_KERNEL_ISA": "portable"}, "True portable"),
])
def test_environment_switches(environment, expected, tmp_path):
    env = dict(os.environ, **environment)
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(expected)


def test_unknown_forced_isa_is_an_error(monkeypatch):
    monkeypatch.setenv("SEPCONV_KERNEL_ISA", "sse9")
    with pytest.raises(ValueError, match="Received: SEPCONV_KERNEL_ISA='sse9'"):
        kernels.requested_isa()


def test_pthread_build_where_torch_does_not_run_openmp(tmp_path, monkeypatch):
    """Without torch's OpenMP pool to share, the loops run on pthreads."""
    monkeypatch.setenv("SEPCONV_KERNEL_CACHE", str(tmp_path))
    monkeypatch.setattr(build, "_torch_runs_openmp", lambda: False)
    assert "-fopenmp" not in build._flags("portable")
    lib = build.load("portable")
    x, depthwise, pointwise, bias = (torch.randn(3, 9, 9, 8), torch.randn(3, 3, 8, 1),
                                     torch.randn(8, 20), torch.randn(20))
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    got = run(lib, x, depthwise, pointwise, bias, (1, 1), (1, 1), "same")
    torch.testing.assert_close(got.double(), reference(x, depthwise, pointwise, bias, (1, 1),
                                                       (1, 1), "same"), rtol=0, atol=1e-4)


def test_build_is_cached_and_atomic(tmp_path, monkeypatch):
    monkeypatch.setenv("SEPCONV_KERNEL_CACHE", str(tmp_path))
    first = build.load("portable")
    files = sorted(os.listdir(tmp_path))
    assert len(files) == 1 and files[0].startswith("libsepconv_convolutions_portable_")
    build.load("portable")
    assert sorted(os.listdir(tmp_path)) == files  # no rebuild, no leftovers
    assert first.sc_isa() == b"portable"


def test_missing_compiler_is_a_build_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SEPCONV_KERNEL_CACHE", str(tmp_path))
    monkeypatch.setenv("CC", "no-such-compiler")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(build.KernelBuildError, match="No C compiler"):
        build.load("portable")
