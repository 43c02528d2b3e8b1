"""Keras 3's list of optimizer variables, for sepconv's optimizers: what a
``.keras`` archive or ``.weights.h5`` file holds under ``optimizer/vars``.

A sepconv optimizer keeps its state as torch does (``optimizer.state[param]``
tensors, a Python step count, the rate in the param groups); this mixin maps
that state to and from the flat list Keras builds, in Keras's order:

1. ``iteration``: the step count (int32; with gradient accumulation, the
   calls of ``step()``, as Keras's ``_iterations``);
2. ``learning_rate`` (float32), only when the rate is a float: a schedule or
   a callable has no variable;
3. once built, per-parameter slots in build order: every parameter's
   ``average`` (``use_ema``), every parameter's ``gradient_accumulator``
   (``gradient_accumulation_steps``), then the optimizer's own slots, group
   by group (:meth:`OptimizerVariables._slot_groups`): the slots of one group
   alternate per parameter (Adam: kernel momentum, kernel velocity, bias
   momentum, bias velocity), the next group follows (AMSGrad's
   ``velocity_hat`` for every parameter);
4. optimizer-wide variables created last (Nadam's ``u_product``).

>>> import torch
>>> from sepconv.training.optimizers import Adam
>>> kernel, bias = torch.nn.Parameter(torch.ones(2, 3)), torch.nn.Parameter(torch.ones(3))
>>> optimizer = Adam(learning_rate=0.5)
>>> [tuple(v.shape) for v in optimizer.variables]
[(), ()]
>>> optimizer.build([kernel, bias])
>>> [tuple(v.shape) for v in optimizer.variables]
[(), (), (2, 3), (2, 3), (3,), (3,)]
>>> store = {}
>>> optimizer.save_own_variables(store)
>>> store["0"], store["1"]
(array(0, dtype=int32), array(0.5, dtype=float32))
"""

from __future__ import annotations

import warnings

import numpy as np
import torch


class VariableEntry:
    """One entry of the list: ``describe`` (for messages), ``read()`` (the
    value as a tensor) and ``assign(array)``.

    >>> box = {"count": 3}
    >>> entry = VariableEntry("count", lambda: torch.tensor(box["count"]),
    ...                       lambda value: box.update(count=int(value)))
    >>> entry.assign(np.array(5)); int(entry.read())
    5
    """

    def __init__(self, describe, read, assign):
        self.describe, self.read, self.assign = describe, read, assign


def _tensor_variable(tensor, describe):
    def assign(value):
        tensor.copy_(torch.as_tensor(value))

    return VariableEntry(describe, lambda: tensor, assign)


class OptimizerVariables:
    """Keras's ``variables``, ``save_own_variables`` and
    ``load_own_variables`` for :class:`sepconv.optimizers.Optimizer` (see
    the module docstring for the order)."""

    def _slot_groups(self):
        """Keras's build order of the slots of :meth:`_slots`: a list of
        groups, each a tuple of slot names created together (alternating per
        parameter). Default: all slots in one group."""
        slots = tuple(self._slots())
        return [slots] if slots else []

    def _extra_variables(self):
        """Optimizer-wide :class:`VariableEntry` entries Keras creates at the end
        of ``build`` (subclasses; Nadam's ``u_product``)."""
        return []

    def _slot_order(self):
        params = self._all_params()
        order = []
        if self.use_ema:
            order += [(param, "average") for param in params]
        if self.gradient_accumulation_steps:
            order += [(param, "gradient_accumulator") for param in params]
        for group in self._slot_groups():
            order += [(param, slot) for param in params for slot in group]
        return order

    def _variable_entries(self):
        def set_iterations(value):
            self._iterations = int(value)

        def set_rate(value):
            self.learning_rate = float(value)

        entries = [VariableEntry("iteration", lambda: torch.tensor(self._iterations,
                                                               dtype=torch.int32),
                             set_iterations)]
        if self._schedule is None:
            entries.append(VariableEntry(
                "learning_rate",
                lambda: torch.tensor(self.learning_rate, dtype=torch.float32), set_rate))
        if self.built:
            for param, slot in self._slot_order():
                entries.append(_tensor_variable(
                    self._state_of(param)[slot],
                    f"'{slot}' of a parameter of shape {tuple(param.shape)}"))
            entries += self._extra_variables()
        return entries

    @property
    def variables(self):
        """Keras's optimizer variables in Keras's order (module docstring):
        the step count and the rate as new 0-d tensors (int32, float32),
        then the live per-parameter state tensors (created if missing)."""
        with torch.no_grad():
            return [entry.read() for entry in self._variable_entries()]

    def save_own_variables(self, store):
        """Write :attr:`variables` into ``store`` (a mapping) as NumPy
        arrays under the keys ``"0"``, ``"1"``, ... (Keras's layout)."""
        for index, value in enumerate(self.variables):
            store[str(index)] = value.detach().cpu().numpy()

    def load_own_variables(self, store):
        """Assign the arrays of ``store`` (keys ``"0"``, ``"1"``, ...) to
        :attr:`variables`. When the counts differ nothing is loaded and a
        warning says so, as in Keras (an unbuilt optimizer has only the step
        count and the rate: build it on the parameters first). A value of
        the wrong shape raises ValueError before anything is assigned."""
        entries = self._variable_entries()
        saved = len(store.keys())
        if saved != len(entries):
            hint = ("" if self.built else " It is not built yet: build it on the model's "
                    "trainable weights (or train one step) before loading its state.")
            warnings.warn(
                f"Skipping variable loading for optimizer '{self.name}': it has "
                f"{len(entries)} variables but the saved optimizer has {saved}.{hint}",
                stacklevel=2)
            return
        with torch.no_grad():
            values = [np.asarray(store[str(index)]) for index in range(saved)]
            for index, (entry, value) in enumerate(zip(entries, values)):
                expected = tuple(entry.read().shape)
                if tuple(value.shape) != expected:
                    raise ValueError(
                        f"Optimizer '{self.name}': saved variable {index} "
                        f"({entry.describe}) must have shape {expected}. "
                        f"Received: shape {tuple(value.shape)}"
                    )
            for entry, value in zip(entries, values):
                entry.assign(value)


__all__ = ["OptimizerVariables", "VariableEntry"]
