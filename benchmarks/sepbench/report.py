"""Per-row figures (fastest peer, roofline bound, fractions), the Markdown
table and the JSON + Markdown files."""

from __future__ import annotations

import json
import os

from sepbench.roofline import bound_ms, flops, min_bytes

PEERS = ("torch_nchw", "torch_cl", "keras_torch", "tf_keras")
LABELS = {"ours": "ours", "torch_nchw": "torch NCHW", "torch_cl": "torch CL",
          "keras_torch": "keras-torch", "tf_keras": "tf-keras"}


def summarize(case, mode, medians, peak_gflops, copy_gbs, start_copy_gbs=None):
    """Derived figures of one case and mode from the contenders' median ms
    (``medians``: name -> ms; a peer that did not run is absent or None),
    the sgemm peak and the copy bandwidth of the bound, and (depthwise) the
    copy bandwidth measured at the start of the run, for comparison."""
    ours = medians["ours"]
    peers = {name: medians[name] for name in PEERS if medians.get(name) is not None}
    fastest = min(peers, key=peers.get) if peers else None
    flop_count, byte_count = flops(case, mode), min_bytes(case, mode)
    bound = bound_ms(flop_count, byte_count, peak_gflops, copy_gbs)
    row = {
        "fastest_peer": fastest,
        "fastest_peer_ms": peers.get(fastest),
        "peer_over_ours": None if fastest is None else peers[fastest] / ours,
        "flops": flop_count,
        "min_bytes": byte_count,
        "bound_ms": bound,
        "ours_over_bound": ours / bound,
        "fraction_of_bound": bound / ours,
        "ours_gflops": flop_count / (ours * 1e-3) / 1e9,
    }
    if case.kind == "depthwise":
        achieved = byte_count / (ours * 1e-3) / 1e9
        row["ours_gbs"] = achieved
        row["fraction_of_copy_bandwidth"] = achieved / copy_gbs
        if start_copy_gbs is not None:
            row["fraction_of_start_of_run_copy_bandwidth"] = achieved / start_copy_gbs
    return row


def _ms(value):
    if value is None:
        return "n/a"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def markdown(rows):
    """The table: one line per result row (dicts as in the JSON's ``results``)."""
    lines = [
        "| case | N,H,W,C→F | mode | path | ours ms | torch NCHW | torch CL | keras-torch | "
        "tf-keras | fastest peer | peer/ours | peak GFLOP/s | copy GB/s | bound ms | ours/bound | "
        "BW % copy |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        med, s = row["median_ms"], row["summary"]
        fastest = "n/a" if s["fastest_peer"] is None else LABELS[s["fastest_peer"]]
        ratio = "n/a" if s["peer_over_ours"] is None else f"{s['peer_over_ours']:.2f}"
        bandwidth = s.get("fraction_of_copy_bandwidth")
        lines.append(
            f"| {row['case']['kind']} | {row['shape']} | {row['mode']} | {row['path']} | "
            + " | ".join(_ms(med.get(name)) for name in ("ours", *PEERS))
            + f" | {fastest} | {ratio} | {row['roofline']['peak_gflops']:.0f} | "
            + f"{row['roofline']['copy_gbs']:.1f} | {_ms(s['bound_ms'])} | "
            + f"{s['ours_over_bound']:.2f} | "
            + ("" if bandwidth is None else f"{100 * bandwidth:.0f}%") + " |")
    return "\n".join(lines)


def header(record):
    """The lines above the table: what ran where, and the roofline."""
    roof, kernels = record["roofline"], record["kernels"]
    tf = record["tf_keras"]
    return "\n".join([
        f"{record['machine']['processor'] or record['machine']['machine']}, "
        f"{record['threads']} threads; torch {record['torch']}, keras "
        f"{record['keras'] or 'n/a'}, tf-keras: "
        + (f"tensorflow {tf['tensorflow']}" if tf.get("tensorflow") else f"n/a ({tf['why']})"),
        f"ours: sepconv layers, C kernels switched on, path {kernels['path']}; "
        f"median of {record['repeats']} (after {record['warmup']} warm-up)",
        f"roofline at the start of the run: sgemm peak {roof['peak_gflops']:.1f} GFLOP/s "
        f"(torch.mm {roof['gemm_size']}^2), copy bandwidth {roof['copy_gbs']:.1f} GB/s "
        f"(read + written, {roof['copy_mib']} MiB buffer); each row's bound uses "
        + ("the same yardsticks run in that case's rounds (peak, copy columns)"
           if record.get("roofline_per_case") else "these (--roofline-once)"),
        "peer/ours > 1: we are faster; ours/bound: 1 = at the roofline; "
        "BW % copy (depthwise): our bytes / time as a share of copy bandwidth",
    ])


def write(record, text, json_path):
    """Write the record as JSON and ``text`` as Markdown next to it; returns
    the Markdown path."""
    os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
    with open(json_path, "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=1)
    md_path = os.path.splitext(json_path)[0] + ".md"
    with open(md_path, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    return md_path
