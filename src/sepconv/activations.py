"""Activation functions, as ``keras.activations``, on torch tensors.

Every function takes the input tensor first and Keras's keyword arguments
after it. A non-tensor input (list, NumPy array) is converted first.
``get(None)`` is :func:`linear`; a built-in serializes to its name.

>>> import torch
>>> from sepconv import activations
>>> x = torch.tensor([-10.0, -5.0, 0.0, 5.0, 10.0])
>>> activations.relu(x)
tensor([ 0.,  0.,  0.,  5., 10.])
>>> activations.relu(x, negative_slope=0.5, max_value=5.0)
tensor([-5.0000, -2.5000,  0.0000,  5.0000,  5.0000])
>>> activations.get("swish") is activations.silu
True
>>> activations.serialize(activations.get("hard_swish"))
'hard_silu'
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from sepconv import config
from sepconv.utils.registry import Registry


def _tensor(x):
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, (np.ndarray, np.generic)):
        return torch.as_tensor(x)
    return torch.as_tensor(x, dtype=getattr(torch, config.floatx()))


def _check_number(name, value, rule="a number", ok=lambda v: True):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value):
        raise ValueError(f"Invalid value for argument `{name}`: it must be {rule}. "
                         f"Received: {name}={value!r}")
    return value


def _over_axes(fn, x, axis):
    """``fn(x, dim)`` with Keras's ``axis``: an int, a tuple of axes (treated
    as one flattened axis) or None (all axes)."""
    if axis is None:
        return fn(x.reshape(-1), -1).reshape(x.shape)
    if isinstance(axis, (tuple, list)):
        axes = [a % x.ndim for a in axis]
        keep = [a for a in range(x.ndim) if a not in axes]
        moved = x.permute(*keep, *axes)
        out = fn(moved.reshape(*moved.shape[: len(keep)], -1), -1).reshape(moved.shape)
        return out.permute(*np.argsort(keep + axes).tolist())
    return fn(x, axis)


def _keep_logits(output, x):
    """Remember the logits on a probability output, as Keras does, so a loss
    can work from the logits."""
    try:
        output._keras_logits = x
    except AttributeError:
        pass
    return output


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit: ``x`` above ``threshold`` (capped at
    ``max_value`` if given), ``negative_slope * (x - threshold)`` below it.
    With the defaults this is ``max(x, 0)``."""
    _check_number("negative_slope", negative_slope, "a non-negative number", lambda v: v >= 0)
    _check_number("threshold", threshold)
    if max_value is not None:
        _check_number("max_value", max_value, "None or a non-negative number", lambda v: v >= 0)
    x = _tensor(x)
    if negative_slope != 0 and max_value is None and threshold == 0:
        return F.leaky_relu(x, negative_slope)
    if threshold != 0:
        y = torch.where(x > threshold, x, torch.zeros_like(x))
    else:
        y = F.relu(x)
    if max_value is not None:
        y = torch.clamp(y, 0, max_value)
    if negative_slope != 0:
        y = y - negative_slope * F.relu(threshold - x)
    return y


def leaky_relu(x, negative_slope=0.2):
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise."""
    return F.leaky_relu(_tensor(x), negative_slope)


def relu6(x):
    """``min(max(x, 0), 6)``."""
    return F.relu6(_tensor(x))


def _with_float32_half(fn, x, axis):
    """Run a softmax-type ``fn`` in float32 for float16 input on the CPU, as
    Keras's torch backend does."""
    x = _tensor(x)
    dtype = x.dtype
    if dtype == torch.float16 and x.device.type == "cpu":
        x = x.float()
    return _over_axes(fn, x, axis).to(dtype)


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis`` (an int, a tuple of axes or
    None for all)."""
    x = _tensor(x)
    return _keep_logits(_with_float32_half(lambda t, d: F.softmax(t, dim=d), x, axis), x)


def log_softmax(x, axis=-1):
    """``log(softmax(x, axis))``, computed stably."""
    return _with_float32_half(lambda t, d: F.log_softmax(t, dim=d), x, axis)


def sparsemax(x, axis=-1):
    """Euclidean projection of ``x`` onto the probability simplex along
    ``axis``: like softmax, but exact zeros outside a support set."""
    x = _tensor(x)
    ordered, _ = torch.sort(x, dim=axis, descending=True)
    cumsum = torch.cumsum(ordered, dim=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    rank = torch.arange(1, x.shape[axis] + 1, dtype=x.dtype, device=x.device).view(shape)
    support = ordered - (cumsum - 1) / rank > 0
    k = torch.sum(support, dim=axis, keepdim=True)
    in_support = torch.where(support, cumsum, torch.zeros_like(cumsum))
    total = torch.sum(in_support, dim=axis, keepdim=True)
    tau = (total - 1) / k
    return torch.clamp(x - tau, min=0.0)


def elu(x, alpha=1.0):
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise."""
    return F.elu(_tensor(x), alpha)


def selu(x):
    """``scale * elu(x, alpha)`` with ``alpha ~ 1.6733`` and ``scale ~ 1.0507``."""
    return F.selu(_tensor(x))


def celu(x, alpha=1.0):
    """``x`` for ``x >= 0``, ``alpha * (exp(x / alpha) - 1)`` otherwise."""
    return F.celu(_tensor(x), alpha)


def softplus(x):
    """``log(exp(x) + 1)``."""
    return F.softplus(_tensor(x))


