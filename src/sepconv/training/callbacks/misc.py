"""``TerminateOnNaN`` and ``LambdaCallback``.

>>> import sepconv
>>> model = sepconv.Sequential([sepconv.Input((3,)), sepconv.layers.Dense(2)])
>>> seen = []
>>> callbacks = sepconv.callbacks.CallbackList(
...     [LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(logs["loss"])),
...      TerminateOnNaN()], model=model)
>>> model.stop_training = False
>>> callbacks.on_epoch_end(0, {"loss": 0.5})
>>> callbacks.on_train_batch_end(3, {"loss": float("nan")})
Batch 3: Invalid loss, terminating training
>>> seen, model.stop_training
([0.5], True)
"""

from __future__ import annotations

import math

from sepconv.training.callbacks.base import Callback, print_message
from sepconv.utils.validation import check_bool


class TerminateOnNaN(Callback):
    """Stops training (``model.stop_training``) when a batch's ``loss`` is
    NaN or infinite; ``raise_error=True`` raises a RuntimeError instead.

    >>> TerminateOnNaN(raise_error=True).raise_error
    True
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = check_bool(raise_error, "raise_error")

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                "Terminating training immediately."
            )
        print_message(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True


_HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end",
          "on_train_batch_begin", "on_train_batch_end")


class LambdaCallback(Callback):
    """A callback from functions: ``on_epoch_begin``/``on_epoch_end`` take
    ``(epoch, logs)``, ``on_train_begin``/``on_train_end`` take ``(logs)``,
    ``on_train_batch_begin``/``on_train_batch_end`` take ``(batch, logs)``.
    Other keyword arguments (e.g. ``on_test_end=...``) become attributes, as
    in Keras.

    >>> LambdaCallback(on_train_end=lambda logs: None).on_train_end(None)
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        given = dict(zip(_HOOKS, (on_epoch_begin, on_epoch_end, on_train_begin, on_train_end,
                                  on_train_batch_begin, on_train_batch_end)))
        for hook, function in given.items():
            if function is None:
                continue
            if not callable(function):
                raise TypeError(
                    f"The `{hook}` argument must be a callable. Received: {hook}={function!r}"
                )
            setattr(self, hook, function)
