"""Keras layers on PyTorch: ``Layer``, ``InputSpec`` and the convolution layers.

Keras 2 / tf.layers aliases are kept: ``Convolution2D`` = ``Conv2D``,
``SeparableConvolution2D`` = ``SeparableConv2D``, etc.
"""

from sepconv.layers.convolutional import (
    Conv1D,
    Conv2D,
    Conv3D,
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
)
from sepconv.layers.input_spec import InputSpec
from sepconv.layers.layer import Layer

Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution3D = Conv3D
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D

__all__ = [
    "Layer",
    "InputSpec",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "SeparableConv1D",
    "SeparableConv2D",
    "Convolution1D",
    "Convolution2D",
    "Convolution3D",
    "SeparableConvolution1D",
    "SeparableConvolution2D",
]
