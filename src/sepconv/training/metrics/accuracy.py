"""Accuracy metrics: how often predictions match labels (exactly, above a
threshold, by argmax, or within the top k).

>>> metric = SparseCategoricalAccuracy()
>>> metric.update_state([2, 1], [[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])
>>> metric.result()
tensor(0.5000)
"""

from __future__ import annotations

import torch

from sepconv import config as _config
from sepconv import dtype_policies
from sepconv.training.losses import (
    as_tensor,
    exact_class_indices,
    get_mask,
    squeeze_or_expand_to_same_rank,
)
from sepconv.training.metrics.base import MeanMetricWrapper
from sepconv.utils.numbers import check_number
from sepconv.utils.validation import check_bool, check_positive_int


def _floatx():
    return dtype_policies.to_torch_dtype(_config.floatx())


def _prediction(y_pred):
    y_pred = as_tensor(y_pred)
    return y_pred


def _matches(a, b):
    return torch.eq(a, b).to(_floatx())


def accuracy(y_true, y_pred):
    """1.0 where ``y_pred == y_true`` exactly, else 0.0.

    >>> accuracy([1, 2, 3], [1, 2, 0])
    tensor([1., 1., 0.])
    """
    y_pred = _prediction(y_pred)
    y_true = as_tensor(y_true, y_pred.dtype, like=y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return _matches(y_true, y_pred)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where ``y_pred > threshold`` agrees with the 0/1 label.

    >>> binary_accuracy([[1], [0]], [[0.7], [0.6]])
    tensor([[1.],
            [0.]])
    """
    y_pred = _prediction(y_pred)
    y_true = as_tensor(y_true, like=y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return _matches(y_true, (y_pred > threshold).to(y_true.dtype))


def categorical_accuracy(y_true, y_pred):
    """1.0 where the argmax of one-hot ``y_true`` equals the argmax of ``y_pred``.

    >>> categorical_accuracy([[0, 1], [1, 0]], [[0.2, 0.8], [0.3, 0.7]])
    tensor([1., 0.])
    """
    y_pred = _prediction(y_pred)
    y_true = torch.argmax(as_tensor(y_true, like=y_pred), dim=-1).to(y_pred.dtype)
    original_shape = y_true.shape
    reshape = y_true.ndim == y_pred.ndim
    if reshape:
        y_true = y_true.squeeze(-1)
    matches = _matches(y_true, torch.argmax(y_pred, dim=-1).to(y_true.dtype))
    return matches.reshape(original_shape) if reshape else matches


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label equals the argmax of ``y_pred``.

    >>> sparse_categorical_accuracy([[1], [0]], [[0.2, 0.8], [0.3, 0.7]])
    tensor([1., 0.])
    """
    y_pred = _prediction(y_pred)
    y_true = as_tensor(y_true, y_pred.dtype, like=y_pred)
    original_shape = y_true.shape
    reshape = y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1
    if reshape:
        y_true = y_true.squeeze(-1)
    matches = _matches(y_true, torch.argmax(y_pred, dim=-1).to(y_true.dtype))
    if reshape:
        matches = matches.reshape(original_shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = matches.squeeze(-1)
    return matches


def _in_top_k(targets, predictions, k):
    """Whether each target's score is at least the k-th largest score
    (ties count as hits, as in Keras)."""
    kth = torch.topk(predictions, k, dim=-1).values[:, -1:]
    target_scores = torch.take_along_dim(predictions, targets.long()[:, None], dim=-1)
    return (target_scores >= kth).squeeze(-1)


def _top_k_matches(labels, y_pred, k):
    original_shape = labels.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    reshape = labels.ndim > 1
    if reshape:
        labels = labels.reshape(-1)
    matches = _in_top_k(labels, y_pred, k).to(_floatx())
    return matches.reshape(original_shape) if reshape else matches


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot label's class is among the ``k`` highest scores.

    >>> top_k_categorical_accuracy([[0, 0, 1], [0, 1, 0]], [[0.1, 0.5, 0.4], [0.7, 0.1, 0.2]], k=2)
    tensor([1., 0.])
    """
    y_pred = _prediction(y_pred)
    labels = torch.argmax(as_tensor(y_true, y_pred.dtype, like=y_pred), dim=-1)
    return _top_k_matches(labels, y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where the integer label is among the ``k`` highest scores (or,
    ``from_sorted_ids``, among the first ``k`` ids of ``y_pred``).

    >>> sparse_top_k_categorical_accuracy([2, 1], [[0.1, 0.5, 0.4], [0.7, 0.1, 0.2]], k=2)
    tensor([1., 0.])
    """
    y_pred = _prediction(y_pred)
    if not from_sorted_ids:
        return _top_k_matches(as_tensor(y_true, torch.int32, like=y_pred), y_pred, k)
    labels = as_tensor(y_true, y_pred.dtype, like=y_pred)
    original_shape = labels.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    matches = torch.any(labels.reshape(-1, 1) == y_pred[:, :k], dim=1).to(_floatx())
    return matches.reshape(original_shape) if labels.ndim > 1 else matches


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly.

    >>> Accuracy()([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    tensor(0.7500)
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(fn=accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches binary labels.

    >>> BinaryAccuracy()([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
    tensor(0.7500)
    """

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        check_number(threshold, "threshold")
        super().__init__(fn=binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the predictions matches one-hot labels.

    >>> CategoricalAccuracy()([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    tensor(0.5000)
    """

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(fn=categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the predictions matches integer labels.

    >>> SparseCategoricalAccuracy()([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    tensor(0.5000)
    """

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(fn=sparse_categorical_accuracy, name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is None and self._torch_dtype == torch.float32 \
                and _class_scores_and_labels(y_true, y_pred):
            # A training loop's common case: the number of argmax hits is what
            # the general path's 0/1 float32 values add up to (exactly: the
            # class indices and the counts are integers float32 holds), in
            # four operations instead of nine.
            # (argmax has no gradient, so y_pred needs no detaching)
            labels = y_true if y_true.ndim == 1 else y_true.reshape(-1)
            hits = torch.eq(torch.argmax(y_pred, dim=-1), labels).sum()
            self._follow_device(hits)
            self.total.add_(hits)
            self.count.add_(y_pred.shape[0])
            return
        super().update_state(y_true, y_pred, sample_weight)


def _class_scores_and_labels(y_true, y_pred):
    """Whether ``y_pred`` is an unmasked (samples, classes) float tensor and
    ``y_true`` one integer label per sample that float32 holds exactly (see
    :func:`~sepconv.training.losses.exact_class_indices`)."""
    return isinstance(y_pred, torch.Tensor) and y_pred.ndim == 2 \
        and y_pred.is_floating_point() and y_pred.shape[1] > 0 and get_mask(y_pred) is None \
        and exact_class_indices(y_true, y_pred) \
        and y_true.shape in ((y_pred.shape[0],), (y_pred.shape[0], 1))


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label is among the ``k`` highest predictions.

    >>> TopKCategoricalAccuracy(k=1)([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    tensor(0.5000)
    """

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        check_positive_int(k, "k")
        super().__init__(fn=top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` highest predictions.

    >>> SparseTopKCategoricalAccuracy(k=1)([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    tensor(0.5000)
    """

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids=False):
        check_positive_int(k, "k")
        check_bool(from_sorted_ids, "from_sorted_ids")
        super().__init__(fn=sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype, "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
