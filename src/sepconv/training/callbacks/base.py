"""``Callback``, the hooks a training, evaluation or prediction loop calls,
and ``CallbackList``, which calls them on several callbacks in order.

>>> import sepconv
>>> class CountEpochs(Callback):
...     def on_train_begin(self, logs=None):
...         self.count = 0
...     def on_epoch_end(self, epoch, logs=None):
...         self.count += 1
>>> counter = CountEpochs()
>>> callbacks = CallbackList([counter], add_history=True, epochs=2)
>>> callbacks.on_train_begin()
>>> for epoch in range(2):
...     callbacks.on_epoch_begin(epoch)
...     callbacks.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1)})
>>> callbacks.on_train_end()
>>> counter.count, counter.params, callbacks.callbacks[1].history
(2, {'epochs': 2}, {'loss': [1.0, 0.5]})
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from sepconv.training import distributed
from sepconv.training.progress import write_text


def print_message(message):
    """Print ``message`` on standard output (rank 0 only in a distributed run)."""
    if distributed.is_rank_zero():
        import sys

        write_text(sys.stdout, f"{message}\n")


def _as_float(value):
    """A logged tensor, array or number as a Python float; other values as given."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, (np.ndarray, np.generic, numbers.Real)) and not isinstance(value, bool):
        try:
            return float(value)
        except (TypeError, ValueError):
            return value
    return value


def plain_logs(logs):
    """``logs`` as a new dict sorted by key, nested dicts merged in and
    numbers (tensors, arrays) as Python floats, as Keras passes them on.

    >>> plain_logs({"loss": np.float32(0.5), "accuracy": 1})
    {'accuracy': 1.0, 'loss': 0.5}
    """
    result = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            result.update(plain_logs(value))
        else:
            result[key] = _as_float(value)
    return result


class Callback:
    """Base class of callbacks: override the ``on_*`` hooks you need.

    ``model`` is the model being trained (the module inside a
    ``DistributedDataParallel`` wrapper) and ``params`` the loop's settings
    (``verbose``, ``epochs``, ``steps``). ``on_train_batch_begin/end`` call
    ``on_batch_begin/end``, Keras's older names, unless overridden.

    >>> Callback().on_epoch_end(0, {"loss": 0.1}) is None
    True
    """

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        """Store the loop's settings (a dict)."""
        self.params = params

    def set_model(self, model):
        """Store the model the callback acts on."""
        self._model = model

    @property
    def model(self):
        """The model (unwrapped from ``DistributedDataParallel``)."""
        if isinstance(self._model, torch.nn.parallel.DistributedDataParallel):
            return self._model.module
        return self._model

    def on_batch_begin(self, batch, logs=None):
        """Older name of ``on_train_batch_begin``."""

    def on_batch_end(self, batch, logs=None):
        """Older name of ``on_train_batch_end``."""

    def on_epoch_begin(self, epoch, logs=None):
        """At the start of training epoch ``epoch`` (from 0)."""

    def on_epoch_end(self, epoch, logs=None):
        """At the end of epoch ``epoch``; ``logs`` has the epoch's results
        (``val_``-prefixed ones too when validating)."""

    def on_train_batch_begin(self, batch, logs=None):
        """Before training batch ``batch`` (from 0 in each epoch)."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """After training batch ``batch``; ``logs`` has the running averages."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Before an evaluation (or validation) batch."""

    def on_test_batch_end(self, batch, logs=None):
        """After an evaluation (or validation) batch."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Before a prediction batch."""

    def on_predict_batch_end(self, batch, logs=None):
        """After a prediction batch."""

    def on_train_begin(self, logs=None):
        """When training starts."""

    def on_train_end(self, logs=None):
        """When training ends; ``logs`` has the last epoch's results."""

    def on_test_begin(self, logs=None):
        """When evaluation (or validation) starts."""

    def on_test_end(self, logs=None):
        """When evaluation (or validation) ends."""

    def on_predict_begin(self, logs=None):
        """When prediction starts."""

    def on_predict_end(self, logs=None):
        """When prediction ends."""

    def reads_batch_logs(self, hook):
        """Whether the batch hook ``hook`` (e.g. ``"on_train_batch_end"``)
        looks at its ``logs``: true when this class overrides it (or
        ``on_batch_end``, its older name). A loop computes the running
        loss and metrics after a batch only when some callback reads them.

        >>> class Watch(Callback):
        ...     def on_train_batch_end(self, batch, logs=None):
        ...         print(logs)
        >>> Watch().reads_batch_logs("on_train_batch_end"), Callback().reads_batch_logs(
        ...     "on_train_batch_end")
        (True, False)
        """
        names = [hook] + ([hook.replace("train_", "")] if hook.startswith("on_train_batch")
                          else [])
        # A hook set on the instance (LambdaCallback) has no __func__: it counts too.
        return any(getattr(getattr(self, name), "__func__", None) is not getattr(Callback, name)
                   for name in names)


