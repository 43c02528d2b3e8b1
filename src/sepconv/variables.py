"""``Variable``: the nn.Parameter that layers create, carrying Keras's metadata.

A Keras variable knows its ``name`` ("kernel"), its ``path``
("conv2d/kernel"), whether it is trainable, and its regularizer and
constraint. ``torch.Tensor`` reserves ``name``, so the metadata lives on this
small subclass, which survives ``copy.deepcopy`` and pickling and otherwise
behaves exactly as an ``nn.Parameter`` (operations on it return plain tensors).

>>> import torch
>>> v = Variable(torch.zeros(2, 3), name="kernel", path="dense/kernel")
>>> v.name, v.path, tuple(v.shape), v.trainable
('kernel', 'dense/kernel', (2, 3), True)
>>> isinstance(v, torch.nn.Parameter)
True
"""

from __future__ import annotations

import copy

import torch



class Variable(torch.nn.Parameter):
    """An ``nn.Parameter`` with Keras's name, path, trainable flag, regularizer
    and constraint.

    ``trainable`` is the variable's own flag (as created by ``add_weight``);
    whether it receives gradients right now is ``requires_grad``, which a
    layer also turns off while the layer itself is frozen.
    """

    def __new__(
        cls,
        data=None,
        requires_grad=None,
        *,
        name=None,
        path=None,
        trainable=True,
        regularizer=None,
        constraint=None,
    ):
        if requires_grad is None:
            requires_grad = trainable
        self = super().__new__(cls, data, requires_grad=bool(requires_grad))
        meta = self.__dict__
        meta["_keras_name"] = name
        meta["path"] = path if path is not None else name
        meta["_keras_trainable"] = bool(trainable)
        meta["regularizer"] = regularizer
        meta["constraint"] = constraint
        return self

    @property
    def name(self):
        """The weight's own name, e.g. ``"kernel"``."""
        return self.__dict__.get("_keras_name")

    @property
    def trainable(self):
        """Whether the variable was created trainable (Keras's variable flag)."""
        return self.__dict__.get("_keras_trainable", True)

    @trainable.setter
    def trainable(self, value):
        self.__dict__["_keras_trainable"] = bool(value)
        self.requires_grad_(bool(value))

    def numpy(self):
        """The current value as a NumPy array (a copy, on the CPU)."""
        return self.detach().cpu().numpy().copy()

    def assign(self, value):
        """Overwrite the value in place, keeping dtype and device."""
        value = torch.as_tensor(value)
        if tuple(value.shape) != tuple(self.shape):
            raise ValueError(
                f"The value assigned to variable '{self.path}' must have shape "
                f"{tuple(self.shape)}. Received: value.shape={tuple(value.shape)}"
            )
        with torch.no_grad():
            self.copy_(value)
        return self

    def _metadata(self):
        return {key: self.__dict__[key] for key in
                ("_keras_name", "path", "_keras_trainable", "regularizer", "constraint")
                if key in self.__dict__}

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = super().__deepcopy__(memo)
        result.__dict__.update(copy.deepcopy(self._metadata(), memo))
        return result

    def __reduce_ex__(self, protocol):
        return (
            _rebuild_variable,
            (self.detach(), self.requires_grad, self._metadata()),
        )

    def __repr__(self):
        return (
            f"<Variable path={self.path}, shape={tuple(self.shape)}, "
            f"dtype={str(self.dtype).replace('torch.', '')}>"
        )


def _rebuild_variable(data, requires_grad, metadata):
    variable = Variable(data, requires_grad)
    variable.__dict__.update(metadata)
    return variable
