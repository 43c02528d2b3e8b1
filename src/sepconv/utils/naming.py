"""Keras-style automatic layer names: snake_case class name + per-prefix counter.

>>> reset_names()
>>> to_snake_case("SeparableConv2D"), to_snake_case("BatchNormalization")
('separable_conv2d', 'batch_normalization')
>>> [unique_name("conv2d") for _ in range(3)]
['conv2d', 'conv2d_1', 'conv2d_2']
"""

from __future__ import annotations

import collections
import re

_name_counters: collections.Counter = collections.Counter()


def to_snake_case(name: str) -> str:
    """``"DepthwiseConv2D"`` -> ``"depthwise_conv2d"``, as Keras names layers."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def unique_name(prefix: str) -> str:
    """The next free name for ``prefix``: ``prefix``, then ``prefix_1``, ..."""
    count = _name_counters[prefix]
    _name_counters[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def reset_names() -> None:
    """Forget every counter, so the next layer of each kind gets the bare name."""
    _name_counters.clear()
