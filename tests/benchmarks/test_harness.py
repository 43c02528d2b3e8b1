"""The benchmark harness (benchmarks/bench_separable.py and benchmarks/sepbench):
cost model, roofline arithmetic, timing order, contenders agreeing with Keras,
the TF-Keras worker, and the table/JSON of a tiny run. No timing assertions."""

import json
import math
import os
import sys

import numpy as np
import pytest
import torch

BENCH_DIR = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "benchmarks")
sys.path.insert(0, os.path.abspath(BENCH_DIR))

import bench_separable  # noqa: E402  (an import must not re-exec the process)
import keras  # noqa: E402
from sepbench import report, roofline, timing  # noqa: E402
from sepbench.cases import KINDS, MODES, Case, build_layer  # noqa: E402
from sepbench.contenders import Step, build_all, forward_output, make_data  # noqa: E402
from sepbench.tf_peer import TFKeras  # noqa: E402

import sepconv  # noqa: E402
from sepconv.ops import kernels  # noqa: E402

# N, H, W, C, F chosen unequal so that a swapped axis changes every count.
N, H, W, C, F = 2, 5, 7, 3, 4


@pytest.fixture
def restore_settings():
    threads = torch.get_num_threads()
    with kernels.switched(None):  # the default, and afterwards the switch as it was
        yield
    torch.set_num_threads(threads)


# Hand derivation, P = N*H*W = 70 output pixels, 9 taps, 2 FLOPs per
# multiply-add, 1 per bias add, 4 bytes per float:
#   separable: depthwise 70*3*9 MACs = 1890 -> 3780; pointwise 70*3*4 = 840 MACs
#     -> 1680; bias 70*4 = 280; total 5740. Bytes: x 2*5*7*3 = 210, weights
#     3*3*3*1 + 1*1*3*4 + 4 = 43, y 2*5*7*4 = 280 -> 533 floats = 2132 bytes.
#   depthwise: 3780 + bias 70*3 = 210 -> 3990. Bytes: 210 + (27 + 3) + 210 = 450
#     floats = 1800.
#   pointwise: 1680 + 280 = 1960. Bytes: 210 + (12 + 4) + 280 = 506 floats = 2024.
# forward+backward: 3x the FLOPs, 2x the bytes.
HAND = {"separable": (5740, 2132), "depthwise": (3990, 1800), "pointwise": (1960, 2024)}


@pytest.mark.parametrize("kind", KINDS)
def test_flops_and_bytes_match_the_hand_derivation(kind):
    case = Case(kind, N, H, W, C, F)
    flops, nbytes = HAND[kind]
    assert roofline.flops(case, "forward") == flops
    assert roofline.min_bytes(case, "forward") == nbytes
    assert roofline.flops(case, "forward+backward") == 3 * flops
    assert roofline.min_bytes(case, "forward+backward") == 2 * nbytes


@pytest.mark.parametrize("kind", KINDS)
def test_forward_flops_match_torch_flop_counter_plus_bias(kind):
    """torch's FlopCounterMode counts the convolutions' multiply-adds (2 each)
    and no bias adds; ours adds one FLOP per biased output element."""
    from torch.utils.flop_counter import FlopCounterMode

    case = Case(kind, N, H, W, C, F)
    x, weights, _ = make_data(case)
    module = build_all(case, weights, x, with_keras=False)[0]["torch_nchw"]
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module.fn(module.x)
    bias_adds = N * H * W * case.out_channels
    assert roofline.flops(case, "forward") == counter.get_total_flops() + bias_adds


@pytest.mark.parametrize("kind", KINDS)
def test_weight_shapes_are_keras_layers_weights(kind):
    case = Case(kind, N, H, W, C, F)
    layer = build_layer(keras, case)
    assert [tuple(w.shape) for w in layer.weights] == [s for _, s in case.weight_shapes()]
    assert case.weight_count() == sum(math.prod(w.shape) for w in layer.weights)


def test_bound_is_the_slower_of_compute_and_traffic():
    # 3e9 FLOPs at 100 GFLOP/s = 30 ms; 1e9 bytes at 50 GB/s = 20 ms.
    assert roofline.bound_ms(3e9, 1e9, 100.0, 50.0) == pytest.approx(30.0)
    # 2e9 bytes at 50 GB/s = 40 ms > 30 ms.
    assert roofline.bound_ms(3e9, 2e9, 100.0, 50.0) == pytest.approx(40.0)


