"""``Activation`` and ``ReLU``, as ``keras.layers.Activation`` / ``keras.layers.ReLU``
(Keras 3.15.1): weightless layers that apply a :mod:`sepconv.activations` function.

>>> import torch
>>> Activation("relu")(torch.tensor([-3.0, -1.0, 0.0, 2.0]))
tensor([0., 0., 0., 2.])
>>> ReLU(max_value=10, negative_slope=0.5)(torch.tensor([-10.0, -5.0, 0.0, 5.0, 10.0]))
tensor([-5.0000, -2.5000,  0.0000,  5.0000, 10.0000])
"""

from __future__ import annotations

from sepconv import activations
from sepconv.layers.layer import Layer
from sepconv.utils.numbers import check_number


_SHAPE_PRESERVING = {
    getattr(activations, name) for name in activations.__all__
    if name not in ("get", "serialize", "deserialize", "glu")
}


class ElementwiseLayer(Layer):
    """A weightless layer whose output has its input's shape; built at creation.

    >>> class Negate(ElementwiseLayer):
    ...     def call(self, inputs):
    ...         return -inputs
    >>> layer = Negate()
    >>> layer.built, layer.compute_output_shape((None, 3)), layer.count_params()
    (True, (None, 3), 0)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class Activation(ElementwiseLayer):
    """Apply ``activation`` (a name such as ``"relu"`` or ``"swish"``, a config
    dict, or any callable; None is the identity) to the inputs.

    >>> import torch
    >>> layer = Activation("swish")
    >>> layer.get_config()["activation"]
    'silu'
    >>> Activation(torch.tanh)(torch.zeros(2)).tolist()
    [0.0, 0.0]
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation, "activation")

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        """The input shape for the built-in activations, but ``glu``, which
        halves the last axis (Keras 3.15.1 returns the input shape there, which
        is wrong); a user function's output shape comes from a meta-tensor call."""
        if self.activation is activations.glu:
            shape = tuple(input_shape)
            if shape[-1] is not None and shape[-1] % 2:
                raise ValueError(
                    "glu splits the last axis in two halves, so it must have an even "
                    f"size. Received: input_shape={shape}"
                )
            return shape[:-1] + (None if shape[-1] is None else shape[-1] // 2,)
        if self.activation in _SHAPE_PRESERVING:
            return tuple(input_shape)
        return Layer.compute_output_shape(self, input_shape)

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class ReLU(ElementwiseLayer):
    """Rectified linear unit: ``x`` for ``threshold <= x < max_value``,
    ``max_value`` above it, ``negative_slope * (x - threshold)`` below
    ``threshold``.

    Args:
        max_value: None (no cap) or a number >= 0.
        negative_slope: number >= 0.
        threshold: number >= 0.
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    >>> ReLU(negative_slope=-1)
    Traceback (most recent call last):
    ...
    ValueError: The `negative_slope` argument must be a number >= 0. Received: negative_slope=-1
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None:
            max_value = check_number(max_value, "max_value", low=0)
        self.max_value = max_value
        self.negative_slope = check_number(negative_slope, "negative_slope", low=0)
        self.threshold = check_number(threshold, "threshold", low=0)

    def call(self, inputs):
        return activations.relu(
            inputs,
            negative_slope=self.negative_slope,
            max_value=self.max_value,
            threshold=self.threshold,
        )

    def get_config(self):
        config = super().get_config()
        config.update({
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        })
        return config
