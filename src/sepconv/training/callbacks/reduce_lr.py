"""Learning-rate callbacks: ``ReduceLROnPlateau`` and ``LearningRateScheduler``.

Both act on ``model.optimizer``: through its ``learning_rate`` property when
it has one (sepconv's Keras-style optimizers; it refuses to overwrite a
schedule), else through every ``param_groups`` entry of a torch optimizer.
Both add the rate to the epoch's logs as ``learning_rate``.

>>> import torch, sepconv
>>> model = sepconv.Sequential([sepconv.Input((3,)), sepconv.layers.Dense(2)])
>>> model.optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
>>> scheduler = LearningRateScheduler(lambda epoch, lr: lr / 2)
>>> scheduler.set_model(model)
>>> scheduler.on_epoch_begin(0)
>>> model.optimizer.param_groups[0]["lr"]
0.05
"""

from __future__ import annotations

import warnings

import numpy as np

from sepconv.training.callbacks.base import Callback, print_message
from sepconv.training.callbacks.monitor import MonitorCallback, check_count
from sepconv.utils.numbers import check_number


def get_learning_rate(optimizer):
    """The optimizer's current learning rate as a float."""
    if hasattr(optimizer, "learning_rate"):
        return float(optimizer.learning_rate)
    if hasattr(optimizer, "param_groups"):
        return float(optimizer.param_groups[0]["lr"])
    raise ValueError(
        "The optimizer must have a `learning_rate` attribute or torch `param_groups`. "
        f"Received: optimizer={optimizer!r}"
    )


def set_learning_rate(optimizer, value):
    """Set the optimizer's learning rate to ``value``."""
    if hasattr(optimizer, "learning_rate"):
        optimizer.learning_rate = value
        return
    if not hasattr(optimizer, "param_groups"):
        raise ValueError(
            "The optimizer must have a `learning_rate` attribute or torch `param_groups`. "
            f"Received: optimizer={optimizer!r}"
        )
    for group in optimizer.param_groups:
        group["lr"] = value


def _log_learning_rate(model, logs):
    if logs is not None:
        logs["learning_rate"] = get_learning_rate(model.optimizer)


class ReduceLROnPlateau(MonitorCallback):
    """Multiplies the learning rate by ``factor`` (never below ``min_lr``)
    once ``monitor`` has not improved by ``min_delta`` for ``patience``
    epochs, then waits ``cooldown`` epochs before counting again.

    >>> ReduceLROnPlateau(factor=0.5).factor
    0.5
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__(monitor, mode, min_delta=min_delta)
        if kwargs:
            raise TypeError(
                "ReduceLROnPlateau got unexpected keyword arguments. "
                f"Received: {', '.join(f'{k}={v!r}' for k, v in kwargs.items())}"
            )
        check_number(factor, "factor")
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received: factor={factor}"
            )
        self.factor = factor
        self.min_lr = check_number(min_lr, "min_lr", low=0)
        self.patience = check_count(patience, "patience")
        self.verbose = verbose
        self.cooldown = check_count(cooldown, "cooldown")
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self):
        """Whether the callback is waiting out its cooldown."""
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = {} if logs is None else logs
        _log_learning_rate(self.model, logs)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which "
                f"is not available. Available metrics are: {','.join(logs)}.",
                stacklevel=2,
            )
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce(self, epoch):
        optimizer = self.model.optimizer
        old_lr = get_learning_rate(optimizer)
        # Keras keeps the rate in float32: compare as it does.
        if not np.float32(old_lr) > np.float32(self.min_lr):
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        set_learning_rate(optimizer, new_lr)
        if self.verbose > 0:
            print_message(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                          f"to {new_lr}.")
        return True


class LearningRateScheduler(Callback):
    """At each epoch's start sets the learning rate to
    ``schedule(epoch, current_rate)`` (or ``schedule(epoch)`` for a function
    of one argument), which must return a float.

    >>> LearningRateScheduler(lambda epoch: 0.1).verbose
    0
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                "The `schedule` argument must be a callable (epoch, lr) -> lr. "
                f"Received: schedule={schedule!r}"
            )
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        try:
            learning_rate = self.schedule(epoch, get_learning_rate(optimizer))
        except TypeError:  # a schedule of the epoch only
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.float32, np.float64)):
            raise ValueError(
                "The output of the `schedule` function should be a float. "
                f"Received: {learning_rate!r}"
            )
        set_learning_rate(optimizer, float(learning_rate))
        if self.verbose > 0:
            print_message(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate "
                          f"to {learning_rate}.")

    def on_epoch_end(self, epoch, logs=None):
        _log_learning_rate(self.model, logs)
