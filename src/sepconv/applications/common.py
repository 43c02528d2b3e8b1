"""What the application models share: argument checks, the input-shape rules
of ``keras.applications`` (Keras 3.15.1), the model input, and the pooling
head used when ``include_top=False``.

>>> resolve_input_shape(None, default_size=224, min_size=32, require_flatten=True)
(224, 224, 3)
>>> resolve_input_shape((64, 48, 3), default_size=224, min_size=32, require_flatten=False)
(64, 48, 3)
"""

from __future__ import annotations

import numbers
import os
import warnings

from sepconv import activations, config, layers
from sepconv.layers.node import KerasTensor
from sepconv.utils.validation import check_bool, check_positive_int

POOLING_MODES = (None, "avg", "max")


def check_weights(weights):
    """``weights`` as None (random initialization) or the path of a local
    weights file to load once the model is built (see :func:`load_weights`).
    sepconv downloads nothing, so "imagenet" is refused.

    >>> check_weights(None)
    >>> check_weights("imagenet")
    Traceback (most recent call last):
    ...
    ValueError: The `weights` argument must be None (random initialization) or the path of a local weights file, such as a keras.applications weights file (.h5) saved on this machine: sepconv downloads no pretrained weights. Received: weights='imagenet'
    """
    if weights is None:
        return None
    if isinstance(weights, (str, os.PathLike)) and os.fspath(weights) != "imagenet":
        path = os.fspath(weights)
        if not os.path.isfile(path):
            raise ValueError(
                f"The `weights` file does not exist: pass None or the path of a local "
                f"weights file. Received: weights={weights!r}"
            )
        return path
    raise ValueError(
        "The `weights` argument must be None (random initialization) or the path of a "
        "local weights file, such as a keras.applications weights file (.h5) saved on "
        f"this machine: sepconv downloads no pretrained weights. Received: weights={weights!r}"
    )


def load_weights(model, weights):
    """Load the file :func:`check_weights` accepted into the built ``model``:
    a legacy ``.h5`` / ``.hdf5`` file (as keras.applications ships) in layer
    order, any other format through ``model.load_weights``."""
    if weights is None:
        return model
    if weights.endswith((".h5", ".hdf5")) and not weights.endswith(".weights.h5"):
        from sepconv.saving.legacy_h5 import load_weights_from_legacy_h5

        load_weights_from_legacy_h5(model, weights)
    else:
        model.load_weights(weights)
    return model


def check_head_arguments(include_top, pooling, classes, classifier_activation):
    """``include_top`` as a bool, after checking ``pooling`` (None, "avg" or
    "max"), ``classes`` (a positive integer) and ``classifier_activation``
    (anything ``sepconv.activations.get`` accepts). All are checked even
    where they are unused (``pooling`` with a top, ``classes`` without one),
    since a value outside those rules is a mistake either way.

    >>> check_head_arguments(False, "avg", 1000, "softmax")
    False
    >>> check_head_arguments(False, "mean", 1000, "softmax")
    Traceback (most recent call last):
    ...
    ValueError: The `pooling` argument must be None, 'avg' or 'max'. Received: pooling='mean'
    """
    include_top = check_bool(include_top, "include_top")
    if not (pooling is None or (isinstance(pooling, str) and pooling in POOLING_MODES)):
        raise ValueError(
            "The `pooling` argument must be None, 'avg' or 'max'. "
            f"Received: pooling={pooling!r}"
        )
    check_positive_int(classes, "classes")
    activations.get(classifier_activation, "classifier_activation")
    return include_top


def _check_dimension(value, input_shape, what):
    if value is None and what != "channel":
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        rule = "a positive integer" if what == "channel" else "a positive integer or None"
        raise ValueError(
            f"Each {what} size in `input_shape` must be {rule}. "
            f"Received: input_shape={input_shape!r}"
        )


