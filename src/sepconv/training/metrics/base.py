"""The metric base class and the reducing metrics (``Mean``, ``Sum``,
``MeanMetricWrapper``) the others build on.

A metric's whole state is ``metric.variables``: torch tensors that are
*additive* across data shards (totals and counts), so a distributed trainer
can all-reduce (sum) them in place and then call ``result()``:

>>> import torch
>>> whole, half_a, half_b = Mean(), Mean(), Mean()
>>> whole.update_state([1.0, 2.0, 3.0, 6.0])
>>> half_a.update_state([1.0, 2.0]); half_b.update_state([3.0, 6.0])
>>> for mine, other in zip(half_a.variables, half_b.variables):
...     _ = mine.add_(other)
>>> float(half_a.result()) == float(whole.result()) == 3.0
True
"""

from __future__ import annotations

import torch

from sepconv import config as _config
from sepconv import dtype_policies
from sepconv.training.losses import (
    apply_mask,
    as_tensor,
    divide_no_nan,
    get_mask,
    squeeze_or_expand_to_same_rank,
)
from sepconv.utils.naming import to_snake_case, unique_name
from sepconv.utils.numbers import is_int
from sepconv.utils.registry import Configurable


def detached(x):
    """``x`` without autograd history (metrics never backpropagate)."""
    return x.detach() if isinstance(x, torch.Tensor) else x


class Metric(Configurable):
    """Base of the metrics: ``update_state(y_true, y_pred, sample_weight=None)``
    accumulates into the state tensors made by :meth:`add_variable`,
    ``result()`` reads them, ``reset_state()`` zeroes them.

    >>> class Count(Metric):
    ...     def __init__(self, name="count", dtype=None):
    ...         super().__init__(name=name, dtype=dtype)
    ...         self.count = self.add_variable((), name="count")
    ...     def update_state(self, values):
    ...         self.count.add_(len(values))
    ...     def result(self):
    ...         return self.count.clone()
    >>> metric = Count()
    >>> metric([1, 2, 3])
    tensor(3.)
    """

    def __init__(self, dtype=None, name=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"The `name` argument must be a string. Received: name={name!r}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        # floatx by default, not the global policy (as Keras's Metric)
        self._dtype = dtype_policies.get(dtype or _config.floatx()).compute_dtype
        self._torch_dtype = dtype_policies.to_torch_dtype(self._dtype)
        self._variable_names = []

    @property
    def dtype(self):
        """The dtype the metric computes and keeps its state in."""
        return self._dtype

    def add_variable(self, shape, name, dtype=None):
        """A new zero state tensor stored as attribute ``name`` and listed in
        :attr:`variables`."""
        dtype = self._torch_dtype if dtype is None else dtype_policies.to_torch_dtype(dtype)
        setattr(self, name, torch.zeros(tuple(shape), dtype=dtype))
        self._variable_names.append(name)
        return getattr(self, name)

    @property
    def variables(self):
        """The state tensors (each additive across data shards)."""
        return [getattr(self, name) for name in self._variable_names]

    def _follow_device(self, x):
        """Move the state to ``x``'s device the first time data arrives there."""
        if isinstance(x, torch.Tensor) and self._variable_names:
            device = x.device
            if getattr(self, self._variable_names[0]).device != device:
                for name in self._variable_names:
                    setattr(self, name, getattr(self, name).to(device))

    def reset_state(self):
        """Zero every state tensor (in place)."""
        for variable in self.variables:
            variable.zero_()

    def update_state(self, *args, **kwargs):
        """Accumulate a batch (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement `update_state`.")

    def result(self):
        """The metric's value from the current state (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement `result`.")

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype):
    """Keras's weighting of metric values: the weight's rank is matched to
    the values' (axes beyond it are reduced with ``reduce_fn`` first), the
    values weighted, then reduced to one value per sample. Returns
    ``(values, sample_weight)``."""
    mask = get_mask(values)
    values = as_tensor(detached(values), dtype)
    if sample_weight is not None:
        sample_weight = as_tensor(detached(sample_weight), dtype, like=values)
        if mask is not None:
            sample_weight = apply_mask(sample_weight, mask, dtype, "sum")
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        if values.ndim > sample_weight.ndim:
            values = reduce_fn(values, dim=tuple(range(sample_weight.ndim, values.ndim)))
        sample_weight = torch.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if sample_weight.ndim > 1:
            sample_weight = reduce_fn(sample_weight, dim=tuple(range(1, sample_weight.ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, dim=tuple(range(1, values.ndim)))
    return values, sample_weight


def _is_plain_scalar(values, dtype):
    """A 0-d tensor of ``dtype`` with no Keras mask attached."""
    return isinstance(values, torch.Tensor) and values.ndim == 0 and values.dtype == dtype \
        and get_mask(values) is None


class Sum(Metric):
    """The (weighted) sum of all values seen.

    >>> Sum()([1.0, 3.0, 5.0])
    tensor(9.)
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.add_variable((), "total")

    def update_state(self, values, sample_weight=None):
        values, _ = reduce_to_samplewise_values(values, sample_weight, torch.sum,
                                                self._torch_dtype)
        self._follow_device(values)
        self.total.add_(values.sum())

    def result(self):
        return self.total.clone()


class Mean(Metric):
    """The (weighted) mean of all values seen; values with several entries
    per sample are averaged per sample first.

    >>> Mean()([1.0, 3.0, 5.0], sample_weight=[1.0, 1.0, 0.0])
    tensor(2.)
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.add_variable((), "total")
        self.add_variable((), "count")

    def update_state(self, values, sample_weight=None):
        if _is_plain_scalar(values, self._torch_dtype) and is_int(sample_weight):
            # One value counted `sample_weight` times (a training loop's
            # batch loss): the general path's float operations, without it.
            self._follow_device(values)
            self.total.add_((values.detach() if values.requires_grad else values)
                            * int(sample_weight))
            self.count.add_(int(sample_weight))
            return
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, torch.mean,
                                                            self._torch_dtype)
        self._follow_device(values)
        self.total.add_(values.sum())
        if sample_weight is not None:
            self.count.add_(sample_weight.sum())
        else:
            self.count.add_(values.shape[0] if values.ndim >= 1 else 1)

    def result(self):
        return divide_no_nan(self.total, self.count)


class MeanMetricWrapper(Mean):
    """The mean of ``fn(y_true, y_pred, **kwargs)`` over all samples seen.

    >>> from sepconv.training.losses import mean_absolute_error
    >>> metric = MeanMetricWrapper(mean_absolute_error, name="mae")
    >>> metric([[0.0], [0.0]], [[1.0], [3.0]])
    tensor(2.)
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"The `fn` argument must be callable. Received: fn={fn!r}")
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = get_mask(y_pred)
        values = self._fn(detached(y_true), detached(y_pred), **self._fn_kwargs)
        if mask is not None:
            sample_weight = apply_mask(
                None if sample_weight is None
                else as_tensor(detached(sample_weight), self._torch_dtype, like=values),
                mask, self._torch_dtype, "sum")
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        """Name, dtype and the function's keyword arguments; the function
        itself only for a plain wrapper (a subclass's class fixes it)."""
        from sepconv.training.losses import serialize_function

        config = super().get_config()
        if type(self) is MeanMetricWrapper:
            config["fn"] = serialize_function(self._fn)
        return {**config, **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        from sepconv.training.losses import with_deserialized_function

        return cls(**with_deserialized_function(config))
