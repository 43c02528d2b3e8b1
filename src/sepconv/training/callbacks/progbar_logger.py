"""``ProgbarLogger``: Keras's progress output for ``fit``, ``evaluate`` and
``predict`` (see :mod:`sepconv.training.progress` for the formats).

>>> import contextlib, io
>>> out = io.StringIO()
>>> logger = ProgbarLogger()
>>> logger.set_params({"verbose": 2, "epochs": 2, "steps": 3})
>>> with contextlib.redirect_stdout(out):
...     logger.on_train_begin()
...     logger.on_epoch_begin(0)
...     for step in range(3):
...         logger.on_train_batch_end(step, {"loss": 0.5})
...     logger.on_epoch_end(0, {"loss": 0.5})
>>> print(out.getvalue())  # doctest: +ELLIPSIS
Epoch 1/2
3/3 - 0s - ...s/step - loss: 0.5000
"""

from __future__ import annotations

import sys

from sepconv.training import distributed
from sepconv.training.callbacks.base import Callback, print_message
from sepconv.training.progress import ProgressBar, resolve_verbose


class ProgbarLogger(Callback):
    """Prints ``Epoch i/N`` and a progress bar per epoch (``verbose=1``) or
    one line per epoch (``verbose=2``), from the ``verbose``, ``epochs`` and
    ``steps`` params. Validation inside ``fit`` is silent. Only rank 0 prints.

    >>> ProgbarLogger().verbose
    1
    """

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        self.verbose = resolve_verbose(params.get("verbose", 1), sys.stdout)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    @property
    def _printing(self):
        return bool(self.verbose) and distributed.is_rank_zero()

    def reads_batch_logs(self, hook):
        """Only a drawn bar (``verbose=1``) shows batch logs, and not while
        validating inside ``fit`` or predicting."""
        if hook == "on_predict_batch_end" or (hook == "on_test_batch_end" and self._called_in_fit):
            return False
        return self.verbose == 1 and self._printing

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_train_end(self, logs=None):
        self._called_in_fit = False

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._start_bar()

    def on_predict_begin(self, logs=None):
        self._start_bar()

    def on_epoch_begin(self, epoch, logs=None):
        self._start_bar()
        if self._printing and self.epochs > 1:
            print_message(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._advance(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._advance(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._advance(batch, None)  # predictions are not shown

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finish(logs)

    def on_predict_end(self, logs=None):
        self._finish(logs)

    def _start_bar(self):
        self.seen = 0
        self.progbar = ProgressBar(self.target, verbose=self.verbose if self._printing else 0,
                                   stream=sys.stdout)

    def _advance(self, batch, logs):
        if self.progbar is None:
            self._start_bar()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finish(self, logs):
        if self.progbar is None:
            self._start_bar()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.seen
        self.progbar.update(self.target, list((logs or {}).items()), finalize=True)
