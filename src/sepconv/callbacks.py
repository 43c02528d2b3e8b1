"""``sepconv.callbacks``: Keras's ``keras.callbacks`` for sepconv models.

>>> import sepconv
>>> stop = sepconv.callbacks.EarlyStopping(monitor="val_loss", patience=2,
...                                        restore_best_weights=True)
>>> stop.patience, stop.restore_best_weights
(2, True)
"""

from sepconv.training.callbacks import (
    CallbackList,
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgbarLogger,
    ReduceLROnPlateau,
    TerminateOnNaN,
)

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
