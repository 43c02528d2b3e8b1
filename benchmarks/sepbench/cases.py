"""The benchmark cases: which layer on which shape, with weights in Keras's
order. Pure Python (no torch, no TensorFlow), shared by the harness and the
TensorFlow-Keras worker process."""

from __future__ import annotations

import dataclasses
import math

KINDS = ("separable", "depthwise", "pointwise")
MODES = ("forward", "forward+backward")
KERNEL_SIZE = 3  # depthwise taps: 3x3, stride 1, 'same', depth_multiplier 1

SHAPES = [  # (N, H, W, C, F): issue 6's SeparableConv2D shapes
    (32, 56, 56, 128, 128),
    (32, 28, 28, 256, 256),
    (8, 112, 112, 32, 64),
    (16, 19, 19, 728, 728),
]


@dataclasses.dataclass(frozen=True)
class Case:
    """One layer on one shape, channels_last float32.

    ``separable``: SeparableConv2D(F, 3, 'same'), C -> F; ``depthwise``:
    DepthwiseConv2D(3, 'same'), C -> C (F unused); ``pointwise``:
    Conv2D(F, 1), C -> F. Every layer has a bias.
    """

    kind: str
    n: int
    h: int
    w: int
    c: int
    f: int

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"`kind` must be one of {KINDS}. Received: kind={self.kind!r}")
        for name in "nhwcf":
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")

    @property
    def out_channels(self) -> int:
        return self.c if self.kind == "depthwise" else self.f

    @property
    def input_shape(self) -> tuple:
        return (self.n, self.h, self.w, self.c)

    @property
    def output_shape(self) -> tuple:
        return (self.n, self.h, self.w, self.out_channels)

    def weight_shapes(self) -> list:
        """(name, shape) of each weight, in Keras's ``layer.weights`` order."""
        k, c, f = KERNEL_SIZE, self.c, self.f
        if self.kind == "separable":
            return [("depthwise_kernel", (k, k, c, 1)), ("pointwise_kernel", (1, 1, c, f)),
                    ("bias", (f,))]
        if self.kind == "depthwise":
            return [("kernel", (k, k, c, 1)), ("bias", (c,))]
        return [("kernel", (1, 1, c, f)), ("bias", (f,))]

    def weight_count(self) -> int:
        return sum(math.prod(shape) for _, shape in self.weight_shapes())

    @property
    def shape_label(self) -> str:
        return f"{self.n}x{self.h}x{self.w}x{self.c}→{self.out_channels}"

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def build_layer(module, case: Case):
    """The case's layer from a Keras-like module (``keras`` on any backend, or
    ``sepconv``: same constructor arguments), built for ``case.c`` channels."""
    layers = module.layers
    if case.kind == "separable":
        layer = layers.SeparableConv2D(case.f, KERNEL_SIZE, padding="same")
    elif case.kind == "depthwise":
        layer = layers.DepthwiseConv2D(KERNEL_SIZE, padding="same", depth_multiplier=1)
    else:
        layer = layers.Conv2D(case.f, 1)
    layer.build((None, None, None, case.c))
    return layer
