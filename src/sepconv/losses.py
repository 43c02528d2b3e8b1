"""``sepconv.losses``: Keras 3's losses (``keras.losses``) on torch tensors.

>>> import sepconv
>>> loss = sepconv.losses.get("CategoricalCrossentropy")
>>> loss([[0.0, 1.0]], [[0.5, 0.5]])
tensor(0.6931)
>>> sepconv.losses.get("mse").__name__
'mean_squared_error'
>>> sepconv.losses.serialize(sepconv.losses.MeanAbsoluteError())["config"]
{'name': 'mean_absolute_error', 'reduction': 'sum_over_batch_size'}
"""

from __future__ import annotations

import types

from sepconv.training.losses import (
    BCE,
    MAE,
    MSE,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Huber,
    Loss,
    LossFunctionWrapper,
    MeanAbsoluteError,
    MeanSquaredError,
    SparseCategoricalCrossentropy,
    bce,
    binary_crossentropy,
    categorical_crossentropy,
    huber,
    mae,
    mean_absolute_error,
    mean_squared_error,
    mse,
    serialize_function,
    sparse_categorical_crossentropy,
)
from sepconv.utils.registry import Registry

_CLASSES = (Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError, Huber,
            BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy)
_FUNCTIONS = (mean_squared_error, mean_absolute_error, huber, binary_crossentropy,
              categorical_crossentropy, sparse_categorical_crossentropy)

# Keras looks losses up by class name, function name and a few short names.
_REGISTRY = Registry(
    "loss",
    "keras.losses",
    [(cls, cls.__name__) for cls in _CLASSES] + [(fn, fn.__name__) for fn in _FUNCTIONS],
    aliases={"bce": bce, "BCE": BCE, "mae": mae, "MAE": MAE, "mse": mse, "MSE": MSE},
    module_overrides={Loss: "keras"},
)


def get(identifier, argument="identifier"):
    """The loss ``identifier`` stands for: None gives None; a function name
    or short name ("mse") the function; a class name or class a default
    instance; a config dict is deserialized; a ``Loss`` or callable is
    returned as is."""
    return _REGISTRY.get(identifier, argument)


def serialize(loss):
    """``loss`` (a ``Loss`` or a loss function) as Keras 3 serializes it."""
    if isinstance(loss, types.FunctionType) and loss in _REGISTRY.builtins:
        return serialize_function(loss)
    return _REGISTRY.serialize(loss)


def deserialize(config, custom_objects=None):
    """The loss a config (dict or name) describes; the inverse of
    :func:`serialize`. ``custom_objects`` maps names to user objects."""
    return _REGISTRY.deserialize(config, custom_objects)


__all__ = [cls.__name__ for cls in _CLASSES] + [fn.__name__ for fn in _FUNCTIONS] + [
    "mse", "mae", "bce", "MSE", "MAE", "BCE", "get", "serialize", "deserialize"]
