"""Interleaved timing in shuffled rounds (no torch, no TensorFlow: both sides
use it).

Each round calls every contender once, in a fresh random order (seeded, so
a run is repeatable). Slow drifts of the machine (other load, clock, heap
growth) then spread over all contenders alike instead of favouring whoever
runs first, and no contender always runs right after the same one: what ran
before decides what is left in the caches. (A rotation by one per round,
which this harness used before, keeps every contender behind the same
predecessor in every round.)
"""

from __future__ import annotations

import random
import statistics


def run_interleaved(steps: dict, repeats: int, warmup: int, seed: int = 0) -> dict:
    """``steps``: name -> zero-argument callable returning the seconds of one
    call. Returns name -> list of the ``repeats`` timed calls in ms (the
    ``warmup`` first rounds are not recorded)."""
    names = list(steps)
    order = random.Random(seed)
    times = {name: [] for name in names}
    for i in range(warmup + repeats):
        for name in order.sample(names, len(names)):
            seconds = steps[name]()
            if i >= warmup:
                times[name].append(seconds * 1e3)
    return times


def median(values):
    """The median, or None for an empty list."""
    return statistics.median(values) if values else None
