"""The roofline: the machine's sgemm peak and copy bandwidth, measured in the
run, and per case the FLOPs, the minimum bytes and the bound
max(FLOPs / peak, bytes / bandwidth).

The peak and the bandwidth are measured at the start of the run
(:func:`measure`) and again inside each case's timed rounds (the
:class:`Probes` run interleaved with the contenders, one call each per
round): the machine's speed drifts by tens of percent within minutes, and a
yardstick measured minutes before a case does not describe the conditions
the case ran under. The per-case figures set that case's bound.

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


class Probes:
    """The two yardsticks as zero-argument callables returning the seconds of
    one call (as the contenders' steps, see :mod:`sepbench.timing`), on
    buffers allocated once: ``torch.mm`` of two ``gemm_size``-square float32
    matrices (2*n^3 FLOPs) and ``copy_`` of a ``copy_mib`` MiB buffer into
    another (bytes read plus bytes written), on ``torch.get_num_threads()``
    threads."""

    def __init__(self, gemm_size=2048, copy_mib=256):
        import torch

        self.gemm_size, self.copy_mib = gemm_size, copy_mib
        self._a, self._b = torch.randn(gemm_size, gemm_size), torch.randn(gemm_size, gemm_size)
        self._product = torch.empty(gemm_size, gemm_size)
        self._src = torch.ones(copy_mib * 2**20 // FLOAT_BYTES)
        self._dst = torch.empty_like(self._src)
        self.gemm(), self.copy()  # first touch of the pages, library start-up

    def gemm(self) -> float:
        import torch

        start = time.perf_counter()
        torch.mm(self._a, self._b, out=self._product)
        return time.perf_counter() - start

    def copy(self) -> float:
        start = time.perf_counter()
        self._dst.copy_(self._src)
        return time.perf_counter() - start

    def peak_gflops(self, gemm_ms) -> float:
        """sgemm GFLOP/s of a median ``gemm`` call of ``gemm_ms``."""
        return 2 * self.gemm_size**3 / (gemm_ms * 1e-3) / 1e9

    def copy_gbs(self, copy_ms) -> float:
        """Copy GB/s (read + written) of a median ``copy`` call of ``copy_ms``."""
        return 2 * self.copy_mib * 2**20 / (copy_ms * 1e-3) / 1e9


def _times_ms(fn, repeats):
    return [fn() * 1e3 for _ in range(repeats)]


def measure(probes, repeats=5) -> Roofline:
    """The peak and the bandwidth of ``probes`` (see :class:`Probes`),
    medians of ``repeats`` calls each, one after the other."""
    import torch

    gemm_times = _times_ms(probes.gemm, repeats)
    copy_times = _times_ms(probes.copy, repeats)
    return Roofline(
        peak_gflops=probes.peak_gflops(statistics.median(gemm_times)),
        copy_gbs=probes.copy_gbs(statistics.median(copy_times)),
        threads=torch.get_num_threads(), gemm_size=probes.gemm_size, copy_mib=probes.copy_mib,
        repeats=repeats, gemm_ms=gemm_times, copy_ms=copy_times)
