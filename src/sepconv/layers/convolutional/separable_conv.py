"""SeparableConv1D, SeparableConv2D: depthwise convolution then a pointwise
(1x1) convolution mixing channels (Keras 3's layers).

Arguments: ``filters, kernel_size, strides=1, padding="valid",
data_format=None, dilation_rate=1, depth_multiplier=1, activation=None,
use_bias=True, depthwise_initializer="glorot_uniform",
pointwise_initializer="glorot_uniform", bias_initializer="zeros",
depthwise_regularizer=None, pointwise_regularizer=None, bias_regularizer=None,
activity_regularizer=None, depthwise_constraint=None,
pointwise_constraint=None, bias_constraint=None`` and the base layer
keywords. ``strides > 1`` together with ``dilation_rate > 1`` is rejected.

Keras's own doc example passes ``padding=2`` positionally and crashes Keras
with an AttributeError; here it is a clear error:

>>> import numpy as np, sepconv as keras
>>> x = np.random.rand(4, 10, 10, 12)
>>> keras.layers.SeparableConv2D(3, 4, 3, 2, activation='relu')(x)
Traceback (most recent call last):
...
ValueError: ... Received: padding=2
>>> y = keras.layers.SeparableConv2D(3, 4, 3, padding="same", activation='relu')(x)
>>> print(y.shape)
torch.Size([4, 4, 4, 3])
"""

from sepconv.layers.convolutional.base_separable_conv import BaseSeparableConv


class SeparableConv1D(BaseSeparableConv):
    """Separable 1D convolution, inputs ``(batch, steps, channels)``.

    >>> import numpy as np, sepconv as keras
    >>> keras.layers.SeparableConv1D(4, 3, depth_multiplier=2)(np.random.rand(4, 10, 12)).shape
    torch.Size([4, 8, 4])
    """

    rank = 1


class SeparableConv2D(BaseSeparableConv):
    """Separable 2D convolution, inputs ``(batch, height, width, channels)``.

    >>> import numpy as np, sepconv as keras
    >>> layer = keras.layers.SeparableConv2D(32, (3, 3), padding="same")
    >>> layer(np.random.rand(1, 224, 224, 10)).shape, layer.count_params()
    (torch.Size([1, 224, 224, 32]), 442)
    """

    rank = 2
