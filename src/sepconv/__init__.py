"""sepconv: Keras's convolution layers as exact, fast PyTorch modules.

``import sepconv as keras`` gives the parts of the Keras API this package
implements, under Keras's names:

>>> import numpy as np
>>> import sepconv as keras
>>> layer = keras.layers.SeparableConv2D(8, 3, padding="same", activation="relu")
>>> layer(np.random.rand(2, 16, 16, 4)).shape
torch.Size([2, 16, 16, 8])
"""

from sepconv import (
    activations,
    applications,
    callbacks,
    config,
    constraints,
    dtype_policies,
    initializers,
    layers,
    losses,
    metrics,
    mixed_precision,
    models,
    ops,
    optimizers,
    regularizers,
    saving,
    utils,
)
from sepconv.dtype_policies import DTypePolicy, FloatDTypePolicy
from sepconv.layers import Input, InputLayer, InputSpec, Layer
from sepconv.models import Model, Sequential
from sepconv.variables import Variable

__version__ = "0.1.0"

__all__ = [
    "activations",
    "applications",
    "callbacks",
    "config",
    "constraints",
    "dtype_policies",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "mixed_precision",
    "models",
    "ops",
    "optimizers",
    "regularizers",
    "saving",
    "utils",
    "DTypePolicy",
    "FloatDTypePolicy",
    "Input",
    "InputLayer",
    "InputSpec",
    "Layer",
    "Model",
    "Sequential",
    "Variable",
]
