"""Rank-generic depthwise convolution: each input channel convolved on its own.

Weights: ``kernel`` of shape ``(*kernel_size, in_channels, depth_multiplier)``
(Keras 3's name; Keras 2 called it ``depthwise_kernel``, which stays available
as an alias) and ``bias`` of shape ``(in_channels * depth_multiplier,)``.
Output channel ``c * depth_multiplier + m`` is input channel ``c`` convolved
with ``kernel[..., c, m]``.
"""

from __future__ import annotations

from sepconv import ops
from sepconv.layers.convolutional.base_conv import ConvolutionBase
from sepconv.utils.validation import check_positive_int


class BaseDepthwiseConv(ConvolutionBase):
    """Depthwise convolution of rank 1-3."""

    def __init__(
        self,
        kernel_size,
        strides=1,
        padding="valid",
        depth_multiplier=1,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.depth_multiplier = check_positive_int(depth_multiplier, "depth_multiplier")
        self.configure_weight(
            "depthwise",
            depthwise_initializer,
            depthwise_regularizer,
            depthwise_constraint,
            "glorot_uniform",
        )
        self.configure_weight("bias", bias_initializer, bias_regularizer, bias_constraint, "zeros")

    @property
    def depthwise_kernel(self):
        """Keras 2's name for ``kernel``."""
        return self.kernel

    def output_channels(self, input_channels):
        return None if input_channels is None else input_channels * self.depth_multiplier

    def create_weights(self, input_channels):
        self.add_configured_weight(
            "depthwise", "kernel", self.kernel_size + (input_channels, self.depth_multiplier)
        )
        self.add_bias(input_channels * self.depth_multiplier)

    def convolve(self, inputs):
        kernel, bias = self._computed(self.kernel, self.bias)
        return ops.depthwise_conv(
            inputs,
            kernel,
            bias,
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
        )

    def get_config(self):
        config = super().get_config()
        config["depth_multiplier"] = self.depth_multiplier
        return config