def _flatten_callbacks(callbacks):
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(
            "`callbacks` must be a Callback or a list of Callback instances. "
            f"Received: callbacks={callbacks!r}"
        )
    flat = []
    for item in callbacks:
        if isinstance(item, (list, tuple)):
            flat += _flatten_callbacks(item)
        elif isinstance(item, Callback):
            flat.append(item)
        else:
            raise TypeError(
                "Each element of `callbacks` must be a sepconv.callbacks.Callback "
                f"instance. Received: callbacks containing {item!r}"
            )
    return flat


def _dispatch(hook):
    """A CallbackList method calling ``hook`` on every callback with one
    plain copy of the logs (so a callback may add entries for later ones).
    As in Keras, epoch hooks get ``logs`` by position, batch hooks by name."""
    by_name = "batch" in hook

    def call(self, step, logs=None):
        logs = plain_logs(logs)
        for callback in self.callbacks:
            if by_name:
                getattr(callback, hook)(step, logs=logs)
            else:
                getattr(callback, hook)(step, logs)
    call.__name__ = hook
    call.__doc__ = f"Call ``{hook}`` on every callback."
    return call


def _dispatch_phase(hook, opens):
    def call(self, logs=None):
        if opens:
            self._open_phases += 1
        logs = plain_logs(logs)
        for callback in self.callbacks:
            getattr(callback, hook)(logs)
        if not opens:
            self._open_phases -= 1
            if self._open_phases < 0:
                self._open_phases = 0
                raise ValueError(
                    f"`{hook}` was called without the matching `on_*_begin`. "
                    f"Received: {hook}(logs={logs!r})"
                )
    call.__name__ = hook
    call.__doc__ = f"Call ``{hook}`` on every callback."
    return call


class CallbackList(Callback):
    """Callbacks called together: each hook calls it on every callback in order.

    ``add_history`` / ``add_progbar`` append a ``History`` / ``ProgbarLogger``
    unless ``callbacks`` has one; ``model`` and ``params`` (the other keyword
    arguments) are passed to every callback, and ``model.history`` is set to
    the ``History``.

    >>> CallbackList(Callback(), add_history=True).callbacks  # doctest: +ELLIPSIS
    [<...Callback object at ...>, <...History object at ...>]
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None,
                 **params):
        super().__init__()
        self.callbacks = _flatten_callbacks(callbacks)
        self._open_phases = 0
        self._add_default_callbacks(add_history, add_progbar)
        self.set_model(model)
        self.set_params(params)

    def _add_default_callbacks(self, add_history, add_progbar):
        from sepconv.training.callbacks.history import History
        from sepconv.training.callbacks.progbar_logger import ProgbarLogger

        self._history = next((c for c in self.callbacks if isinstance(c, History)), None)
        self._progbar = next((c for c in self.callbacks if isinstance(c, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)

    def set_params(self, params):
        """Pass ``params`` to every callback (when not empty)."""
        self.params = params
        if params:
            for callback in self.callbacks:
                callback.set_params(params)

    def set_model(self, model):
        """Pass ``model`` to every callback and set ``model.history``."""
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    def reads_batch_logs(self, hook):
        """Whether any of the callbacks reads the logs of batch hook ``hook``."""
        return any(callback.reads_batch_logs(hook) for callback in self.callbacks)

    on_batch_begin = _dispatch("on_batch_begin")
    on_batch_end = _dispatch("on_batch_end")
    on_epoch_begin = _dispatch("on_epoch_begin")
    on_epoch_end = _dispatch("on_epoch_end")
    on_train_batch_begin = _dispatch("on_train_batch_begin")
    on_train_batch_end = _dispatch("on_train_batch_end")
    on_test_batch_begin = _dispatch("on_test_batch_begin")
    on_test_batch_end = _dispatch("on_test_batch_end")
    on_predict_batch_begin = _dispatch("on_predict_batch_begin")
    on_predict_batch_end = _dispatch("on_predict_batch_end")
    on_train_begin = _dispatch_phase("on_train_begin", opens=True)
    on_train_end = _dispatch_phase("on_train_end", opens=False)
    on_test_begin = _dispatch_phase("on_test_begin", opens=True)
    on_test_end = _dispatch_phase("on_test_end", opens=False)
    on_predict_begin = _dispatch_phase("on_predict_begin", opens=True)
    on_predict_end = _dispatch_phase("on_predict_end", opens=False)
