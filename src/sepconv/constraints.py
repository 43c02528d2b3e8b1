"""Weight constraints, as ``keras.constraints``: ``constraint(weight)``
returns the weight projected back into the allowed set.

Axes refer to Keras's weight layout: a Conv2D kernel is
``(rows, cols, in_channels, filters)``, so ``MaxNorm(axis=[0, 1, 2])`` bounds
the norm of each filter. :func:`apply_constraints` applies the constraints
carried by a module's :class:`~sepconv.variables.Variable` weights in place,
as ``fit`` does after each optimizer step.

>>> import torch
>>> from sepconv import constraints
>>> from sepconv.variables import Variable
>>> kernel = torch.full((3, 3, 2, 4), 10.0)
>>> projected = constraints.MaxNorm(2.0, axis=[0, 1, 2])(kernel)
>>> projected.square().sum(dim=(0, 1, 2)).sqrt()
tensor([2.0000, 2.0000, 2.0000, 2.0000])
>>> layer = torch.nn.Module()
>>> layer.kernel = Variable(torch.tensor([-1.0, 2.0]), name="kernel",
...                         constraint=constraints.get("non_neg"))
>>> apply_constraints(layer)
1
>>> layer.kernel.data
tensor([0., 2.])
"""

from __future__ import annotations

import numbers

import torch

from sepconv import config
from sepconv.utils.registry import Configurable, Registry


def _check_number(name, value, rule, ok):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not ok(value):
        raise ValueError(f"Invalid value for argument `{name}`: it must be {rule}. "
                         f"Received: {name}={value!r}")
    return value


def _check_axis(axis):
    def is_int(a):
        return isinstance(a, numbers.Integral) and not isinstance(a, bool)
    if is_int(axis) or (isinstance(axis, (list, tuple)) and axis and all(map(is_int, axis))):
        return axis
    raise ValueError("Invalid value for argument `axis`: it must be an int or a non-empty list "
                     f"of ints. Received: axis={axis!r}")


def _tensor(w):
    if isinstance(w, torch.Tensor):
        return w
    return torch.as_tensor(w, dtype=getattr(torch, config.floatx()))


def _norms(w, axis):
    """L2 norms of ``w`` over ``axis``, keeping dims so they broadcast back."""
    dims = list(axis) if isinstance(axis, (list, tuple)) else axis
    return torch.sqrt(torch.sum(torch.square(w), dim=dims, keepdim=True))


class Constraint(Configurable):
    """Base class: ``constraint(w)`` returns the projected weight (the base
    class returns ``w`` unchanged). Subclasses implement ``__call__`` and,
    when they take arguments, ``get_config``."""

    def __call__(self, w):
        return w


