"""The convolution layer families: Conv, DepthwiseConv, SeparableConv."""

from sepconv.layers.convolutional.conv import Conv1D, Conv2D, Conv3D
from sepconv.layers.convolutional.depthwise_conv import DepthwiseConv1D, DepthwiseConv2D
from sepconv.layers.convolutional.separable_conv import SeparableConv1D, SeparableConv2D

__all__ = [
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "SeparableConv1D",
    "SeparableConv2D",
]
