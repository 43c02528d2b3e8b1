"""Rank-generic separable convolution: depthwise step, then a 1x1 pointwise step.

Weights: ``depthwise_kernel`` ``(*kernel_size, in_channels, depth_multiplier)``,
``pointwise_kernel`` ``(1, ..., 1, in_channels * depth_multiplier, filters)``
and ``bias`` ``(filters,)``.
"""

from __future__ import annotations

from sepconv import ops
from sepconv.layers.convolutional.base_conv import ConvolutionBase
from sepconv.utils.validation import check_positive_int


class BaseSeparableConv(ConvolutionBase):
    """Separable convolution of rank 1-3."""

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        pointwise_constraint=None,
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
        self.filters = check_positive_int(filters, "filters")
        self.depth_multiplier = check_positive_int(depth_multiplier, "depth_multiplier")
        self.configure_weight(
            "depthwise",
            depthwise_initializer,
            depthwise_regularizer,
            depthwise_constraint,
            "glorot_uniform",
        )
        self.configure_weight(
            "pointwise",
            pointwise_initializer,
            pointwise_regularizer,
            pointwise_constraint,
            "glorot_uniform",
        )
        self.configure_weight("bias", bias_initializer, bias_regularizer, bias_constraint, "zeros")

    def output_channels(self, input_channels):
        return self.filters

    def create_weights(self, input_channels):
        intermediate_channels = input_channels * self.depth_multiplier
        self.add_configured_weight(
            "depthwise",
            "depthwise_kernel",
            self.kernel_size + (input_channels, self.depth_multiplier),
        )
        self.add_configured_weight(
            "pointwise",
            "pointwise_kernel",
            (1,) * self.rank + (intermediate_channels, self.filters),
        )
        self.add_bias(self.filters)

    def convolve(self, inputs):
        depthwise_kernel, pointwise_kernel, bias = self._computed(
            self.depthwise_kernel, self.pointwise_kernel, self.bias)
        return ops.separable_conv(
            inputs,
            depthwise_kernel,
            pointwise_kernel,
            bias,
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
        )

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters, "depth_multiplier": self.depth_multiplier})
        return config
