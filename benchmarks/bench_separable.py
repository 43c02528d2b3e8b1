"""Benchmark harness of issue 6: sepconv's SeparableConv2D, DepthwiseConv2D
and 1x1 Conv2D against PyTorch, Keras-on-torch and TensorFlow-Keras, and
against the machine's roofline measured in the same run.

Cases (3x3 'same', stride 1, depth_multiplier 1, channels_last float32, with
bias): ``separable`` C -> F, ``depthwise`` C -> C, ``pointwise`` (1x1) C -> F,
on each shape of ``sepbench.cases.SHAPES``; forward under ``torch.no_grad``
and forward+backward (gradients of the input and every weight).

Contenders on the same weights and input, their outputs checked against ours:

* ours: ``sepconv.layers`` with the C kernels switched on
  (``sepconv.config.set_kernels_enabled(True)``); the path that ran is recorded;
* torch NCHW / torch CL: ``nn.Conv2d`` on an NCHW and a channels_last input;
* keras-torch: Keras 3 on its torch backend, in this process;
* tf-keras: Keras 3 on the tensorflow backend, in a worker process, when the
  ``--tf-python`` interpreter can import tensorflow.

In-process contenders run interleaved, in a fresh seeded random order each
round; medians of ``--repeats`` calls. The roofline's yardsticks (sgemm
peak, copy bandwidth) are measured at the start and again in every case's
rounds, as two more steps of the rounds; the case's bound uses the latter
(``--roofline-once``: the start-of-run figures). Prints a Markdown table and writes it with a JSON
record to benchmarks/results/ (see benchmarks/README.md).

    python benchmarks/bench_separable.py                   # full run
    python benchmarks/bench_separable.py --quick           # batch / 4, 3 repeats
    python benchmarks/bench_separable.py --tf-python /tmp/benchvenv/bin/python
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys

# glibc returns large freed blocks to the OS and page-faults fresh ones on the
# next call, which makes timings of big outputs noisy (e.g. 54 ms instead of
# 25 ms for 32x56x56x128). These settings, read at process start, keep freed
# memory for reuse; they apply to every contender alike (the TF worker
# inherits them).
_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(2**40), "MALLOC_TRIM_THRESHOLD_": str(2**40)}
if __name__ == "__main__" and sys.platform.startswith("linux") and any(
        key not in os.environ for key in _MALLOC_ENV):
    os.environ.update(_MALLOC_ENV)
    os.execv(sys.executable, [sys.executable, *sys.argv])

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
if BENCH_DIR not in sys.path:
    sys.path.insert(0, BENCH_DIR)
if "keras" not in sys.modules:
    os.environ["KERAS_BACKEND"] = "torch"  # keras-torch runs in this process

import torch  # noqa: E402

from sepbench import report, roofline  # noqa: E402
from sepbench.cases import KINDS, MODES, SHAPES, Case  # noqa: E402
from sepbench.contenders import (Step, build_all, forward_output, make_data,  # noqa: E402
                                 path_of, relative_error)
from sepbench.tf_peer import NAME as TF_NAME, TFKeras  # noqa: E402
from sepbench.timing import median, run_interleaved  # noqa: E402

RESULTS_DIR = os.path.join(BENCH_DIR, "results")
TOLERANCE = 1e-4  # max |peer - ours| / max |ours|, forward outputs and input gradients
PROBE_GEMM, PROBE_COPY = "roofline_sgemm", "roofline_copy"  # steps beside the contenders


def switch_kernels_on():
    """Switch sepconv's C kernels on; which path ours can take ('avx512',
    'avx2', 'portable', or 'pytorch' when they are unusable here)."""
    import sepconv

    sepconv.config.set_kernels_enabled(True)
    info = {"enabled": True, "usable": False, "isa": None}
    try:
        from sepconv.ops import kernels

        info["usable"] = bool(kernels.usable())
        info["isa"] = kernels.isa() if info["usable"] else None
    except Exception as error:  # noqa: BLE001 - the kernels are being rewritten: report, go on
        info["error"] = repr(error)
    info["path"] = info["isa"] or "pytorch"
    return info


def cpu_name():
    """The CPU's model name (Linux: /proc/cpuinfo), else platform.processor()."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _check(errors, name, value, reference, what):
    errors[name] = relative_error(value, reference)
    if errors[name] > TOLERANCE:
        raise AssertionError(f"{name} disagrees with ours on the {what}: relative error "
                             f"{errors[name]:.2e} > {TOLERANCE:.0e}")


