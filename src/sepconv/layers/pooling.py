"""Pooling layers: windowed max/average pooling and global pooling, rank 1-3.

``BasePooling`` holds what every windowed pooling layer shares (pool_size,
strides, padding, data_format; output shapes; config) and calls one function
of :mod:`sepconv.ops.pooling`; ``BaseGlobalPooling`` does the same for the
global reductions. The concrete classes only fix the rank, the function and
Keras's defaults. None of these layers has weights; like Keras's, they are
built when constructed.

>>> import torch
>>> x = torch.arange(16.0).reshape(1, 4, 4, 1)
>>> MaxPooling2D()(x)[0, :, :, 0].tolist()
[[5.0, 7.0], [13.0, 15.0]]
>>> GlobalAveragePooling2D(keepdims=True)(x).shape
torch.Size([1, 1, 1, 1])
"""

from __future__ import annotations

from sepconv.layers.input_spec import InputSpec
from sepconv.layers.layer import Layer
from sepconv.ops import pooling, shapes
from sepconv.utils.validation import check_bool


class BasePooling(Layer):
    """Max or average pooling over ``rank`` spatial dimensions.

    Subclasses set ``rank`` and ``pool_function`` (an ``sepconv.ops.pooling``
    function). ``strides=None`` means ``pool_size``; ``padding`` is 'valid' or
    'same' (TensorFlow's, case-insensitive); ``data_format`` None means
    ``sepconv.config.image_data_format()``.
    """

    rank: int
    pool_function = None

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.pool_size = shapes.standardize_tuple(pool_size, self.rank, "pool_size")
        self.strides = (
            self.pool_size if strides is None
            else shapes.standardize_tuple(strides, self.rank, "strides")
        )
        self.padding = shapes.standardize_padding(padding)
        self.data_format = shapes.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.built = True

    def call(self, inputs):
        return type(self).pool_function(
            inputs, self.pool_size, self.strides, self.padding, self.data_format
        )

    def compute_output_shape(self, input_shape):
        input_shape = _check_rank(self, input_shape)
        return pooling.pooling_output_shape(
            input_shape, self.pool_size, self.strides, self.padding, self.data_format
        )

    def get_config(self):
        config = super().get_config()
        config.update({
            "pool_size": self.pool_size,
            "padding": self.padding,
            "strides": self.strides,
            "data_format": self.data_format,
        })
        return config


def _check_rank(layer, input_shape):
    input_shape = tuple(input_shape)
    if len(input_shape) != layer.rank + 2:
        raise ValueError(
            f"Layer '{layer.name}' expects inputs of rank {layer.rank + 2} (batch, "
            f"{layer.rank} spatial dims and channels). Received: input_shape={input_shape}"
        )
    return input_shape


class MaxPooling(BasePooling):
    """Max pooling; ``pool_size`` defaults to 2 in every dimension."""

    pool_function = staticmethod(pooling.max_pool)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class AveragePooling(BasePooling):
    """Average pooling; with 'same' padding each window is averaged over its
    valid (un-padded) elements, as TensorFlow does."""

    pool_function = staticmethod(pooling.average_pool)


class MaxPooling1D(MaxPooling):
    """Max pooling over steps: ``(batch, steps, channels)`` (channels_last).

    >>> import torch
    >>> MaxPooling1D(2, strides=1, padding="same")(torch.tensor([[[1.], [3.], [2.]]]))[0, :, 0].tolist()
    [3.0, 3.0, 2.0]
    """

    rank = 1


class MaxPooling2D(MaxPooling):
    """Max pooling over height and width (default window and strides 2x2).

    >>> import torch
    >>> MaxPooling2D(pool_size=3, strides=2, padding="same")(torch.zeros(2, 7, 8, 3)).shape
    torch.Size([2, 4, 4, 3])
    """

    rank = 2


class MaxPooling3D(MaxPooling):
    """Max pooling over three spatial dimensions.

    >>> import torch
    >>> MaxPooling3D(data_format="channels_first")(torch.zeros(1, 2, 4, 4, 5)).shape
    torch.Size([1, 2, 2, 2, 2])
    """

    rank = 3


