"""Name lookup and Keras 3 serialization shared by initializers, regularizers,
constraints and activations.

Each of those modules builds one :class:`Registry` of its built-ins and
exposes the registry's ``get``, ``serialize`` and ``deserialize``. A built-in
object serializes to the dict Keras 3 writes, so a config made here can be
read by Keras and the other way round:

>>> class Scale(Configurable):
...     def __init__(self, factor=1.0):
...         self.factor = factor
...     def get_config(self):
...         return {"factor": self.factor}
>>> reg = Registry("scaler", "keras.scalers", [(Scale, "scale")])
>>> reg.serialize(Scale(2.0))
{'module': 'keras.scalers', 'class_name': 'Scale', 'config': {'factor': 2.0}, 'registered_name': None}
>>> reg.get("scale")
Scale(factor=1.0)
>>> reg.deserialize({"class_name": "Scale", "config": {"factor": 3.0}})
Scale(factor=3.0)
>>> reg.get("sclae")
Traceback (most recent call last):
...
ValueError: Could not interpret scaler identifier: 'sclae'. ... Received: identifier='sclae'
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import sys
import types

import numpy as np
import torch


class Configurable:
    """Mixin for objects rebuilt from ``get_config()``: ``from_config`` and a
    readable ``repr`` built from the config."""

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """A new instance from a ``get_config()`` dict."""
        return cls(**config)

    def __repr__(self):
        try:
            config = self.get_config()
        except NotImplementedError:
            config = {}
        args = ", ".join(f"{key}={value!r}" for key, value in config.items())
        return f"{type(self).__name__}({args})"


def serialize_value(value):
    """A config value as plain JSON-friendly data, as Keras writes it: NumPy
    scalars become Python numbers, arrays and tensors become ``__numpy__`` /
    ``__tensor__`` dicts; lists, tuples and dicts are converted item by item."""
    if isinstance(value, dict):
        return {key: serialize_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(serialize_value(item) for item in value)
    if isinstance(value, torch.Tensor):
        return {
            "class_name": "__tensor__",
            "config": {
                "value": value.detach().cpu().tolist(),
                "dtype": str(value.dtype).replace("torch.", ""),
            },
        }
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return {
            "class_name": "__numpy__",
            "config": {"value": value.tolist(), "dtype": str(value.dtype)},
        }
    if isinstance(value, (np.generic, np.ndarray)):
        return value.item()
    return value


def deserialize_value(value):
    """The inverse of :func:`serialize_value` (tensors come back as torch)."""
    if isinstance(value, dict):
        if value.get("class_name") == "__tensor__":
            config = value["config"]
            return torch.tensor(config["value"], dtype=getattr(torch, config["dtype"]))
        if value.get("class_name") == "__numpy__":
            config = value["config"]
            return np.array(config["value"], dtype=config["dtype"])
        return {key: deserialize_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [deserialize_value(item) for item in value]
    return value


def _registration(function, *args):
    """``sepconv.saving.object_registration.<function>(*args)`` (registered and
    scoped user objects), or None while that module is not imported yet: no
    object can be registered before it is, and importing it from here would
    import sepconv.saving in the middle of importing the layers."""
    module = sys.modules.get("sepconv.saving.object_registration")
    return None if module is None else getattr(module, function)(*args)


class Registry:
    """The built-ins of one kind of object and how to look them up.

    Args:
        kind: what the objects are, for messages ("initializer").
        module: Keras's public module, written into configs
            ("keras.initializers").
        entries: ``(object, snake_name)`` pairs. A class is found by its class
            name and its snake_case name; a function by its name.
        aliases: extra names for built-ins, e.g. ``{"swish": silu}``.
        presets: names that build a configured instance, e.g.
            ``{"l1_l2": lambda: L1L2(0.01, 0.01)}``.
        module_overrides: a built-in class whose Keras module differs from
            ``module`` (``Initializer`` lives in ``keras``).
        none_value: what ``get(None)`` returns.
        functions_as_names: serialize built-in functions as their bare name
            (Keras does this for activations).
    """

    def __init__(self, kind, module, entries, *, aliases=None, presets=None,
                 module_overrides=None, none_value=None, functions_as_names=False):
        self.kind = kind
        self.module = module
        self.names = {}
        self.builtins = {}
        for obj, snake_name in entries:
            self.names[obj.__name__] = obj
            self.names[snake_name] = obj
            self.builtins[obj] = obj.__name__
        self.names.update(aliases or {})
        self.presets = dict(presets or {})
        self.module_overrides = dict(module_overrides or {})
        self.none_value = none_value
        self.functions_as_names = functions_as_names

    # -- lookup -----------------------------------------------------------

    def _unknown(self, identifier, what):
        known = sorted(set(self.names) | set(self.presets))
        close = difflib.get_close_matches(str(identifier), known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        examples = ", ".join(repr(name) for name in known if name[:1].islower())
        return ValueError(
            f"Could not interpret {self.kind} {what}: {identifier!r}. It must be "
            f"None, a built-in name ({examples}), a class name, a config dict, "
            f"a class, an instance or a callable.{hint} "
            f"Received: {what}={identifier!r}"
        )

    def _by_name(self, name, custom_objects=None):
        """The object or class registered under ``name``, or None."""
        user_object = _registration("get_registered_object", name, custom_objects)
        if user_object is not None:
            return user_object
        if custom_objects and name in custom_objects:
            return custom_objects[name]
        if name in self.presets:
            return self.presets[name]()
        return self.names.get(name)

    def get(self, identifier, argument="identifier"):
        """The object an identifier stands for (see the module docstrings).
        ``argument`` is the user-facing argument name errors report
        (``"kernel_initializer"``)."""
        if identifier is None:
            return self.none_value
        if isinstance(identifier, dict):
            obj = self.deserialize(identifier)
        elif isinstance(identifier, str):
            obj = self._by_name(identifier)
            if obj is None:
                raise self._unknown(identifier, argument)
        elif callable(identifier):
            obj = identifier
        else:
            raise TypeError(
                f"Could not interpret {self.kind} {argument}: {identifier!r}. It "
                "must be None, a string name, a config dict, a class, an "
                f"instance or a callable. Received: {argument}={identifier!r} "
                f"of type {type(identifier).__name__}"
            )
        return obj() if inspect.isclass(obj) else obj

    # -- serialization ----------------------------------------------------

    def serialize(self, obj):
        """``obj`` as Keras 3 serializes it (a dict; a name for built-in
        functions when ``functions_as_names``)."""
        if obj is None:
            return None
        if isinstance(obj, types.FunctionType):
            return self._serialize_function(obj)
        cls = type(obj)
        if not hasattr(obj, "get_config"):
            raise TypeError(
                f"Cannot serialize {self.kind} {obj!r}: it must be a built-in, "
                "a named function or an object with a `get_config()` method. "
                f"Received: {self.kind}={obj!r}"
            )
        config = obj.get_config()
        if not isinstance(config, dict):
            raise TypeError(
                f"`get_config()` of {cls.__name__} must return a dict. "
                f"Received: config={config!r}"
            )
        if cls in self.builtins:
            module = self.module_overrides.get(cls, self.module)
            registered_name = None
        else:
            module = None if cls.__module__ == "__main__" else cls.__module__
            registered_name = _registration("get_registered_name", cls) or cls.__name__
        return {
            "module": module,
            "class_name": cls.__name__,
            "config": serialize_value(config),
            "registered_name": registered_name,
        }

    def _serialize_function(self, fn):
        if fn in self.builtins:
            if self.functions_as_names:
                return fn.__name__
            return {"module": self.module, "class_name": "function",
                    "config": fn.__name__, "registered_name": fn.__name__}
        if fn.__name__ == "<lambda>":
            raise ValueError(
                f"Cannot serialize a lambda as {self.kind}: a lambda has no name "
                "to look it up by when loading. Use a named function (and pass "
                f"it in `custom_objects` when deserializing). Received: {fn!r}"
            )
        name = _registration("get_registered_name", fn) or fn.__name__
        return {"module": fn.__module__, "class_name": "function",
                "config": name, "registered_name": name}

    def deserialize(self, config, custom_objects=None):
        """The object a config describes: a name, or a dict in Keras 3
        (``module``/``class_name``/``config``/``registered_name``) or older
        (``class_name``/``config``) form. ``custom_objects`` maps names to
        user classes or functions and is searched first."""
        if config is None:
            return None
        if isinstance(config, str):
            obj = self._by_name(config, custom_objects)
            if obj is None:
                raise self._unknown(config, "config")
            return obj() if inspect.isclass(obj) else obj
        if not isinstance(config, dict):
            raise TypeError(
                f"A {self.kind} config must be a name or a dict with "
                f"'class_name' and 'config'. Received: config={config!r}"
            )
        if "class_name" not in config:
            raise ValueError(
                f"A {self.kind} config dict must have a 'class_name' key. "
                f"Received: config={config!r}"
            )
        class_name = config["class_name"]
        inner = config.get("config")
        if class_name == "function":
            names = [config.get("registered_name"), inner]
        else:
            names = [config.get("registered_name"), class_name]
        obj = None
        for name in names:
            if isinstance(name, str):
                obj = self._by_name(name, custom_objects)
                if obj is not None:
                    break
        if obj is None:
            shown = inner if class_name == "function" else class_name
            raise ValueError(
                f"Could not deserialize {self.kind}: {shown!r} is neither a "
                "built-in nor in `custom_objects`. "
                f"Received: config={config!r}"
            )
        if not inspect.isclass(obj):
            return obj
        if inner is None:
            inner = {}
        if not isinstance(inner, dict):
            raise TypeError(
                f"The 'config' of a {self.kind} class must be a dict. "
                f"Received: config={config!r}"
            )
        # custom_objects also reach the configs nested in this one (e.g. a
        # user schedule inside an optimizer's config).
        scope = _registration("CustomObjectScope", custom_objects) if custom_objects else None
        try:
            with scope or contextlib.nullcontext():
                return obj.from_config(inner)
        except TypeError as e:
            raise TypeError(
                f"Could not rebuild {class_name} from its config: {e}. "
                f"Received: config={config!r}"
            ) from None
