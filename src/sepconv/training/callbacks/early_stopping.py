"""``EarlyStopping``: stop training when a monitored value stops improving.

>>> import sepconv
>>> model = sepconv.Sequential([sepconv.Input((3,)), sepconv.layers.Dense(2)])
>>> stopper = EarlyStopping(monitor="loss", patience=1)
>>> stopper.set_model(model)
>>> stopper.on_train_begin()
>>> model.stop_training = False
>>> for epoch, loss in enumerate([0.5, 0.4, 0.45, 0.41]):
...     stopper.on_epoch_end(epoch, {"loss": loss})
...     if model.stop_training:
...         break
>>> stopper.stopped_epoch, stopper.best
(2, 0.4)
"""

from __future__ import annotations

import warnings

from sepconv.training.callbacks.base import print_message
from sepconv.training.callbacks.monitor import (MonitorCallback, check_count,
                                                 check_optional_number)
from sepconv.utils.validation import check_bool


class EarlyStopping(MonitorCallback):
    """Sets ``model.stop_training`` once ``monitor`` has not improved by more
    than ``min_delta`` for ``patience`` epochs (epochs before
    ``start_from_epoch`` are ignored); with ``baseline``, waiting only
    restarts on a value better than it. ``restore_best_weights`` puts the
    best epoch's weights back at the end of training.

    >>> EarlyStopping(patience=3).patience
    3
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = check_count(patience, "patience")
        self.verbose = verbose
        self.baseline = check_optional_number(baseline, "baseline")
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = check_bool(restore_best_weights, "restore_best_weights")
        self.best_weights = None
        self.start_from_epoch = check_count(start_from_epoch, "start_from_epoch")
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_message(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_message("Restoring model weights from the end of the best epoch: "
                              f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        """``logs[monitor]``, or None with a warning naming the available keys."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(logs)}",
                stacklevel=2,
            )
        return value
