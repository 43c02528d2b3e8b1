"""Keras 3's losses on torch tensors: the per-sample functions, the ``Loss``
classes that weight and reduce them, and how ``compile`` turns a loss
identifier into a ``Loss``.

Numbers follow Keras's torch backend op for op (probabilities are clipped to
``[epsilon, 1 - epsilon]``, logits go through torch's fused
``log_softmax`` / ``cross_entropy`` / ``binary_cross_entropy_with_logits``),
so values and gradients match Keras's.

>>> import torch
>>> loss = SparseCategoricalCrossentropy(from_logits=True)
>>> logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]], requires_grad=True)
>>> value = loss([0, 1], logits)
>>> round(value.item(), 4)
0.3606
>>> value.backward()
>>> logits.grad.shape
torch.Size([2, 3])
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F

from sepconv import config as _config
from sepconv import dtype_policies
from sepconv.utils.naming import to_snake_case, unique_name
from sepconv.utils.numbers import check_number, is_int
from sepconv.utils.registry import Configurable
from sepconv.utils.validation import check_bool

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)

# ---------------------------------------------------------------------------------- helpers


def as_tensor(x, dtype=None, like=None):
    """``x`` (tensor, NumPy array, list or number) as a torch tensor of
    ``dtype`` (kept when None) on ``like``'s device; no copy when it already
    is one."""
    device = like.device if isinstance(like, torch.Tensor) else None
    if isinstance(x, torch.Tensor):
        if (dtype is None or x.dtype == dtype) and (device is None or x.device == device):
            return x
        return x.to(device=device, dtype=dtype)
    array = np.asarray(x)
    if dtype is None and array.dtype == np.float64:
        dtype = dtype_policies.to_torch_dtype(_config.floatx())
    return torch.as_tensor(array, dtype=dtype, device=device)


def get_mask(values):
    """The boolean mask Keras attaches to a tensor (``_keras_mask``), or None."""
    return getattr(values, "_keras_mask", None)


def set_mask(values, mask):
    """Attach ``mask`` to ``values`` as Keras does, so a loss or metric that
    reduces ``values`` leaves the masked entries out; returns ``values``."""
    values._keras_mask = mask
    return values


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """``x1``, ``x2`` with ranks made equal when they differ by exactly one and
    the longer one ends in a size-1 axis: that axis is squeezed, or (a rank-1
    partner, ``expand_rank_1``) the shorter one gets a trailing axis. Any
    other pair is returned unchanged (Keras's rule).

    >>> a, b = squeeze_or_expand_to_same_rank(torch.zeros(4, 1), torch.zeros(4))
    >>> tuple(a.shape), tuple(b.shape)
    ((4, 1), (4, 1))
    >>> a, b = squeeze_or_expand_to_same_rank(torch.zeros(4, 3, 1), torch.zeros(4, 3))
    >>> tuple(a.shape), tuple(b.shape)
    ((4, 3), (4, 3))
    """
    rank1, rank2 = x1.ndim, x2.ndim
    if rank1 == rank2 + 1 and x1.shape[-1] == 1:
        if rank2 == 1 and expand_rank_1:
            x2 = x2.unsqueeze(-1)
        else:
            x1 = x1.squeeze(-1)
    elif rank2 == rank1 + 1 and x2.shape[-1] == 1:
        if rank1 == 1 and expand_rank_1:
            x1 = x1.unsqueeze(-1)
        else:
            x2 = x2.squeeze(-1)
    return x1, x2


def exact_class_indices(y_true, y_pred):
    """Whether ``y_true`` is an integer tensor on ``y_pred``'s device and
    ``y_pred`` has at most 2**24 classes: then a label too large for float32
    to hold exactly is no class index, before or after rounding."""
    return isinstance(y_true, torch.Tensor) and not y_true.is_floating_point() \
        and not y_true.is_complex() and y_true.dtype != torch.bool \
        and y_true.device == y_pred.device and all(size <= 1 << 24 for size in y_pred.shape)


def divide_no_nan(x, y):
    """``x / y`` with 0 where ``y == 0`` (Keras's ``ops.divide_no_nan``)."""
    zero = y == 0
    return torch.where(zero, torch.zeros((), dtype=x.dtype, device=x.device),
                       x / torch.where(zero, torch.ones_like(y), y))


def check_reduction(reduction):
    """``reduction`` if Keras accepts it, else a ValueError naming the choices."""
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"Invalid value for argument `reduction`: it must be one of {list(REDUCTIONS)}. "
            f"Received: reduction={reduction!r}"
        )
    return reduction


def _check_axis(axis):
    if not is_int(axis):
        raise TypeError(f"The `axis` argument must be an integer. Received: axis={axis!r}")
    return int(axis)


def _check_label_smoothing(label_smoothing):
    return check_number(label_smoothing, "label_smoothing", low=0, high=1)


def apply_mask(sample_weight, mask, dtype, reduction):
    """``sample_weight`` with a boolean ``mask`` folded in. For the mean
    reductions the kept entries weigh ``total / kept`` so that dividing by
    the full size averages over the kept entries only."""
    if mask is None:
        return sample_weight
    if reduction in ("mean", "sum_over_batch_size"):
        total = torch.tensor(float(mask.numel()), dtype=dtype, device=mask.device)
        valid = mask.to(dtype).sum()
        float_mask = torch.where(mask.bool(), divide_no_nan(total, valid),
                                 torch.zeros((), dtype=dtype, device=mask.device))
    else:
        float_mask = mask.to(dtype)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, sample_weight.to(dtype))
    return sample_weight * float_mask


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Sum (``"sum"``) or average (the mean reductions) already weighted
    values; ``"none"``/None, a scalar or an empty vector come back as they are."""
    if reduction is None or reduction == "none" or values.ndim == 0 or tuple(values.shape) == (0,):
        return values
    loss = values.sum()
    if reduction == "sum":
        return loss
    # Keras divides in floatx whatever the loss's dtype (its divide_no_nan
    # promotes with a Python float to floatx), so a mean comes back in floatx.
    floatx = dtype_policies.to_torch_dtype(_config.floatx())
    loss = loss if loss.dtype == floatx else loss.to(floatx)
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return divide_no_nan(loss, sample_weight.sum().to(loss.dtype))
    size = values.numel()
    if size == 0:
        return torch.zeros((), dtype=loss.dtype, device=loss.device)
    return loss / float(size)  # the same division as by a 0-d tensor of the size


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", dtype=None):
    """Keras's weighting and reduction of per-sample loss values: the mask is
    folded into ``sample_weight``, the weight's rank matched to the values'
    (one trailing size-1 axis), values multiplied by it, then reduced."""
    reduction = check_reduction(reduction)
    values = as_tensor(values, dtype)
    if sample_weight is not None:
        sample_weight = as_tensor(sample_weight, values.dtype, like=values)
    sample_weight = apply_mask(sample_weight, mask, values.dtype, reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)


# --------------------------------------------------------------------------- loss functions


def _pair(y_true, y_pred):
    """``y_pred`` as a float tensor (float32 from NumPy) and ``y_true`` in its
    dtype and on its device."""
    y_pred = as_tensor(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(torch.get_default_dtype())
    return as_tensor(y_true, y_pred.dtype, like=y_pred), y_pred


def mean_squared_error(y_true, y_pred):
    """Mean over the last axis of ``(y_true - y_pred) ** 2``.

    >>> mean_squared_error([[0.0, 1.0]], [[1.0, 1.0]])
    tensor([0.5000])
    """
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pair(y_true, y_pred))
    return torch.mean(torch.square(y_true - y_pred), dim=-1)


def mean_absolute_error(y_true, y_pred):
    """Mean over the last axis of ``|y_true - y_pred|``.

    >>> mean_absolute_error([[0.0, 1.0]], [[2.0, 1.0]])
    tensor([1.])
    """
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pair(y_true, y_pred))
    return torch.mean(torch.abs(y_true - y_pred), dim=-1)


def huber(y_true, y_pred, delta=1.0):
    """Mean over the last axis of ``0.5 * e**2`` where ``|e| <= delta`` and
    ``delta * |e| - 0.5 * delta**2`` elsewhere (``e = y_pred - y_true``).

    >>> huber([[0.0, 0.0]], [[0.5, 3.0]])
    tensor([1.3125])
    """
    delta = check_number(delta, "delta")
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pair(y_true, y_pred))
    delta = torch.tensor(delta, dtype=y_pred.dtype, device=y_pred.device)
    error = y_pred - y_true
    abs_error = torch.abs(error)
    half = torch.tensor(0.5, dtype=y_pred.dtype, device=y_pred.device)
    return torch.mean(torch.where(abs_error <= delta, half * torch.square(error),
                                  delta * abs_error - half * torch.square(delta)), dim=-1)


def _check_same_shape(y_true, y_pred):
    if y_true.shape != y_pred.shape:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape. "
            f"Received: target.shape={tuple(y_true.shape)}, output.shape={tuple(y_pred.shape)}"
        )


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary crossentropy of each element, averaged over ``axis``. Labels
    are smoothed towards 0.5 by ``label_smoothing``.

    >>> binary_crossentropy([[0.0, 1.0]], [[0.4, 0.6]])
    tensor([0.5108])
    """
    from_logits = check_bool(from_logits, "from_logits")
    label_smoothing = _check_label_smoothing(label_smoothing)
    axis = _check_axis(axis)
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    _check_same_shape(y_true, y_pred)
    if from_logits:
        values = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        epsilon = _config.epsilon()
        values = F.binary_cross_entropy(torch.clip(y_pred, epsilon, 1.0 - epsilon), y_true,
                                         reduction="none")
    return torch.mean(values, dim=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Crossentropy between one-hot (or soft) labels and a distribution over
    ``axis``; predictions are normalized to sum to 1 and clipped to
    ``[epsilon, 1 - epsilon]`` unless ``from_logits``.

    >>> categorical_crossentropy([[0.0, 1.0, 0.0]], [[0.1, 0.8, 0.1]])
    tensor([0.2231])
    """
    from_logits = check_bool(from_logits, "from_logits")
    label_smoothing = _check_label_smoothing(label_smoothing)
    axis = _check_axis(axis)
    y_true, y_pred = _pair(y_true, y_pred)
    if y_pred.ndim and y_pred.shape[-1] == 1:
        warnings.warn(
            "In loss categorical_crossentropy, expected y_pred.shape to be (batch_size, "
            f"num_classes) with num_classes > 1. Received: y_pred.shape={tuple(y_pred.shape)}. "
            "Consider using 'binary_crossentropy' if you only have 2 classes.",
            SyntaxWarning, stacklevel=2,
        )
    if label_smoothing:
        num_classes = torch.tensor(float(y_true.shape[-1]), dtype=y_pred.dtype)
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    _check_same_shape(y_true, y_pred)
    if y_pred.ndim < 1:
        raise ValueError(
            "Arguments `target` and `output` must be at least rank 1. "
            f"Received: target.shape={tuple(y_true.shape)}, output.shape={tuple(y_pred.shape)}"
        )
    if from_logits:
        log_prob = F.log_softmax(y_pred, dim=axis)
    else:
        epsilon = _config.epsilon()
        probabilities = y_pred / torch.sum(y_pred, dim=axis, keepdim=True)
        log_prob = torch.log(torch.clip(probabilities, epsilon, 1.0 - epsilon))
    return -torch.sum(y_true * log_prob, dim=axis)


def _check_ignore_class(ignore_class):
    if ignore_class is not None and not is_int(ignore_class):
        raise TypeError(
            "The `ignore_class` argument must be None or an integer class id. "
            f"Received: ignore_class={ignore_class!r}"
        )
    return ignore_class


def _sparse_crossentropy(target, output, from_logits, axis):
    """Keras's ``ops.sparse_categorical_crossentropy``: integer ``target``
    of ``output``'s shape without the class axis."""
    target = target if target.dtype == torch.int64 else target.long()
    if target.ndim == output.ndim and target.shape[axis] == 1:
        target = target.squeeze(axis)
    if output.ndim < 1:
        raise ValueError(f"Argument `output` must be at least rank 1. "
                         f"Received: output.shape={tuple(output.shape)}")
    expected = list(output.shape)
    del expected[axis]
    if list(target.shape) != expected:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape up until the last "
            f"dimension: target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}"
        )
    class_axis = axis % output.ndim
    if from_logits:
        if output.ndim == 1:
            return F.cross_entropy(output.unsqueeze(0), target.unsqueeze(0),
                                   reduction="none").squeeze(0)
        if class_axis != 1:
            output = output.movedim(class_axis, 1)
        return F.cross_entropy(output, target, reduction="none")
    # Only the true class's probability matters: pick it before normalizing,
    # clipping and taking the log (the same float operations on fewer values).
    epsilon = _config.epsilon()
    picked = torch.gather(output, class_axis, target.unsqueeze(class_axis))
    probability = picked / torch.sum(output, dim=class_axis, keepdim=True)
    return -torch.log(torch.clip(probability, epsilon, 1.0 - epsilon)).squeeze(class_axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """Crossentropy between integer labels and a distribution over ``axis``.
    Entries labelled ``ignore_class`` get 0 and a mask that leaves them out
    of a ``Loss``'s average.

    >>> sparse_categorical_crossentropy([1], [[0.1, 0.8, 0.1]])
    tensor([0.2231])
    """
    from_logits = check_bool(from_logits, "from_logits")
    ignore_class = _check_ignore_class(ignore_class)
    axis = _check_axis(axis)
    y_pred = as_tensor(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(torch.get_default_dtype())
    y_true = as_tensor(y_true, like=y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[axis] == 1:
        y_true = y_true.squeeze(axis)
    if ignore_class is None:
        return _sparse_crossentropy(y_true, y_pred, from_logits, axis)
    class_axis = axis % y_pred.ndim
    result_shape = tuple(d for i, d in enumerate(y_pred.shape) if i != class_axis)
    valid = y_true != ignore_class
    y_true = torch.where(valid, y_true, torch.zeros((), dtype=y_true.dtype, device=y_true.device))
    y_pred = torch.where(valid.unsqueeze(axis), y_pred,
                         torch.zeros((), dtype=y_pred.dtype, device=y_pred.device))
    values = _sparse_crossentropy(y_true, y_pred, from_logits, axis)
    valid = valid.reshape(result_shape)
    values = torch.where(valid, values, torch.zeros((), dtype=values.dtype, device=values.device))
    return set_mask(values, valid)


# Keras's short names.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
bce = BCE = binary_crossentropy

# --------------------------------------------------------------------------------- classes


class Loss(Configurable):
    """Base of the losses: ``loss(y_true, y_pred, sample_weight=None)``
    computes the per-sample values with :meth:`call`, weights them and
    reduces them (``reduction``: "sum_over_batch_size" (default) and "mean"
    average over all values, "sum" sums, "mean_with_sample_weight" divides
    the sum by the sum of the weights, "none"/None keeps every value).

    >>> class Squares(Loss):
    ...     def call(self, y_true, y_pred):
    ...         return torch.square(y_pred - y_true).mean(dim=-1)
    >>> Squares(name="squares")([[0.0], [0.0]], [[1.0], [3.0]], sample_weight=[1.0, 0.5])
    tensor(2.7500)
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"The `name` argument must be a string. Received: name={name!r}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.reduction = check_reduction(reduction)
        # floatx by default, not the global policy (as Keras's Loss)
        self._dtype = dtype_policies.get(dtype or _config.floatx()).compute_dtype
        self._torch_dtype = dtype_policies.to_torch_dtype(self._dtype)

    @property
    def dtype(self):
        """The dtype the loss computes in ("float32" unless set)."""
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        in_mask = get_mask(y_pred)
        y_pred = as_tensor(y_pred, self._torch_dtype)
        if not (self._takes_class_indices() and exact_class_indices(y_true, y_pred)):
            y_true = as_tensor(y_true, self._torch_dtype, like=y_pred)
        values = self.call(y_true, y_pred)
        out_mask = get_mask(values)
        if in_mask is not None and out_mask is not None:
            mask = in_mask & out_mask
        else:
            mask = out_mask if in_mask is None else in_mask
        return reduce_weighted_values(values, sample_weight=sample_weight, mask=mask,
                                      reduction=self.reduction, dtype=self._torch_dtype)

    def _takes_class_indices(self):
        """Whether :meth:`call` reads ``y_true`` as integer class indices
        (Keras first casts them to the loss's float dtype; integers that
        float32 holds exactly come back unchanged, so that cast is skipped)."""
        return False

    def call(self, y_true, y_pred):
        """The per-sample loss values (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement `call(y_true, y_pred)`.")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}


def serialize_function(fn):
    """A loss function inside a config, as Keras 3 writes it."""
    from sepconv.losses import _REGISTRY

    if fn in _REGISTRY.builtins:
        return {"module": "builtins", "class_name": "function", "config": fn.__name__,
                "registered_name": "function"}
    from sepconv.saving import serialize_keras_object

    return serialize_keras_object(fn)


def with_deserialized_function(config):
    """A copy of a wrapper's ``config`` whose ``"fn"`` entry (a serialized
    function or a name) is the function again (see :func:`serialize_function`)."""
    config = dict(config)
    if isinstance(config.get("fn"), (dict, str)):
        from sepconv.losses import deserialize

        config["fn"] = deserialize(config["fn"])
    return config


class LossFunctionWrapper(Loss):
    """A ``Loss`` around a function ``fn(y_true, y_pred, **kwargs)`` that
    returns per-sample values (what ``compile`` makes of a loss function).

    >>> LossFunctionWrapper(mean_absolute_error, name="mae")([[1.0], [2.0]], [[0.0], [0.0]])
    tensor(1.5000)
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"The `fn` argument must be callable. Received: fn={fn!r}")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def _takes_class_indices(self):
        return self.fn is sparse_categorical_crossentropy

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config["fn"] = serialize_function(self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**with_deserialized_function(config))

    def __repr__(self):
        return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, " \
               f"kwargs={self._fn_kwargs})>"


class MeanSquaredError(LossFunctionWrapper):
    """Mean of ``(y_true - y_pred) ** 2``.

    >>> MeanSquaredError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]])
    tensor(0.5000)
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


class MeanAbsoluteError(LossFunctionWrapper):
    """Mean of ``|y_true - y_pred|``.

    >>> MeanAbsoluteError()([[0.0, 1.0]], [[2.0, 1.0]])
    tensor(1.)
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


class Huber(LossFunctionWrapper):
    """Huber loss: squared error below ``delta``, linear above. (Keras's
    config of it omits ``delta``; so does this one.)

    >>> Huber(delta=1.0)([[0.0, 0.0]], [[0.5, 3.0]])
    tensor(1.3125)
    """

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss",
                 dtype=None):
        check_number(delta, "delta")
        super().__init__(huber, name=name, reduction=reduction, dtype=dtype, delta=delta)

    def get_config(self):
        return Loss.get_config(self)


class _SmoothedCrossentropy(LossFunctionWrapper):
    """Binary and categorical crossentropy: the same arguments (logits,
    label smoothing, axis) and config around a different function."""

    def __init__(self, fn, from_logits, label_smoothing, axis, reduction, name, dtype):
        check_bool(from_logits, "from_logits")
        _check_label_smoothing(label_smoothing)
        _check_axis(axis)
        super().__init__(fn, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class BinaryCrossentropy(_SmoothedCrossentropy):
    """Binary crossentropy (probabilities, or logits with ``from_logits``).

    >>> BinaryCrossentropy()([[0.0, 1.0]], [[0.4, 0.6]])
    tensor(0.5108)
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, from_logits, label_smoothing, axis, reduction,
                         name, dtype)