class MaxNorm(Constraint):
    """Rescales each slice along ``axis`` whose L2 norm exceeds ``max_value``
    to norm ``max_value``; smaller ones are left (almost) as they are."""

    def __init__(self, max_value=2, axis=0):
        self.max_value = _check_number("max_value", max_value, "a non-negative number",
                                       lambda v: v >= 0)
        self.axis = _check_axis(axis)

    def __call__(self, w):
        w = _tensor(w)
        norms = _norms(w, self.axis)
        desired = torch.clamp(norms, 0, self.max_value)
        return w * (desired / (config.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves the L2 norm of each slice along ``axis`` into
    ``[min_value, max_value]``: the new norm is
    ``rate * clip(norm, min_value, max_value) + (1 - rate) * norm``, so
    ``rate=1`` enforces the bounds strictly and smaller rates approach them
    step by step."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = _check_number("min_value", min_value, "a non-negative number",
                                       lambda v: v >= 0)
        self.max_value = _check_number("max_value", max_value,
                                       f"a number >= min_value ({min_value})",
                                       lambda v: v >= min_value)
        self.rate = _check_number("rate", rate, "a number in [0, 1]", lambda v: 0 <= v <= 1)
        self.axis = _check_axis(axis)

    def __call__(self, w):
        w = _tensor(w)
        norms = _norms(w, self.axis)
        desired = (self.rate * torch.clamp(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        return w * (desired / (config.epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value,
                "rate": self.rate, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to 0."""

    def __call__(self, w):
        return torch.clamp(_tensor(w), min=0)


class UnitNorm(Constraint):
    """Divides each slice along ``axis`` by its L2 norm."""

    def __init__(self, axis=0):
        self.axis = _check_axis(axis)

    def __call__(self, w):
        w = _tensor(w)
        return w / (config.epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


def apply_constraints(module):
    """Apply every weight constraint in ``module`` in place; return how many
    parameters were constrained.

    A parameter is constrained when it has a non-None ``constraint``
    attribute (as :class:`~sepconv.variables.Variable` weights made with a
    ``*_constraint`` argument do); other parameters are left alone. A
    parameter shared by several submodules is constrained once. Call it after
    ``optimizer.step()`` in a plain PyTorch loop.
    """
    count = 0
    for name, param in module.named_parameters():
        constraint = getattr(param, "constraint", None)
        if constraint is None:
            continue
        with torch.no_grad():
            value = constraint(param)
            if not isinstance(value, torch.Tensor) or value.shape != param.shape:
                raise ValueError(
                    f"The constraint of parameter '{name}' must return a tensor of the "
                    f"parameter's shape {tuple(param.shape)}. Received: {type(value).__name__}"
                    f" of shape {tuple(getattr(value, 'shape', ()))}"
                )
            param.copy_(value)
        count += 1
    return count


def attach(optimizer, module):
    """Make every ``optimizer.step()`` project ``module``'s constrained
    weights afterwards (Keras applies constraints "after the optimizer
    update"), for plain PyTorch training loops. Returns the hook handle;
    ``handle.remove()`` detaches it.

    >>> import torch, sepconv
    >>> layer = sepconv.layers.Conv2D(2, 1, kernel_constraint="non_neg")
    >>> layer.build((None, 3, 3, 1))
    >>> optimizer = torch.optim.SGD(layer.parameters(), lr=10.0)
    >>> handle = attach(optimizer, layer)
    >>> layer(torch.ones(1, 3, 3, 1)).sum().backward()
    >>> optimizer.step()
    >>> bool((layer.kernel >= 0).all())
    True
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            "`optimizer` must be a torch.optim.Optimizer. "
            f"Received: optimizer of type {type(optimizer).__name__}"
        )
    if not isinstance(module, torch.nn.Module):
        raise TypeError(
            f"`module` must be a torch.nn.Module. Received: module of type {type(module).__name__}"
        )
    return optimizer.register_step_post_hook(lambda *_: apply_constraints(module))


_REGISTRY = Registry(
    "constraint",
    "keras.constraints",
    [(Constraint, "constraint"), (MaxNorm, "max_norm"), (MinMaxNorm, "min_max_norm"),
     (NonNeg, "non_neg"), (UnitNorm, "unit_norm")],
)


def get(identifier, argument="identifier"):
    """The constraint ``identifier`` stands for: None gives None; a name
    (``"max_norm"``, ``"MaxNorm"``) or class a default instance; a config dict
    is deserialized; an instance or callable is returned as is."""
    return _REGISTRY.get(identifier, argument)


def serialize(constraint):
    """The Keras 3 config dict of ``constraint``."""
    return _REGISTRY.serialize(constraint)


def deserialize(config, custom_objects=None):
    """The constraint a config (dict or name) describes; the inverse of
    :func:`serialize`. ``custom_objects`` maps names to user classes."""
    return _REGISTRY.deserialize(config, custom_objects)


# Keras's snake_case spellings.
max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm",
           "min_max_norm", "non_neg", "unit_norm", "apply_constraints", "get", "serialize",
           "deserialize"]
