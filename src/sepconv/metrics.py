"""``sepconv.metrics``: Keras 3's metrics (``keras.metrics``) on torch tensors.

>>> import sepconv
>>> metric = sepconv.metrics.get("mae")
>>> type(metric).__name__, metric.name
('MeanAbsoluteError', 'mean_absolute_error')
>>> sepconv.metrics.serialize(sepconv.metrics.BinaryAccuracy(threshold=0.7))["config"]
{'name': 'binary_accuracy', 'dtype': 'float32', 'threshold': 0.7}
"""

from __future__ import annotations

from sepconv.training.losses import (
    binary_crossentropy,
    categorical_crossentropy,
    mean_absolute_error,
    mean_squared_error,
    sparse_categorical_crossentropy,
)
from sepconv.training.metrics import (
    AUC,
    Accuracy,
    BinaryAccuracy,
    BinaryCrossentropy,
    CategoricalAccuracy,
    CategoricalCrossentropy,
    Mean,
    MeanAbsoluteError,
    MeanMetricWrapper,
    MeanSquaredError,
    Metric,
    Precision,
    Recall,
    SparseCategoricalAccuracy,
    SparseCategoricalCrossentropy,
    SparseTopKCategoricalAccuracy,
    Sum,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    resolve_metric,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from sepconv.utils.naming import to_snake_case
from sepconv.utils.registry import Registry

_CLASSES = (Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy,
            CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
            SparseTopKCategoricalAccuracy, MeanAbsoluteError, MeanSquaredError,
            BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
            AUC, Precision, Recall)

# Keras looks metrics up by class name, its snake_case and a few short names.
_REGISTRY = Registry(
    "metric",
    "keras.metrics",
    [(cls, to_snake_case(cls.__name__)) for cls in _CLASSES],
    aliases={"bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
             "mse": MeanSquaredError, "MSE": MeanSquaredError,
             "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError},
    module_overrides={Metric: "keras.metrics"},
)


def get(identifier, argument="identifier"):
    """The metric ``identifier`` stands for: None gives None; a name
    ("auc", "AUC", "mae") or class a default instance; a config dict is
    deserialized; a ``Metric`` or callable is returned as is."""
    return _REGISTRY.get(identifier, argument)


def serialize(metric):
    """The Keras 3 config dict of ``metric``."""
    return _REGISTRY.serialize(metric)


def deserialize(config, custom_objects=None):
    """The metric a config (dict or name) describes; the inverse of
    :func:`serialize`. ``custom_objects`` maps names to user objects."""
    return _REGISTRY.deserialize(config, custom_objects)


__all__ = [cls.__name__ for cls in _CLASSES] + [
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
    "mean_squared_error", "mean_absolute_error", "binary_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy",
    "resolve_metric", "get", "serialize", "deserialize",
]
