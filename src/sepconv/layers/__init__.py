"""Keras layers on PyTorch: ``Layer``, ``InputSpec`` and the convolution layers.

Keras 2 / tf.layers aliases are kept: ``Convolution2D`` = ``Conv2D``,
``SeparableConvolution2D`` = ``SeparableConv2D``, etc.
"""

from sepconv.layers.activation import Activation, ReLU
from sepconv.layers.convolutional import (
    Conv1D,
    Conv2D,
    Conv3D,
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
)
from sepconv.layers.core import Dense, Dropout
from sepconv.layers.input_layer import Input, InputLayer
from sepconv.layers.input_spec import InputSpec
from sepconv.layers.lambda_layer import Lambda
from sepconv.layers.layer import Layer
from sepconv.layers.normalization import BatchNormalization
from sepconv.layers.merging import Add, Concatenate, add, concatenate
from sepconv.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
)
from sepconv.layers.reshaping import Flatten, Reshape, ZeroPadding2D

Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution3D = Conv3D
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D
# Keras's short pooling names.
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D)
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = (
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D)

__all__ = [
    "Layer",
    "Activation",
    "ReLU",
    "Dense",
    "Dropout",
    "BatchNormalization",
    "Input",
    "InputLayer",
    "InputSpec",
    "Lambda",
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
    "Add",
    "Concatenate",
    "add",
    "concatenate",
    "Flatten",
    "Reshape",
    "ZeroPadding2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPool3D",
    "AvgPool1D",
    "AvgPool2D",
    "AvgPool3D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalAvgPool3D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPool3D",
]
