"""The two networks the demo compares: the same stack of
convolution + BatchNormalization + ReLU blocks, built from SeparableConv2D or
from plain Conv2D, and how many multiply-adds each costs per image.

>>> separable = build_network((8, 8, 1), 10, separable=True)
>>> plain = build_network((8, 8, 1), 10, separable=False)
>>> separable.count_params() < plain.count_params() / 5
True
>>> multiply_adds(separable) < multiply_adds(plain) / 5
True
"""

from __future__ import annotations

import math

import sepconv

FILTERS = (32, 64, 192)
# The first separable block sees a one-channel image: with a single depthwise
# filter its pointwise outputs would all be scaled copies of one filtered
# image, so it runs several filters per input channel (MobileNet opens with a
# full convolution for the same reason).
FIRST_DEPTH_MULTIPLIER = 8


def build_network(input_shape, num_classes, separable=True, filters=FILTERS):
    """Blocks of 3x3 convolution (separable or plain, no bias) +
    BatchNormalization + ReLU; 2x2 max pooling after every block but the
    first; global average pooling, dropout and a softmax classifier. The
    first separable block uses ``FIRST_DEPTH_MULTIPLIER``."""
    layers = sepconv.layers
    conv = layers.SeparableConv2D if separable else layers.Conv2D
    kind = "separable" if separable else "plain"
    model = [sepconv.Input(input_shape, name="image")]
    for index, width in enumerate(filters):
        if index:
            model.append(layers.MaxPooling2D(2, name=f"pool{index}"))
        options = {"depth_multiplier": FIRST_DEPTH_MULTIPLIER} if separable and not index else {}
        model += [conv(width, 3, padding="same", use_bias=False, name=f"conv{index + 1}",
                       **options),
                  layers.BatchNormalization(name=f"bn{index + 1}"),
                  layers.ReLU(name=f"relu{index + 1}")]
    model += [layers.GlobalAveragePooling2D(name="pool"),
              layers.Dropout(0.2, name="dropout"),
              layers.Dense(num_classes, activation="softmax", name="classifier")]
    return sepconv.Sequential(model, name=f"{kind}_digits")


def multiply_adds(model):
    """Multiply-adds of one forward pass for one image: convolutions and
    dense layers (the rest is comparatively free)."""
    total = 0
    for layer in model.layers:
        if not layer.weights:
            continue
        out_positions = math.prod(d for d in layer.output.shape[1:-1]) \
            if len(layer.output.shape) > 2 else 1
        if isinstance(layer, sepconv.layers.SeparableConv2D):
            total += out_positions * (layer.depthwise_kernel.numel()
                                      + layer.pointwise_kernel.numel())
        elif isinstance(layer, (sepconv.layers.Conv2D, sepconv.layers.Dense)):
            total += out_positions * layer.kernel.numel()
    return total