class AveragePooling1D(AveragePooling):
    """Average pooling over steps.

    >>> import torch
    >>> AveragePooling1D(3, strides=2, padding="same")(torch.tensor([[[1.], [2.], [3.], [4.]]]))[0, :, 0].tolist()
    [2.0, 3.5]
    """

    rank = 1


class AveragePooling2D(AveragePooling):
    """Average pooling over height and width.

    >>> import torch
    >>> x = torch.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    >>> AveragePooling2D(2, padding="same")(x)[0, :, :, 0].tolist()
    [[3.0, 4.5], [7.5, 9.0]]
    """

    rank = 2


class AveragePooling3D(AveragePooling):
    """Average pooling over three spatial dimensions.

    >>> import torch
    >>> AveragePooling3D(2)(torch.ones(1, 4, 4, 4, 3)).shape
    torch.Size([1, 2, 2, 2, 3])
    """

    rank = 3


class BaseGlobalPooling(Layer):
    """A reduction over every spatial dimension; ``keepdims`` keeps them with size 1.

    Subclasses set ``rank`` and ``pool_function``.
    """

    rank: int
    pool_function = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = shapes.standardize_data_format(data_format)
        self.keepdims = check_bool(keepdims, "keepdims")
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.built = True

    def call(self, inputs):
        return type(self).pool_function(inputs, self.data_format, self.keepdims)

    def compute_output_shape(self, input_shape):
        input_shape = _check_rank(self, input_shape)
        spatial = (1,) * self.rank if self.keepdims else ()
        if self.data_format == "channels_last":
            return (input_shape[0],) + spatial + (input_shape[-1],)
        return input_shape[:2] + spatial

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


class GlobalAveragePooling(BaseGlobalPooling):
    """The mean over the spatial dimensions."""

    pool_function = staticmethod(pooling.global_average_pool)


class GlobalMaxPooling(BaseGlobalPooling):
    """The maximum over the spatial dimensions."""

    pool_function = staticmethod(pooling.global_max_pool)


class GlobalAveragePooling1D(GlobalAveragePooling):
    """The mean over steps; ``call(inputs, mask=None)`` with an optional
    ``(batch, steps)`` mask excluding steps from the mean, as Keras.

    >>> import torch
    >>> x = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [8.0, 9.0]]])
    >>> GlobalAveragePooling1D()(x).tolist()
    [[4.0, 5.0]]
    >>> GlobalAveragePooling1D()(x, mask=torch.tensor([[1, 1, 0]])).tolist()
    [[2.0, 3.0]]
    """

    rank = 1

    def call(self, inputs, mask=None):
        return pooling.global_average_pool(inputs, self.data_format, self.keepdims, mask=mask)


class GlobalAveragePooling2D(GlobalAveragePooling):
    """The mean over height and width.

    >>> import torch
    >>> GlobalAveragePooling2D()(torch.ones(2, 5, 5, 3)).shape
    torch.Size([2, 3])
    """

    rank = 2


class GlobalAveragePooling3D(GlobalAveragePooling):
    """The mean over three spatial dimensions.

    >>> import torch
    >>> GlobalAveragePooling3D(data_format="channels_first", keepdims=True)(
    ...     torch.ones(2, 3, 4, 4, 4)).shape
    torch.Size([2, 3, 1, 1, 1])
    """

    rank = 3


class GlobalMaxPooling1D(GlobalMaxPooling):
    """The maximum over steps.

    >>> import torch
    >>> GlobalMaxPooling1D()(torch.tensor([[[1.0], [5.0], [2.0]]])).tolist()
    [[5.0]]
    """

    rank = 1


class GlobalMaxPooling2D(GlobalMaxPooling):
    """The maximum over height and width.

    >>> import torch
    >>> GlobalMaxPooling2D(keepdims=True)(torch.ones(2, 5, 5, 3)).shape
    torch.Size([2, 1, 1, 3])
    """

    rank = 2


class GlobalMaxPooling3D(GlobalMaxPooling):
    """The maximum over three spatial dimensions.

    >>> import torch
    >>> GlobalMaxPooling3D()(torch.ones(2, 4, 4, 4, 3)).shape
    torch.Size([2, 3])
    """

    rank = 3
