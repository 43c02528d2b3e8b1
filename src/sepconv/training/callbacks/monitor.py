"""``MonitorCallback``: the part of ``EarlyStopping``, ``ReduceLROnPlateau``
and ``ModelCheckpoint`` that decides whether a monitored value improved.

``mode="auto"`` minimizes ``loss``/``val_loss``; for another name (with
``val_`` removed) it asks the model's metric of that name for its direction
(``_direction`` ``"up"`` or ``"down"``) as Keras does, and raises a
ValueError when there is no such metric.

>>> monitor = MonitorCallback("val_loss", min_delta=0.1)
>>> monitor._set_monitor_op()
>>> monitor._is_improvement(0.85, 1.0), monitor._is_improvement(0.95, 1.0)
(True, False)
"""

from __future__ import annotations

import operator
import warnings

from sepconv.training.callbacks.base import Callback
from sepconv.utils.numbers import check_number, is_int


def check_count(value, argument):
    """``value`` as an int >= 0 (patience, cooldown, epochs); else an error."""
    if not is_int(value):
        raise TypeError(
            f"The `{argument}` argument must be an integer >= 0. Received: {argument}={value!r}"
        )
    if value < 0:
        raise ValueError(
            f"The `{argument}` argument must be an integer >= 0. Received: {argument}={value!r}"
        )
    return int(value)


def check_optional_number(value, argument):
    """``value`` (a finite real number) or None."""
    return None if value is None else check_number(value, argument)


def _flat_metrics(metrics):
    for metric in metrics or ():
        inner = getattr(metric, "metrics", None)
        if isinstance(inner, (list, tuple)):
            yield from _flat_metrics(inner)
        else:
            yield metric


class MonitorCallback(Callback):
    """Base of callbacks that watch ``monitor`` in the logs; ``mode`` is
    ``"min"``, ``"max"`` or ``"auto"`` (an unknown mode warns and means
    ``"auto"``, as in Keras); ``baseline`` is the initial best value."""

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if not isinstance(monitor, str):
            raise TypeError(
                f"The `monitor` argument must be the name of a logged value (a string). "
                f"Received: monitor={monitor!r}"
            )
        if mode not in ("auto", "min", "max"):
            warnings.warn(
                f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.",
                stacklevel=3,
            )
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = check_optional_number(baseline, "baseline")
        self.min_delta = abs(check_number(min_delta, "min_delta"))
        self.monitor_op = None

    def _set_monitor_op(self):
        if self.mode == "min":
            self.monitor_op = operator.lt
        elif self.mode == "max":
            self.monitor_op = operator.gt
        else:
            self.monitor_op = self._inferred_op()
        if self.monitor_op is operator.lt:
            self.min_delta *= -1

    def _inferred_op(self):
        name = self.monitor.removeprefix("val_")
        op = operator.lt if name == "loss" else None
        for metric in _flat_metrics(getattr(self.model, "metrics", None)):
            if getattr(metric, "name", None) == name and hasattr(metric, "_direction"):
                op = operator.gt if metric._direction == "up" else operator.lt
        if op is None:
            raise ValueError(
                f"{type(self).__name__} callback received monitor={self.monitor}, but "
                "it cannot tell whether that metric should be maximized or minimized. "
                "Pass `mode='max'` to monitor the highest value or `mode='min'` for "
                f"the lowest. Received: monitor={self.monitor!r}, mode='auto'"
            )
        return op

    def _is_improvement(self, monitor_value, reference_value):
        if reference_value is None:
            return True
        return bool(self.monitor_op(monitor_value - self.min_delta, reference_value))
