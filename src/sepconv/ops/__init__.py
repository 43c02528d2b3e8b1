"""Convolution functions and their shape arithmetic.

``sepconv.ops.shapes`` is pure Python; ``sepconv.ops.conv`` runs the convolutions
on torch with Keras-layout weights.

>>> import torch, sepconv.ops as ops
>>> ops.separable_conv(torch.ones(1, 4, 4, 2), torch.ones(3, 3, 2, 1),
...                    torch.ones(1, 1, 2, 3)).shape
torch.Size([1, 2, 2, 3])
"""

from sepconv.ops.conv import conv, depthwise_conv, separable_conv
from sepconv.ops.shapes import (
    compute_conv_output_shape,
    conv_output_length,
    same_padding,
    standardize_data_format,
    standardize_padding,
    standardize_tuple,
)

__all__ = [
    "compute_conv_output_shape",
    "conv",
    "conv_output_length",
    "depthwise_conv",
    "same_padding",
    "separable_conv",
    "standardize_data_format",
    "standardize_padding",
    "standardize_tuple",
]
