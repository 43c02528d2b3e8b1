"""``import sepconv as keras``: the names the seeds' model code uses exist
under the same paths as in Keras 3, and are the same objects wherever Keras
has aliases."""

from __future__ import annotations

import pytest

import sepconv as keras
from keras_reference import keras as real_keras

LAYERS = [
    "Layer", "InputLayer", "Input", "InputSpec",
    "Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D",
    "SeparableConv1D", "SeparableConv2D", "Convolution1D", "Convolution2D", "Convolution3D",
    "SeparableConvolution1D", "SeparableConvolution2D",
    "Activation", "ReLU", "BatchNormalization", "Dense", "Dropout", "Flatten", "Reshape",
    "ZeroPadding2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalMaxPooling2D", "Add",
    "Concatenate",
]


@pytest.mark.parametrize("name", LAYERS)
def test_layer_names_exist_in_both(name):
    assert hasattr(keras.layers, name), name
    assert hasattr(real_keras.layers, name), name


def test_models_and_top_level_names():
    assert keras.models.Model is keras.Model
    assert keras.models.Sequential is keras.Sequential
    assert keras.Input is keras.layers.Input
    assert issubclass(keras.Sequential, keras.Model)
    assert issubclass(keras.Model, keras.layers.Layer)
    for module in ("initializers", "regularizers", "constraints", "activations", "config",
                   "utils", "ops", "applications"):
        assert hasattr(keras, module), module
    assert callable(keras.applications.MobileNet) and callable(keras.applications.Xception)
    assert callable(keras.utils.clear_session)


def test_keras_aliases_are_the_same_objects():
    assert keras.layers.Convolution2D is keras.layers.Conv2D
    assert keras.layers.SeparableConvolution2D is keras.layers.SeparableConv2D
    assert keras.layers.MaxPool2D is keras.layers.MaxPooling2D
    assert keras.layers.GlobalAvgPool2D is keras.layers.GlobalAveragePooling2D


def test_model_subclasses_are_plain_torch_modules():
    import torch

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    assert isinstance(model, torch.nn.Module)
    assert len(list(model.parameters())) == 2
    assert model(torch.zeros(3, 4)).shape == (3, 2)
