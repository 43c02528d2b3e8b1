"""Functional models: the graph of layer calls between ``Input`` tensors and
outputs, run as one ``torch.nn.Module``.

>>> import numpy as np, sepconv
>>> inputs = sepconv.Input(shape=(224, 224, 10), name="input")
>>> outputs = sepconv.layers.SeparableConv2D(32, (3, 3), activation="relu",
...                                          padding="same")(inputs)
>>> model = sepconv.Model(inputs, outputs)
>>> model.count_params(), model.output_shape
(442, (None, 224, 224, 32))
>>> model(np.zeros((1, 224, 224, 10))).shape
torch.Size([1, 224, 224, 32])
"""

from __future__ import annotations

import collections

import numpy as np

from sepconv.layers.node import KerasTensor, flatten, map_structure
from sepconv.models.model import Model


def _check_tensors(structure, argument):
    """The KerasTensors of ``structure``, each checked to be one."""
    tensors = flatten(structure)
    for tensor in tensors:
        if not isinstance(tensor, KerasTensor) or tensor._keras_history is None:
            raise TypeError(
                f"Every `{argument}` entry must be a symbolic tensor made by "
                "`sepconv.Input(...)` or by calling a layer on one. "
                f"Received: {argument} containing {tensor!r} ({type(tensor).__name__})"
            )
    if not tensors:
        raise ValueError(f"`{argument}` must not be empty. Received: {argument}={structure!r}")
    return tensors


def _standardize_structure(structure):
    """Lists and tuples as lists; a dict kept; a one-element list of a tensor kept."""
    if isinstance(structure, tuple):
        return list(structure)
    return structure


def _traverse(input_tensors, output_tensors):
    """Nodes between inputs and outputs in dependency order (depth-first,
    post-order) and each layer's first traversal index."""
    input_ids = {id(t) for t in input_tensors}
    finished, in_progress, ordered, layer_index = set(), set(), [], {}

    def visit(tensor):
        node = tensor._keras_history.node
        if id(node) in finished:
            return
        if id(tensor) in input_ids and not node.is_input:
            finished.add(id(node))  # a declared input made outside the model
            return
        if id(node) in in_progress:
            raise ValueError(
                f"The graph has a cycle through layer '{node.layer.name}'. "
                f"Received: tensor {tensor!r}"
            )
        layer_index.setdefault(node.layer, len(layer_index))
        in_progress.add(id(node))
        if not node.is_input:
            for parent in node.input_tensors:
                visit(parent)
        in_progress.discard(id(node))
        finished.add(id(node))
        ordered.append(node)

    for tensor in output_tensors:
        visit(tensor)
    return ordered, layer_index


def _layers_by_depth(nodes, layer_index, input_tensors):
    """Keras's layer order: by depth from the outputs (deepest, i.e. the
    inputs, first), ties broken by traversal order."""
    in_graph = {id(node) for node in nodes}
    node_depth, layer_depth = {}, {}
    for node in reversed(nodes):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(node.layer, 0))
        node_depth[id(node)] = layer_depth[node.layer] = depth
        for parent in node.parent_nodes:
            if id(parent) in in_graph:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for tensor in input_tensors:
        layer = tensor._keras_history.layer
        if layer not in layer_depth:
            layer_depth[layer] = 0
            layer_index[layer] = -1
    by_depth = collections.defaultdict(list)
    for layer, depth in layer_depth.items():
        by_depth[depth].append(layer)
    ordered = []
    for depth in sorted(by_depth, reverse=True):
        ordered += sorted(by_depth[depth], key=lambda layer: layer_index[layer])
    return ordered


def _check_connected(nodes, input_tensors):
    """Every node's inputs are model inputs or outputs of earlier nodes."""
    available = {id(t) for t in input_tensors}
    reached = []
    for node in nodes:
        if node.is_input:
            if not any(id(t) in available for t in node.output_tensors):
                raise ValueError(
                    f"Graph disconnected: the outputs depend on Input '{node.layer.name}', "
                    "which is not among the model's inputs. Add it to `inputs`. "
                    f"Received: inputs={[t.name for t in input_tensors]}"
                )
            continue
        for tensor in node.input_tensors:
            if id(tensor) not in available:
                raise ValueError(
                    f"Graph disconnected: cannot obtain the value of {tensor!r} needed by "
                    f"layer '{node.layer.name}'. Layers reached without issue: "
                    f"{reached}. Received: inputs={[t.name for t in input_tensors]}"
                )
        available.update(id(t) for t in node.output_tensors)
        reached.append(node.layer.name)


