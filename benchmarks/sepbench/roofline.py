"""The roofline: the machine's sgemm peak and copy bandwidth, measured in the
run, and per case the FLOPs, the minimum bytes and the bound
max(FLOPs / peak, bytes / bandwidth).

Cost model (float32, stride 1 'same', so every output pixel sees all taps;
a multiply-add counts 2 FLOPs, a bias add 1):

* forward FLOPs, P = N*H*W output pixels, k = 3*3 taps:
  separable 2*P*C*k + 2*P*C*F + P*F; depthwise 2*P*C*k + P*C;
  pointwise 2*P*C*F + P*F.
* forward bytes: the input, the weights and the output once each
  (the separable intermediate is assumed to stay in cache).
* forward+backward FLOPs: 3 x forward (the input gradient and the weight
  gradients each cost about one forward).
* forward+backward bytes: 2 x forward: x, weights and grad_out read, the
  output, grad_x and the weight gradients written, each once (grad_out has
  the output's size, grad_x the input's, the weight gradients the weights').
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time

from sepbench.cases import KERNEL_SIZE

FLOAT_BYTES = 4


def flops(case, mode) -> int:
    """Nominal FLOPs of one call of ``case`` in ``mode`` (see the module doc)."""
    pixels = case.n * case.h * case.w
    taps = KERNEL_SIZE * KERNEL_SIZE
    depthwise = 2 * pixels * case.c * taps
    pointwise = 2 * pixels * case.c * case.f + pixels * case.f
    forward = {"separable": depthwise + pointwise,
               "depthwise": depthwise + pixels * case.c,
               "pointwise": pointwise}[case.kind]
    return forward if mode == "forward" else 3 * forward


def min_bytes(case, mode) -> int:
    """Minimum memory traffic of one call (see the module doc)."""
    forward = FLOAT_BYTES * (math.prod(case.input_shape) + case.weight_count()
                             + math.prod(case.output_shape))
    return forward if mode == "forward" else 2 * forward


def bound_ms(flop_count, byte_count, peak_gflops, copy_gbs) -> float:
    """The roofline bound in ms: max(compute time at peak, traffic time at
    copy bandwidth)."""
    return max(flop_count / (peak_gflops * 1e9), byte_count / (copy_gbs * 1e9)) * 1e3


@dataclasses.dataclass
class Roofline:
    """Measured peak figures (medians) and how they were measured."""

    peak_gflops: float
    copy_gbs: float
    threads: int
    gemm_size: int
    copy_mib: int
    repeats: int
    gemm_ms: list
    copy_ms: list


def _median_ms(fn, repeats):
    fn()  # warm-up: first touch of the pages, library start-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), times


def _gemm(size, repeats):
    import torch

    a, b, out = torch.randn(size, size), torch.randn(size, size), torch.empty(size, size)
    return _median_ms(lambda: torch.mm(a, b, out=out), repeats)


def _copy(nbytes, repeats):
    import torch

    src = torch.ones(nbytes // FLOAT_BYTES)
    dst = torch.empty_like(src)
    return _median_ms(lambda: dst.copy_(src), repeats)


def measure(gemm_size=2048, copy_mib=256, repeats=5) -> Roofline:
    """sgemm peak: ``torch.mm`` of two ``gemm_size``-square float32 matrices
    (2*n^3 FLOPs); copy bandwidth: ``copy_`` of a ``copy_mib`` MiB buffer
    into another, counting bytes read plus bytes written. Both on
    ``torch.get_num_threads()`` threads, medians of ``repeats`` calls."""
    import torch

    gemm_ms, gemm_times = _gemm(gemm_size, repeats)
    nbytes = copy_mib * 2**20
    copy_ms, copy_times = _copy(nbytes, repeats)
    return Roofline(
        peak_gflops=2 * gemm_size**3 / (gemm_ms * 1e-3) / 1e9,
        copy_gbs=2 * nbytes / (copy_ms * 1e-3) / 1e9,
        threads=torch.get_num_threads(), gemm_size=gemm_size, copy_mib=copy_mib,
        repeats=repeats, gemm_ms=gemm_times, copy_ms=copy_times)
