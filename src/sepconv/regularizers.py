"""Weight regularizers, as ``keras.regularizers``: ``regularizer(weight)`` is
a differentiable scalar tensor added to the training loss.

>>> import torch
>>> from sepconv import regularizers
>>> kernel = torch.ones(3, 3, 2, 4)
>>> regularizers.L2(0.5)(kernel)
tensor(36.)
>>> regularizers.get("l1")(kernel)
tensor(0.7200)
>>> regularizers.get("l1_l2").get_config()
{'l1': 0.01, 'l2': 0.01}
>>> regularizers.serialize(regularizers.L2(0.1))
{'module': 'keras.regularizers', 'class_name': 'L2', 'config': {'l2': 0.1}, 'registered_name': None}
"""

from __future__ import annotations

import math
import numbers

import torch

from sepconv import config
from sepconv.utils.registry import Configurable, Registry


def _penalty(name, value, default):
    """A regularization factor: a finite non-negative number (None: default)."""
    if value is None:
        value = default
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not math.isfinite(value) or value < 0):
        raise ValueError(
            f"Invalid value for argument `{name}`: it must be a non-negative finite "
            f"number. Received: {name}={value!r}"
        )
    return float(value)


def _as_floatx(value):
    """``value`` rounded to floatx, as Keras stores factors held in tensors
    (``L1(0.01).get_config()`` is ``{'l1': 0.009999999776482582}``)."""
    return torch.tensor(value, dtype=getattr(torch, config.floatx())).item()


def _tensor(x):
    if isinstance(x, torch.Tensor):
        return x
    return torch.as_tensor(x, dtype=getattr(torch, config.floatx()))


class Regularizer(Configurable):
    """Base class: ``regularizer(x)`` returns a scalar penalty for tensor ``x``.

    Subclasses implement ``__call__`` and ``get_config``. Any function of a
    tensor that returns a scalar can be used instead of an instance.
    """

    def __call__(self, x):
        return torch.zeros((), dtype=_tensor(x).dtype)

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement `get_config()`.")


class L1(Regularizer):
    """``l1 * sum(abs(x))``. The factor is kept at floatx precision, as in
    Keras (so its config shows ``0.009999999776482582`` for 0.01)."""

    def __init__(self, l1=0.01):
        self.l1 = _as_floatx(_penalty("l1", l1, 0.01))

    def __call__(self, x):
        x = _tensor(x)
        return torch.tensor(self.l1, dtype=x.dtype) * torch.sum(torch.abs(x))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(square(x))``."""

    def __init__(self, l2=0.01):
        self.l2 = _penalty("l2", l2, 0.01)

    def __call__(self, x):
        x = _tensor(x)
        return torch.tensor(self.l2, dtype=x.dtype) * torch.sum(torch.square(x))

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """``l1 * sum(abs(x)) + l2 * sum(square(x))``; both factors default to 0
    (the name ``"l1_l2"`` gives 0.01 and 0.01, as Keras documents)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _penalty("l1", l1, 0.0)
        self.l2 = _penalty("l2", l2, 0.0)

    def __call__(self, x):
        x = _tensor(x)
        penalty = torch.zeros((), dtype=x.dtype)
        if self.l1:
            penalty = penalty + torch.tensor(self.l1, dtype=x.dtype) * torch.sum(torch.abs(x))
        if self.l2:
            penalty = penalty + torch.tensor(self.l2, dtype=x.dtype) * torch.sum(torch.square(x))
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (``mode="rows"``) or columns (``"columns"``) of a 2-D
    weight towards orthogonality: ``factor`` times the mean absolute cosine
    similarity over all pairs of distinct rows (columns).

    >>> OrthogonalRegularizer(factor=1.0)(torch.eye(3))
    tensor(0.)
    """

    MODES = ("rows", "columns")

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _as_floatx(_penalty("factor", factor, 0.01))
        if mode not in self.MODES:
            raise ValueError(f"Invalid value for argument `mode`: it must be one of "
                             f"{self.MODES}. Received: mode={mode!r}")
        self.mode = mode

    def __call__(self, x):
        x = _tensor(x)
        if x.ndim != 2:
            raise ValueError(
                "OrthogonalRegularizer applies to 2-D weights only. "
                f"Received: inputs.shape={tuple(x.shape)}"
            )
        vectors = x if self.mode == "rows" else x.T
        size = vectors.shape[0]
        if size < 2:
            raise ValueError(
                f"OrthogonalRegularizer (mode={self.mode!r}) needs at least 2 {self.mode} "
                f"to compare. Received: inputs.shape={tuple(x.shape)}"
            )
        inv_norm = torch.rsqrt(torch.sum(torch.square(vectors), dim=1, keepdim=True))
        unit = vectors * torch.clamp(inv_norm, max=1.0 / config.epsilon())
        cosines = unit @ unit.T
        off_diagonal = cosines * (1.0 - torch.eye(size, dtype=x.dtype))
        num_pairs = size * (size - 1.0) / 2.0
        factor = torch.tensor(self.factor, dtype=x.dtype)
        return factor * 0.5 * torch.sum(torch.abs(off_diagonal)) / num_pairs

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


_REGISTRY = Registry(
    "regularizer",
    "keras.regularizers",
    [(Regularizer, "regularizer"), (L1, "l1"), (L2, "l2"), (L1L2, "l1l2"),
     (OrthogonalRegularizer, "orthogonal_regularizer")],
    presets={"l1_l2": lambda: L1L2(l1=0.01, l2=0.01)},
    module_overrides={Regularizer: "keras"},
)


def get(identifier, argument="identifier"):
    """The regularizer ``identifier`` stands for: None gives None; a name
    (``"l2"``, ``"L1L2"``, ``"l1_l2"``) or class a default instance; a config
    dict is deserialized; an instance or callable is returned as is."""
    return _REGISTRY.get(identifier, argument)


def serialize(regularizer):
    """The Keras 3 config dict of ``regularizer``."""
    return _REGISTRY.serialize(regularizer)


def deserialize(config, custom_objects=None):
    """The regularizer a config (dict or name) describes; the inverse of
    :func:`serialize`. ``custom_objects`` maps names to user classes."""
    return _REGISTRY.deserialize(config, custom_objects)


# Keras's snake_case spellings (``l1_l2`` is the class, defaults 0 and 0).
l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer",
           "l1", "l2", "l1_l2", "orthogonal_regularizer", "get", "serialize", "deserialize"]