def _check_unique_names(layers):
    counts = collections.Counter(layer.name for layer in layers)
    for name, count in counts.items():
        if count > 1:
            raise ValueError(
                f"The name {name!r} is used by {count} different layers of the model; "
                f"layer names must be unique. Received: layers named {name!r}"
            )


def _module_key(name):
    return name.replace(".", "_")


class Functional(Model):
    """A model defined by its ``inputs`` and ``outputs`` KerasTensors (a
    tensor, or a list or dict of them); see ``sepconv.Model``."""

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._set_graph(inputs, outputs)

    def _set_graph(self, inputs, outputs):
        """(Re)define the graph and register its layers as submodules."""
        inputs, outputs = _standardize_structure(inputs), _standardize_structure(outputs)
        input_tensors = _check_tensors(inputs, "inputs")
        output_tensors = _check_tensors(outputs, "outputs")
        nodes, layer_index = _traverse(input_tensors, output_tensors)
        _check_connected(nodes, input_tensors)
        layers = _layers_by_depth(nodes, layer_index, input_tensors)
        _check_unique_names(layers)
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self._input_tensors, self._output_tensors = input_tensors, output_tensors
        self._nodes = [node for node in nodes if not node.is_input]
        self._graph_layers = layers
        self._uses = collections.Counter(id(t) for node in self._nodes for t in node.input_tensors)
        for layer in layers:
            if self._modules.get(_module_key(layer.name)) is not layer:
                # Straight into _modules: a layer called "output" must not
                # clash with the property of that name.
                self._modules[_module_key(layer.name)] = layer
        self.built = True

    # ------------------------------------------------------------- structure
    @property
    def layers(self):
        """All layers of the graph, input layers first (Keras's order)."""
        return list(self._graph_layers)

    @property
    def inputs(self):
        """The input KerasTensors, as a list."""
        return list(self._input_tensors)

    @property
    def outputs(self):
        """The output KerasTensors, as a list."""
        return list(self._output_tensors)

    @property
    def input(self):
        """The inputs in the structure the model was given them."""
        return self._inputs_struct

    @property
    def output(self):
        """The outputs in the structure the model was given them."""
        return self._outputs_struct

    @property
    def input_shape(self):
        return map_structure(lambda t: t.shape, self._inputs_struct)

    @property
    def output_shape(self):
        return map_structure(lambda t: t.shape, self._outputs_struct)

    @property
    def nodes(self):
        """The layer calls of the graph, in execution order."""
        return list(self._nodes)

    # ---------------------------------------------------------------- calling
    def _bind_inputs(self, inputs):
        """``{id(input KerasTensor): tensor}`` for the given inputs."""
        if isinstance(self._inputs_struct, dict) and isinstance(inputs, dict):
            missing = sorted(set(self._inputs_struct) - set(inputs))
            if missing:
                raise ValueError(
                    f"Model '{self.name}' needs inputs {sorted(self._inputs_struct)}; "
                    f"missing {missing}. Received: keys {sorted(inputs)}"
                )
            pairs = [(self._inputs_struct[key], inputs[key]) for key in self._inputs_struct]
        else:
            given = flatten(inputs) if isinstance(inputs, (list, tuple, dict)) else [inputs]
            if len(given) != len(self._input_tensors):
                raise ValueError(
                    f"Model '{self.name}' expects {len(self._input_tensors)} input(s) "
                    f"({[t.name for t in self._input_tensors]}). "
                    f"Received: {len(given)} input(s)"
                )
            pairs = list(zip(self._input_tensors, given))
        bound = {}
        for symbolic, value in pairs:
            self._check_input_shape(symbolic, value)
            bound[id(symbolic)] = value
        return bound

    def _check_input_shape(self, symbolic, value):
        shape = tuple(getattr(value, "shape", ()))
        expected = symbolic.shape
        if len(shape) != len(expected) or any(
                e is not None and e != s for e, s in zip(expected, shape)):
            raise ValueError(
                f"Input '{symbolic.name}' of model '{self.name}' must have shape "
                f"{expected} (None: any size). Received: inputs.shape={shape}"
            )

    def call(self, inputs, training=None):
        values = self._bind_inputs(inputs)
        uses = collections.Counter(self._uses)
        keep = {id(t) for t in self._output_tensors}

        def value_of(leaf):
            return values[id(leaf)] if isinstance(leaf, KerasTensor) else leaf

        for node in self._nodes:
            args = map_structure(value_of, node.call_args)
            kwargs = map_structure(value_of, node.call_kwargs)
            if training is not None and "training" not in kwargs:
                kwargs["training"] = training
            outputs = node.layer(*args, **kwargs)
            for symbolic, value in zip(node.output_tensors, flatten(outputs)):
                values[id(symbolic)] = value
            for symbolic in node.input_tensors:  # free intermediates after their last use
                uses[id(symbolic)] -= 1
                if uses[id(symbolic)] == 0 and id(symbolic) not in keep:
                    values.pop(id(symbolic), None)
        return map_structure(value_of, self._outputs_struct)

    def compute_output_shape(self, input_shape):
        shapes = {}
        given = [input_shape] if _is_single_shape(input_shape) else flatten_shapes(input_shape)
        for symbolic, shape in zip(self._input_tensors, given):
            shapes[id(symbolic)] = tuple(shape)

        def shape_of(leaf):
            return shapes[id(leaf)] if isinstance(leaf, KerasTensor) else leaf

        for node in self._nodes:
            first = map_structure(shape_of, node.call_args[0])
            out = node.layer.compute_output_shape(first)
            out_leaves = [out] if _is_single_shape(out) else flatten_shapes(out)
            for symbolic, shape in zip(node.output_tensors, out_leaves):
                shapes[id(symbolic)] = tuple(shape)
        return map_structure(shape_of, self._outputs_struct)

    # ----------------------------------------------------------------- config
    def _node_indices(self):
        """{id(node): index among its layer's nodes that belong to this model}."""
        in_model = {id(node) for node in self._nodes}
        for tensor in self._input_tensors:
            in_model.add(id(tensor._keras_history.node))
        indices = {}
        for layer in self._graph_layers:
            kept = [node for node in layer._inbound_nodes if id(node) in in_model]
            for index, node in enumerate(kept):
                indices[id(node)] = index
        return indices

    def _history_triple(self, tensor, indices):
        history = tensor._keras_history
        return [history.layer.name, indices.get(id(history.node), history.node_index),
                history.tensor_index]

    def get_config(self):
        from sepconv.saving.serialization import serialize_layer

        indices = self._node_indices()

        def serialize_arg(leaf):
            if isinstance(leaf, KerasTensor):
                return {"class_name": "__keras_tensor__",
                        "config": {"shape": list(leaf.shape), "dtype": leaf.dtype,
                                   "keras_history": self._history_triple(leaf, indices)}}
            return leaf

        nodes_by_layer = collections.defaultdict(list)
        for node in self._nodes:
            nodes_by_layer[node.layer].append(
                {"args": map_structure(serialize_arg, list(node.call_args)),
                 "kwargs": map_structure(serialize_arg, node.call_kwargs)})
        layer_configs = []
        for layer in self._graph_layers:
            data = serialize_layer(layer)
            data["name"] = layer.name
            data["inbound_nodes"] = nodes_by_layer.get(layer, [])
            layer_configs.append(data)

        def triples(structure):
            if isinstance(structure, KerasTensor):
                return self._history_triple(structure, indices)
            if isinstance(structure, dict):
                return {key: triples(value) for key, value in structure.items()}
            return [triples(value) for value in structure]

        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": layer_configs,
            "input_layers": triples(self._inputs_struct),
            "output_layers": triples(self._outputs_struct),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=True):
        from sepconv.models.graph_config import rebuild_graph

        inputs, outputs = rebuild_graph(config, custom_objects, safe_mode)
        return cls(inputs, outputs, name=config.get("name"),
                   trainable=config.get("trainable", True))


def _is_single_shape(value):
    return isinstance(value, (tuple, list)) and all(
        d is None or isinstance(d, (int, np.integer)) for d in value)


def flatten_shapes(structure):
    """The shape tuples of a nest of shapes."""
    if _is_single_shape(structure):
        return [tuple(structure)]
    if isinstance(structure, dict):
        return [s for value in structure.values() for s in flatten_shapes(value)]
    return [s for value in structure for s in flatten_shapes(value)]

