"""``Sequential``: a plain stack of layers, each feeding the next.

Given its input shape (an ``Input`` first, an ``InputLayer``, or a first
layer constructed with ``input_shape`` / ``batch_input_shape`` as in Keras 2
and R keras) the model builds at once; otherwise on ``build(input_shape)`` or
its first call.

>>> import sepconv
>>> from sepconv import layers
>>> model = sepconv.Sequential([
...     layers.DepthwiseConv2D(3, padding="same", input_shape=(32, 32, 32)),
...     layers.Conv2D(64, 1),
... ])
>>> model.output_shape, model.count_params()
((None, 32, 32, 64), 2432)
>>> model.pop().name.startswith("conv2d"), model.output_shape
(True, (None, 32, 32, 32))
"""

from __future__ import annotations

from sepconv.layers.input_layer import InputLayer
from sepconv.layers.layer import Layer, name_scope
from sepconv.layers.node import KerasTensor
from sepconv.models.functional import Functional, _module_key
from sepconv.models.model import Model


class Sequential(Functional):
    """A model made of ``layers`` applied one after the other.

    Args:
        layers: the initial layers (each added with :meth:`add`).
        trainable: whether the model's weights are trainable.
        name: the model's name (default ``sequential``, ``sequential_1``, ...).
    """

    def __init__(self, layers=None, trainable=True, name=None, **kwargs):
        Model.__init__(self, name=name, trainable=trainable, **kwargs)
        self._stack = []
        self._own_nodes = []
        self.built = False
        if layers is not None:
            if not isinstance(layers, (list, tuple)):
                raise TypeError(
                    "`layers` must be a list of layers. "
                    f"Received: layers of type {type(layers).__name__}"
                )
            for layer in layers:
                self.add(layer, rebuild=False)
            self._rebuild()

    # ------------------------------------------------------------- the stack
    def add(self, layer, rebuild=True):
        """Append ``layer`` (or the ``InputLayer`` behind an ``Input`` tensor)."""
        if isinstance(layer, KerasTensor) and isinstance(layer._keras_history.layer, InputLayer):
            layer = layer._keras_history.layer
        if not isinstance(layer, Layer):
            raise TypeError(
                "Only layers can be added to a Sequential model. "
                f"Received: {layer!r} (of type {type(layer).__name__})"
            )
        if isinstance(layer, InputLayer) and self._stack:
            raise ValueError(
                f"An InputLayer can only be the first layer of Sequential model "
                f"'{self.name}', which already has {len(self._stack)} layer(s). "
                f"Received: {layer.name!r}"
            )
        if any(existing.name == layer.name for existing in self._stack):
            raise ValueError(
                f"Sequential model '{self.name}' already has a layer named "
                f"{layer.name!r}; layer names must be unique. Received: {layer.name!r}"
            )
        if not self._stack and not isinstance(layer, InputLayer) \
                and layer._batch_input_shape is not None:
            self._push(InputLayer(batch_shape=layer._batch_input_shape, dtype=layer.dtype))
        self._push(layer)
        if rebuild:
            try:
                self._rebuild()
            except Exception:
                self._remove_last()
                self._rebuild()
                raise

    def _push(self, layer):
        self._stack.append(layer)
        self._modules[_module_key(layer.name)] = layer

    def _remove_last(self):
        layer = self._stack.pop()
        self._modules.pop(_module_key(layer.name), None)
        return layer

    def pop(self, rebuild=True):
        """Remove and return the last layer."""
        if not self.layers:
            raise TypeError(f"Sequential model '{self.name}' has no layers to pop.")
        layer = self._remove_last()
        if rebuild:
            self._rebuild()
        return layer

    @property
    def layers(self):
        """The layers, without the input layer."""
        return [layer for layer in self._stack if not isinstance(layer, InputLayer)]

    # ---------------------------------------------------------------- building
    def build(self, input_shape=None):
        """Build for inputs of ``input_shape`` (batch dimension included)."""
        if self._stack and isinstance(self._stack[0], InputLayer):
            if input_shape is not None and tuple(input_shape) != self._stack[0].batch_shape:
                raise ValueError(
                    f"Sequential model '{self.name}' is already configured for inputs of "
                    f"shape {self._stack[0].batch_shape}. Received: input_shape={input_shape!r}"
                )
            self._rebuild()
            return
        if input_shape is None:
            raise ValueError(
                f"Sequential model '{self.name}' has no input shape: pass "
                "`input_shape` (batch dimension included, e.g. (None, 32, 32, 3)). "
                "Received: input_shape=None"
            )
        # As Keras: the input takes the first layer's compute dtype
        # ("bfloat16" under "mixed_bfloat16").
        dtype = self._stack[0].compute_dtype if self._stack else None
        self._stack.insert(0, InputLayer(batch_shape=tuple(input_shape), dtype=dtype))
        reordered = {_module_key(self._stack[0].name): self._stack[0], **self._modules}
        self._modules.clear()
        self._modules.update(reordered)
        try:
            self._rebuild()
        except Exception:
            self._modules.pop(_module_key(self._stack.pop(0).name), None)
            raise

    def _build_from_inputs(self, inputs):
        # A first call fixes the shape but not the batch size.
        shape = tuple(inputs.shape) if hasattr(inputs, "shape") else None
        if shape is None:
            raise ValueError(
                f"Sequential model '{self.name}' takes one input tensor. "
                f"Received: inputs of type {type(inputs).__name__}"
            )
        self.build((None,) + shape[1:])

    def _forget_own_nodes(self):
        """Drop the nodes the previous build recorded on the layers, so each
        layer keeps one node per model it is in."""
        for node in reversed(self._own_nodes):
            nodes = node.layer._inbound_nodes
            if nodes and nodes[-1] is node:
                nodes.pop()
                for parent in node.parent_nodes:
                    if node in parent.layer._outbound_nodes:
                        parent.layer._outbound_nodes.remove(node)
        self._own_nodes = []

    def _rebuild(self):
        """Run the stack on the input's symbolic tensor (when there is one)."""
        self._forget_own_nodes()
        if not self._stack or not isinstance(self._stack[0], InputLayer):
            self.built = False
            self._graph_layers = list(self._stack)
            self._nodes = []
            return
        inputs = self._stack[0].output
        outputs = inputs
        with name_scope(self):  # layers built here get weight paths under the model
            for layer in self._stack[1:]:
                outputs = layer(outputs)
                self._own_nodes.append(outputs._keras_history.node)
        self._set_graph(inputs, outputs)

    def _check_graph(self, what):
        if not self.built:
            raise AttributeError(
                f"Sequential model '{self.name}' has no {what} yet: give it an input "
                "shape (an Input first, `input_shape=` on the first layer, or "
                "`build(input_shape)`) or call it on data."
            )

    @property
    def inputs(self):
        self._check_graph("inputs")
        return super().inputs

    @property
    def outputs(self):
        self._check_graph("outputs")
        return super().outputs

    @property
    def input(self):
        self._check_graph("input")
        return super().input

    @property
    def output(self):
        self._check_graph("output")
        return super().output

    @property
    def input_shape(self):
        self._check_graph("input shape")
        return super().input_shape

    @property
    def output_shape(self):
        self._check_graph("output shape")
        return super().output_shape

    # ----------------------------------------------------------------- config
    def get_config(self):
        from sepconv import dtype_policies
        from sepconv.saving.serialization import serialize_layer

        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": dtype_policies.serialize(self.dtype_policy),
            "layers": [serialize_layer(layer) for layer in self._stack],
        }
        if self._stack and isinstance(self._stack[0], InputLayer):
            config["build_input_shape"] = self._stack[0].batch_shape
        return config

    def get_build_config(self):
        if self._stack and isinstance(self._stack[0], InputLayer):
            return {"input_shape": self._stack[0].batch_shape}
        return None

    def build_from_config(self, config):
        self.build(tuple(config["input_shape"]))

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=True):
        from sepconv.saving.serialization import deserialize_layer

        layers = [deserialize_layer(data, custom_objects, safe_mode)
                  for data in config.get("layers", [])]
        model = cls(layers, name=config.get("name"), trainable=config.get("trainable", True))
        shape = config.get("build_input_shape")
        if not model.built and shape is not None:
            model.build(tuple(shape))
        return model
