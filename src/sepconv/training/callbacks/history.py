"""``History``: every epoch's logs, kept as ``history[name] -> list``.

>>> history = History()
>>> history.on_train_begin()
>>> history.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.7})
>>> history.on_epoch_end(1, {"loss": 0.25, "val_loss": 0.6})
>>> history.epoch, history.history
([0, 1], {'loss': [0.5, 0.25], 'val_loss': [0.7, 0.6]})
"""

from __future__ import annotations

from sepconv.training.callbacks.base import Callback


class History(Callback):
    """Records the epoch numbers (``epoch``) and logs (``history``) of
    training; ``fit`` returns it and sets ``model.history`` to it.

    >>> History().history
    {}
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)
        if self.model is not None:
            self.model.history = self
