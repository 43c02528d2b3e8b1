"""Time SeparableConv2D (3x3 'same', stride 1, depth_multiplier 1, channels_last).

Contenders, run interleaved in one process on the same weights:

* ours: ``sepconv.layers.SeparableConv2D`` (else ``sepconv.ops.separable_conv``);
* torch: ``nn.Conv2d(C, C, 3, padding=1, groups=C)`` then ``nn.Conv2d(C, F, 1)``,
  on an NCHW-contiguous input and on a channels_last memory-format input; the
  best of the two is the reference;
* keras: Keras 3 ``SeparableConv2D`` on its torch backend, when importable.

Forward runs under ``torch.no_grad``; forward+backward computes gradients for
the input and all weights. Medians over repeats; ratio = peer / ours (> 1 means
we are faster). Prints a Markdown table and writes JSON to benchmarks/results/.

    python benchmarks/bench_separable.py             # full run
    python benchmarks/bench_separable.py --quick     # fewer repeats, batch / 4
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time

# glibc returns large freed blocks to the OS and page-faults fresh ones on the
# next call, which makes timings of big outputs noisy (e.g. 54 ms instead of
# 25 ms for 32x56x56x128). These settings, read at process start, keep freed
# memory for reuse; they apply to every contender alike.
_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(2**40), "MALLOC_TRIM_THRESHOLD_": str(2**40)}
if __name__ == "__main__" and sys.platform.startswith("linux") and any(
        key not in os.environ for key in _MALLOC_ENV):
    os.environ.update(_MALLOC_ENV)
    os.execv(sys.executable, [sys.executable, *sys.argv])

os.environ.setdefault("KERAS_BACKEND", "torch")

import torch  # noqa: E402
from torch import nn  # noqa: E402

SHAPES = [  # (N, H, W, C, F)
    (32, 56, 56, 128, 128),
    (32, 28, 28, 256, 256),
    (8, 112, 112, 32, 64),
    (16, 19, 19, 728, 728),
]
RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def make_ours(c, f, dw, pw, bias, use_layer=True):
    """A callable x -> y for our implementation, plus its parameters and a label."""
    SeparableConv2D = None
    if use_layer:
        try:
            from sepconv.layers import SeparableConv2D
        except ImportError:
            pass
    if SeparableConv2D is not None:
        layer = SeparableConv2D(f, 3, padding="same")
        layer(torch.zeros(1, 3, 3, c))  # build
        with torch.no_grad():
            for name, value in (("depthwise_kernel", dw), ("pointwise_kernel", pw), ("bias", bias)):
                getattr(layer, name).copy_(value)
        return layer, list(layer.parameters()), "sepconv.layers.SeparableConv2D"
    from sepconv import ops

    params = [p.clone().requires_grad_() for p in (dw, pw, bias)]
    return (lambda x: ops.separable_conv(x, *params, padding="same"),
            params, "sepconv.ops.separable_conv")


def make_torch(c, f, dw, pw, bias, memory_format):
    model = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False), nn.Conv2d(c, f, 1))
    with torch.no_grad():
        model[0].weight.copy_(dw.permute(2, 3, 0, 1).reshape(c, 1, 3, 3))
        model[1].weight.copy_(pw.reshape(c, f).t().reshape(f, c, 1, 1))
        model[1].bias.copy_(bias)
    model = model.to(memory_format=memory_format)
    return model, list(model.parameters())


def make_keras(c, f, dw, pw, bias):
    try:
        import keras
    except Exception:  # noqa: BLE001 - any import failure means "not available"
        return None
    if keras.config.backend() != "torch":
        return None
    layer = keras.layers.SeparableConv2D(f, 3, padding="same")
    layer.build((None, None, None, c))
    layer.set_weights([dw.numpy(), pw.numpy(), bias.numpy()])
    return layer, [v.value for v in layer.weights]


def contenders(n, h, w, c, f, with_keras, use_layer=True):
    """name -> (fn, params, input) with the same weights and the same input values."""
    g = torch.Generator().manual_seed(0)
    x_nhwc = torch.randn(n, h, w, c, generator=g)
    dw = torch.randn(3, 3, c, 1, generator=g) * 0.2
    pw = torch.randn(1, 1, c, f, generator=g) * c ** -0.5
    bias = torch.randn(f, generator=g)
    ours, ours_params, label = make_ours(c, f, dw, pw, bias, use_layer)
    found = {"ours": (ours, ours_params, x_nhwc)}
    x_nchw = x_nhwc.permute(0, 3, 1, 2).contiguous()
    for name, fmt, x in (("torch_nchw", torch.contiguous_format, x_nchw),
                         ("torch_cl", torch.channels_last, x_nchw.contiguous(memory_format=torch.channels_last))):
        model, params = make_torch(c, f, dw, pw, bias, fmt)
        found[name] = (model, params, x)
    if with_keras:
        keras_layer = make_keras(c, f, dw, pw, bias)
        if keras_layer is not None:
            found["keras"] = (keras_layer[0], keras_layer[1], x_nhwc)
    # Same numbers everywhere (channels_first results compared in NHWC).
    with torch.no_grad():
        ref = ours(x_nhwc)
        for name, (fn, _, x) in found.items():
            y = fn(x)
            y = y if name in ("ours", "keras") else y.permute(0, 2, 3, 1)
            err = ((y - ref).abs().max() / ref.abs().max()).item()
            if err > 1e-4:
                raise AssertionError(f"{name} disagrees with ours: relative error {err:.2e}")
    return found, label


def step(fn, params, x, mode, grad_out):
    """One timed call (seconds)."""
    if mode == "forward":
        start = time.perf_counter()
        with torch.no_grad():
            fn(x)
        return time.perf_counter() - start
    x.grad = None
    for p in params:
        p.grad = None
    start = time.perf_counter()
    fn(x).backward(grad_out)
    return time.perf_counter() - start


def bench_shape(shape, modes, repeats, warmup, with_keras, use_layer=True):
    found, label = contenders(*shape, with_keras, use_layer)
    results = {}
    for mode in modes:
        inputs, grads = {}, {}
        for name, (fn, params, x) in found.items():
            x = x.detach().requires_grad_(mode != "forward")
            inputs[name] = x
            if mode != "forward":
                with torch.no_grad():
                    grads[name] = torch.randn_like(fn(x))  # same layout as the output
        names = list(found)
        times = {name: [] for name in names}
        for i in range(warmup + repeats):
            order = names[i % len(names):] + names[:i % len(names)]  # rotate
            for name in order:
                fn, params, _ = found[name]
                t = step(fn, params, inputs[name], mode, grads.get(name))
                if i >= warmup:
                    times[name].append(t * 1e3)
        results[mode] = {name: {"median_ms": statistics.median(ts), "times_ms": ts}
                         for name, ts in times.items()}
    return results, label


def ratio(peer, ours):
    return f"{peer / ours:.2f}" if peer is not None else "n/a"


def markdown(rows):
    lines = [
        "| N,H,W,C→F | mode | ours ms | torch NCHW ms | torch CL ms | vs torch best | keras ms | vs keras |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for shape, mode, r in rows:
        med = {k: v["median_ms"] for k, v in r.items()}
        ours, best = med["ours"], min(med["torch_nchw"], med["torch_cl"])
        keras_ms = med.get("keras")
        lines.append(
            f"| {shape[0]}x{shape[1]}x{shape[2]}x{shape[3]}→{shape[4]} | {mode} | {ours:.1f} | "
            f"{med['torch_nchw']:.1f} | {med['torch_cl']:.1f} | {ratio(best, ours)} | "
            f"{'n/a' if keras_ms is None else f'{keras_ms:.1f}'} | {ratio(keras_ms, ours)} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=11, help="timed calls per contender")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls first")
    parser.add_argument("--quick", action="store_true", help="3 repeats, 1 warm-up, batch / 4")
    parser.add_argument("--forward-only", action="store_true")
    parser.add_argument("--no-keras", action="store_true", help="skip the Keras contender")
    parser.add_argument("--ops", action="store_true",
                        help="time sepconv.ops.separable_conv, not the layer")
    parser.add_argument("--shapes", default=None,
                        help="comma-separated indices into the shape list, e.g. 0,2")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--out", default=None, help="JSON path (default benchmarks/results/...)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    shapes = SHAPES
    if args.quick:
        args.repeats, args.warmup = 3, 1
        shapes = [(max(1, n // 4), h, w, c, f) for n, h, w, c, f in SHAPES]
    if args.shapes:
        shapes = [shapes[int(i)] for i in args.shapes.split(",")]
    modes = ["forward"] if args.forward_only else ["forward", "forward+backward"]

    rows, label = [], None
    for shape in shapes:
        results, label = bench_shape(shape, modes, args.repeats, args.warmup, not args.no_keras,
                                     use_layer=not args.ops)
        rows += [(shape, mode, results[mode]) for mode in modes]
        print(f"done {shape}", flush=True)

    table = markdown(rows)
    print(f"\nours = {label}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"median of {args.repeats}; ratio = peer / ours (> 1: we are faster)\n")
    print(table)
    record = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "ours": label,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "repeats": args.repeats,
        "warmup": args.warmup,
        "results": [{"shape": dict(zip("NHWCF", shape)), "mode": mode, "contenders": r}
                    for shape, mode, r in rows],
    }
    path = args.out
    if path is None:
        os.makedirs(RESULTS_DIR, exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = os.path.join(RESULTS_DIR, f"bench_separable-{stamp}.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=1)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
