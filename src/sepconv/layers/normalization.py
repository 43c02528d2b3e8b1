"""``BatchNormalization``, as ``keras.layers.BatchNormalization`` (Keras 3.15.1).

Weights (Keras's names and order): ``gamma`` (if ``scale``), ``beta`` (if
``center``), then the non-trainable ``moving_mean`` and ``moving_variance``
(plus ``moving_stddev``, ``renorm_mean`` and ``renorm_stddev`` with
``renorm=True``). The arithmetic is in :mod:`sepconv.ops.normalization`.

>>> import torch
>>> layer = BatchNormalization(momentum=0.5, epsilon=0.0)
>>> x = torch.tensor([[1.0, 10.0], [3.0, 30.0]])
>>> layer(x, training=True).tolist()              # batch statistics
[[-1.0, -1.0], [1.0, 1.0]]
>>> layer.moving_mean.tolist(), layer.moving_variance.tolist()  # 0.5 * old + 0.5 * batch
([1.0, 10.0], [1.0, 50.5])
>>> [round(v, 4) for v in layer(x)[1].tolist()]   # inference: moving statistics
[2.0, 2.8144]
>>> [w.name for w in layer.weights], layer.count_params()
(['gamma', 'beta', 'moving_mean', 'moving_variance'], 8)
"""

from __future__ import annotations

import torch

from sepconv import config as sepconv_config
from sepconv import dtype_policies
from sepconv.layers.input_spec import InputSpec
from sepconv.layers.layer import Layer
from sepconv.layers.weight_options import WeightOptions
from sepconv.ops import normalization as norm_ops
from sepconv.utils.numbers import check_number, is_int
from sepconv.utils.validation import check_bool

_RENORM_CLIPPING_KEYS = ("rmax", "rmin", "dmax")


def _check_axis(axis):
    """An int, or a non-empty list/tuple of ints (kept as a list)."""
    if is_int(axis):
        return int(axis)
    if isinstance(axis, (list, tuple)) and axis and all(is_int(a) for a in axis):
        return [int(a) for a in axis]
    raise TypeError(
        "The `axis` argument must be an integer (the features axis, e.g. -1, or 1 "
        "after a channels_first convolution) or a non-empty list of integers. "
        f"Received: axis={axis!r}"
    )


def _check_renorm_clipping(renorm_clipping):
    if renorm_clipping is None:
        return None
    if not isinstance(renorm_clipping, dict):
        raise TypeError(
            "The `renorm_clipping` argument must be None or a dict with keys among "
            f"{list(_RENORM_CLIPPING_KEYS)}. Received: renorm_clipping={renorm_clipping!r}"
        )
    unknown = sorted(set(renorm_clipping) - set(_RENORM_CLIPPING_KEYS), key=str)
    if unknown:
        raise ValueError(
            f"The `renorm_clipping` argument accepts only the keys "
            f"{list(_RENORM_CLIPPING_KEYS)}; {unknown} are not among them. "
            f"Received: renorm_clipping={renorm_clipping!r}"
        )
    for key, value in renorm_clipping.items():
        if value is not None:
            check_number(value, f"renorm_clipping['{key}']", low=0 if key == "dmax" else None)
    rmin, rmax = renorm_clipping.get("rmin"), renorm_clipping.get("rmax")
    if rmin is not None and rmax is not None and rmax < rmin:
        raise ValueError(
            "In the `renorm_clipping` argument, rmax must be >= rmin (r is clipped "
            f"to [rmin, rmax]). Received: renorm_clipping={renorm_clipping!r}"
        )
    return renorm_clipping