def resolve_input_shape(input_shape, default_size, min_size, require_flatten,
                        data_format=None):
    """The model's input shape (batch excluded) as Keras's applications
    choose it for ``weights=None``:

    - no ``input_shape``: ``(default_size, default_size, 3)`` when the model
      has its classifier top (``require_flatten``), else ``(None, None, 3)``
      (channels first for ``data_format="channels_first"``);
    - a given ``input_shape`` must have three entries, a channel count, and
      rows and columns that are None or at least ``min_size``; a channel
      count other than 1 or 3 only warns;
    - with a top, rows and columns must be known.

    >>> resolve_input_shape((3, None, 40), 299, 71, False, "channels_first")
    Traceback (most recent call last):
    ...
    ValueError: The input size must be at least 71x71 (rows and columns). Received: input_shape=(3, None, 40)
    """
    data_format = data_format or config.image_data_format()
    channels_first = data_format == "channels_first"
    if input_shape is None:
        if require_flatten:
            size = (default_size, default_size)
        else:
            size = (None, None)
        return (3,) + size if channels_first else size + (3,)
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(
            "`input_shape` must be a tuple of three integers (rows, columns and "
            "channels, in the order of the image data format "
            f"{data_format!r}). Received: input_shape={input_shape!r}"
        )
    channels = input_shape[0] if channels_first else input_shape[-1]
    spatial = input_shape[1:] if channels_first else input_shape[:2]
    _check_dimension(channels, input_shape, "channel")
    for size in spatial:
        _check_dimension(size, input_shape, "row and column")
    if any(size is not None and size < min_size for size in spatial):
        raise ValueError(
            f"The input size must be at least {min_size}x{min_size} (rows and "
            f"columns). Received: input_shape={input_shape!r}"
        )
    if require_flatten and None in spatial:
        raise ValueError(
            "With `include_top=True` the input's rows and columns must be known: "
            f"specify a static `input_shape`. Received: input_shape={input_shape!r}"
        )
    if channels not in (1, 3):
        warnings.warn(
            "This model usually expects 1 or 3 input channels. However, it was "
            f"passed an input_shape with {channels} input channels.",
            stacklevel=3,
        )
    return tuple(input_shape)


def source_inputs(tensor):
    """The ``Input`` tensors that ``tensor`` is computed from, in the order
    they are first reached.

    >>> import sepconv
    >>> x = sepconv.Input((4,), name="x")
    >>> [t.name for t in source_inputs(sepconv.layers.Dense(2)(x))]
    ['x']
    """
    found, seen, pending = [], set(), [tensor]
    while pending:
        current = pending.pop()
        node = current._keras_history.node
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.is_input:
            found.extend(node.output_tensors)
        else:
            pending.extend(reversed(node.input_tensors))
    return found


def model_input(input_tensor, input_shape):
    """``(image, model_inputs)``: the symbolic image the network starts from
    (``input_tensor`` if given, else a new ``Input`` of ``input_shape``) and
    the inputs the model is defined on (the ``Input`` tensors behind it).

    >>> image, inputs = model_input(None, (32, 32, 3))
    >>> image.shape, inputs is image
    ((None, 32, 32, 3), True)
    """
    if input_tensor is None:
        image = layers.Input(shape=input_shape)
        return image, image
    if not isinstance(input_tensor, KerasTensor) or input_tensor._keras_history is None:
        raise TypeError(
            "`input_tensor` must be a symbolic tensor: `sepconv.Input(...)` or the "
            "output of layers called on one. "
            f"Received: input_tensor of type {type(input_tensor).__name__}"
        )
    inputs = source_inputs(input_tensor)
    return input_tensor, inputs[0] if len(inputs) == 1 else inputs


def pooling_head(x, pooling):
    """The output of a headless model: ``x``, or its global average or max
    over rows and columns.

    >>> import sepconv
    >>> pooling_head(sepconv.Input((5, 5, 8)), "max").shape
    (None, 8)
    """
    if pooling == "avg":
        return layers.GlobalAveragePooling2D()(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D()(x)
    return x


def channel_axis():
    """The channel axis of the current image data format (1 or -1).

    >>> channel_axis()
    -1
    """
    return 1 if config.image_data_format() == "channels_first" else -1
