"""MobileNet (v1), layer for layer as ``keras.applications.MobileNet``
(Keras 3.15.1): same layer names, order, configs and weights.

Reference: Howard et al., "MobileNets: Efficient Convolutional Neural
Networks for Mobile Vision Applications", https://arxiv.org/abs/1704.04861.
"""

from __future__ import annotations

from sepconv import config, layers
from sepconv.applications import common
from sepconv.models import Model
from sepconv.utils.numbers import check_number
from sepconv.utils.validation import check_positive_int

#: Pointwise filters (at ``alpha=1``) and stride of the 13 depthwise blocks.
BLOCKS = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)
STEM_FILTERS = 32


def _check_alpha(alpha):
    alpha = check_number(alpha, "alpha", low=0, low_open=True)
    if int(STEM_FILTERS * alpha) < 1:
        raise ValueError(
            "The `alpha` argument scales every layer's filters and must leave at "
            f"least one filter in the {STEM_FILTERS}-filter stem, so alpha >= "
            f"1/{STEM_FILTERS}. Received: alpha={alpha!r}"
        )
    return alpha


def _conv_bn_relu6(x, conv, name):
    """``conv`` on ``x``, then BatchNormalization and ReLU(6) named after it."""
    x = conv(x)
    x = layers.BatchNormalization(axis=common.channel_axis(), name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x)


def _stem(x, filters):
    conv = layers.Conv2D(filters, (3, 3), padding="same", use_bias=False,
                         strides=(2, 2), name="conv1")
    return _conv_bn_relu6(x, conv, "conv1")


def _depthwise_block(x, filters, depth_multiplier, stride, block_id):
    """Depthwise 3x3 (stride 2: zero-padded on the bottom and right, then
    'valid'), BN, ReLU6, pointwise 1x1 to ``filters``, BN, ReLU6."""
    if stride != 1:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    depthwise = layers.DepthwiseConv2D(
        (3, 3), padding="same" if stride == 1 else "valid",
        depth_multiplier=depth_multiplier, strides=(stride, stride),
        use_bias=False, name=f"conv_dw_{block_id}")
    x = _conv_bn_relu6(x, depthwise, f"conv_dw_{block_id}")
    pointwise = layers.Conv2D(filters, (1, 1), padding="same", use_bias=False,
                              strides=(1, 1), name=f"conv_pw_{block_id}")
    return _conv_bn_relu6(x, pointwise, f"conv_pw_{block_id}")


def _classifier(x, dropout, classes, classifier_activation):
    """Keras's MobileNet top: global average (kept 4-D), dropout, a 1x1
    convolution to ``classes``, flatten, activation."""
    x = layers.GlobalAveragePooling2D(keepdims=True)(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
    x = layers.Reshape((classes,), name="reshape_2")(x)
    return layers.Activation(activation=classifier_activation, name="predictions")(x)


def MobileNet(  # noqa: N802 (Keras's name)
    input_shape=None,
    alpha=1.0,
    depth_multiplier=1,
    dropout=1e-3,
    include_top=True,
    weights=None,
    input_tensor=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
):
    """The MobileNet architecture as a functional ``sepconv.Model``, with
    ``keras.applications.MobileNet``'s layers, names and defaults.

    Args:
        input_shape: image shape without the batch dimension, ``(rows, cols,
            channels)`` (``(channels, rows, cols)`` under channels_first).
            Rows and columns must be None or >= 32. Default ``(224, 224, 3)``
            with the top, ``(None, None, 3)`` without it. Ignored (after
            validation) when ``input_tensor`` is given.
        alpha: width multiplier: every layer has ``int(filters * alpha)``
            filters (a number >= 1/32).
        depth_multiplier: depth multiplier of the depthwise convolutions
            (the paper's resolution multiplier is applied through the input).
        dropout: dropout rate before the classifier, in [0, 1].
        include_top: whether to end in the classifier (global pooling,
            dropout, 1x1 convolution to ``classes``, ``classifier_activation``).
        weights: None (random initialization) or the path of a local
            weights file for this configuration, such as a keras.applications
            ``.h5`` file (loaded in layer order). sepconv downloads nothing:
            "imagenet" is refused.
        input_tensor: a symbolic tensor (``sepconv.Input`` or a layer output)
            to build the network on.
        pooling: without the top, None (4-D feature map), "avg" or "max"
            (global pooling to ``(batch, channels)``).
        classes: number of classes of the top.
        classifier_activation: activation of the top (None gives logits).
        name: model name; default ``f"mobilenet_{alpha:0.2f}_{rows}"``.

    >>> model = MobileNet(input_shape=(32, 32, 3), alpha=0.25, include_top=False)
    >>> model.output_shape, model.name
    ((None, 1, 1, 256), 'mobilenet_0.25_32')
    """
    weights = common.check_weights(weights)
    include_top = common.check_head_arguments(include_top, pooling, classes,
                                              classifier_activation)
    alpha = _check_alpha(alpha)
    depth_multiplier = check_positive_int(depth_multiplier, "depth_multiplier")
    dropout = check_number(dropout, "dropout", low=0, high=1)
    input_shape = common.resolve_input_shape(input_shape, default_size=224, min_size=32,
                                             require_flatten=include_top)
    rows = input_shape[1 if config.image_data_format() == "channels_first" else 0]

    image, inputs = common.model_input(input_tensor, input_shape)
    x = _stem(image, int(STEM_FILTERS * alpha))
    for block_id, (filters, stride) in enumerate(BLOCKS, start=1):
        x = _depthwise_block(x, int(filters * alpha), depth_multiplier, stride, block_id)
    if include_top:
        x = _classifier(x, dropout, classes, classifier_activation)
    else:
        x = common.pooling_head(x, pooling)

    if name is None:
        name = f"mobilenet_{alpha:0.2f}_{rows}"
    model = Model(inputs, x, name=name)
    return common.load_weights(model, weights)
