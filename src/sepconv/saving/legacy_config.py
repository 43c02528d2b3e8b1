"""Keras 2 / tf.keras model configs in the Keras 3 form sepconv rebuilds.

A legacy HDF5 file's ``model_config`` was written by Keras 2.x (tf.keras) or
by Keras 3's legacy writer. Keras 3 reads both; the differences are few, and
each is a row of the tables below:

- class names tf.keras used for layers Keras 3 knows under another name
  (:data:`CLASS_ALIASES`);
- config keys tf.keras wrote that Keras 3 dropped, removed only where their
  value cannot change the layer (:data:`DROPPED_KEYS`); any other value is an
  error naming the layer and key;
- values whose form changed (:data:`VALUE_FORMS`): ``BatchNormalization``'s
  ``axis`` as a one-element list, ``InputLayer``'s ``batch_input_shape``, a
  mixed-precision ``Policy`` dict as ``dtype``;
- tf.keras's graph conventions: a nested functional model's first call is
  its node 1 (node 0 is the model's own), and a single input or output is
  written as a one-element list.

Layers that hold code (``Lambda``, tf.keras's ``TFOpLambda``) are refused
unless ``custom_objects`` names a class for them: nothing in a file is run.

>>> config = {"class_name": "BatchNormalization",
...           "config": {"name": "bn", "axis": [3], "dtype": "float32"}}
>>> translate_layer(config)["config"]
{'name': 'bn', 'axis': 3, 'dtype': 'float32'}
"""

from __future__ import annotations

import copy

MODEL_CLASSES = ("Functional", "Model", "Sequential")

#: Layers whose config carries Python code (marshalled bytecode or a
#: TensorFlow function name): never rebuilt from a file.
CODE_LAYERS = ("Lambda", "TFOpLambda", "SlicingOpLambda")

#: tf.keras class name -> the Keras 3 class that computes the same thing.
CLASS_ALIASES = {
    "BatchNormalizationV1": "BatchNormalization",
    "BatchNormalizationV2": "BatchNormalization",
}

_ANY = "any value"

#: class -> {key: the values under which dropping the key changes nothing}.
#: tf.keras's SeparableConv inherited Conv's config, so it wrote ``groups``
#: and the never-used ``kernel_*`` options; DepthwiseConv kept ``groups``;
#: BatchNormalization wrote ``virtual_batch_size`` only when it was set.
_SEPARABLE = {"groups": (1,), "kernel_initializer": _ANY, "kernel_regularizer": _ANY,
              "kernel_constraint": _ANY}
DROPPED_KEYS = {
    "SeparableConv1D": _SEPARABLE,
    "SeparableConv2D": _SEPARABLE,
    "DepthwiseConv1D": {"groups": (1,)},
    "DepthwiseConv2D": {"groups": (1,)},
    "BatchNormalization": {"virtual_batch_size": (None,)},
}


def _single_axis(value):
    """tf.keras saved a built BatchNormalization's axis as ``[axis]``."""
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


#: class ("*": every layer) -> {key: (new key, conversion of the value)}.
VALUE_FORMS = {
    "BatchNormalization": {"axis": ("axis", _single_axis)},
    "InputLayer": {"batch_input_shape": ("batch_shape", lambda value: value)},
}


def _dtype_form(value):
    """tf.keras's ``{"class_name": "Policy", "config": {"name": ...}}``
    mixed-precision policy as the policy's name."""
    if isinstance(value, dict) and value.get("class_name") == "Policy":
        return (value.get("config") or {}).get("name", value)
    return value


def _describe(data):
    name = data.get("config", {}).get("name") if isinstance(data.get("config"), dict) else None
    name = name or data.get("name")
    return f"layer {name!r} ({data.get('class_name')})" if name else str(data.get("class_name"))


def _check_layer_dict(data, where):
    if not isinstance(data, dict) or not isinstance(data.get("class_name"), str):
        raise ValueError(
            f"{where}: every layer entry must be a dict with a 'class_name' string "
            f"and a 'config'. Received: {str(data)[:200]}"
        )
    config = data.get("config", {})
    allowed = (dict, list) if data["class_name"] == "Sequential" else dict
    if not isinstance(config, allowed):
        raise ValueError(
            f"{where}: the config of {_describe(data)} must be a dict. "
            f"Received: config={str(config)[:200]}"
        )


def _refuse_code_layer(data, custom_objects):
    class_name = data["class_name"]
    if class_name in CODE_LAYERS and class_name not in custom_objects:
        raise ValueError(
            f"The model has a {class_name} layer ({_describe(data)}): its computation is "
            "Python code stored in the file, which sepconv never runs. Rebuild that step "
            f"as a layer class and pass it as custom_objects={{'{class_name}': YourLayer}} "
            f"(its from_config receives the stored config). Received: class_name={class_name!r}"
        )


