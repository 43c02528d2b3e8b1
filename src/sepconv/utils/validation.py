"""Argument checks shared by layers: each error names the argument, the rule
and the value received.

>>> check_positive_int(3, "filters")
3
>>> check_positive_int(2.5, "filters")
Traceback (most recent call last):
...
TypeError: The `filters` argument must be a positive integer. Received: filters=2.5
"""

from __future__ import annotations

import numpy as np


def check_bool(value, argument):
    """``value`` as a bool; anything but True/False (e.g. "yes", 1) is a TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"The `{argument}` argument must be a boolean (True or False). "
            f"Received: {argument}={value!r}"
        )
    return bool(value)


def check_positive_int(value, argument):
    """``value`` as an int; a bool, float, string or value < 1 is an error."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"The `{argument}` argument must be a positive integer. "
            f"Received: {argument}={value!r}"
        )
    if value < 1:
        raise ValueError(
            f"The `{argument}` argument must be a positive integer. "
            f"Received: {argument}={value!r}"
        )
    return int(value)
