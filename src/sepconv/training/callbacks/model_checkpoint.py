"""``ModelCheckpoint``: save the model (or its weights) during training.

The file name may hold ``{epoch:02d}``, ``{batch}`` and any logged value
(``{val_loss:.2f}``). Saves go through ``model.save`` /
``model.save_weights``, which write atomically; only rank 0 writes.

>>> import os, tempfile, sepconv
>>> folder = tempfile.mkdtemp()
>>> model = sepconv.Sequential([sepconv.Input((3,)), sepconv.layers.Dense(2)])
>>> checkpoint = ModelCheckpoint(os.path.join(folder, "e{epoch:02d}-{loss:.1f}.weights.h5"),
...                              monitor="loss", save_best_only=True, save_weights_only=True)
>>> checkpoint.set_model(model)
>>> for epoch, loss in enumerate([0.5, 0.6, 0.25]):
...     checkpoint.on_epoch_begin(epoch)
...     checkpoint.on_epoch_end(epoch, {"loss": loss})
>>> sorted(os.listdir(folder))
['e01-0.5.weights.h5', 'e03-0.2.weights.h5']
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import torch

from sepconv.training import distributed
from sepconv.training.callbacks.base import print_message
from sepconv.training.callbacks.monitor import MonitorCallback
from sepconv.utils.numbers import is_int
from sepconv.utils.validation import check_bool


def _check_filepath(filepath, save_weights_only):
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(
            f"The `filepath` argument must be a path (str or os.PathLike). "
            f"Received: filepath={filepath!r}"
        )
    filepath = os.fspath(filepath)
    if save_weights_only and not filepath.endswith(".weights.h5"):
        raise ValueError(
            "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath "
            "provided must end in `.weights.h5` (Keras weights format). "
            f"Received: filepath={filepath}"
        )
    if not save_weights_only and not filepath.endswith((".keras", ".h5")):
        raise ValueError(
            "The filepath provided must end in `.keras` (Keras model format). "
            f"Received: filepath={filepath}"
        )
    return filepath


class ModelCheckpoint(MonitorCallback):
    """Saves the model to ``filepath`` at the end of every epoch
    (``save_freq="epoch"``) or every ``save_freq`` batches; with
    ``save_best_only`` only when ``monitor`` improved on the best value so
    far (starting from ``initial_value_threshold``). ``save_weights_only``
    saves ``.weights.h5`` files, else ``.keras`` (or legacy ``.h5``) models.

    >>> ModelCheckpoint("model.keras").save_freq
    'epoch'
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.save_best_only = check_bool(save_best_only, "save_best_only")
        self.save_weights_only = check_bool(save_weights_only, "save_weights_only")
        self.filepath = _check_filepath(filepath, self.save_weights_only)
        if not (save_freq == "epoch" or (is_int(save_freq) and save_freq > 0)):
            raise ValueError(
                "`save_freq` must be 'epoch' or a positive integer (a number of batches). "
                f"Received: save_freq={save_freq!r}"
            )
        self.save_freq = save_freq if save_freq == "epoch" else int(save_freq)
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            added = batch + 1  # a new epoch: batches count from 0
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _say(self, message):
        if self.verbose > 0:
            print_message(message)

    def _should_save_model(self, epoch, logs, filepath):
        if not self.save_best_only:
            self._say(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=3)
            return True
        if isinstance(current, (np.ndarray, torch.Tensor)) and len(current.shape) > 0:
            warnings.warn(
                "Can save best model only when `monitor` is a scalar value. "
                f"Received: {current}. Falling back to `save_best_only=False`.",
                stacklevel=3,
            )
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            self._say(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                      f"{current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        self._say(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        # Every rank takes the decision (it updates `best`); rank 0 writes.
        if not self._should_save_model(epoch, logs, filepath) or not distributed.is_rank_zero():
            return
        if os.path.isdir(filepath):
            raise IsADirectoryError(
                "Please specify a non-directory filepath for ModelCheckpoint. Filepath "
                f"used is an existing directory: {filepath}"
            )
        directory = os.path.dirname(filepath)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        self._say(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _get_file_path(self, epoch, batch, logs):
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None and "batch" not in logs:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as error:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". '
                f"Reason: {error}"
            ) from None
