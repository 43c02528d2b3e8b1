"""Xception, layer for layer as ``keras.applications.Xception`` (Keras
3.15.1): same layer names, order, configs and weights.

Reference: Chollet, "Xception: Deep Learning with Depthwise Separable
Convolutions", CVPR 2017, https://arxiv.org/abs/1610.02357.
"""

from __future__ import annotations

from sepconv import layers
from sepconv.applications import common
from sepconv.models import Model

#: Downsampling blocks: (block number, filters of its two separable
#: convolutions). Block 2 has no ReLU before its first convolution.
DOWNSAMPLING_ENTRY = ((2, (128, 128)), (3, (256, 256)), (4, (728, 728)))
DOWNSAMPLING_EXIT = (13, (728, 1024))
MIDDLE_BLOCKS = range(5, 13)
MIDDLE_FILTERS = 728


def _relu(x, name):
    return layers.Activation("relu", name=name)(x)


def _bn(x, name=None):
    return layers.BatchNormalization(axis=common.channel_axis(), name=name)(x)


def _sepconv_bn(x, filters, name):
    """3x3 'same' SeparableConv2D without bias, then BatchNormalization."""
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False,
                               name=name)(x)
    return _bn(x, f"{name}_bn")


def _entry_convs(x):
    """Two plain 3x3 'valid' convolutions (the first with stride 2)."""
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(x)
    x = _relu(_bn(x, "block1_conv1_bn"), "block1_conv1_act")
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    return _relu(_bn(x, "block1_conv2_bn"), "block1_conv2_act")


def _downsampling_block(x, block, filters):
    """Two separable convolutions and a stride-2 max pool, plus a stride-2
    1x1 convolution shortcut (its layers keep their automatic names)."""
    residual = layers.Conv2D(filters[1], (1, 1), strides=(2, 2), padding="same",
                             use_bias=False)(x)
    residual = _bn(residual)
    prefix = f"block{block}"
    if block != 2:
        x = _relu(x, f"{prefix}_sepconv1_act")
    x = _sepconv_bn(x, filters[0], f"{prefix}_sepconv1")
    x = _relu(x, f"{prefix}_sepconv2_act")
    x = _sepconv_bn(x, filters[1], f"{prefix}_sepconv2")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"{prefix}_pool")(x)
    return layers.add([x, residual])


def _middle_block(x, block):
    """Three ReLU + separable convolution steps with an identity shortcut."""
    residual = x
    for step in (1, 2, 3):
        name = f"block{block}_sepconv{step}"
        x = _sepconv_bn(_relu(x, f"{name}_act"), MIDDLE_FILTERS, name)
    return layers.add([x, residual])


def _exit_convs(x):
    """Two separable convolutions (1536, 2048 filters), each then BN and ReLU."""
    for step, filters in ((1, 1536), (2, 2048)):
        name = f"block14_sepconv{step}"
        x = _relu(_sepconv_bn(x, filters, name), f"{name}_act")
    return x


def Xception(  # noqa: N802 (Keras's name)
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
):
    """The Xception architecture as a functional ``sepconv.Model``, with
    ``keras.applications.Xception``'s layers, names and defaults.

    Args:
        include_top: whether to end in the classifier (global average
            pooling and a Dense layer of ``classes`` units).
        weights: None (random initialization) or the path of a local
            weights file for this configuration, such as a keras.applications
            ``.h5`` file (loaded in layer order). sepconv downloads nothing:
            "imagenet" is refused.
        input_tensor: a symbolic tensor (``sepconv.Input`` or a layer output)
            to build the network on.
        input_shape: image shape without the batch dimension, ``(rows, cols,
            channels)`` (``(channels, rows, cols)`` under channels_first).
            Rows and columns must be None or >= 71. Default ``(299, 299, 3)``
            with the top, ``(None, None, 3)`` without it. Ignored (after
            validation) when ``input_tensor`` is given.
        pooling: without the top, None (4-D feature map), "avg" or "max"
            (global pooling to ``(batch, 2048)``).
        classes: number of classes of the top.
        classifier_activation: activation of the top (None gives logits).
        name: model name; default ``"xception"``.

    >>> model = Xception(input_shape=(71, 71, 3), include_top=False, pooling="avg")
    >>> model.output_shape, len(model.layers)
    ((None, 2048), 133)
    """
    weights = common.check_weights(weights)
    include_top = common.check_head_arguments(include_top, pooling, classes,
                                              classifier_activation)
    input_shape = common.resolve_input_shape(input_shape, default_size=299, min_size=71,
                                             require_flatten=include_top)

    image, inputs = common.model_input(input_tensor, input_shape)
    x = _entry_convs(image)
    for block, filters in DOWNSAMPLING_ENTRY:
        x = _downsampling_block(x, block, filters)
    for block in MIDDLE_BLOCKS:
        x = _middle_block(x, block)
    x = _downsampling_block(x, *DOWNSAMPLING_EXIT)
    x = _exit_convs(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = common.pooling_head(x, pooling)
    model = Model(inputs, x, name="xception" if name is None else name)
    return common.load_weights(model, weights)