def test_summary_fastest_peer_bound_and_bandwidth_fractions():
    case = Case("depthwise", N, H, W, C, F)
    # 3990 FLOPs at 1 GFLOP/s = 0.00399 ms; 1800 bytes at 0.1 GB/s = 0.018 ms:
    # memory-bound, bound 0.018 ms. Ours at 0.036 ms is 2x the bound and moves
    # 1800 bytes / 36 us = 0.05 GB/s, half the copy bandwidth.
    medians = {"ours": 0.036, "torch_nchw": 0.09, "torch_cl": 0.027, "keras_torch": None}
    s = report.summarize(case, "forward", medians, peak_gflops=1.0, copy_gbs=0.1)
    assert s["fastest_peer"] == "torch_cl" and s["fastest_peer_ms"] == 0.027
    assert s["peer_over_ours"] == pytest.approx(0.75)
    assert s["bound_ms"] == pytest.approx(0.018)
    assert s["ours_over_bound"] == pytest.approx(2.0)
    assert s["fraction_of_bound"] == pytest.approx(0.5)
    assert s["ours_gbs"] == pytest.approx(0.05)
    assert s["fraction_of_copy_bandwidth"] == pytest.approx(0.5)
    assert "fraction_of_start_of_run_copy_bandwidth" not in s
    # Against a start-of-run copy bandwidth of 0.2 GB/s, the same 0.05 GB/s is a quarter.
    start = report.summarize(case, "forward", medians, 1.0, 0.1, start_copy_gbs=0.2)
    assert start["fraction_of_start_of_run_copy_bandwidth"] == pytest.approx(0.25)
    assert start["fraction_of_copy_bandwidth"] == pytest.approx(0.5)
    pointwise = report.summarize(Case("pointwise", N, H, W, C, F), "forward",
                                 {"ours": 1.0}, peak_gflops=1.0, copy_gbs=0.1)
    assert pointwise["fastest_peer"] is None and pointwise["peer_over_ours"] is None
    assert "fraction_of_copy_bandwidth" not in pointwise


def test_probes_turn_median_times_into_peak_and_bandwidth():
    probes = roofline.Probes(gemm_size=8, copy_mib=1)
    assert probes.gemm() > 0 and probes.copy() > 0
    # 2 * 8^3 = 1024 FLOPs in 1 us = 1.024 GFLOP/s; 2 MiB moved in 1 ms = 2.097 GB/s.
    assert probes.peak_gflops(1e-3) == pytest.approx(1.024)
    assert probes.copy_gbs(1.0) == pytest.approx(2 * 2**20 / 1e6)
    roof = roofline.measure(repeats=3, probes=probes)
    assert (roof.gemm_size, roof.copy_mib, len(roof.gemm_ms), len(roof.copy_ms)) == (8, 1, 3, 3)


def test_case_roofline_from_the_probes_rounds_or_the_start_of_run():
    probes = roofline.Probes(gemm_size=8, copy_mib=1)
    start = roofline.measure(repeats=1, probes=probes)
    times = {"ours": [1.0], bench_separable.PROBE_GEMM: [2e-3, 1e-3, 4e-3],
             bench_separable.PROBE_COPY: [1.0, 2.0, 0.5]}
    figures = bench_separable._case_roofline(times, probes, start)
    assert times == {"ours": [1.0]}  # the probes are not contenders
    assert figures["peak_gflops"] == pytest.approx(probes.peak_gflops(2e-3))
    assert figures["copy_gbs"] == pytest.approx(probes.copy_gbs(1.0))
    assert figures["measured"] == "in the case's rounds"
    once = bench_separable._case_roofline({"ours": [1.0]}, None, start)
    assert (once["peak_gflops"], once["copy_gbs"]) == (start.peak_gflops, start.copy_gbs)


def test_run_interleaved_shuffles_each_round_and_drops_warmup():
    calls = []

    def step(name):
        def call():
            calls.append(name)
            return len(calls) / 1e3  # seconds = position of the call, in ms
        return call

    steps = {n: step(n) for n in "abcd"}
    times = timing.run_interleaved(steps, repeats=40, warmup=1)
    rounds = [calls[i:i + 4] for i in range(0, len(calls), 4)]
    assert len(rounds) == 41 and all(sorted(r) == list("abcd") for r in rounds)
    # The warm-up round is dropped; each time is the call's position, in ms.
    assert times == {n: [float(i + 1) for i in range(4, len(calls)) if calls[i] == n]
                     for n in "abcd"}
    # No contender always follows the same one (a rotation would: a after d).
    before = {n: {calls[i - 1] for i in range(1, len(calls)) if calls[i] == n} for n in "abcd"}
    assert all(set("abcd") - {n} <= predecessors for n, predecessors in before.items())
    calls_first = list(calls)
    calls.clear()
    timing.run_interleaved(steps, repeats=40, warmup=1)
    assert calls == calls_first  # seeded: the same orders again