class BatchNormalization(WeightOptions, Layer):
    """Normalize the inputs per feature: ``gamma * (x - mean) / sqrt(var +
    epsilon) + beta``.

    In training mode (``training=True``, or after ``layer.train()``) ``mean``
    and ``var`` are the batch's statistics over every axis but ``axis`` (the
    biased variance), and the moving statistics are updated in place, outside
    autograd: ``moving = moving * momentum + batch * (1 - momentum)``. In
    inference mode (the default) the moving statistics are used. A frozen
    layer (``trainable=False``) always runs in inference mode, as in Keras.

    Args:
        axis: the features axis (an int, negative from the end), or a list of
            axes (then each weight has the input's rank, with 1 on the other
            axes, as in tf.keras 2; Keras 3 accepts only an int).
        momentum: momentum of the moving averages, in [0, 1].
        epsilon: added to the variance, >= 0.
        center, scale: whether to add ``beta`` / multiply by ``gamma``.
        beta_initializer, gamma_initializer, moving_mean_initializer,
        moving_variance_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: per-weight options, as Keras.
        renorm: use Batch Renormalization in training (Ioffe, 2017).
        renorm_clipping: dict with optional ``"rmax"``, ``"rmin"``, ``"dmax"``.
        renorm_momentum: momentum of the renorm statistics, in [0, 1].
        synchronized: must be False: cross-device statistics are TensorFlow-only
            in Keras (with torch, use ``torch.nn.SyncBatchNorm``).
        **kwargs: base layer arguments (``name``, ``dtype``, ``trainable``, ...).

    Call arguments: ``inputs``; ``training``; ``mask`` (shape of the inputs
    without the last axis: statistics count only positions where it is true).

    >>> import torch
    >>> layer = BatchNormalization(axis=1)            # channels_first features
    >>> layer(torch.zeros(2, 3, 4, 4)).shape
    torch.Size([2, 3, 4, 4])
    >>> tuple(layer.moving_variance.shape), layer.moving_variance.requires_grad
    ((3,), False)
    """

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        renorm=False,
        renorm_clipping=None,
        renorm_momentum=0.99,
        synchronized=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.axis = _check_axis(axis)
        self.momentum = float(check_number(momentum, "momentum", low=0, high=1))
        self.epsilon = float(check_number(epsilon, "epsilon", low=0))
        self.center = check_bool(center, "center")
        self.scale = check_bool(scale, "scale")
        self.synchronized = check_bool(synchronized, "synchronized")
        if self.synchronized:
            raise ValueError(
                "`synchronized=True` (batch statistics shared across devices) is only "
                "supported by Keras's TensorFlow backend; sepconv runs on PyTorch, where "
                "torch.nn.SyncBatchNorm.convert_sync_batchnorm does this for DDP. "
                "Received: synchronized=True"
            )
        self.configure_weight("beta", beta_initializer, beta_regularizer, beta_constraint,
                              "zeros")
        self.configure_weight("gamma", gamma_initializer, gamma_regularizer, gamma_constraint,
                              "ones")
        for prefix, initializer, default in (
            ("moving_mean", moving_mean_initializer, "zeros"),
            ("moving_variance", moving_variance_initializer, "ones"),
        ):
            self.configure_weight(prefix, initializer, None, None, default,
                                  with_regularizer=False, with_constraint=False)
        self.renorm = check_bool(renorm, "renorm")
        renorm_clipping = _check_renorm_clipping(renorm_clipping)
        if self.renorm and renorm_clipping is None:
            renorm_clipping = {}
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = check_number(renorm_momentum, "renorm_momentum", low=0, high=1)

    # ------------------------------------------------------------------ build
    def build(self, input_shape):
        input_shape = tuple(input_shape)
        axes = norm_ops.normalized_axes(len(input_shape), self.axis)
        sizes = [input_shape[a] for a in axes]
        if None in sizes:
            raise ValueError(
                f"The normalized axis {self.axis} of the inputs of layer '{self.name}' "
                f"must have a known size to build its weights. "
                f"Received: input_shape={input_shape}"
            )
        if isinstance(self.axis, int):
            shape = (sizes[0],)
        else:  # tf.keras 2's layout for several axes: full rank, 1 elsewhere
            shape = tuple(input_shape[a] if a in axes else 1 for a in range(len(input_shape)))
        if self.scale:
            self.add_configured_weight("gamma", "gamma", shape)
        else:
            self.gamma = None
        if self.center:
            self.add_configured_weight("beta", "beta", shape)
        else:
            self.beta = None
        self.add_configured_weight("moving_mean", "moving_mean", shape, trainable=False)
        self.add_configured_weight("moving_variance", "moving_variance", shape, trainable=False)
        if self.renorm:
            self._build_renorm(shape)
        self.input_spec = InputSpec(
            ndim=len(input_shape), axes={a: size for a, size in zip(axes, sizes)}
        )
        self._axes = axes
        self.built = True

    def _build_renorm(self, shape):
        def fresh(initializer):
            """A new initializer from the same config, so a seeded one repeats its values."""
            return initializer.clone() if hasattr(initializer, "clone") else initializer

        def stddev():
            variance = fresh(self.moving_variance_initializer)(shape, dtype=self.variable_dtype)
            return torch.sqrt(torch.as_tensor(variance))

        self.add_weight(name="moving_stddev", shape=shape, initializer=stddev(),
                        trainable=False)
        self.add_weight(name="renorm_mean", shape=shape,
                        initializer=fresh(self.moving_mean_initializer), trainable=False)
        self.add_weight(name="renorm_stddev", shape=shape, initializer=stddev(),
                        trainable=False)

    def compute_output_shape(self, input_shape):
        norm_ops.normalized_axes(len(input_shape), self.axis)  # rejects a bad axis
        return tuple(input_shape)

    # ------------------------------------------------------------------- call
    def call(self, inputs, training=None, mask=None):
        x = inputs
        if not x.is_floating_point() or x.dtype in (torch.float16, torch.bfloat16):
            x = x.to(torch.float32)  # statistics in float32 at least, as Keras
        axes = self._axes
        gamma, beta = self.gamma, self.beta
        if training and self.trainable:
            if mask is not None or self.renorm:
                outputs = self._train_general(x, mask, gamma, beta)
            else:
                outputs, mean, variance = norm_ops.batch_norm_training(
                    x, axes, offset=beta, scale=gamma, epsilon=self.epsilon)
                self._update_moving_statistics(mean, variance)
        else:
            outputs = norm_ops.batch_normalization(
                x, self.moving_mean, self.moving_variance, axes,
                offset=beta, scale=gamma, epsilon=self.epsilon)
        return outputs.to(dtype_policies.to_torch_dtype(self.compute_dtype))

    def _train_general(self, x, mask, gamma, beta):
        """Training with a mask (Keras's masked statistics) and/or renorm."""
        axes = self._axes
        if mask is not None:
            mask = torch.as_tensor(mask, device=x.device)
            mean, variance = norm_ops.masked_moments(x, mask, axes,
                                                     epsilon=sepconv_config.epsilon())
        else:
            with torch.no_grad():
                _, mean, variance = norm_ops.batch_norm_training(x.detach(), axes,
                                                                 epsilon=self.epsilon)
        if self.renorm:
            gamma, beta = self._renorm_transform(mean.detach(), variance.detach(), gamma, beta)
        if mask is not None:
            outputs = norm_ops.batch_normalization(x, mean, variance, axes, offset=beta,
                                                   scale=gamma, epsilon=self.epsilon)
        else:  # torch's fused pass recomputes the same statistics, with their gradients
            outputs, _, _ = norm_ops.batch_norm_training(x, axes, offset=beta, scale=gamma,
                                                         epsilon=self.epsilon)
        if self.renorm:
            self._update_renorm_statistics(mean.detach(), variance.detach())
        else:
            self._update_moving_statistics(mean, variance)
        return outputs

    def _update_moving_statistics(self, mean, variance):
        norm_ops.moving_average(self.moving_mean, mean, self.momentum)
        norm_ops.moving_average(self.moving_variance, variance, self.momentum)

    def _renorm_transform(self, mean, variance, gamma, beta):
        """Batch renormalization: ``gamma * r``, ``beta + gamma * d`` with the
        (gradient-free) corrections r, d clipped by ``renorm_clipping``."""
        with torch.no_grad():
            shape = self.moving_mean.shape
            mean, variance = mean.reshape(shape), variance.reshape(shape)
            stddev = torch.sqrt(variance + self.epsilon)
            renorm_stddev = torch.clamp(self.renorm_stddev.to(mean.dtype),
                                        min=self.epsilon ** 0.5)
            r = stddev / renorm_stddev
            d = (mean - self.renorm_mean.to(mean.dtype)) / renorm_stddev
            clipping = self.renorm_clipping
            if clipping.get("rmin") is not None:
                r = torch.clamp(r, min=clipping["rmin"])
            if clipping.get("rmax") is not None:
                r = torch.clamp(r, max=clipping["rmax"])
            if clipping.get("dmax") is not None:
                d = torch.clamp(d, -clipping["dmax"], clipping["dmax"])
        if gamma is not None:
            new_gamma, new_beta = r * gamma, d * gamma
        else:
            new_gamma, new_beta = r, d
        if beta is not None:
            new_beta = new_beta + beta
        return new_gamma, new_beta

    def _update_renorm_statistics(self, mean, variance):
        shape = self.moving_mean.shape
        stddev = torch.sqrt(variance.reshape(shape) + self.epsilon)
        norm_ops.moving_average(self.renorm_mean, mean, self.renorm_momentum)
        norm_ops.moving_average(self.renorm_stddev, stddev, self.renorm_momentum)
        norm_ops.moving_average(self.moving_mean, mean, self.momentum)
        norm_ops.moving_average(self.moving_stddev, stddev, self.momentum)
        with torch.no_grad():
            moving_stddev = self.moving_stddev
            self.moving_variance.copy_(
                torch.relu(moving_stddev * moving_stddev - self.epsilon))

    # ----------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
        })
        config.update(self.weight_options_config())
        config.update({
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        })
        return config
