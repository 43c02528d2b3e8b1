"""Keras 3's training callbacks for sepconv's ``fit``/``evaluate``/``predict``
(public as :mod:`sepconv.callbacks`).

>>> from sepconv.training.callbacks import CallbackList, EarlyStopping
>>> callbacks = CallbackList([EarlyStopping()], add_history=True)
>>> [type(c).__name__ for c in callbacks.callbacks]
['EarlyStopping', 'History']
"""

from sepconv.training.callbacks.base import Callback, CallbackList
from sepconv.training.callbacks.csv_logger import CSVLogger
from sepconv.training.callbacks.early_stopping import EarlyStopping
from sepconv.training.callbacks.history import History
from sepconv.training.callbacks.misc import LambdaCallback, TerminateOnNaN
from sepconv.training.callbacks.model_checkpoint import ModelCheckpoint
from sepconv.training.callbacks.progbar_logger import ProgbarLogger
from sepconv.training.callbacks.reduce_lr import LearningRateScheduler, ReduceLROnPlateau

__all__ = [
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
]
