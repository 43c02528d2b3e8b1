"""Learning-rate schedules, as ``keras.optimizers.schedules``.

A schedule is called with the optimizer's step count (the number of updates
done so far) and returns the learning rate for the next update as a float32
scalar tensor, computed with Keras's formulas in float32:

>>> from sepconv.optimizers import schedules
>>> decay = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
>>> float(decay(0)), float(decay(10)), float(decay(20))
(0.10000000149011612, 0.05000000074505806, 0.02500000037252903)
>>> steps = schedules.PiecewiseConstantDecay([2, 4], [1.0, 0.5, 0.1])
>>> [round(float(steps(s)), 2) for s in range(6)]
[1.0, 1.0, 1.0, 0.5, 0.5, 0.1]
>>> schedules.serialize(steps)["class_name"]
'PiecewiseConstantDecay'

Pass one as an optimizer's ``learning_rate``; the optimizer evaluates it
before every update.
"""

from __future__ import annotations

import math

import torch

from sepconv.utils.numbers import check_number, is_int
from sepconv.utils.registry import Configurable, Registry
from sepconv.utils.validation import check_bool


def _f32(value):
    return torch.as_tensor(value, dtype=torch.float32)


def _step(step):
    """The step as a float32 scalar (an int, a tensor or a NumPy scalar)."""
    if isinstance(step, torch.Tensor):
        return step.detach().to(torch.float32)
    return _f32(float(step))


def _positive(value, argument):
    return check_number(value, argument, low=0, low_open=True)


class LearningRateSchedule(Configurable):
    """Base class: ``schedule(step)`` returns the learning rate at ``step``.

    Subclasses implement ``__call__(step)`` and ``get_config()``.

    >>> class Halving(LearningRateSchedule):
    ...     def __init__(self, initial):
    ...         self.initial = initial
    ...     def __call__(self, step):
    ...         return torch.tensor(self.initial / 2 ** int(step))
    ...     def get_config(self):
    ...         return {"initial": self.initial}
    >>> float(Halving(1.0)(3))
    0.125
    """

    def __call__(self, step):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`."
        )

    def get_config(self):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` "
            "in order to be serializable."
        )


