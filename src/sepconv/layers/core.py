"""``Dense`` and ``Dropout``, as ``keras.layers.Dense`` / ``keras.layers.Dropout``
(Keras 3.15.1).

>>> import torch
>>> layer = Dense(4, activation="relu", name="fc")
>>> layer(torch.ones(2, 7, 3)).shape          # applies on the last axis
torch.Size([2, 7, 4])
>>> [(w.path, tuple(w.shape)) for w in layer.weights]
[('fc/kernel', (3, 4)), ('fc/bias', (4,))]
>>> drop = Dropout(0.5, seed=1)
>>> bool((drop(torch.ones(3, 4)) == 1).all())  # inference: the identity
True
>>> sorted(set(drop(torch.ones(3, 4), training=True).flatten().tolist()))
[0.0, 2.0]
"""

from __future__ import annotations


import numpy as np
import torch
import torch.nn.functional as F

from sepconv import activations, dtype_policies, initializers
from sepconv.layers.activation import ElementwiseLayer
from sepconv.layers.input_spec import InputSpec
from sepconv.layers.layer import Layer
from sepconv.layers.weight_options import WeightOptions
from sepconv.ops import dropout as dropout_ops
from sepconv.utils.numbers import check_number, is_int
from sepconv.utils.validation import check_bool, check_positive_int


