"""Merging layers: combine a list of tensors into one (``Add``, ``Concatenate``).

``Merge`` checks that a layer gets a non-empty list of tensors with equal
(or unknown) batch sizes and implements Keras's elementwise shape rule:
non-batch dimensions are aligned from the right, a size-1 dimension
broadcasts, and an input of lower rank gets size-1 axes inserted after the
batch axis. ``Concatenate`` replaces the shape rule with its own. Shapes are
checked on every call, so a mismatch is a ValueError naming the shapes, not a
torch broadcasting error or a silent broadcast over the batch.

>>> import torch
>>> Add()([torch.ones(2, 3), torch.ones(2, 3)]).tolist()
[[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
>>> Concatenate(axis=1).compute_output_shape([(None, 2, 5), (None, 3, 5)])
(None, 5, 5)
"""

from __future__ import annotations

import numbers

import torch

from sepconv.layers.layer import Layer


def _describe(inputs):
    """``inputs`` for an error message: tensors by their shapes."""
    if isinstance(inputs, torch.Tensor):
        return f"a single tensor of shape {tuple(inputs.shape)}"
    if isinstance(inputs, (list, tuple)):
        items = [f"tensor of shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else repr(x)
                 for x in inputs]
        return f"[{', '.join(items)}]"
    return repr(inputs)


class Merge(Layer):
    """Base class of the merging layers: ``call`` takes a list of tensors.

    Subclasses implement ``merge(tensors)`` (tensors of equal rank for the
    elementwise layers) and may replace ``merged_shape(shapes)``.
    """

    def _check_list(self, inputs, argument, item=torch.Tensor):
        """``inputs`` must be a non-empty list (or tuple) of ``item`` s (one
        input is allowed and passes through, as in Keras 3)."""
        if (not isinstance(inputs, (list, tuple)) or not inputs
                or not all(isinstance(x, item) for x in inputs)):
            what = "tensors" if item is torch.Tensor else "shapes"
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) merges a list of "
                f"inputs: `{argument}` must be a non-empty list of {what}. Received: "
                f"{argument}={_describe(inputs) if argument == 'inputs' else repr(inputs)}"
            )

    def _check_batch(self, shapes):
        batch_sizes = {s[0] for s in shapes if len(s) and s[0] is not None}
        if len(batch_sizes) > 1:
            raise ValueError(
                f"Layer '{self.name}' cannot merge tensors with different batch "
                f"sizes: the first dimensions must be equal. Received: input shapes {shapes}"
            )

    def merged_shape(self, shapes):
        """The output shape for a list of input shapes (Keras's elementwise rule)."""
        self._check_batch(shapes)
        output = shapes[0][1:]
        for shape in shapes[1:]:
            output = self._elementwise_shape(output, shape[1:], shapes)
        batch_sizes = {s[0] for s in shapes if len(s)} - {None}
        return (batch_sizes.pop() if batch_sizes else None,) + output

    def _elementwise_shape(self, first, second, shapes):
        if len(first) < len(second):
            first, second = second, first
        if not second:
            return tuple(first)
        output = list(first[: len(first) - len(second)])
        for i, j in zip(first[len(first) - len(second):], second):
            if i is None or j is None:
                output.append(None)
            elif i == 1 or j == 1 or i == j:
                output.append(j if i == 1 else i)
            else:
                raise ValueError(
                    f"Layer '{self.name}' got inputs of incompatible shapes: "
                    "aligned from the right (after the batch axis), each dimension "
                    "must be equal or 1. Received: input shapes "
                    f"{[tuple(s) for s in shapes]}"
                )
        return tuple(output)

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape, "input_shape", (tuple, list, torch.Size))
        return self.merged_shape([tuple(s) for s in input_shape])

    def call(self, inputs):
        self._check_list(inputs, "inputs")
        self.merged_shape([tuple(x.shape) for x in inputs])
        ndim = max(x.ndim for x in inputs)
        # Keras inserts the missing axes after the batch axis (views).
        return self.merge([x.reshape(x.shape[:1] + (1,) * (ndim - x.ndim) + x.shape[1:])
                           if x.ndim < ndim else x for x in inputs])

    def merge(self, tensors):
        raise NotImplementedError


class Add(Merge):
    """Adds a list of tensors elementwise (with Keras's broadcasting rule).

    >>> import torch
    >>> Add()([torch.ones(2, 3, 4), torch.arange(4.0).expand(2, 4)])[0, 0].tolist()
    [1.0, 2.0, 3.0, 4.0]
    """

    def merge(self, tensors):
        output = tensors[0]
        for x in tensors[1:]:
            output = output + x
        return output


class Concatenate(Merge):
    """Concatenates a list of tensors along ``axis``; every other dimension
    must match (unknown dimensions match anything).

    >>> import torch
    >>> Concatenate()([torch.zeros(2, 3, 1), torch.ones(2, 3, 2)]).shape
    torch.Size([2, 3, 3])
    >>> Concatenate(name="cat")([torch.zeros(2, 3, 1), torch.ones(2, 4, 2)])
    Traceback (most recent call last):
    ...
    ValueError: Layer 'cat' (Concatenate) needs inputs whose dimensions match except along the concatenation axis (axis=-1). Received: input shapes [(2, 3, 1), (2, 4, 2)]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(
                f"The `axis` argument must be an integer. Received: axis={axis!r}"
            )
        self.axis = int(axis)

    def merged_shape(self, shapes):
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise ValueError(
                f"Layer '{self.name}' (Concatenate) needs inputs of equal rank. "
                f"Received: input shapes {shapes}"
            )
        if not -rank <= self.axis < rank:
            raise ValueError(
                f"The `axis` argument of layer '{self.name}' must be a dimension of "
                f"the inputs (rank {rank}): -{rank} <= axis < {rank}. "
                f"Received: axis={self.axis}"
            )
        axis = self.axis % rank
        for dim in range(rank):
            known = {s[dim] for s in shapes} - {None}
            if dim != axis and len(known) > 1:
                raise ValueError(
                    f"Layer '{self.name}' (Concatenate) needs inputs whose dimensions "
                    f"match except along the concatenation axis (axis={self.axis}). "
                    f"Received: input shapes {shapes}"
                )
        sizes = [s[axis] for s in shapes]
        output = list(shapes[0])  # Keras keeps the first input's other dimensions
        output[axis] = None if None in sizes else sum(sizes)
        return tuple(output)

    def call(self, inputs):
        self._check_list(inputs, "inputs")
        self.merged_shape([tuple(x.shape) for x in inputs])
        return self.merge(list(inputs))

    def merge(self, tensors):
        return torch.cat(tensors, dim=self.axis)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


def add(inputs, **kwargs):
    """Functional form of :class:`Add`: ``Add(**kwargs)(inputs)``.

    >>> import torch
    >>> add([torch.ones(1, 2), torch.ones(1, 2)]).tolist()
    [[2.0, 2.0]]
    """
    return Add(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of :class:`Concatenate`: ``Concatenate(axis, **kwargs)(inputs)``.

    >>> import torch
    >>> concatenate([torch.ones(1, 2), torch.zeros(1, 1)]).tolist()
    [[1.0, 1.0, 0.0]]
    """
    return Concatenate(axis=axis, **kwargs)(inputs)
