"""Shape arithmetic for convolutions: argument standardisation, output lengths
and TensorFlow's 'same' padding split. Pure Python (no torch import).

Errors are ``ValueError`` (as Keras raises for bad arguments) worded as: what is
wrong, the rule, then ``Received: arg=value``.

>>> standardize_tuple(3, 2, "kernel_size")
(3, 3)
>>> same_padding(10, 3, 2, 1)
(0, 1)
>>> compute_conv_output_shape((None, 9, 8, 3), 16, (3, 3), 2, "same", "channels_last", 1)
(None, 5, 4, 16)
"""

from __future__ import annotations

import numbers

PADDINGS = ("valid", "same")
CAUSAL = "causal"


def _as_int(v):
    """``v`` as an int if it is an integer (not a bool, float or string), else None."""
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        return None
    return int(v)


def standardize_tuple(value, n, name, allow_zero=False):
    """A tuple of ``n`` ints from an int or an iterable of ``n`` ints.

    Values must be >= 1 (>= 0 with ``allow_zero``). Bools, floats and strings
    are rejected.

    >>> standardize_tuple((1, 2), 2, "strides")
    (1, 2)
    >>> standardize_tuple(0, 1, "padding", allow_zero=True)
    (0,)
    >>> standardize_tuple((3, "a"), 2, "kernel_size")
    Traceback (most recent call last):
    ...
    ValueError: The `kernel_size` argument must be a tuple of 2 integers. Received: kernel_size=(3, 'a')
    """
    single = _as_int(value)
    if single is not None:
        values = (single,) * n
    else:
        error = (
            f"The `{name}` argument must be a tuple of {n} integers. "
            f"Received: {name}={value!r}"
        )
        if isinstance(value, (str, bytes)):
            raise ValueError(error)
        try:
            items = tuple(value)
        except TypeError:
            raise ValueError(error) from None
        values = tuple(_as_int(v) for v in items)
        if len(values) != n or None in values:
            raise ValueError(error)
    low = 0 if allow_zero else 1
    if any(v < low for v in values):
        raise ValueError(
            f"The `{name}` argument must hold integers >= {low}. "
            f"Received: {name}={value!r}"
        )
    return values


def standardize_padding(value, allow_causal=False):
    """``"valid"``, ``"same"`` (or ``"causal"`` if allowed), case-insensitive.

    >>> standardize_padding("SAME")
    'same'
    >>> standardize_padding(2)
    Traceback (most recent call last):
    ...
    ValueError: The `padding` argument must be one of 'valid', 'same'. Received: padding=2
    """
    allowed = PADDINGS + (CAUSAL,) if allow_causal else PADDINGS
    padding = value.lower() if isinstance(value, str) else None
    if padding not in allowed:
        names = ", ".join(repr(p) for p in allowed)
        raise ValueError(
            f"The `padding` argument must be one of {names}. Received: padding={value!r}"
        )
    return padding


def standardize_data_format(value):
    """``"channels_last"`` or ``"channels_first"``; None gives the configured default.

    >>> standardize_data_format("Channels_First")
    'channels_first'
    >>> standardize_data_format(None)
    'channels_last'
    """
    if value is None:
        from sepconv import config

        return config.image_data_format()
    data_format = value.lower() if isinstance(value, str) else None
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            "The `data_format` argument must be one of 'channels_last', "
            f"'channels_first'. Received: data_format={value!r}"
        )
    return data_format


def same_padding(length, kernel, stride, dilation):
    """(before, after) zero padding of TensorFlow's 'same': the odd one goes after.

    >>> same_padding(5, 3, 1, 1), same_padding(6, 4, 1, 1), same_padding(7, 3, 2, 2)
    ((1, 1), (1, 2), (2, 2))
    """
    out = -(-length // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - length, 0)
    return total // 2, total - total // 2


def padding_pair(length, kernel, stride, padding, dilation):
    """(before, after) zeros added along one dimension for ``padding``.

    'causal' pads ``(kernel - 1) * dilation`` before, as Keras's Conv1D.

    >>> padding_pair(8, 3, 1, "causal", 2), padding_pair(8, 3, 1, "valid", 1)
    ((4, 0), (0, 0))
    """
    if padding == "same":
        return same_padding(length, kernel, stride, dilation)
    if padding == CAUSAL:
        return (kernel - 1) * dilation, 0
    return 0, 0


def conv_output_length(length, kernel, stride, padding, dilation=1):
    """Output length along one dimension; None stays None.

    'same' and 'causal' give ``ceil(length / stride)``; 'valid' gives
    ``floor((length - (kernel - 1) * dilation - 1) / stride) + 1``, which is < 1
    when the input is smaller than the dilated kernel (the caller decides).

    >>> conv_output_length(7, 3, 2, "valid", 1), conv_output_length(7, 3, 2, "same", 1)
    (3, 4)
    >>> conv_output_length(None, 3, 1, "valid") is None
    True
    """
    if length is None:
        return None
    if padding in ("same", CAUSAL):
        return -(-length // stride)
    return (length - (kernel - 1) * dilation - 1) // stride + 1


def compute_conv_output_shape(
    input_shape,
    filters,
    kernel_size,
    strides=1,
    padding="valid",
    data_format=None,
    dilation_rate=1,
):
    """Output shape of a conv, depthwise conv or separable conv.

    ``filters`` is the number of output channels (for a depthwise conv,
    ``in_channels * depth_multiplier``). Batch and spatial dims may be None.

    >>> compute_conv_output_shape((2, 3, 10), 4, 3, 1, "causal", "channels_first", 2)
    (2, 4, 10)
    >>> compute_conv_output_shape((None, 2, 2, 3), 8, (3, 3))
    Traceback (most recent call last):
    ...
    ValueError: The input is smaller than the dilated kernel: with padding='valid' each spatial dimension must be at least (kernel_size - 1) * dilation_rate + 1. Received: input_shape=(None, 2, 2, 3), kernel_size=(3, 3), dilation_rate=(1, 1)
    """
    input_shape = tuple(input_shape)
    rank = len(input_shape) - 2
    if rank < 1:
        raise ValueError(
            "The input shape must have a batch, a channel and at least one "
            f"spatial dimension. Received: input_shape={input_shape}"
        )
    kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
    strides = standardize_tuple(strides, rank, "strides")
    dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate")
    padding = standardize_padding(padding, allow_causal=True)
    data_format = standardize_data_format(data_format)
    spatial = input_shape[1:-1] if data_format == "channels_last" else input_shape[2:]
    out = tuple(
        conv_output_length(n, k, s, padding, d)
        for n, k, s, d in zip(spatial, kernel_size, strides, dilation_rate)
    )
    if any(o is not None and o < 1 for o in out):
        raise ValueError(
            "The input is smaller than the dilated kernel: with padding='valid' "
            "each spatial dimension must be at least "
            "(kernel_size - 1) * dilation_rate + 1. "
            f"Received: input_shape={input_shape}, kernel_size={kernel_size}, "
            f"dilation_rate={dilation_rate}"
        )
    if data_format == "channels_last":
        return (input_shape[0],) + out + (filters,)
    return (input_shape[0], filters) + out