def bench_case(case, modes, repeats, warmup, roof, with_keras=True, tf=None, tf_why=None,
               kernel_isa=None, probes=None):
    """Result rows (dicts, as in the JSON) of one case, one per mode: ``roof``
    the Roofline measured at the start of the run; ``probes`` (or None: the
    start-of-run figures serve) the roofline Probes, run in the contenders'
    rounds to measure the peak and the bandwidth the case's bound uses;
    ``tf`` a TFKeras worker, or None and ``tf_why``."""
    x, weights, grad_out = make_data(case)
    found, missing = build_all(case, weights, x, with_keras)
    if tf is None:
        missing[TF_NAME] = tf_why or "not run"
    reference = forward_output(found["ours"])
    forward_errors = {}
    for name, contender in found.items():
        _check(forward_errors, name, forward_output(contender), reference, "forward output")
    if tf is not None:
        tf.load_case(case, x, weights, grad_out)
    rows = []
    for mode in modes:
        steps = {name: Step(contender, mode, grad_out) for name, contender in found.items()}
        probe_steps = {} if probes is None else {PROBE_GEMM: probes.gemm, PROBE_COPY: probes.copy}
        times = run_interleaved({**steps, **probe_steps}, repeats, warmup)
        case_roof = _case_roofline(times, probes, roof)
        path = path_of(steps["ours"], kernel_isa)
        if mode == "forward":
            errors = forward_errors
        else:
            errors, ours_grad = {}, steps["ours"].input_grad()
            for name, step in steps.items():
                _check(errors, name, step.input_grad(), ours_grad, "input gradient")
        if tf is not None:
            times[TF_NAME], output = tf.run(mode, repeats, warmup)
            _check(errors, TF_NAME, output, reference if mode == "forward" else ours_grad,
                   "forward output" if mode == "forward" else "input gradient")
        medians = {name: median(ts) for name, ts in times.items()}
        rows.append({
            "case": case.as_dict(), "shape": case.shape_label, "mode": mode, "path": path,
            "median_ms": medians, "times_ms": times, "max_relative_error": errors,
            "missing": dict(missing), "roofline": case_roof,
            "summary": report.summarize(case, mode, medians, case_roof["peak_gflops"],
                                        case_roof["copy_gbs"], roof.copy_gbs),
        })
    return rows


def _case_roofline(times, probes, roof):
    """The peak and bandwidth of one case's rounds (the probes' times popped
    from ``times``), or the start-of-run figures when no probes ran."""
    if probes is None:
        return {"measured": "start of run", "peak_gflops": roof.peak_gflops,
                "copy_gbs": roof.copy_gbs}
    gemm_ms, copy_ms = times.pop(PROBE_GEMM), times.pop(PROBE_COPY)
    return {"measured": "in the case's rounds",
            "peak_gflops": probes.peak_gflops(median(gemm_ms)),
            "copy_gbs": probes.copy_gbs(median(copy_ms)), "gemm_ms": gemm_ms, "copy_ms": copy_ms}


