"""Reshaping layers: ``Flatten``, ``Reshape`` and ``ZeroPadding2D``.

All three keep the batch dimension and have no weights. ``Flatten`` and
``Reshape`` return views whenever torch can (no copy of the activations).

>>> import torch
>>> x = torch.zeros(2, 3, 4, 5)
>>> Flatten()(x).shape, Reshape((-1, 5))(x).shape, ZeroPadding2D(1)(x).shape
(torch.Size([2, 60]), torch.Size([2, 12, 5]), torch.Size([2, 5, 6, 5]))
"""

from __future__ import annotations

import math
import numbers

import torch.nn.functional as F

from sepconv.layers.input_spec import InputSpec
from sepconv.layers.layer import Layer
from sepconv.ops import shapes


class Flatten(Layer):
    """Flattens each sample to one dimension: ``(batch, ...)`` -> ``(batch, n)``.

    As in Keras, a ``channels_first`` input is flattened in channels_last
    order (channels vary fastest), so a model gives the same flattened vector
    in either data format. A rank-1 input becomes ``(batch, 1)``.

    >>> import torch
    >>> x = torch.arange(8.0).reshape(1, 2, 2, 2)              # (batch, C, H, W)
    >>> Flatten()(x).tolist()
    [[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]]
    >>> Flatten(data_format="channels_first")(x).tolist()
    [[0.0, 4.0, 1.0, 5.0, 2.0, 6.0, 3.0, 7.0]]
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = shapes.standardize_data_format(data_format)
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            # A view; reshape copies only if the channels are not innermost in
            # memory (for a channels_last tensor viewed as NCHW it does not).
            inputs = inputs.movedim(1, -1)
        return inputs.reshape(inputs.shape[0], math.prod(inputs.shape[1:]))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if not input_shape:
            raise ValueError(
                f"Layer '{self.name}' expects inputs of rank >= 1 (a batch "
                f"dimension). Received: input_shape={input_shape}"
            )
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (the batch dimension is kept).

    ``target_shape`` is a tuple of non-negative ints with at most one unknown
    dimension, written ``-1`` (or ``None``), inferred from the input size.

    >>> import torch
    >>> Reshape((3, 4))(torch.zeros(2, 12)).shape
    torch.Size([2, 3, 4])
    >>> Reshape((-1, 2))(torch.zeros(2, 3, 4)).shape
    torch.Size([2, 6, 2])
    >>> Reshape((-1, -1))
    Traceback (most recent call last):
    ...
    ValueError: The `target_shape` argument may have at most one unknown dimension (-1 or None). Received: target_shape=(-1, -1)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = _standardize_target_shape(target_shape)
        self.built = True

    def _resolve(self, input_shape):
        """The target shape for ``input_shape`` (batch included): the unknown
        dimension inferred, or None where it cannot be."""
        target = tuple(-1 if d is None else d for d in self.target_shape)
        rest = tuple(input_shape[1:])
        if any(d is None for d in rest):
            return tuple(None if d == -1 else d for d in target)
        size = math.prod(rest)
        known = math.prod(d for d in target if d != -1)
        if -1 not in target:
            if known == size:
                return target
            rule = "must have as many elements as each input sample"
        elif known and size % known == 0:
            return tuple(size // known if d == -1 else d for d in target)
        else:
            rule = ("must divide each input sample's size with its known dimensions "
                    "(their product must be a nonzero divisor)")
        raise ValueError(
            f"The `target_shape` argument of layer '{self.name}' {rule}. "
            f"Received: target_shape={self.target_shape}, "
            f"input_shape={tuple(input_shape)}"
        )

    def call(self, inputs):
        target = self._resolve(tuple(inputs.shape))
        return inputs.reshape((inputs.shape[0],) + target)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if not input_shape:
            raise ValueError(
                f"Layer '{self.name}' expects inputs of rank >= 1 (a batch "
                f"dimension). Received: input_shape={input_shape}"
            )
        if None in self.target_shape:  # as Keras: a None target dim stays unknown
            return (input_shape[0],) + tuple(
                None if d is None or d == -1 else d for d in self.target_shape)
        return (input_shape[0],) + self._resolve(input_shape)

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config


def _standardize_target_shape(target_shape):
    if isinstance(target_shape, (str, bytes)) or not hasattr(target_shape, "__iter__"):
        raise TypeError(
            "The `target_shape` argument must be a tuple of integers (the shape of "
            f"each sample, without the batch dimension). Received: target_shape={target_shape!r}"
        )
    target = tuple(target_shape)
    if not all(d is None or _is_int(d) for d in target):
        raise TypeError(
            "The `target_shape` argument must hold integers (or -1 / None for one "
            f"unknown dimension). Received: target_shape={target_shape!r}"
        )
    target = tuple(None if d is None else int(d) for d in target)
    if any(d is not None and d < -1 for d in target):
        raise ValueError(
            "Each dimension in the `target_shape` argument must be a non-negative "
            "integer, or -1 (or None) for one unknown dimension. "
            f"Received: target_shape={target}"
        )
    if sum(d is None or d == -1 for d in target) > 1:
        raise ValueError(
            "The `target_shape` argument may have at most one unknown dimension "
            f"(-1 or None). Received: target_shape={target}"
        )
    return target


def _padding_pair(entry, padding):
    """One dimension's (before, after) from an int or a pair of ints, all >= 0."""
    if _is_int(entry):
        pair = (int(entry), int(entry))
    elif isinstance(entry, (tuple, list)) and len(entry) == 2 and all(map(_is_int, entry)):
        pair = (int(entry[0]), int(entry[1]))
    else:
        raise ValueError(
            "Each entry of the `padding` argument must be an int or a tuple of 2 "
            f"ints (before, after). Received: padding={padding!r}"
        )
    if min(pair) < 0:
        raise ValueError(
            f"The `padding` argument must hold integers >= 0. Received: padding={padding!r}"
        )
    return pair