class Dense(WeightOptions, Layer):
    """Densely-connected layer: ``activation(inputs @ kernel + bias)`` on the
    last axis of inputs of any rank >= 2.

    Weights: ``kernel`` of shape ``(input_dim, units)`` and ``bias`` of shape
    ``(units,)``. With ``lora_rank`` (or :meth:`enable_lora` on a built
    layer) the kernel is frozen and the layer uses ``kernel + (lora_alpha /
    lora_rank) * lora_kernel_a @ lora_kernel_b`` with two trainable low-rank
    weights, as Keras's LoRA; ``layer.kernel`` is that effective kernel.

    Args:
        units: positive integer, the output size.
        activation: activation name or callable (None: linear).
        use_bias: whether to add ``bias``.
        kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, kernel_constraint, bias_constraint: per-weight
            options, as Keras.
        activity_regularizer: regularizer of the output.
        lora_rank: None (no LoRA; 0 too, as in Keras) or a positive integer.
        lora_alpha: LoRA scale numerator (default: ``lora_rank``).
        quantization_config: must be None: sepconv has no quantized layers.
        **kwargs: base layer arguments (``name``, ``dtype``, ``trainable``, ...).

    >>> import torch
    >>> layer = Dense(3, lora_rank=2, kernel_initializer="ones", name="d")
    >>> layer.build((None, 4))
    >>> [(w.name, w.requires_grad) for w in layer.weights]
    [('kernel', False), ('bias', True), ('lora_kernel_a', True), ('lora_kernel_b', True)]
    >>> layer(torch.ones(1, 4))                   # lora_kernel_b starts at zero
    tensor([[4., 4., 4.]], grad_fn=<AddmmBackward0>)
    """

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        lora_rank=None,
        lora_alpha=None,
        quantization_config=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = check_positive_int(units, "units")
        self.activation = activations.get(activation, "activation")
        self.use_bias = check_bool(use_bias, "use_bias")
        self.configure_weight("kernel", kernel_initializer, kernel_regularizer,
                              kernel_constraint, "glorot_uniform")
        self.configure_weight("bias", bias_initializer, bias_regularizer, bias_constraint,
                              "zeros")
        if quantization_config is not None:
            raise ValueError(
                "`quantization_config` must be None: sepconv does not implement Keras's "
                "quantized (int8/int4/float8/GPTQ/AWQ) Dense layers; quantize the model "
                "with torch.ao.quantization instead. "
                f"Received: quantization_config={quantization_config!r}"
            )
        self.quantization_config = None
        if lora_rank is not None:
            if not is_int(lora_rank) or lora_rank < 0:
                error = ValueError if is_int(lora_rank) else TypeError
                raise error(
                    "The `lora_rank` argument must be None or a positive integer (the "
                    f"rank of the LoRA update). Received: lora_rank={lora_rank!r}"
                )
            lora_rank = int(lora_rank) or None  # Keras treats 0 as "no LoRA"
        if lora_alpha is not None:
            lora_alpha = check_number(lora_alpha, "lora_alpha", low=0, low_open=True)
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False
        self.input_spec = InputSpec(min_ndim=2)

    # ---------------------------------------------------------------- weights
    def _own_weights(self):
        # Keras's order is creation order here: the kernel stays first when
        # LoRA freezes it (Keras keeps it in its trainable-variables store).
        return [p for p in self._parameters.values() if p is not None]

    @property
    def kernel(self):
        """The kernel used by the layer: the ``kernel`` weight, plus the scaled
        LoRA product when LoRA is enabled."""
        kernel = self._parameters.get("kernel")
        if kernel is None:
            raise AttributeError("kernel")  # explained by __getattr__
        if self.lora_enabled:
            delta = self._parameters["lora_kernel_a"] @ self._parameters["lora_kernel_b"]
            kernel = (kernel + (self.lora_alpha / self.lora_rank) * delta).to(
                dtype_policies.to_torch_dtype(self.compute_dtype))
        return kernel

    def __getattr__(self, name):
        if name == "kernel":  # reached when the property finds no kernel weight
            raise AttributeError(
                f"Layer '{self.name}' has no kernel yet: build it (call it on an input "
                "or call `build(input_shape)`) first."
            )
        return super().__getattr__(name)

    def _input_dim(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) < 2:
            raise ValueError(
                f"Layer '{self.name}' (Dense) expects inputs of rank >= 2 (batch, ..., "
                f"features). Received: input_shape={input_shape}"
            )
        return input_shape[-1]

    def build(self, input_shape):
        input_dim = self._input_dim(input_shape)
        if input_dim is None:
            raise ValueError(
                f"The last dimension of the inputs of layer '{self.name}' (Dense) must be "
                f"known to build its kernel. Received: input_shape={tuple(input_shape)}"
            )
        self.add_configured_weight("kernel", "kernel", (input_dim, self.units))
        if self.use_bias:
            self.add_configured_weight("bias", "bias", (self.units,))
        else:
            self.bias = None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, self.lora_alpha)

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform",
                    b_initializer="zeros"):
        """Freeze ``kernel`` and add the trainable LoRA weights ``lora_kernel_a``
        ``(input_dim, rank)`` and ``lora_kernel_b`` ``(rank, units)`` (float32,
        regularized like the kernel). The layer must be built, without a kernel
        constraint, and LoRA not yet enabled.

        >>> layer = Dense(3)
        >>> layer.build((None, 4))
        >>> layer.enable_lora(2, lora_alpha=4)
        >>> [w.name for w in layer.trainable_weights], layer.lora_alpha
        (['bias', 'lora_kernel_a', 'lora_kernel_b'], 4)
        """
        rank = check_positive_int(rank, "rank")
        if lora_alpha is not None:
            lora_alpha = check_number(lora_alpha, "lora_alpha", low=0, low_open=True)
        if self.kernel_constraint is not None:
            raise ValueError(
                "LoRA cannot be enabled on a layer with a kernel constraint: the "
                "constraint could not apply to the effective kernel. Remove the "
                "`kernel_constraint` argument. "
                f"Received: kernel_constraint={self.kernel_constraint!r}"
            )
        if not self.built:
            raise ValueError(
                f"LoRA can only be enabled on a built layer: layer '{self.name}' has no "
                f"kernel yet. Call it on an input or call `build` first. Received: rank={rank}"
            )
        if self.lora_enabled:
            raise ValueError(
                f"LoRA is already enabled on layer '{self.name}'; it can be enabled only "
                f"once. Received: rank={rank}"
            )
        input_dim, units = self._parameters["kernel"].shape
        a_initializer = initializers.get(a_initializer, "a_initializer")
        b_initializer = initializers.get(b_initializer, "b_initializer")
        self.add_weight(name="lora_kernel_a", shape=(input_dim, rank),
                        initializer=a_initializer, dtype="float32",
                        regularizer=self.kernel_regularizer)
        self.add_weight(name="lora_kernel_b", shape=(rank, units),
                        initializer=b_initializer, dtype="float32",
                        regularizer=self.kernel_regularizer)
        self._parameters["kernel"].trainable = False
        self.lora_enabled = True
        self.lora_rank = rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank

    # ---------------------------------------------------------- weight files
    def save_own_variables(self, store):
        """Write the weights as Keras files hold them: ``store["0"]`` the kernel
        (with the LoRA update merged in, as Keras saves it), ``store["1"]`` the
        bias; the LoRA weights themselves are not saved. Nothing if unbuilt.

        >>> layer = Dense(2, lora_rank=1)
        >>> layer.build((None, 3))
        >>> store = {}
        >>> layer.save_own_variables(store)
        >>> {key: value.shape for key, value in store.items()}
        {'0': (3, 2), '1': (2,)}
        """
        if not self.built:
            return
        values = [self.kernel] + ([self.bias] if self.bias is not None else [])
        for index, value in enumerate(values):
            store[str(index)] = value.detach().cpu().numpy().copy()

    def load_own_variables(self, store):
        """Read what :meth:`save_own_variables` (or Keras) wrote; with LoRA
        enabled the loaded kernel already holds the update, so the LoRA weights
        are reset to zero, as Keras does."""
        if not self.built:
            return
        targets = [self._parameters["kernel"]] + ([self.bias] if self.bias is not None else [])
        if len(store.keys()) != len(targets):
            raise ValueError(
                f"Layer '{self.name}' (Dense) holds {len(targets)} saved weights "
                f"({', '.join(w.name for w in targets)}); the file must list as many. "
                f"Received: {len(store.keys())} weights"
            )
        with torch.no_grad():
            for index, target in enumerate(targets):
                value = store[str(index)]
                value = value.detach() if isinstance(value, torch.Tensor) else np.asarray(value)
                target.assign(torch.as_tensor(value))
            if self.lora_enabled:
                self._parameters["lora_kernel_a"].zero_()
                self._parameters["lora_kernel_b"].zero_()

    # ------------------------------------------------------------------- call
    def call(self, inputs):
        if not inputs.is_floating_point():  # integer / boolean inputs, e.g. one-hot
            inputs = inputs.to(dtype_policies.to_torch_dtype(self.compute_dtype))
        kernel = self.kernel.to(inputs.dtype)
        bias = None if self.bias is None else self.bias.to(inputs.dtype)
        outputs = F.linear(inputs, kernel.t(), bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        self._input_dim(input_shape)
        return tuple(input_shape)[:-1] + (self.units,)

    # ----------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
        })
        config.update(self.weight_options_config())
        config["quantization_config"] = None
        if self.lora_rank:
            config["lora_rank"] = self.lora_rank
            config["lora_alpha"] = self.lora_alpha
        return config


