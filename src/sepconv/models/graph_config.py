"""Rebuild a functional graph from its Keras config (Keras 3's node format,
and Keras 2's ``[layer_name, node_index, tensor_index, kwargs]`` lists).

Layers are created from their serialized dicts, then each recorded call is
replayed on symbolic tensors once the tensors it needs exist.
"""

from __future__ import annotations

import collections

from sepconv.layers.node import KerasTensor, flatten
from sepconv.saving.serialization import deserialize_layer


def _is_keras2_history(value):
    return (isinstance(value, (list, tuple)) and len(value) >= 3 and isinstance(value[0], str)
            and isinstance(value[1], int) and isinstance(value[2], int))


class _GraphBuilder:
    def __init__(self, custom_objects):
        self.custom_objects = custom_objects
        self.layers = {}
        self.node_outputs = collections.defaultdict(list)  # layer name -> [flat outputs]

    def tensor(self, history):
        name, node_index, tensor_index = history[:3]
        nodes = self.node_outputs.get(name, [])
        if node_index >= len(nodes):
            return None
        return nodes[node_index][tensor_index]

    def ready(self, value):
        """Whether every tensor ``value`` references exists yet."""
        if isinstance(value, dict):
            if value.get("class_name") == "__keras_tensor__":
                return self.tensor(value["config"]["keras_history"]) is not None
            return all(self.ready(item) for item in value.values())
        if _is_keras2_history(value):
            return self.tensor(value) is not None
        if isinstance(value, (list, tuple)):  # tuples: a config not yet through JSON
            return all(self.ready(item) for item in value)
        return True

    def resolve(self, value):
        if isinstance(value, dict):
            if value.get("class_name") == "__keras_tensor__":
                return self.tensor(value["config"]["keras_history"])
            return {key: self.resolve(item) for key, item in value.items()}
        if _is_keras2_history(value):
            return self.tensor(value)
        if isinstance(value, (list, tuple)):
            return [self.resolve(item) for item in value]
        return value

    def call(self, layer, node_data):
        if isinstance(node_data, dict):  # Keras 3
            args = self.resolve(node_data.get("args", []))
            kwargs = self.resolve(node_data.get("kwargs", {}))
            if "mask" in kwargs and kwargs["mask"] is None:
                del kwargs["mask"]  # Keras records mask=None on model calls: no mask
        else:  # Keras 2: a list of [name, node_index, tensor_index, kwargs]
            tensors = [self.tensor(entry) for entry in node_data]
            kwargs = dict(node_data[0][3]) if len(node_data[0]) > 3 else {}
            args = [tensors[0] if len(tensors) == 1 else tensors]
        outputs = layer(*args, **kwargs)
        self.node_outputs[layer.name].append(
            [t for t in flatten(outputs) if isinstance(t, KerasTensor)])

    def structure(self, spec, what):
        """Input/output tensors from a triple, a list of triples or a dict."""
        if _is_keras2_history(spec):
            found = self.tensor(spec)
            if found is None:
                raise ValueError(
                    f"The config's {what} names {spec[0]!r} node {spec[1]}, which the "
                    f"graph does not have. Received: {what}={spec!r}"
                )
            return found
        if isinstance(spec, dict):
            return {key: self.structure(value, what) for key, value in spec.items()}
        return [self.structure(value, what) for value in spec]


def rebuild_graph(config, custom_objects=None, safe_mode=True):
    """``(inputs, outputs)`` KerasTensors of the graph ``config`` describes
    (``safe_mode``: see :func:`sepconv.saving.deserialize_keras_object`)."""
    for key in ("layers", "input_layers", "output_layers"):
        if key not in config:
            raise ValueError(
                f"A functional model config needs a {key!r} entry. "
                f"Received: config keys {sorted(config)}"
            )
    builder = _GraphBuilder(custom_objects)
    pending = collections.OrderedDict()
    for data in config["layers"]:
        layer = deserialize_layer(data, custom_objects, safe_mode)
        builder.layers[layer.name] = layer
        if layer._inbound_nodes and layer._inbound_nodes[0].is_input:
            builder.node_outputs[layer.name].append(layer._inbound_nodes[0].output_tensors)
        pending[layer.name] = collections.deque(data.get("inbound_nodes", []))
    while any(pending.values()):
        progressed = False
        for name, queue in pending.items():
            while queue and builder.ready(queue[0]):
                builder.call(builder.layers[name], queue.popleft())
                progressed = True
        if not progressed:
            stuck = [name for name, queue in pending.items() if queue]
            raise ValueError(
                "The config's graph cannot be rebuilt: the calls of layers "
                f"{stuck} need tensors that no layer produces. Received: config "
                f"of model {config.get('name')!r}"
            )
    return (builder.structure(config["input_layers"], "input_layers"),
            builder.structure(config["output_layers"], "output_layers"))
