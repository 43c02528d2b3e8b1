"""Layers and models to and from Keras 3's config dicts.

A layer serializes as Keras 3 writes it into ``config.json`` of a ``.keras``
archive: ``module``, ``class_name``, ``config`` (its ``get_config()``),
``registered_name`` and, once built, ``build_config``. Deserializing only
looks classes up (sepconv's built-ins, then ``custom_objects``): nothing in a
config is executed.

>>> import sepconv
>>> layer = sepconv.layers.Conv2D(4, 3, name="c")
>>> data = serialize_layer(layer)
>>> data["module"], data["class_name"], data["registered_name"]
('keras.layers', 'Conv2D', None)
>>> deserialize_layer(data).get_config() == layer.get_config()
True
"""

from __future__ import annotations

import inspect

_MODEL_MODULES = {"Functional": "keras.src.models.functional", "Sequential": "keras",
                  "Model": "keras.src.models.model"}


def _builtin_classes():
    """Class name -> class for every layer and model sepconv ships."""
    from sepconv import layers, models

    found = {}
    for namespace in (layers, models):
        for name in dir(namespace):
            obj = getattr(namespace, name)
            if inspect.isclass(obj) and hasattr(obj, "get_config"):
                found.setdefault(obj.__name__, obj)
                found.setdefault(name, obj)
    return found


def _is_builtin(cls):
    return cls.__module__.startswith("sepconv.")


def serialize_layer(layer):
    """``layer`` (or model) as a Keras 3 serialized-object dict."""
    cls = type(layer)
    if _is_builtin(cls):
        module = _MODEL_MODULES.get(cls.__name__, "keras.layers")
        registered_name = None
    else:
        module, registered_name = cls.__module__, cls.__name__
    data = {
        "module": module,
        "class_name": cls.__name__,
        "config": layer.get_config(),
        "registered_name": registered_name,
    }
    build_config = layer.get_build_config()
    if build_config is not None:
        data["build_config"] = build_config
    compile_config = getattr(layer, "get_compile_config", lambda: None)()
    if compile_config is not None:
        data["compile_config"] = compile_config
    return data


def layer_class(data, custom_objects=None):
    """The class a serialized layer dict names (``custom_objects`` first)."""
    custom_objects = custom_objects or {}
    names = [n for n in (data.get("registered_name"), data.get("class_name")) if n]
    for name in names:
        if name in custom_objects:
            return custom_objects[name]
        short = name.split(">")[-1]
        if short in custom_objects:
            return custom_objects[short]
    builtins = _builtin_classes()
    class_name = data.get("class_name")
    if class_name in builtins and data.get("registered_name") in (None, class_name):
        return builtins[class_name]
    raise ValueError(
        f"Unknown layer class {class_name!r}: it is neither a sepconv built-in nor in "
        "`custom_objects`. Pass the class as custom_objects={'"
        f"{data.get('registered_name') or class_name}': TheClass}}. Received: config={data!r}"
    )


def deserialize_layer(data, custom_objects=None):
    """A new layer (or model) from :func:`serialize_layer` output or Keras's."""
    if not isinstance(data, dict) or "class_name" not in data:
        raise TypeError(
            "A serialized layer must be a dict with 'class_name' and 'config'. "
            f"Received: config={data!r}"
        )
    cls = layer_class(data, custom_objects)
    config = data.get("config") or {}
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        layer = cls.from_config(config, custom_objects=custom_objects)
    else:
        layer = cls.from_config(config)
    build_config = data.get("build_config")
    if build_config and not layer.built:
        layer.build_from_config(build_config)
    return layer
