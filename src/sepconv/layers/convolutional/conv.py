"""Conv1D, Conv2D, Conv3D: Keras 3's convolution layers.

Arguments (all ranks): ``filters, kernel_size, strides=1, padding="valid",
data_format=None, dilation_rate=1, groups=1, activation=None, use_bias=True,
kernel_initializer="glorot_uniform", bias_initializer="zeros",
kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
kernel_constraint=None, bias_constraint=None`` and the base layer keywords
(name, dtype, trainable, input_shape, batch_input_shape, batch_size, weights).
``padding`` is "valid" or "same" (TensorFlow's split: the odd pixel goes
after), and also "causal" for Conv1D.

>>> import numpy as np, sepconv as keras
>>> x = np.random.rand(4, 10, 10, 128)
>>> y = keras.layers.Conv2D(32, 3, activation='relu')(x)
>>> print(y.shape)
torch.Size([4, 8, 8, 32])
"""

from sepconv.layers.convolutional.base_conv import BaseConv


class Conv1D(BaseConv):
    """1D convolution (temporal), inputs ``(batch, steps, channels)``.

    >>> import numpy as np, sepconv as keras
    >>> keras.layers.Conv1D(32, 3, padding="causal")(np.random.rand(4, 10, 128)).shape
    torch.Size([4, 10, 32])
    """

    rank = 1


class Conv2D(BaseConv):
    """2D convolution (spatial), inputs ``(batch, height, width, channels)``.

    >>> import numpy as np, sepconv as keras
    >>> keras.layers.Conv2D(32, 3, strides=2, padding="same")(np.random.rand(4, 10, 10, 3)).shape
    torch.Size([4, 5, 5, 32])
    """

    rank = 2


class Conv3D(BaseConv):
    """3D convolution (volumes), inputs ``(batch, d1, d2, d3, channels)``.

    >>> import numpy as np, sepconv as keras
    >>> keras.layers.Conv3D(32, 3, activation="relu")(np.random.rand(4, 10, 10, 10, 128)).shape
    torch.Size([4, 8, 8, 8, 32])
    """

    rank = 3