def _translate_keys(class_name, config):
    """The config with the table's rows applied, keys kept in their order."""
    dropped = DROPPED_KEYS.get(class_name, {})
    forms = VALUE_FORMS.get(class_name, {})
    translated = {}
    for key, value in config.items():
        if key in dropped:
            harmless = dropped[key]
            if harmless is not _ANY and value not in harmless:
                raise ValueError(
                    f"Layer {config.get('name')!r} ({class_name}) was saved with "
                    f"{key}={value!r}; Keras 3 has no `{key}` for {class_name}, and only "
                    f"{harmless[0]!r} means the same as its absence. Received: {key}={value!r}"
                )
        elif key in forms:
            new_key, convert = forms[key]
            translated[new_key] = convert(value)
        elif key == "dtype":
            translated[key] = _dtype_form(value)
        else:
            translated[key] = value
    return translated


# ------------------------------------------------------------ functional graphs
def _starts_with_own_node(data):
    """Whether tf.keras counted a node of this nested model before its first
    call: functional models, and Sequential models given an input shape."""
    if data["class_name"] in ("Functional", "Model"):
        return True
    if data["class_name"] != "Sequential":
        return False
    layers = data["config"].get("layers") or [{}]
    first = layers[0] if isinstance(layers[0], dict) else {}
    first_config = first.get("config") if isinstance(first.get("config"), dict) else {}
    return first.get("class_name") == "InputLayer" or "batch_input_shape" in first_config \
        or "batch_shape" in first_config


def _is_history(value):
    return (isinstance(value, list) and len(value) >= 3 and isinstance(value[0], str)
            and isinstance(value[1], int) and not isinstance(value[1], bool))


def _shift(history, shifted, where):
    if history[0] not in shifted:
        return list(history)
    if history[1] < 1:
        raise ValueError(
            f"{where}: nested model {history[0]!r} is referenced at node {history[1]}, but "
            "tf.keras numbers a nested model's calls from 1. Received: "
            f"{history!r}"
        )
    return [history[0], history[1] - 1] + list(history[2:])


def _shift_structure(value, shifted, where):
    if _is_history(value):
        return _shift(value, shifted, where)
    if isinstance(value, dict):
        return {key: _shift_structure(item, shifted, where) for key, item in value.items()}
    if isinstance(value, list):
        return [_shift_structure(item, shifted, where) for item in value]
    return value


def _is_keras2_graph(layers):
    return any(isinstance(node, list)
               for data in layers if isinstance(data, dict)
               for node in data.get("inbound_nodes") or [])


def _unwrap_single(structure):
    """tf.keras wrote a lone input or output as ``[[name, node, tensor]]``
    and unwrapped it again when loading."""
    if isinstance(structure, list) and len(structure) == 1 and _is_history(structure[0]):
        return structure[0]
    return structure


def _translate_functional(config, custom_objects, where):
    layers = config.get("layers")
    if not isinstance(layers, list):
        raise ValueError(
            f"{where}: a functional model config needs a 'layers' list. "
            f"Received: layers={str(layers)[:200]}"
        )
    translated = dict(config)
    translated["layers"] = []
    for data in layers:
        new = translate_layer(data, custom_objects, where)
        if "inbound_nodes" in data:
            new["inbound_nodes"] = data["inbound_nodes"]
        new.setdefault("name", new["config"].get("name"))
        translated["layers"].append(new)
    if _is_keras2_graph(layers):
        shifted = {data["name"] for data in translated["layers"] if _starts_with_own_node(data)}
        for data in translated["layers"]:
            data["inbound_nodes"] = [
                [_shift(entry, shifted, where) if _is_history(entry) else entry
                 for entry in node] if isinstance(node, list) else node
                for node in data.get("inbound_nodes") or []
            ]
        for key in ("input_layers", "output_layers"):
            if key in translated:
                translated[key] = _unwrap_single(
                    _shift_structure(translated[key], shifted, where))
    return translated


def _translate_sequential(config, custom_objects, where):
    if isinstance(config, list):  # Keras 2.0-2.2: the config was the layer list
        config = {"layers": config}
    layers = config.get("layers")
    if not isinstance(layers, list):
        raise ValueError(
            f"{where}: a Sequential config needs a 'layers' list. "
            f"Received: layers={str(layers)[:200]}"
        )
    translated = dict(config)
    translated["layers"] = [translate_layer(data, custom_objects, where) for data in layers]
    return translated


def translate_layer(data, custom_objects=None, where="the model config"):
    """A serialized layer or model (``{"class_name", "config", ...}``) as
    Keras 3 has it; nested models are translated whole. ``data`` is not
    changed. ``where`` prefixes error messages (e.g. the file name)."""
    custom_objects = custom_objects or {}
    _check_layer_dict(data, where)
    _refuse_code_layer(data, custom_objects)
    class_name = data["class_name"]
    if class_name in custom_objects:
        return copy.deepcopy(data)
    class_name = CLASS_ALIASES.get(class_name, class_name)
    config = data.get("config", {})
    translated = {key: value for key, value in data.items()
                  if key not in ("config", "inbound_nodes")}
    translated["class_name"] = class_name
    if class_name == "Sequential":
        translated["config"] = _translate_sequential(config, custom_objects, where)
    elif class_name in MODEL_CLASSES:
        translated["config"] = _translate_functional(config, custom_objects, where)
    else:
        translated["config"] = _translate_keys(class_name, copy.deepcopy(config))
    return translated
