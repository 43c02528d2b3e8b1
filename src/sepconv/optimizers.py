"""``sepconv.optimizers``: Keras's optimizers and learning-rate schedules on
``torch.optim``.

>>> from sepconv.optimizers import schedules
>>> float(schedules.ExponentialDecay(1.0, 1, 0.5)(2))
0.25
"""

from sepconv.training import schedules

__all__ = ["schedules"]