class _DecayBase(LearningRateSchedule):
    """``initial_learning_rate * f(step / decay_steps)`` schedules."""

    def __init__(self, initial_learning_rate, decay_steps, name):
        self.initial_learning_rate = check_number(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _positive(decay_steps, "decay_steps")
        self.name = name


class _RateDecay(_DecayBase):
    """Decay by ``decay_rate`` as a function of ``step / decay_steps``
    (floored when ``staircase``): exponential and inverse-time decay."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase, name):
        super().__init__(initial_learning_rate, decay_steps, name)
        self.decay_rate = check_number(decay_rate, "decay_rate")
        self.staircase = check_bool(staircase, "staircase")

    def _progress(self, step):
        p = _step(step) / _f32(self.decay_steps)
        return torch.floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``; with
    ``staircase=True`` the exponent is floored.

    >>> float(ExponentialDecay(1.0, 2, 0.5, staircase=True)(3))
    0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        return _f32(self.initial_learning_rate) * torch.pow(_f32(self.decay_rate),
                                                            self._progress(step))


class InverseTimeDecay(_RateDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``;
    with ``staircase=True`` the ratio is floored.

    >>> float(InverseTimeDecay(1.0, 1, 0.5)(2))
    0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        return _f32(self.initial_learning_rate) / (
            _f32(1.0) + _f32(self.decay_rate) * self._progress(step))


class PolynomialDecay(_DecayBase):
    """From ``initial_learning_rate`` to ``end_learning_rate`` over
    ``decay_steps`` as ``(1 - step / decay_steps) ** power``; with ``cycle``
    the decay restarts at every multiple of ``decay_steps``.

    >>> float(PolynomialDecay(1.0, 4, end_learning_rate=0.0)(1))
    0.75
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        super().__init__(initial_learning_rate, decay_steps, name)
        self.end_learning_rate = check_number(end_learning_rate, "end_learning_rate")
        self.power = check_number(power, "power")
        self.cycle = check_bool(cycle, "cycle")

    def __call__(self, step):
        step = _step(step)
        decay_steps = _f32(self.decay_steps)
        if self.cycle:
            multiplier = torch.where(step == 0, _f32(1.0), torch.ceil(step / decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            step = torch.minimum(step, decay_steps)
        p = step / decay_steps
        initial, end = _f32(self.initial_learning_rate), _f32(self.end_learning_rate)
        return (initial - end) * torch.pow(1 - p, _f32(self.power)) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


def _cosine(fraction):
    return 0.5 * (1.0 + torch.cos(_f32(math.pi) * fraction))


class CosineDecay(_DecayBase):
    """Cosine decay from ``initial_learning_rate`` (or, after a linear warmup
    of ``warmup_steps`` to ``warmup_target``, from ``warmup_target``) down to
    ``alpha`` times that over ``decay_steps``.

    >>> round(float(CosineDecay(1.0, 10)(5)), 6)
    0.5
    >>> round(float(CosineDecay(0.0, 10, warmup_target=1.0, warmup_steps=4)(2)), 6)
    0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        super().__init__(initial_learning_rate, decay_steps, name)
        self.alpha = check_number(alpha, "alpha")
        self.warmup_target = (None if warmup_target is None
                              else check_number(warmup_target, "warmup_target"))
        self.warmup_steps = check_number(warmup_steps, "warmup_steps", low=0)

    def _decay(self, step, decay_steps, start):
        return start * ((1 - self.alpha) * _cosine(step / decay_steps) + self.alpha)

    def __call__(self, step):
        initial = _f32(self.initial_learning_rate)
        decay_steps = _f32(self.decay_steps)
        step = _step(step)
        if self.warmup_target is None:
            return self._decay(torch.minimum(step, decay_steps), decay_steps, initial)
        target, warmup = _f32(self.warmup_target), _f32(self.warmup_steps)
        step = torch.minimum(step, decay_steps + warmup)
        if step < warmup:
            return (target - initial) * (step / warmup) + initial
        return self._decay(step - warmup, decay_steps, target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): the first period lasts
    ``first_decay_steps``, each next one ``t_mul`` times longer and starting
    ``m_mul`` times lower.

    >>> schedule = CosineDecayRestarts(1.0, 4, t_mul=1.0)
    >>> float(schedule(0)), float(schedule(4))
    (1.0, 1.0)
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        self.initial_learning_rate = check_number(initial_learning_rate, "initial_learning_rate")
        self.first_decay_steps = _positive(first_decay_steps, "first_decay_steps")
        self._t_mul = _positive(t_mul, "t_mul")
        self._m_mul = check_number(m_mul, "m_mul")
        self.alpha = check_number(alpha, "alpha")
        self.name = name

    def __call__(self, step):
        fraction = _step(step) / _f32(self.first_decay_steps)
        t_mul, m_mul, alpha = _f32(self._t_mul), _f32(self._m_mul), _f32(self.alpha)
        if float(t_mul) == 1.0:
            restart = torch.floor(fraction)
            fraction = fraction - restart
        else:
            restart = torch.floor(torch.log(1.0 - fraction * (1.0 - t_mul)) / torch.log(t_mul))
            done = (1.0 - torch.pow(t_mul, restart)) / (1.0 - t_mul)
            fraction = (fraction - done) / torch.pow(t_mul, restart)
        cosine = 0.5 * torch.pow(m_mul, restart) * (1.0 + torch.cos(_f32(math.pi) * fraction))
        return _f32(self.initial_learning_rate) * ((1 - alpha) * cosine + alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after.

    >>> float(PiecewiseConstantDecay([10], [1.0, 0.5])(11))
    0.5
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        for argument, sequence in (("boundaries", boundaries), ("values", values)):
            if not isinstance(sequence, (list, tuple)):
                raise TypeError(
                    f"`{argument}` must be a list of numbers. "
                    f"Received: {argument}={sequence!r}"
                )
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of `boundaries` must be 1 less than the length of `values`. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, "
                f"and values={values} of length {len(values)}"
            )
        for argument, sequence in (("boundaries", boundaries), ("values", values)):
            for item in sequence:
                check_number(item, argument)
        if any(high <= low for low, high in zip(boundaries, boundaries[1:])):
            raise ValueError(
                f"`boundaries` must be strictly increasing. Received: boundaries={boundaries}"
            )
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        if isinstance(step, torch.Tensor):
            integer_step = not step.is_floating_point()
            step = step.item()
        else:
            integer_step = is_int(step)
        for boundary, value in zip(self.boundaries, self.values):
            # Keras compares in the step's dtype: an integer step sees the
            # boundaries cast (truncated) to integers.
            if step <= (int(boundary) if integer_step else boundary):
                return _f32(value)
        return _f32(self.values[-1])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


_REGISTRY = Registry(
    "learning rate schedule",
    "keras.optimizers.schedules",
    [
        (LearningRateSchedule, "learning_rate_schedule"), (ExponentialDecay, "exponential_decay"),
        (PiecewiseConstantDecay, "piecewise_constant_decay"),
        (PolynomialDecay, "polynomial_decay"), (InverseTimeDecay, "inverse_time_decay"),
        (CosineDecay, "cosine_decay"), (CosineDecayRestarts, "cosine_decay_restarts"),
    ],
)


def serialize(learning_rate_schedule):
    """The Keras 3 config dict of a schedule.

    >>> serialize(InverseTimeDecay(0.1, 10, 0.5))["config"]["decay_rate"]
    0.5
    """
    return _REGISTRY.serialize(learning_rate_schedule)


def deserialize(config, custom_objects=None):
    """The schedule a config dict describes; the inverse of :func:`serialize`.
    ``custom_objects`` maps names to user schedule classes.

    >>> deserialize(serialize(CosineDecay(0.1, 100, alpha=0.1)))
    CosineDecay(initial_learning_rate=0.1, decay_steps=100, alpha=0.1, ...)
    """
    return _REGISTRY.deserialize(config, custom_objects)


__all__ = [
    "LearningRateSchedule", "ExponentialDecay", "InverseTimeDecay", "PolynomialDecay",
    "CosineDecay", "CosineDecayRestarts", "PiecewiseConstantDecay", "serialize", "deserialize",
]
