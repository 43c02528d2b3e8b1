"""Checks of real-number arguments (rates, momenta, epsilons, slopes): each
error names the argument, the rule and the value received.

>>> check_number(0.5, "rate", low=0, high=1)
0.5
>>> check_number(1.5, "rate", low=0, high=1, high_open=True)
Traceback (most recent call last):
...
ValueError: The `rate` argument must be a number in [0, 1). Received: rate=1.5
>>> check_number("0.5", "rate")
Traceback (most recent call last):
...
TypeError: The `rate` argument must be a real number. Received: rate='0.5'
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def is_int(value):
    """Whether ``value`` is an integer (Python or NumPy), bools excluded.

    >>> is_int(3), is_int(np.int64(3)), is_int(True), is_int(3.0)
    (True, True, False, False)
    """
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _interval(low, high, low_open, high_open):
    if high is None:
        return f"{'>' if low_open else '>='} {low}"
    if low is None:
        return f"{'<' if high_open else '<='} {high}"
    return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"


def check_number(value, argument, *, low=None, high=None, low_open=False, high_open=False):
    """``value`` unchanged if it is a finite real number (not a bool; NumPy
    scalars become Python numbers) within the bounds; else a TypeError (not a
    number) or ValueError (NaN, infinite or out of bounds)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"The `{argument}` argument must be a real number. "
            f"Received: {argument}={value!r}"
        )
    if isinstance(value, np.generic):
        value = value.item()
    rule = "a finite number"
    if low is not None or high is not None:
        rule = "a number " + _interval(low, high, low_open, high_open)
    bad = not math.isfinite(value)
    if low is not None:
        bad = bad or value < low or (low_open and value == low)
    if high is not None:
        bad = bad or value > high or (high_open and value == high)
    if bad:
        raise ValueError(
            f"The `{argument}` argument must be {rule}. Received: {argument}={value!r}"
        )
    return value
