"""Checks of Keras's optimizer arguments: each error names the argument,
the rule and the value received.

>>> check_base_arguments(clipnorm=1.0)["clipnorm"]
1.0
>>> check_base_arguments(clipnorm=1.0, clipvalue=0.5)
Traceback (most recent call last):
...
ValueError: Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. ...
"""

from __future__ import annotations

import warnings

import torch

from sepconv.utils.numbers import check_number, is_int
from sepconv.utils.validation import check_bool


def float32(value):
    """``value`` rounded to float32, as a Python float (Keras keeps a float
    learning rate in a float32 variable).

    >>> float32(0.1)
    0.10000000149011612
    """
    return float(torch.tensor(value, dtype=torch.float32))


def check_rate(value, argument):
    """A hyperparameter in ``[0, 1]`` (``rho``, ``momentum``...).

    >>> check_rate(0.9, "rho")
    0.9
    """
    return check_number(value, argument, low=0, high=1)


def check_beta(value, argument):
    """A moment decay in ``[0, 1)`` (1 would divide by zero in the bias
    correction).

    >>> check_beta(0.999, "beta_2")
    0.999
    """
    return check_number(value, argument, low=0, high=1, high_open=True)


def check_epsilon(value):
    """A non-negative ``epsilon``.

    >>> check_epsilon(1e-07)
    1e-07
    """
    return check_number(value, "epsilon", low=0)


def check_learning_rate(learning_rate):
    """A float learning rate >= 0, rounded to float32. Keras refuses ints.

    >>> check_learning_rate(0.5)
    0.5
    """
    if not isinstance(learning_rate, float):
        raise ValueError(
            "Argument `learning_rate` should be float, or an instance of "
            "LearningRateSchedule, or a callable (that takes in the current iteration "
            "value and returns the corresponding learning rate value). "
            f"Received: learning_rate={learning_rate!r}"
        )
    return float32(check_number(learning_rate, "learning_rate", low=0))


def _optional_number(value, argument, **bounds):
    return None if value is None else check_number(value, argument, **bounds)


def _optional_int(value, argument, low):
    if value is not None and (not is_int(value) or value < low):
        raise ValueError(f"`{argument}` must be an integer >= {low} or None. "
                         f"Received: {argument}={value!r}")
    return value


def check_base_arguments(weight_decay=None, clipnorm=None, clipvalue=None,
                         global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                         ema_overwrite_frequency=None, loss_scale_factor=None,
                         gradient_accumulation_steps=None, **kwargs):
    """Keras's base-optimizer arguments, checked, as a dict (``decay`` is
    ignored with a warning as Keras does; other unknown names are refused)."""
    if kwargs.pop("decay", None) is not None:
        warnings.warn("Argument `decay` is no longer supported and will be ignored.",
                      stacklevel=4)
    if kwargs:
        raise ValueError(f"Argument(s) not recognized: {kwargs}. Received: {kwargs}")
    if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
        raise ValueError(
            "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
            f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
            f"global_clipnorm={global_clipnorm}"
        )
    return {
        "weight_decay": _optional_number(weight_decay, "weight_decay", low=0),
        "clipnorm": _optional_number(clipnorm, "clipnorm", low=0),
        "global_clipnorm": _optional_number(global_clipnorm, "global_clipnorm", low=0),
        "clipvalue": _optional_number(clipvalue, "clipvalue", low=0),
        "use_ema": check_bool(use_ema, "use_ema"),
        "ema_momentum": check_number(ema_momentum, "ema_momentum", low=0, high=1),
        "ema_overwrite_frequency": _optional_int(ema_overwrite_frequency,
                                                 "ema_overwrite_frequency", 1),
        "loss_scale_factor": _optional_number(loss_scale_factor, "loss_scale_factor",
                                              low=0, low_open=True),
        "gradient_accumulation_steps": _optional_int(gradient_accumulation_steps,
                                                     "gradient_accumulation_steps", 2),
    }