def _check_noise_shape(noise_shape):
    if noise_shape is None:
        return None
    rule = ("The `noise_shape` argument must be None or a tuple/list of positive "
            "integers or None (None: the input's size on that axis)")
    if isinstance(noise_shape, (str, bytes)) or not hasattr(noise_shape, "__iter__"):
        raise TypeError(f"{rule}. Received: noise_shape={noise_shape!r}")
    noise_shape = tuple(noise_shape)
    for dim in noise_shape:
        if dim is not None and not is_int(dim):
            raise TypeError(f"{rule}. Received: noise_shape={noise_shape!r}")
        if dim is not None and dim < 1:
            raise ValueError(f"{rule}. Received: noise_shape={noise_shape!r}")
    return tuple(None if dim is None else int(dim) for dim in noise_shape)


class Dropout(ElementwiseLayer):
    """Randomly zero inputs with probability ``rate`` in training mode and scale
    the rest by ``1 / (1 - rate)``; the identity in inference mode.

    Args:
        rate: fraction of the inputs to drop, in [0, 1] (1 drops everything,
            as in Keras).
        noise_shape: shape of the mask, broadcast over the inputs (None
            entries: the input's size), e.g. ``(batch, 1, features)`` to drop
            the same features at every timestep.
        seed: None (torch's global random state) or an int: the layer then
            draws its masks from its own ``torch.Generator`` seeded with it, so
            a new layer with the same seed repeats the same sequence of masks.
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    >>> import torch
    >>> x = torch.ones(2, 3, 4)
    >>> a = Dropout(0.5, noise_shape=(None, 1, None), seed=7)(x, training=True)
    >>> bool((a[:, 0] == a[:, 1]).all())          # one mask for every timestep
    True
    >>> b = Dropout(0.5, noise_shape=(None, 1, None), seed=7)(x, training=True)
    >>> bool((a == b).all())                      # same seed, same mask
    True
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_number(rate, "rate", low=0, high=1)
        self.noise_shape = _check_noise_shape(noise_shape)
        if seed is not None and not is_int(seed):
            raise TypeError(
                "The `seed` argument must be None or an integer. "
                f"Received: seed={seed!r}"
            )
        self.seed = None if seed is None else int(seed)
        self._generators = {}

    def _generator(self, device):
        if self.seed is None:
            return None
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[key]

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        return dropout_ops.dropout(inputs, self.rate, self.noise_shape,
                                   self._generator(inputs.device))

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape})
        return config

    def __getstate__(self):
        # torch.Generator does not pickle; a copy restarts from the seed.
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__
        state = dict(state)
        state["_generators"] = {}
        return state