def _shape(text):
    values = [int(v) for v in text.split(",")]
    if len(values) != 5 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"--shape takes five positive ints N,H,W,C,F. "
                                         f"Received: --shape={text}")
    return tuple(values)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=11, help="timed calls per contender")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls first")
    parser.add_argument("--quick", action="store_true", help="3 repeats, 1 warm-up, batch / 4")
    parser.add_argument("--cases", default=",".join(KINDS),
                        help=f"comma-separated subset of {','.join(KINDS)}")
    parser.add_argument("--forward-only", action="store_true")
    parser.add_argument("--shapes", default=None,
                        help="comma-separated indices into the shape list, e.g. 0,2")
    parser.add_argument("--shape", type=_shape, action="append", default=None,
                        metavar="N,H,W,C,F", help="own shape instead of the list (repeatable)")
    parser.add_argument("--no-keras", action="store_true", help="skip keras-torch")
    parser.add_argument("--no-tf", action="store_true", help="skip tf-keras")
    parser.add_argument("--tf-python", default=os.environ.get("SEPCONV_BENCH_TF_PYTHON",
                                                              sys.executable),
                        help="interpreter of the tf-keras worker (default: "
                             "$SEPCONV_BENCH_TF_PYTHON, else this one)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--gemm-size", type=int, default=2048, help="sgemm peak: matrix side")
    parser.add_argument("--copy-mib", type=int, default=256,
                        help="copy bandwidth: buffer MiB (keep it far above the L3 cache)")
    parser.add_argument("--roofline-repeats", type=int, default=5,
                        help="calls of each yardstick at the start of the run")
    parser.add_argument("--roofline-once", action="store_true",
                        help="every case's bound from the start-of-run roofline, instead of "
                             "the yardsticks run in each case's rounds")
    parser.add_argument("--out", default=None, help="JSON path (default benchmarks/results/...)")
    args = parser.parse_args(argv)
    args.kinds = [k.strip() for k in args.cases.split(",") if k.strip()]
    bad = [k for k in args.kinds if k not in KINDS]
    if bad or not args.kinds:
        parser.error(f"--cases takes a subset of {','.join(KINDS)}. Received: --cases={args.cases}")
    if args.quick:
        args.repeats, args.warmup = 3, 1
    if args.repeats < 1 or args.warmup < 0:
        parser.error(f"--repeats must be >= 1 and --warmup >= 0. "
                     f"Received: --repeats={args.repeats} --warmup={args.warmup}")
    shapes = args.shape or SHAPES
    if args.quick and not args.shape:
        shapes = [(max(1, n // 4), h, w, c, f) for n, h, w, c, f in SHAPES]
    if args.shapes:
        shapes = [shapes[int(i)] for i in args.shapes.split(",")]
    args.shape_list = shapes
    args.modes = ["forward"] if args.forward_only else list(MODES)
    return args


def main(argv=None):
    """Run the harness; returns the JSON record."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    kernels = switch_kernels_on()
    probes = roofline.Probes(args.gemm_size, args.copy_mib)
    roof = roofline.measure(repeats=args.roofline_repeats, probes=probes)
    print(f"roofline: {roof.peak_gflops:.1f} GFLOP/s, {roof.copy_gbs:.1f} GB/s", flush=True)
    tf, tf_why = (None, "switched off (--no-tf)") if args.no_tf else \
        TFKeras.start(args.tf_python, threads)
    rows = []
    try:
        for kind in args.kinds:
            for shape in args.shape_list:
                case = Case(kind, *shape)
                rows += bench_case(case, args.modes, args.repeats, args.warmup, roof,
                                   not args.no_keras, tf, tf_why, kernels["isa"],
                                   None if args.roofline_once else probes)
                print(f"done {kind} {case.shape_label}", flush=True)
        tf_info = dict(tf.info) if tf is not None else {"why": tf_why}
    finally:
        if tf is not None:
            tf.close()
    try:
        import keras
        keras_version = keras.__version__
    except Exception:  # noqa: BLE001
        keras_version = None
    record = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {"machine": platform.machine(), "processor": cpu_name(),
                    "system": platform.platform(), "cpu_count": os.cpu_count()},
        "python": sys.version.split()[0], "torch": torch.__version__, "keras": keras_version,
        "threads": threads, "kernels": kernels, "tf_keras": tf_info,
        "repeats": args.repeats, "warmup": args.warmup, "tolerance": TOLERANCE,
        "roofline": vars(roof), "roofline_per_case": not args.roofline_once, "results": rows,
    }
    text = report.header(record) + "\n\n" + report.markdown(rows)
    print("\n" + text)
    path = args.out or os.path.join(
        RESULTS_DIR, f"bench_separable-{datetime.datetime.now():%Y%m%d-%H%M%S}.json")
    md_path = report.write(record, text, path)
    print(f"\nwrote {path}\n  and {md_path}")
    return record


if __name__ == "__main__":
    main()
