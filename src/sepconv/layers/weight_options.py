"""``WeightOptions``: a layer's per-weight initializer / regularizer / constraint
arguments (``kernel_initializer``, ``beta_regularizer``, ...), validated once,
used when the weight is created, and written into ``get_config``.

>>> from sepconv.layers.layer import Layer
>>> class Affine(WeightOptions, Layer):
...     def __init__(self, scale_initializer="ones", **kwargs):
...         super().__init__(**kwargs)
...         self.configure_weight("scale", scale_initializer, None, None, "ones")
...     def build(self, input_shape):
...         self.add_configured_weight("scale", "scale", (input_shape[-1],))
...     def get_config(self):
...         return {**super().get_config(), **self.weight_options_config()}
>>> layer = Affine(scale_initializer="zeros")
>>> layer.build((2, 3)); layer.scale.tolist()
[0.0, 0.0, 0.0]
>>> sorted(k for k in layer.get_config() if k.startswith("scale_"))
['scale_constraint', 'scale_initializer', 'scale_regularizer']
"""

from __future__ import annotations

from sepconv import constraints, initializers, regularizers


class WeightOptions:
    """Mixin for a :class:`~sepconv.layers.layer.Layer` whose weights take
    Keras's ``{prefix}_initializer``, ``{prefix}_regularizer`` and
    ``{prefix}_constraint`` arguments."""

    def configure_weight(self, prefix, initializer, regularizer, constraint, default_initializer,
                         *, with_regularizer=True, with_constraint=True):
        """Look up and store the options of weight ``prefix`` (errors name the
        argument). A None initializer means ``default_initializer``, as Keras
        documents ("If None, the default initializer will be used"). Options a
        weight does not take (e.g. BatchNormalization's moving statistics have
        no regularizer) are left out with ``with_regularizer``/``with_constraint``."""
        setattr(self, f"{prefix}_initializer", initializers.get(
            default_initializer if initializer is None else initializer,
            f"{prefix}_initializer"))
        if with_regularizer:
            setattr(self, f"{prefix}_regularizer",
                    regularizers.get(regularizer, f"{prefix}_regularizer"))
        if with_constraint:
            setattr(self, f"{prefix}_constraint",
                    constraints.get(constraint, f"{prefix}_constraint"))
        self._weight_options = getattr(self, "_weight_options", ()) + (
            (prefix, with_regularizer, with_constraint),)

    def add_configured_weight(self, prefix, name, shape, **kwargs):
        """``add_weight`` with the stored options of ``prefix``; ``kwargs``
        (e.g. ``trainable=False``) go to ``add_weight``."""
        return self.add_weight(
            name=name,
            shape=shape,
            initializer=getattr(self, f"{prefix}_initializer"),
            regularizer=getattr(self, f"{prefix}_regularizer", None),
            constraint=getattr(self, f"{prefix}_constraint", None),
            **kwargs,
        )

    def weight_options_config(self):
        """The options serialized as Keras writes them: all initializers, then
        all regularizers, then all constraints (Keras's key order)."""
        options = getattr(self, "_weight_options", ())
        config = {}
        for prefix, _, _ in options:
            config[f"{prefix}_initializer"] = initializers.serialize(
                getattr(self, f"{prefix}_initializer"))
        for prefix, with_regularizer, _ in options:
            if with_regularizer:
                config[f"{prefix}_regularizer"] = regularizers.serialize(
                    getattr(self, f"{prefix}_regularizer"))
        for prefix, _, with_constraint in options:
            if with_constraint:
                config[f"{prefix}_constraint"] = constraints.serialize(
                    getattr(self, f"{prefix}_constraint"))
        return config