class CategoricalCrossentropy(_SmoothedCrossentropy):
    """Crossentropy with one-hot (or soft) labels.

    >>> CategoricalCrossentropy(from_logits=True)([[0.0, 1.0]], [[0.0, 0.0]])
    tensor(0.6931)
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, from_logits, label_smoothing, axis,
                         reduction, name, dtype)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy with integer labels; entries labelled ``ignore_class``
    are left out of the average. (Keras's config omits ``axis``; so does
    this one.)

    >>> SparseCategoricalCrossentropy(ignore_class=-1)([1, -1], [[0.2, 0.8], [0.5, 0.5]])
    tensor(0.2231)
    """

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 axis=-1, name="sparse_categorical_crossentropy", dtype=None):
        check_bool(from_logits, "from_logits")
        _check_ignore_class(ignore_class)
        _check_axis(axis)
        super().__init__(sparse_categorical_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, from_logits=from_logits, ignore_class=ignore_class,
                         axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class}


# ------------------------------------------------------------------------ compile's choice


def is_binary_or_sparse_categorical(y_true, y_pred):
    """``(is_binary, is_sparse_categorical)`` from the shapes, as Keras's
    compile decides what "accuracy" or "crossentropy" mean: one prediction
    per sample is binary; labels of lower rank, or a single label column
    against several predictions, are sparse.

    >>> is_binary_or_sparse_categorical(torch.zeros(4), torch.zeros(4, 3))
    (False, True)
    """
    true_shape, pred_shape = tuple(np.shape(y_true)), tuple(np.shape(y_pred))
    true_last = true_shape[-1] if true_shape else None
    pred_last = pred_shape[-1] if pred_shape else None
    is_binary = pred_last == 1
    is_sparse = len(true_shape) < len(pred_shape) or (
        true_last == 1 and pred_last is not None and pred_last > 1)
    return is_binary, is_sparse


