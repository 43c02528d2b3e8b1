"""Rank-generic convolution layers: the arguments every family shares, and ``BaseConv``.

``ConvolutionBase`` owns what Conv, DepthwiseConv and SeparableConv have in
common (kernel_size, strides, padding, data_format, dilation_rate, activation,
use_bias; building from the channel count; output shapes; config). Each
family adds its weights and the one ``sepconv.ops`` function it calls.
"""

from __future__ import annotations

import abc

from sepconv import activations, dtype_policies, ops, regularizers
from sepconv.layers.input_spec import InputSpec
from sepconv.layers.layer import Layer
from sepconv.layers.weight_options import WeightOptions
from sepconv.ops import shapes
from sepconv.utils.validation import check_bool, check_positive_int


class ConvolutionBase(WeightOptions, Layer, metaclass=abc.ABCMeta):
    """Shared base of the convolution families; ``rank`` (1, 2 or 3, the number
    of spatial dimensions) is a class attribute of the concrete layers."""

    rank: int

    def __init__(
        self,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        activity_regularizer=None,
        allow_causal=False,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        rank = self.rank
        self.kernel_size = shapes.standardize_tuple(kernel_size, rank, "kernel_size")
        self.strides = shapes.standardize_tuple(strides, rank, "strides")
        self.dilation_rate = shapes.standardize_tuple(dilation_rate, rank, "dilation_rate")
        self.padding = shapes.standardize_padding(padding, allow_causal=allow_causal)
        self.data_format = shapes.standardize_data_format(data_format)
        self.activation = activations.get(activation, "activation")
        self.use_bias = check_bool(use_bias, "use_bias")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "`strides > 1` cannot be combined with `dilation_rate > 1`: one of "
                f"them must be 1 in every dimension. Received: strides={self.strides} "
                f"and dilation_rate={self.dilation_rate}"
            )
        self.input_spec = InputSpec(ndim=rank + 2)

    def add_bias(self, channels):
        """The ``bias`` weight of ``channels`` values if ``use_bias``, else ``self.bias = None``."""
        if self.use_bias:
            self.add_configured_weight("bias", "bias", (channels,))
        else:
            self.bias = None

    @property
    def channel_axis(self):
        return -1 if self.data_format == "channels_last" else 1

    @abc.abstractmethod
    def output_channels(self, input_channels):
        """Channels of the output for ``input_channels`` (None if unknown)."""

    @abc.abstractmethod
    def create_weights(self, input_channels):
        """Add the family's weights for ``input_channels`` input channels."""

    @abc.abstractmethod
    def convolve(self, inputs):
        """The family's ``sepconv.ops`` call, bias included."""

    def _computed(self, *weights):
        """The ``weights`` (None stays None), as a list, in the dtype the
        inputs have reached (the compute dtype: bfloat16 under
        "mixed_bfloat16"), as Keras autocasts its variables; no copy when
        they agree, and gradients still reach the weights."""
        dtype = self._compute_torch_dtype()
        cast = []
        for weight in weights:  # a loop, not a generator: this runs on every call
            cast.append(weight if weight is None or weight.dtype is dtype else weight.to(dtype))
        return cast

    def _compute_torch_dtype(self):
        return dtype_policies.to_torch_dtype(self.compute_dtype)

    def _input_channels(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(
                f"Layer '{self.name}' expects inputs of rank {self.rank + 2} "
                f"(batch, {'spatial dims, channels' if self.channel_axis == -1 else 'channels, spatial dims'}). "
                f"Received: input_shape={input_shape}"
            )
        return input_shape[self.channel_axis]

    def build(self, input_shape):
        input_channels = self._input_channels(input_shape)
        if input_channels is None:
            raise ValueError(
                f"The channel dimension of the inputs of layer '{self.name}' must be "
                f"known to build it. Received: input_shape={tuple(input_shape)}"
            )
        self.compute_output_shape(input_shape)  # rejects inputs too small for the kernel
        self.create_weights(input_channels)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self.channel_axis: input_channels})
        self.built = True

    def compute_output_shape(self, input_shape):
        return shapes.compute_conv_output_shape(
            tuple(input_shape),
            self.output_channels(self._input_channels(input_shape)),
            self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            data_format=self.data_format,
            dilation_rate=self.dilation_rate,
        )

    def call(self, inputs):
        if not inputs.dtype.is_floating_point:
            raise TypeError(
                f"Layer '{self.name}' computes in floating point: pass a float tensor "
                f"(or a NumPy array, which is converted). Received: inputs.dtype={inputs.dtype}"
            )
        outputs = self.convolve(inputs)
        activation = self.activation
        if activation is not None and activation is not activations.linear:
            outputs = activation(outputs)
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": self.padding,
                "data_format": self.data_format,
                "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            }
        )
        config.update(self.weight_options_config())
        return config


class BaseConv(ConvolutionBase):
    """Convolution of rank 1-3 with ``filters`` outputs and optional ``groups``.

    Weights: ``kernel`` of shape ``(*kernel_size, in_channels // groups,
    filters)`` and ``bias`` of shape ``(filters,)``.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
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
            allow_causal=self.rank == 1,
            **kwargs,
        )
        self.filters = check_positive_int(filters, "filters")
        self.groups = check_positive_int(groups, "groups")
        if self.filters % self.groups:
            raise ValueError(
                "The number of filters must be divisible by the number of groups. "
                f"Received: filters={self.filters}, groups={self.groups}"
            )
        self.configure_weight(
            "kernel", kernel_initializer, kernel_regularizer, kernel_constraint, "glorot_uniform"
        )
        self.configure_weight("bias", bias_initializer, bias_regularizer, bias_constraint, "zeros")

    def output_channels(self, input_channels):
        return self.filters

    def create_weights(self, input_channels):
        if input_channels % self.groups:
            raise ValueError(
                f"The number of input channels of layer '{self.name}' must be "
                f"divisible by groups={self.groups}. Received: {input_channels} "
                "input channels"
            )
        self.add_configured_weight(
            "kernel", "kernel", self.kernel_size + (input_channels // self.groups, self.filters)
        )
        self.add_bias(self.filters)

    def convolve(self, inputs):
        kernel, bias = self._computed(self.kernel, self.bias)
        return ops.conv(
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
        config.update({"filters": self.filters, "groups": self.groups})
        return config