def softsign(x):
    """``x / (abs(x) + 1)``."""
    return F.softsign(_tensor(x))


def soft_shrink(x, threshold=0.5):
    """``x - threshold`` above ``threshold``, ``x + threshold`` below
    ``-threshold``, 0 between."""
    return F.softshrink(_tensor(x), threshold)


def hard_shrink(x, threshold=0.5):
    """``x`` where ``abs(x) > threshold``, 0 elsewhere."""
    return F.hardshrink(_tensor(x), threshold)


def sparse_plus(x):
    """0 for ``x <= -1``, ``(x + 1)**2 / 4`` for ``-1 < x < 1``, ``x`` above."""
    x = _tensor(x)
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x < 1, 0.25 * (x + 1) ** 2, x))


def sparse_sigmoid(x):
    """0 for ``x <= -1``, ``(x + 1) / 2`` for ``-1 < x < 1``, 1 above."""
    x = _tensor(x)
    return torch.where(x <= -1, torch.zeros_like(x),
                       torch.where(x >= 1, torch.ones_like(x), 0.5 * (x + 1)))


def silu(x):
    """``x * sigmoid(x)``, also called swish."""
    return F.silu(_tensor(x))


def squareplus(x, b=4):
    """``(x + sqrt(x**2 + b)) / 2``; ``b`` sets the smoothness."""
    _check_number("b", b, "a non-negative number", lambda v: v >= 0)
    x = _tensor(x)
    return (x + torch.sqrt(x**2 + b)) / 2


def gelu(x, approximate=False):
    """``x * P(X <= x)`` for standard normal ``X``; with ``approximate=True``
    the tanh approximation."""
    return F.gelu(_tensor(x), approximate="tanh" if approximate else "none")


def glu(x, axis=-1):
    """Gated linear unit: ``a * sigmoid(b)`` where ``a`` and ``b`` are the two
    halves of ``x`` along ``axis``."""
    x = _tensor(x)
    if x.shape[axis] % 2:
        raise ValueError(
            "glu splits `x` in two halves along `axis`, so that axis must have an even "
            f"size. Received: x.shape={tuple(x.shape)} with axis={axis}"
        )
    return F.glu(x, dim=axis)


def tanh(x):
    """Hyperbolic tangent."""
    return torch.tanh(_tensor(x))


def tanh_shrink(x):
    """``x - tanh(x)``."""
    return F.tanhshrink(_tensor(x))


def hard_tanh(x):
    """``x`` clipped to ``[-1, 1]``."""
    return F.hardtanh(_tensor(x), -1.0, 1.0)


def threshold(x, threshold, default_value):
    """``x`` where ``x > threshold``, ``default_value`` elsewhere."""
    return F.threshold(_tensor(x), threshold, default_value)


def sigmoid(x):
    """``1 / (1 + exp(-x))``."""
    x = _tensor(x)
    return _keep_logits(torch.sigmoid(x), x)


def exponential(x):
    """``exp(x)``."""
    return torch.exp(_tensor(x))


def hard_sigmoid(x):
    """Piecewise-linear sigmoid: 0 for ``x <= -3``, 1 for ``x >= 3``,
    ``x / 6 + 0.5`` between."""
    return F.hardsigmoid(_tensor(x))


def hard_silu(x):
    """``x * hard_sigmoid(x)``, also called hard swish."""
    return F.hardswish(_tensor(x))


def log_sigmoid(x):
    """``log(sigmoid(x))``, computed stably."""
    return F.logsigmoid(_tensor(x))


def mish(x):
    """``x * tanh(softplus(x))``."""
    x = _tensor(x)
    return x * torch.tanh(F.softplus(x))


def linear(x):
    """The identity: returns ``x`` unchanged."""
    return x


swish = silu
hard_swish = hard_silu

_FUNCTIONS = [
    relu, leaky_relu, relu6, softmax, celu, elu, selu, softplus, softsign, squareplus,
    soft_shrink, sparse_plus, silu, gelu, glu, tanh, tanh_shrink, threshold, sigmoid,
    sparse_sigmoid, exponential, hard_sigmoid, hard_silu, hard_tanh, hard_shrink, linear,
    mish, log_softmax, log_sigmoid, sparsemax,
]

_REGISTRY = Registry(
    "activation function",
    "keras.activations",
    [(fn, fn.__name__) for fn in _FUNCTIONS],
    aliases={"swish": silu, "hard_swish": hard_silu},
    none_value=linear,
    functions_as_names=True,
)


def get(identifier, argument="identifier"):
    """The activation ``identifier`` stands for: None gives :func:`linear`; a
    name (``"relu"``, ``"swish"``) the built-in function; a config dict is
    deserialized; a class is instantiated; any callable is returned as is."""
    return _REGISTRY.get(identifier, argument)


def serialize(activation):
    """A built-in's name (``"relu"``; aliases give the canonical name, e.g.
    ``swish`` -> ``"silu"``), or a Keras 3 config dict for a user function or
    an object with ``get_config()``."""
    return _REGISTRY.serialize(activation)


def deserialize(config, custom_objects=None):
    """The activation a config (a name or a dict) describes; the inverse of
    :func:`serialize`. ``custom_objects`` maps names to user functions."""
    return _REGISTRY.deserialize(config, custom_objects)


__all__ = [fn.__name__ for fn in _FUNCTIONS] + [
    "swish", "hard_swish", "get", "serialize", "deserialize"]
