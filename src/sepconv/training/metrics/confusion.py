"""Confusion-matrix metrics: Precision, Recall and AUC, from true/false
positive/negative counts at thresholds.

>>> metric = Precision()
>>> metric.update_state([0, 1, 1, 1], [1, 0, 1, 1])
>>> round(float(metric.result()), 4)
0.6667
"""

from __future__ import annotations

import numpy as np
import torch

from sepconv import config as _config
from sepconv.training.losses import as_tensor, divide_no_nan, squeeze_or_expand_to_same_rank
from sepconv.training.metrics.base import Metric, detached
from sepconv.utils.numbers import is_int
from sepconv.utils.validation import check_bool

NEG_INF = -1e10
CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
SUMMATION_METHODS = ("interpolation", "majoring", "minoring")


def _threshold_list(thresholds, default):
    """``thresholds`` (None, a number or a sequence in [0, 1]) as a list."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) \
        else [thresholds]
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                or not 0 <= value <= 1:
            raise ValueError(
                "The `thresholds` argument must be a number or a list of numbers in [0, 1]. "
                f"Received: thresholds={thresholds!r}"
            )
    return values


def _check_optional_int(value, argument, low=0):
    if value is not None and (not is_int(value) or value < low):
        raise ValueError(
            f"The `{argument}` argument must be None or an integer >= {low}. "
            f"Received: {argument}={value!r}"
        )
    return value


def evenly_distributed(thresholds):
    """Whether ``thresholds`` are ``i / (n - 1)`` for ``i < n``, n >= 3 (then
    counts come from one bucketing pass instead of one pass per threshold)."""
    count = len(thresholds)
    if count < 3:
        return False
    even = np.arange(count, dtype=np.float32) / (count - 1)
    return bool(np.allclose(thresholds, even, atol=_config.epsilon()))


def _keep_top_k(y_pred, k):
    """``y_pred`` with all but the ``k`` largest entries of its last axis
    set to NEG_INF."""
    indices = torch.topk(y_pred, k, dim=-1).indices
    keep = torch.zeros_like(y_pred).scatter_(-1, indices, 1.0)
    return y_pred * keep + NEG_INF * (1 - keep)


def _bucketed_counts(y_true, y_pred, weights, num_thresholds, multi_label, with_epsilon):
    """(tp, fp, total positives, total negatives) at evenly spaced thresholds:
    each prediction falls in one bucket; counts are reverse cumulative sums."""
    y_pred = torch.clip(y_pred, 0.0, 1.0)
    y_true = y_true.bool().to(y_pred.dtype)
    if not multi_label:
        y_true, y_pred = y_true.reshape(-1), y_pred.reshape(-1)
        if isinstance(weights, torch.Tensor):
            weights = weights.reshape(-1)
    positives = y_true * weights
    negatives = (1.0 - y_true) * weights
    positives = torch.broadcast_to(positives, y_pred.shape)
    negatives = torch.broadcast_to(negatives, y_pred.shape)
    buckets = torch.ceil(y_pred * (num_thresholds - 1)) - 1
    if with_epsilon:
        buckets = torch.relu(buckets)
    buckets = buckets.long()
    buckets = torch.where((buckets >= 0) & (buckets < num_thresholds), buckets, num_thresholds)
    if multi_label:  # (samples, labels) -> per-label buckets
        labels = y_pred.shape[1]
        offsets = torch.arange(labels, device=y_pred.device) * (num_thresholds + 1)
        flat = (buckets + offsets).reshape(-1)
        size = labels * (num_thresholds + 1)

        def counts(values):
            summed = torch.zeros(size, dtype=values.dtype, device=values.device)
            summed.scatter_add_(0, flat, values.reshape(-1))
            per_label = summed.reshape(labels, num_thresholds + 1)[:, :-1]
            return per_label.flip(1).cumsum(1).flip(1).T
        return counts(positives), counts(negatives), positives.sum(0), negatives.sum(0)

    def counts(values):
        summed = torch.zeros(num_thresholds + 1, dtype=values.dtype, device=values.device)
        summed.scatter_add_(0, buckets, values)
        return summed[:-1].flip(0).cumsum(0).flip(0)
    return counts(positives), counts(negatives), positives.sum(), negatives.sum()


def _thresholded_counts(y_true, y_pred, weights, thresholds, multi_label):
    """(tp, fp, total positives, total negatives) with ``y_pred > t`` for
    each threshold ``t``."""
    if multi_label:
        above = y_pred.unsqueeze(0) > thresholds.reshape(-1, 1, 1)  # (T, B, L)
        positive = y_true.bool().unsqueeze(0)
        w = torch.broadcast_to(weights, y_pred.shape).unsqueeze(0)
        pos_w, neg_w = positive * w, (~positive) * w
        return ((above * pos_w).sum(1), (above * neg_w).sum(1), pos_w.sum(1)[0],
                neg_w.sum(1)[0])
    above = y_pred.reshape(1, -1) > thresholds.reshape(-1, 1)  # (T, N)
    positive = y_true.bool().reshape(-1)
    w = torch.broadcast_to(weights, y_pred.shape).reshape(-1)
    pos_w = torch.where(positive, w, torch.zeros_like(w))
    neg_w = w - pos_w
    return (above * pos_w).sum(1), (above * neg_w).sum(1), pos_w.sum(), neg_w.sum()


def confusion_counts(y_true, y_pred, thresholds, *, evenly=False, top_k=None, class_id=None,
                     sample_weight=None, multi_label=False, label_weights=None, dtype):
    """Weighted ``(tp, fp, tn, fn)`` of a batch at each threshold, Keras's
    rules: predictions above a threshold are positive; labels are cast to
    bool; ``top_k`` keeps only the k largest predictions; ``class_id``
    selects one class column; ``multi_label`` keeps a label axis."""
    y_pred = as_tensor(detached(y_pred), dtype)
    y_true = as_tensor(detached(y_true), dtype, like=y_pred)
    with_epsilon = evenly and (thresholds[0] < 0.0 or thresholds[-1] > 1.0)
    thresholds = torch.tensor(np.asarray(thresholds), dtype=dtype, device=y_pred.device)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = as_tensor(detached(sample_weight), dtype, like=y_pred).unsqueeze(-1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight,
                                                          expand_rank_1=False)
    if top_k is not None:
        y_pred = _keep_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(
                "When class_id is provided, y_pred must be a 2D array with shape "
                f"(num_samples, num_classes). Received: y_pred.shape={tuple(y_pred.shape)}"
            )
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    weights = torch.ones((), dtype=dtype, device=y_pred.device) if sample_weight is None \
        else torch.broadcast_to(sample_weight, y_pred.shape)
    if label_weights is not None:
        weights = weights * torch.broadcast_to(label_weights.unsqueeze(0), y_pred.shape)
    if evenly:
        tp, fp, positives, negatives = _bucketed_counts(
            y_true, y_pred, weights, thresholds.shape[0], multi_label, with_epsilon)
    else:
        tp, fp, positives, negatives = _thresholded_counts(
            y_true, y_pred, weights, thresholds, multi_label)
    return tp, fp, negatives - fp, positives - tp


class _PrecisionRecall(Metric):
    """Shared set-up of Precision and Recall: thresholds, top_k, class_id and
    two count vectors (true positives and ``_other``)."""

    _other = None

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        _check_optional_int(top_k, "top_k", low=1)
        _check_optional_int(class_id, "class_id")
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _threshold_list(thresholds, 0.5 if top_k is None else NEG_INF)
        self._evenly = evenly_distributed(self.thresholds)
        self.add_variable((len(self.thresholds),), "true_positives")
        self.add_variable((len(self.thresholds),), self._other)

    def update_state(self, y_true, y_pred, sample_weight=None):
        tp, fp, tn, fn = confusion_counts(
            y_true, y_pred, self.thresholds, evenly=self._evenly, top_k=self.top_k,
            class_id=self.class_id, sample_weight=sample_weight, dtype=self._torch_dtype)
        self._follow_device(tp)
        self.true_positives.add_(tp)
        getattr(self, self._other).add_(fp if self._other == "false_positives" else fn)

    def result(self):
        other = getattr(self, self._other)
        value = divide_no_nan(self.true_positives, self.true_positives + other)
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """Share of predicted positives (``y_pred > threshold``, or the top k)
    that are labelled positive; one value per threshold.

    >>> Precision(thresholds=[0.3, 0.7])([0, 1, 1, 1], [0.5, 0.2, 0.8, 0.9])
    tensor([0.6667, 1.0000])
    """

    _other = "false_positives"


class Recall(_PrecisionRecall):
    """Share of labelled positives that are predicted positive.

    >>> Recall()([0, 1, 1, 1], [1, 0, 1, 1])
    tensor(0.6667)
    """

    _other = "false_negatives"


def _curve(curve):
    if isinstance(curve, str) and curve.lower() in CURVES and curve in (
            curve.lower(), curve.upper()):
        return CURVES[curve.lower()]
    raise ValueError(
        f"Invalid value for argument `curve`: it must be one of {sorted(CURVES.values())}. "
        f"Received: curve={curve!r}"
    )


def _summation(method):
    if isinstance(method, str) and method.lower() in SUMMATION_METHODS and method in (
            method.lower(), method.capitalize()):
        return method.lower()
    raise ValueError(
        "Invalid value for argument `summation_method`: it must be one of "
        f"{list(SUMMATION_METHODS)}. Received: summation_method={method!r}"
    )


class AUC(Metric):
    """Area under the ROC, PR or PR-gain curve, from confusion counts at
    ``num_thresholds`` thresholds (or the given ``thresholds`` plus 0 and 1).

    >>> AUC(num_thresholds=3)([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    tensor(0.7500)
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            thresholds = sorted(_threshold_list(thresholds, None))
            self.num_thresholds = len(thresholds) + 2
            self._evenly = evenly_distributed(np.array([0.0] + thresholds + [1.0]))
        else:
            if not is_int(num_thresholds) or num_thresholds <= 1:
                raise ValueError(
                    "Argument `num_thresholds` must be an integer > 1. "
                    f"Received: num_thresholds={num_thresholds!r}"
                )
            self.num_thresholds = num_thresholds
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        epsilon = _config.epsilon()
        self._thresholds = np.array([0.0 - epsilon] + thresholds + [1.0 + epsilon])
        self.curve = _curve(curve)
        self.summation_method = _summation(summation_method)
        super().__init__(name=name, dtype=dtype)
        self.multi_label = check_bool(multi_label, "multi_label")
        self.num_labels = _check_optional_int(num_labels, "num_labels", low=1)
        self._from_logits = check_bool(from_logits, "from_logits")
        self.label_weights = None if label_weights is None else \
            torch.as_tensor(np.asarray(label_weights), dtype=self._torch_dtype)
        self._built = False
        if self.multi_label:
            if num_labels:
                self._build((None, num_labels))
        elif num_labels:
            raise ValueError("`num_labels` is needed only when `multi_label` is True. "
                             f"Received: num_labels={num_labels!r}")
        else:
            self._build(None)

    @property
    def thresholds(self):
        """The thresholds, including the two just outside [0, 1]."""
        return list(self._thresholds)

    def _build(self, shape):
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(
                    "`y_pred` must have rank 2 when `multi_label=True`. "
                    f"Received: y_pred.shape={tuple(shape)}"
                )
            self._num_labels = shape[1]
            variable_shape = (self.num_thresholds, self._num_labels)
        else:
            variable_shape = (self.num_thresholds,)
        for name in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            self.add_variable(variable_shape, name)
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = detached(y_pred)
        if not self._built:
            self._build(tuple(np.shape(y_pred)))
        if self._from_logits:
            y_pred = torch.sigmoid(as_tensor(y_pred, self._torch_dtype))
        label_weights = None if self.multi_label else self.label_weights
        if label_weights is not None and isinstance(y_pred, torch.Tensor):
            label_weights = label_weights.to(y_pred.device)
        tp, fp, tn, fn = confusion_counts(
            y_true, y_pred, self._thresholds, evenly=self._evenly,
            sample_weight=sample_weight, multi_label=self.multi_label,
            label_weights=label_weights, dtype=self._torch_dtype)
        self._follow_device(tp)
        self.true_positives.add_(tp)
        self.false_positives.add_(fp)
        self.true_negatives.add_(tn)
        self.false_negatives.add_(fn)

    def _average_over_labels(self, by_label):
        if self.label_weights is None:
            return by_label.mean()
        weights = self.label_weights.to(by_label.device)
        return divide_no_nan((by_label * weights).sum(), weights.sum())

    def _interpolated_pr_auc(self):
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, torch.clamp(dp, min=0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = torch.where(both, divide_no_nan(p[:-1], torch.clamp(p[1:], min=0)),
                            torch.ones_like(p[1:]))
        increment = divide_no_nan(slope * (dtp + intercept * torch.log(ratio)),
                                  torch.clamp(tp[1:] + fn[1:], min=0))
        if self.multi_label:
            return self._average_over_labels(increment.sum(0))
        return increment.sum()

    def result(self):
        if not self._built:
            return torch.zeros((), dtype=self._torch_dtype)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolated_pr_auc()
        tp, fp = self.true_positives, self.false_positives
        tn, fn = self.true_negatives, self.false_negatives
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:
            scale = divide_no_nan(tp + fn, tn + fp)
            recall_gain = 1.0 - scale * divide_no_nan(fn, tp)
            precision_gain = 1.0 - scale * divide_no_nan(fp, tp)
            zero = tp == 0
            recall_gain = torch.where(zero, torch.zeros_like(tp), recall_gain)
            precision_gain = torch.where(zero, torch.ones_like(tp), precision_gain)
            x, y = torch.clamp(recall_gain, min=0.0), precision_gain
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        terms = (x[:-1] - x[1:]) * heights
        if self.multi_label:
            return self._average_over_labels(terms.sum(0))
        return terms.sum()

    def get_config(self):
        config = {**super().get_config(), "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None
                  else self.label_weights.tolist(),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