@pytest.mark.parametrize("kind", KINDS)
def test_contenders_agree_with_keras(kind, restore_settings):
    """Every in-process contender's forward output and input gradient against
    Keras 3 on its torch backend (same weights, input and upstream gradient);
    ours with the C kernels on."""
    sepconv.config.set_kernels_enabled(True)
    case = Case(kind, N, H, W, C, F)
    x, weights, grad_out = make_data(case)
    found, missing = build_all(case, weights, x)
    assert set(found) == {"ours", "torch_nchw", "torch_cl", "keras_torch"} and not missing
    reference = forward_output(found["keras_torch"])
    assert tuple(reference.shape) == case.output_shape
    steps = {name: Step(c, "forward+backward", grad_out) for name, c in found.items()}
    for step in steps.values():
        step()
    for name, contender in found.items():
        torch.testing.assert_close(forward_output(contender), reference, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(steps[name].input_grad(), steps["keras_torch"].input_grad(),
                                   rtol=1e-5, atol=1e-5)


def test_tf_worker_agrees_or_reports_why_it_cannot_run():
    """With tensorflow importable by the worker's interpreter
    ($SEPCONV_BENCH_TF_PYTHON, else this one), its forward output and input
    gradient equal Keras-on-torch's; without it, start() says why."""
    python = os.environ.get("SEPCONV_BENCH_TF_PYTHON", sys.executable)
    peer, why = TFKeras.start(python, threads=1)
    if peer is None:
        assert "tensorflow" in why
        return
    try:
        case = Case("separable", N, H, W, C, F)
        x, weights, grad_out = make_data(case)
        reference = build_all(case, weights, x)[0]["keras_torch"]
        peer.load_case(case, x, weights, grad_out)
        times, output = peer.run("forward", repeats=1, warmup=0)
        assert len(times) == 1
        np.testing.assert_allclose(output, forward_output(reference).numpy(), rtol=1e-4, atol=1e-5)
        step = Step(reference, "forward+backward", grad_out)
        step()
        _, grad_x = peer.run("forward+backward", repeats=1, warmup=0)
        np.testing.assert_allclose(grad_x, step.input_grad().numpy(), rtol=1e-4, atol=1e-5)
    finally:
        peer.close()


def test_tiny_run_writes_the_table_and_json(tmp_path, restore_settings, capsys):
    out = tmp_path / "run.json"
    record = bench_separable.main([
        "--shape", "2,6,5,4,8", "--repeats", "1", "--warmup", "0", "--threads", "1",
        "--no-tf", "--gemm-size", "64", "--copy-mib", "1", "--roofline-repeats", "1",
        "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(record))
    assert record["threads"] == 1
    assert record["kernels"]["path"] == (kernels.isa() if kernels.usable() else "pytorch")
    assert record["roofline"]["peak_gflops"] > 0 and record["roofline"]["copy_gbs"] > 0
    assert record["roofline_per_case"] is True
    rows = record["results"]
    assert [(r["case"]["kind"], r["mode"]) for r in rows] == [(k, m) for k in KINDS for m in MODES]
    for row in rows:
        assert set(row["median_ms"]) == {"ours", "torch_nchw", "torch_cl", "keras_torch"}
        assert all(len(ts) == 1 for ts in row["times_ms"].values())
        assert row["roofline"]["measured"] == "in the case's rounds"
        assert len(row["roofline"]["gemm_ms"]) == len(row["roofline"]["copy_ms"]) == 1
        assert row["summary"]["bound_ms"] == pytest.approx(roofline.bound_ms(
            row["summary"]["flops"], row["summary"]["min_bytes"],
            row["roofline"]["peak_gflops"], row["roofline"]["copy_gbs"]))
        assert row["missing"] == {"tf_keras": "switched off (--no-tf)"}
        assert max(row["max_relative_error"].values()) <= bench_separable.TOLERANCE
        case = Case(**row["case"])
        assert row["summary"]["flops"] == roofline.flops(case, row["mode"])
        assert ("fraction_of_copy_bandwidth" in row["summary"]) == (case.kind == "depthwise")
        assert row["path"] in ("pytorch", record["kernels"]["path"],
                               record["kernels"]["path"] + "+pytorch")
    table = (tmp_path / "run.md").read_text()
    assert table in capsys.readouterr().out
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    assert lines[0].startswith("| case | N,H,W,C→F | mode | path | ours ms |")
    assert len(lines) == 1 + len(rows)
    assert all(line.count("|") == lines[0].count("|") for line in lines)
    assert "| depthwise | 2x6x5x4→4 | forward |" in table
    assert "| tf-keras |" in lines[0] and all("| n/a | " in line for line in lines[1:])


def test_roofline_once_bounds_every_row_by_the_start_of_run_figures(tmp_path, restore_settings):
    record = bench_separable.main([
        "--shape", "1,4,4,4,4", "--cases", "depthwise", "--forward-only", "--repeats", "1",
        "--warmup", "0", "--no-tf", "--no-keras", "--gemm-size", "16", "--copy-mib", "1",
        "--roofline-repeats", "1", "--roofline-once", "--out", str(tmp_path / "once.json")])
    [row] = record["results"]
    assert record["roofline_per_case"] is False
    assert row["roofline"] == {"measured": "start of run",
                               "peak_gflops": record["roofline"]["peak_gflops"],
                               "copy_gbs": record["roofline"]["copy_gbs"]}
    assert set(row["times_ms"]) == {"ours", "torch_nchw", "torch_cl"}
    assert "(--roofline-once)" in (tmp_path / "once.md").read_text()
