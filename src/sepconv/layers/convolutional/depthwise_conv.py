"""DepthwiseConv1D, DepthwiseConv2D: each input channel convolved with its own
``depth_multiplier`` filters (Keras 3's layers).

Arguments: ``kernel_size, strides=1, padding="valid", depth_multiplier=1,
data_format=None, dilation_rate=1, activation=None, use_bias=True,
depthwise_initializer="glorot_uniform", bias_initializer="zeros",
depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
depthwise_constraint=None, bias_constraint=None`` and the base layer keywords.
``strides > 1`` together with ``dilation_rate > 1`` is rejected (Keras's docs
forbid it; Keras itself does not check).

>>> import numpy as np, sepconv as keras
>>> layer = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
>>> layer(np.random.rand(4, 10, 10, 12)).shape
torch.Size([4, 10, 10, 24])
>>> [tuple(w.shape) for w in layer.weights]
[(3, 3, 12, 2), (24,)]
"""

from sepconv.layers.convolutional.base_depthwise_conv import BaseDepthwiseConv


class DepthwiseConv1D(BaseDepthwiseConv):
    """Depthwise 1D convolution, inputs ``(batch, steps, channels)``.

    >>> import numpy as np, sepconv as keras
    >>> keras.layers.DepthwiseConv1D(3, depth_multiplier=2)(np.random.rand(4, 10, 12)).shape
    torch.Size([4, 8, 24])
    """

    rank = 1


class DepthwiseConv2D(BaseDepthwiseConv):
    """Depthwise 2D convolution, inputs ``(batch, height, width, channels)``.

    >>> import numpy as np, sepconv as keras
    >>> keras.layers.DepthwiseConv2D(3, use_bias=False)(np.random.rand(4, 10, 10, 12)).shape
    torch.Size([4, 8, 8, 12])
    """

    rank = 2