def function_name(obj):
    """The name Keras gives an object in logs: its ``name``, else the
    snake_case of its function or class name."""
    if hasattr(obj, "name"):
        return obj.name
    if hasattr(obj, "__name__"):
        return to_snake_case(obj.__name__)
    return to_snake_case(type(obj).__name__)


def resolve_loss(identifier, y_true, y_pred):
    """The ``Loss`` Keras's ``compile`` makes of ``identifier`` for one
    output: "crossentropy"/"ce" become binary, sparse categorical or
    categorical crossentropy by the shapes; other names, dicts and classes
    go through ``losses.get``; a function is wrapped in a
    :class:`LossFunctionWrapper` named after the identifier.

    >>> loss = resolve_loss("ce", torch.zeros(4), torch.zeros(4, 3))
    >>> loss.name, loss.fn.__name__
    ('ce', 'sparse_categorical_crossentropy')
    """
    from sepconv.losses import get

    if identifier is None:
        return None
    if str(identifier).lower() in ("crossentropy", "ce"):
        is_binary, is_sparse = is_binary_or_sparse_categorical(y_true, y_pred)
        loss = (binary_crossentropy if is_binary else sparse_categorical_crossentropy
                if is_sparse else categorical_crossentropy)
    else:
        loss = get(identifier)
    if isinstance(loss, Loss):
        return loss
    name = identifier if isinstance(identifier, str) else function_name(loss)
    return LossFunctionWrapper(loss, name=name)


__all__ = [
    "Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError", "Huber",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "mean_squared_error", "mean_absolute_error", "huber", "binary_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy", "mse", "mae", "bce",
    "MSE", "MAE", "BCE", "resolve_loss", "reduce_weighted_values",
    "squeeze_or_expand_to_same_rank", "is_binary_or_sparse_categorical",
]
