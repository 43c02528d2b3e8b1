"""Symbolic tensors and the nodes that connect layers into a graph.

Calling a layer on a :class:`KerasTensor` (made by ``sepconv.Input``) computes
no data: the layer builds, works out its output shape, and records a
:class:`Node` (the call: the layer, its symbolic arguments and outputs). A
functional ``Model`` is the graph of those nodes between its inputs and
outputs.

>>> import sepconv
>>> x = sepconv.Input(shape=(8, 8, 3), name="image")
>>> y = sepconv.layers.Conv2D(4, 3, name="conv")(x)
>>> y
<KerasTensor shape=(None, 6, 6, 4), dtype=float32, name=conv/output>
>>> node = y._keras_history.node
>>> node.layer.name, [t.name for t in node.input_tensors]
('conv', ['image'])
"""

from __future__ import annotations

from typing import NamedTuple


class KerasHistory(NamedTuple):
    """Where a symbolic tensor comes from: ``layer`` made it at its
    ``node_index``-th call, as output number ``tensor_index``."""

    layer: object
    node_index: int
    tensor_index: int

    @property
    def operation(self):
        """Keras 3's name for :attr:`layer`."""
        return self.layer

    @property
    def node(self):
        """The :class:`Node` that produced the tensor."""
        return self.layer._inbound_nodes[self.node_index]


class KerasTensor:
    """A symbolic tensor: a shape (``None`` for unknown dimensions) and a
    dtype, without data. Layers called on it record the call instead of
    computing.

    >>> KerasTensor((None, 4), "float32", name="features")
    <KerasTensor shape=(None, 4), dtype=float32, name=features>
    """

    def __init__(self, shape, dtype="float32", name=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.name = name
        self._keras_history = None

    @property
    def ndim(self):
        """The rank (number of dimensions)."""
        return len(self.shape)

    @property
    def sparse(self):
        return False

    @property
    def ragged(self):
        return False

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __bool__(self):
        raise TypeError(
            "A symbolic KerasTensor has no value, so it cannot be used as a Python "
            "bool (in `if`, `and`, `or`, `not`). Call the model on data to get "
            f"values. Received: {self!r}"
        )

    def __array__(self, *args, **kwargs):
        raise TypeError(
            "A symbolic KerasTensor has no value, so it cannot be converted to a "
            "NumPy array. Call the model on data to get values. "
            f"Received: {self!r}"
        )

    def numpy(self):
        self.__array__()


def flatten(structure):
    """The leaves of a nest of lists, tuples and dicts, in order."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for item in structure.values() for leaf in flatten(item)]
    return [structure]


def map_structure(fn, structure):
    """``structure`` with every leaf replaced by ``fn(leaf)``."""
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, item) for item in structure)
    if isinstance(structure, dict):
        return {key: map_structure(fn, item) for key, item in structure.items()}
    return fn(structure)


def is_symbolic(*structures):
    """Whether any leaf of the given structures is a :class:`KerasTensor`."""
    return any(isinstance(leaf, KerasTensor) for s in structures for leaf in flatten(s))


class Node:
    """One call of ``layer`` on symbolic arguments; registers itself with the
    layer (``layer._inbound_nodes``) and with the layers that made its inputs
    (``_outbound_nodes``), and stamps its outputs' history."""

    def __init__(self, layer, call_args=(), call_kwargs=None, outputs=()):
        self.layer = layer
        self.call_args = tuple(call_args)
        self.call_kwargs = dict(call_kwargs or {})
        self.outputs = outputs
        self.input_tensors = [t for t in flatten((self.call_args, self.call_kwargs))
                              if isinstance(t, KerasTensor)]
        self.output_tensors = [t for t in flatten(outputs) if isinstance(t, KerasTensor)]
        node_index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        for tensor in self.input_tensors:
            if tensor._keras_history is not None:
                tensor._keras_history.layer._outbound_nodes.append(self)
        for index, tensor in enumerate(self.output_tensors):
            tensor._keras_history = KerasHistory(layer, node_index, index)

    @property
    def operation(self):
        """Keras 3's name for :attr:`layer`."""
        return self.layer

    @property
    def parent_nodes(self):
        """The nodes that produced this node's inputs."""
        return [t._keras_history.node for t in self.input_tensors
                if t._keras_history is not None]

    @property
    def is_input(self):
        """Whether this is an ``InputLayer``'s node (no inputs)."""
        return not self.input_tensors

    def __repr__(self):
        return (f"<Node layer={self.layer.name} inputs={len(self.input_tensors)} "
                f"outputs={len(self.output_tensors)}>")
