"""Interleaved, rotated timing (no torch, no TensorFlow: both sides use it).

Each round calls every contender once, the order rotated by one per round,
so slow drifts of the machine (other load, clock, heap growth) spread over
all contenders alike instead of favouring whoever runs first.
"""

from __future__ import annotations

import statistics


def run_interleaved(steps: dict, repeats: int, warmup: int) -> dict:
    """``steps``: name -> zero-argument callable returning the seconds of one
    call. Returns name -> list of the ``repeats`` timed calls in ms (the
    ``warmup`` first rounds are not recorded)."""
    names = list(steps)
    times = {name: [] for name in names}
    for i in range(warmup + repeats):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            seconds = steps[name]()
            if i >= warmup:
                times[name].append(seconds * 1e3)
    return times


def median(values):
    """The median, or None for an empty list."""
    return statistics.median(values) if values else None
