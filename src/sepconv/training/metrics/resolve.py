"""How Keras 3's ``compile`` turns a metric identifier into a metric object
and the name it logs it under.

>>> import torch
>>> metric = resolve_metric("accuracy", torch.zeros(8), torch.zeros(8, 10))
>>> type(metric).__name__, metric.name
('SparseCategoricalAccuracy', 'accuracy')
>>> resolve_metric("mae", torch.zeros(8, 1), torch.zeros(8, 1)).name
'mae'
"""

from __future__ import annotations

from sepconv.training.losses import function_name, is_binary_or_sparse_categorical
from sepconv.training.metrics.accuracy import (
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
)
from sepconv.training.metrics.base import Metric, MeanMetricWrapper


def resolve_metric(identifier, y_true, y_pred, loss=None):
    """The metric ``compile(metrics=[identifier])`` uses for an output with
    targets like ``y_true`` and predictions like ``y_pred`` (only their
    shapes are read), named as Keras logs it.

    "accuracy"/"acc" (any case) become BinaryAccuracy when predictions have
    one column, SparseCategoricalAccuracy when labels have lower rank (or one
    column against several), else CategoricalAccuracy. Other identifiers go
    through ``metrics.get``; a plain function is wrapped in a
    MeanMetricWrapper. A string keeps its spelling as the name ("mae",
    "AUC"); an object keeps its own name. ``loss`` is accepted for callers
    that have it; Keras 3 decides from the shapes alone.
    """
    from sepconv.metrics import get

    del loss  # Keras 3.15.1's compile does not consult the loss.
    if identifier is None:
        raise ValueError("Expected a metric, received None. Received: metric=None")
    if str(identifier).lower() in ("accuracy", "acc"):
        is_binary, is_sparse = is_binary_or_sparse_categorical(y_true, y_pred)
        cls = BinaryAccuracy if is_binary else SparseCategoricalAccuracy if is_sparse \
            else CategoricalAccuracy
        metric = cls(name=str(identifier))
    else:
        metric = get(identifier, "metric")
    name = identifier if isinstance(identifier, str) else function_name(metric)
    if not isinstance(metric, Metric):
        metric = MeanMetricWrapper(metric)
    metric.name = name
    return metric