def standardize_padding_2d(padding):
    """``((top, bottom), (left, right))`` from an int, a 2-tuple of ints
    (symmetric height and width padding) or a 2-tuple of 2-tuples.

    >>> standardize_padding_2d(1), standardize_padding_2d((1, 2))
    (((1, 1), (1, 1)), ((1, 1), (2, 2)))
    >>> standardize_padding_2d(((0, 1), 2))
    ((0, 1), (2, 2))
    """
    if _is_int(padding):
        return (_padding_pair(padding, padding),) * 2
    if not isinstance(padding, (tuple, list)) or len(padding) != 2:
        raise ValueError(
            "The `padding` argument must be an int, a tuple of 2 ints "
            "(symmetric height and width padding) or a tuple of 2 tuples of 2 ints "
            f"((top, bottom), (left, right)). Received: padding={padding!r}"
        )
    return tuple(_padding_pair(entry, padding) for entry in padding)


class ZeroPadding2D(Layer):
    """Adds rows and columns of zeros around each image.

    ``padding``: an int (the same on all four sides), a tuple of 2 ints
    ``(symmetric_height_pad, symmetric_width_pad)``, or
    ``((top, bottom), (left, right))``.

    >>> import torch
    >>> ZeroPadding2D(((1, 0), (0, 2)))(torch.ones(1, 1, 1, 1))[0, :, :, 0].tolist()
    [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = shapes.standardize_data_format(data_format)
        self.padding = standardize_padding_2d(padding)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        (top, bottom), (left, right) = self.padding
        if self.data_format == "channels_first":
            return F.pad(inputs, (left, right, top, bottom))
        return F.pad(inputs, (0, 0, left, right, top, bottom))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 4:
            raise ValueError(
                f"Layer '{self.name}' expects inputs of rank 4. "
                f"Received: input_shape={input_shape}"
            )
        first = 1 if self.data_format == "channels_last" else 2
        output = list(input_shape)
        for axis, (before, after) in zip((first, first + 1), self.padding):
            if output[axis] is not None:
                output[axis] += before + after
        return tuple(output)

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config
