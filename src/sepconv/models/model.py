"""``Model``: a layer that groups layers, with ``predict``, ``summary`` and
``get_layer``.

``Model(inputs, outputs)`` builds a functional model (see
:mod:`sepconv.models.functional`); subclassing ``Model`` and writing
``call`` gives a model whose layers are its attributes, as in Keras:

>>> import torch, sepconv
>>> class TwoConvs(sepconv.Model):
...     def __init__(self):
...         super().__init__(name="two_convs")
...         self.first = sepconv.layers.Conv2D(4, 3, padding="same", name="first")
...         self.second = sepconv.layers.SeparableConv2D(2, 3, name="second")
...     def call(self, x):
...         return self.second(self.first(x))
>>> model = TwoConvs()
>>> model.predict(torch.zeros(3, 8, 8, 1), verbose=0).shape
(3, 6, 6, 2)
>>> [layer.name for layer in model.layers], model.count_params()
(['first', 'second'], 86)
"""

from __future__ import annotations

import numpy as np
import torch

from sepconv.layers.layer import Layer, _map_structure
from sepconv.training.trainer import Trainer


class Model(Trainer, Layer):
    """A group of layers with training and inference features.

    ``Model(inputs, outputs, name=None)`` returns a functional model; a
    subclass defines its layers in ``__init__`` and its computation in
    ``call``.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from sepconv.models.functional import Functional

            return Functional.__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        if args:
            raise TypeError(
                f"{type(self).__name__}() takes keyword arguments only (name=..., "
                f"trainable=..., dtype=...). Received: {len(args)} positional argument(s)"
            )
        super().__init__(**kwargs)

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=True):
        """A functional graph config (``layers``/``input_layers``/``output_layers``)
        gives a functional model; otherwise ``cls(**config)``. ``safe_mode``
        refuses Python lambdas (see :func:`sepconv.saving.deserialize_keras_object`)."""
        if cls is Model and {"layers", "input_layers", "output_layers"} <= set(config):
            from sepconv.models.functional import Functional

            return Functional.from_config(config, custom_objects=custom_objects,
                                          safe_mode=safe_mode)
        return cls(**config)

    def get_compile_config(self):
        """How the model was compiled, for its saved config ({} when it was not)."""
        return dict(getattr(self, "_compile_config", None) or {})

    # ----------------------------------------------------------------- layers
    @property
    def layers(self):
        """The model's direct sublayers, in the order they were assigned
        (those held in a list or dict attribute included)."""
        found = []
        for child in self.children():
            if isinstance(child, (torch.nn.ModuleList, torch.nn.ModuleDict)):
                found += [item for item in child.children() if isinstance(item, Layer)]
            elif isinstance(child, Layer):
                found.append(child)
        return found

    def get_layer(self, name=None, index=None):
        """A sublayer by ``name`` or by position ``index`` (exactly one)."""
        if (name is None) == (index is None):
            raise ValueError(
                "Pass exactly one of `name` and `index` to get_layer. "
                f"Received: name={name!r}, index={index!r}"
            )
        layers = self.layers
        if index is not None:
            if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
                raise TypeError(f"`index` must be an integer. Received: index={index!r}")
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"Model '{self.name}' has {len(layers)} layers; `index` must be in "
                    f"[{-len(layers)}, {len(layers) - 1}]. Received: index={index}"
                )
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        names = ", ".join(repr(layer.name) for layer in layers)
        raise ValueError(
            f"Model '{self.name}' has no layer named {name!r}; its layers are: "
            f"{names}. Received: name={name!r}"
        )

    # -------------------------------------------------------------- inference
    def predict(self, x, batch_size=None, verbose="auto", steps=None):
        """Outputs for ``x`` (arrays or tensors, or a list/dict of them for
        several inputs) as NumPy arrays, computed in inference mode without
        gradients, ``batch_size`` samples at a time (default 32)."""
        from sepconv.models.prediction import predict

        return predict(self, x, batch_size=batch_size, verbose=verbose, steps=steps)

    def predict_on_batch(self, x):
        """Outputs for one batch ``x``, as NumPy arrays."""
        with torch.no_grad():
            outputs = self(x, training=False)
        return _map_structure(lambda t: t.detach().cpu().numpy(), outputs)

    # ----------------------------------------------------------------- saving
    def save(self, filepath, overwrite=True):
        """Save architecture and weights to a Keras 3 ``.keras`` archive, or
        a legacy ``.h5`` file for such names (atomically: an interrupted save
        leaves the previous file intact)."""
        from sepconv.saving.api import save_model

        save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite=True):
        """Save the weights to ``.weights.h5`` (Keras 3's layout) or
        ``.safetensors`` (the ``state_dict``)."""
        from sepconv.saving.api import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False, by_name=False):
        """Load weights from ``.weights.h5``, ``.keras``, legacy ``.h5``
        (``by_name`` as in Keras 2) or ``.safetensors``."""
        from sepconv.saving.api import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name)

    # ---------------------------------------------------------------- summary
    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Print the Keras-style table of layers, output shapes and parameter
        counts (see :func:`sepconv.models.summary.print_summary`)."""
        from sepconv.models.summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable,
                      layer_range=layer_range)
