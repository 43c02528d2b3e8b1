"""Objects to and from Keras 3's serialized-object dicts.

:func:`serialize_keras_object` writes what ``keras.saving.serialize_keras_object``
writes for the same object: plain values as they are, arrays and tensors as
``__numpy__`` / ``__tensor__`` dicts, and objects as ``module``,
``class_name``, ``config`` (their ``get_config()``), ``registered_name`` and,
for layers, ``build_config``. :func:`deserialize_keras_object` reads those
dicts, Keras's included.

Deserializing only *looks classes up*: sepconv's built-ins (for ``keras.*``
modules) and user objects registered, scoped or passed in ``custom_objects``.
It never imports a module a config names, never evaluates text, never loads
bytecode or pickles; a Python lambda in a config is refused (see
:func:`deserialize_keras_object`).

>>> import sepconv
>>> layer = sepconv.layers.Conv2D(4, 3, name="c")
>>> data = serialize_keras_object(layer)
>>> data["module"], data["class_name"], data["registered_name"]
('keras.layers', 'Conv2D', None)
>>> deserialize_keras_object(data).get_config() == layer.get_config()
True
>>> serialize_keras_object({"size": (2, 3), "init": sepconv.initializers.Zeros()})
{'size': (2, 3), 'init': {'module': 'keras.initializers', 'class_name': 'Zeros', 'config': {}, 'registered_name': None}}
"""

from __future__ import annotations

import base64
import functools
import inspect
import marshal
import reprlib
import threading
import types
import warnings

import numpy as np
import torch

from sepconv.saving.object_registration import (
    CustomObjectScope,
    active_custom_objects,
    get_registered_name,
    get_registered_object,
)
from sepconv.utils.registry import deserialize_value, serialize_value

_PLAIN_TYPES = (str, int, float, bool)
_MISSING = object()
_SPECIAL_VALUES = ("__tensor__", "__numpy__")


class UnknownObjectError(ValueError, TypeError):
    """A config names a class or function that no lookup finds. Both a
    ValueError and a TypeError (Keras raises TypeError here)."""


def short_repr(value):
    """A bounded ``repr`` for error messages (a config can describe a whole model).

    >>> short_repr({"layers": list(range(100))})
    "{'layers': [0, 1, 2, 3, 4, 5, 6, 7, ...]}"
    """
    shown = reprlib.Repr()
    shown.maxlevel, shown.maxdict, shown.maxlist, shown.maxtuple = 3, 8, 8, 8
    shown.maxstring = shown.maxother = 80
    return shown.repr(value)


# -- safe mode ---------------------------------------------------------------------


class _SafeModeState(threading.local):
    def __init__(self):
        self.value = None


_safe_mode = _SafeModeState()


class SafeModeScope:
    """Fix ``safe_mode`` for the deserialization calls nested in a ``with``
    block (this thread only), as Keras's scope of that name: a scope's value
    wins over the ``safe_mode`` argument of the calls inside it.

    >>> with SafeModeScope(False):
    ...     in_safe_mode()
    False
    >>> in_safe_mode() is None
    True
    """

    def __init__(self, safe_mode=True):
        self.safe_mode = safe_mode
        self._saved = []

    def __enter__(self):
        self._saved.append(_safe_mode.value)
        _safe_mode.value = bool(self.safe_mode)
        return self

    def __exit__(self, *exc_info):
        _safe_mode.value = self._saved.pop()
        return False


def in_safe_mode():
    """The enclosing :class:`SafeModeScope`'s value, or None outside any."""
    return _safe_mode.value


# -- sepconv's built-ins and the Keras modules that name them ----------------------------

_KINDS = ("layers", "models", "initializers", "regularizers", "constraints", "activations",
          "losses", "metrics", "optimizers", "schedules", "dtype_policies", "keras")
_FUNCTION_KINDS = ("activations", "initializers", "regularizers", "constraints", "losses")


def _registries():
    from sepconv import (
        activations,
        constraints,
        initializers,
        losses,
        metrics,
        optimizers,
        regularizers,
    )
    from sepconv.training import schedules

    # The registries' name tables; their modules keep them private.
    return {"activations": activations._REGISTRY, "constraints": constraints._REGISTRY,
            "initializers": initializers._REGISTRY, "regularizers": regularizers._REGISTRY,
            "losses": losses._REGISTRY, "metrics": metrics._REGISTRY,
            "optimizers": optimizers._REGISTRY, "schedules": schedules._REGISTRY}


@functools.lru_cache(maxsize=None)
def _builtin_tables():
    """Kind -> {name: class or function} of what sepconv ships, and class ->
    (Keras module, registered_name) for serializing it."""
    from sepconv import constraints, initializers, layers, regularizers
    from sepconv.dtype_policies import DTypePolicy, FloatDTypePolicy
    from sepconv.models import Functional, Model, Sequential

    tables = {kind: {} for kind in _KINDS}
    locations = {}
    for name in dir(layers):
        obj = getattr(layers, name)
        if inspect.isclass(obj) and hasattr(obj, "get_config"):
            tables["layers"].setdefault(obj.__name__, obj)
            tables["layers"].setdefault(name, obj)
            locations.setdefault(obj, ("keras.layers", None))
    tables["models"].update(Functional=Functional, Model=Model, Sequential=Sequential)
    for kind, registry in _registries().items():
        tables[kind].update(registry.names)
        for obj in registry.builtins:
            if inspect.isclass(obj):
                locations[obj] = (registry.module_overrides.get(obj, registry.module), None)
    tables["dtype_policies"].update(DTypePolicy=DTypePolicy, FloatDTypePolicy=FloatDTypePolicy)
    tables["keras"].update(
        Layer=layers.Layer, Model=Model, Sequential=Sequential, DTypePolicy=DTypePolicy,
        FloatDTypePolicy=FloatDTypePolicy,
        Initializer=initializers.Initializer, Regularizer=regularizers.Regularizer,
        Constraint=constraints.Constraint, Loss=tables["losses"]["Loss"],
        Optimizer=tables["optimizers"]["Optimizer"])
    locations.update({
        layers.Layer: ("keras", None), Model: ("keras", None), Sequential: ("keras", None),
        DTypePolicy: ("keras", None), FloatDTypePolicy: ("keras", None),
        Functional: ("keras.src.models.functional", "Functional"),
    })
    return tables, locations


def _is_keras_module(module):
    return isinstance(module, str) and (module == "keras" or module.startswith("keras."))


def _kinds_for(module, function=False):
    """The built-in tables a ``module`` entry points to: the one it names
    (``keras.layers``, ``keras.src.initializers.constant``, ``keras``), else
    all (a Keras 2 config without a module, a function from ``builtins``,
    another ``keras.*`` module)."""
    if module is _MISSING or module == "builtins":
        return _FUNCTION_KINDS if function else _KINDS
    if module == "keras":
        return ("keras",)
    named = [part for part in module.split(".")[1:] if part in _KINDS]
    if named:
        return (named[-1],)
    return _FUNCTION_KINDS if function else _KINDS


def _builtin(module, name, function=False):
    tables, _ = _builtin_tables()
    for kind in _kinds_for(module, function):
        if name in tables[kind]:
            return tables[kind][name]
    return None


def _public_location(cls):
    """(Keras module, registered_name) of a sepconv built-in class, else None."""
    return _builtin_tables()[1].get(cls)


# -- serialization -------------------------------------------------------------------


def dump_function(fn):
    """``(code, defaults, closure)`` of a Python function as Keras writes a
    lambda: ``code`` is its marshalled bytecode in base64. Only ever
    *written* (for Keras to read); sepconv never loads it.

    >>> code, defaults, closure = dump_function(lambda x, k=2: x * k)
    >>> isinstance(code, str), defaults, closure
    (True, (2,), None)
    """
    code = base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii")
    closure = None
    if fn.__closure__:
        closure = tuple(cell.cell_contents for cell in fn.__closure__)
    return code, fn.__defaults__, closure


def is_lambda(fn):
    """Whether ``fn`` is a Python ``lambda`` (which has no name to save)."""
    return isinstance(fn, types.FunctionType) and fn.__name__ == "<lambda>"


def _serialize_dict(config):
    return {key: serialize_keras_object(value) for key, value in config.items()}


def _inner_config(obj):
    if isinstance(obj, types.FunctionType):
        return get_registered_name(obj)
    if hasattr(obj, "get_config"):
        config = obj.get_config()
        if not isinstance(config, dict):
            raise TypeError(
                f"The get_config() method of {type(obj).__name__} must return a dict. "
                f"Received: config={short_repr(config)}"
            )
        return _serialize_dict(config)
    if hasattr(obj, "__name__"):
        return get_registered_name(obj)
    raise TypeError(
        f"Cannot serialize an object of type {type(obj).__name__}: to be serializable, "
        "a class must implement get_config() (and from_config() to be loaded back). "
        f"Received: obj={short_repr(obj)}"
    )


def serialize_keras_object(obj):
    """``obj`` as the JSON-friendly value Keras 3 writes for it.

    Plain values, lists, tuples and dicts keep their shape (items
    serialized); NumPy scalars become Python numbers; arrays and tensors
    become ``__numpy__`` / ``__tensor__`` dicts; functions are saved by
    (registered) name; objects with ``get_config()`` as ``{"module",
    "class_name", "config", "registered_name"}`` plus ``build_config`` /
    ``compile_config`` when they have them. A lambda is written as Keras
    writes it (base64 bytecode, with a warning): sepconv cannot load it back.

    >>> import numpy as np
    >>> serialize_keras_object([np.float32(0.5), np.arange(2)])
    [0.5, {'class_name': '__numpy__', 'config': {'value': [0, 1], 'dtype': 'int64'}}]
    """
    if obj is None or isinstance(obj, _PLAIN_TYPES):
        return obj
    if isinstance(obj, (list, tuple)):
        items = [serialize_keras_object(item) for item in obj]
        return tuple(items) if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        return _serialize_dict(obj)
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {
            "start": serialize_keras_object(obj.start),
            "stop": serialize_keras_object(obj.stop),
            "step": serialize_keras_object(obj.step)}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    special = _serialize_special(obj)
    if special is not None:
        return special
    if is_lambda(obj):
        warnings.warn(
            "The object being serialized includes a Python lambda, saved as bytecode as "
            "Keras does. Keras loads it only with safe_mode=False; sepconv never runs "
            "bytecode from a file and cannot load it. Use a named function instead "
            "(registered, or passed in custom_objects when loading).",
            stacklevel=2,
        )
        return {"class_name": "__lambda__", "config": {"value": dump_function(obj)}}
    if inspect.isclass(obj) and hasattr(obj, "get_config"):
        raise TypeError(
            f"Cannot serialize the class {obj.__name__} itself: serialize an instance "
            f"(its get_config() describes it). Received: obj={obj!r}"
        )
    inner = _inner_config(obj)
    cls = type(obj)
    location = _public_location(cls)
    if location is not None:
        module, registered_name = location
    else:
        module, registered_name = cls.__module__, get_registered_name(cls)
    data = {
        "module": None if module == "__main__" else module,
        "class_name": cls.__name__,
        "config": inner,
        "registered_name": registered_name,
    }
    _add_build_and_compile_config(obj, data)
    return data


def _serialize_special(obj):
    """Tensors, arrays, NumPy scalars, dtypes and symbolic tensors, or None."""
    from sepconv.layers.node import KerasTensor

    if isinstance(obj, torch.Tensor) or type(obj).__module__ == "numpy":
        return serialize_value(obj)
    if isinstance(obj, torch.dtype):
        from sepconv.dtype_policies import standardize_dtype

        return standardize_dtype(obj)
    if isinstance(obj, KerasTensor):
        history = obj._keras_history
        if history is not None:
            history = [history.layer.name, history.node_index, history.tensor_index]
        return {"class_name": "__keras_tensor__",
                "config": {"shape": obj.shape, "dtype": obj.dtype, "keras_history": history}}
    return None


def _add_build_and_compile_config(obj, data):
    for key, getter in (("build_config", "get_build_config"),
                        ("compile_config", "get_compile_config")):
        if hasattr(obj, getter):
            value = getattr(obj, getter)()
            if value is not None:
                data[key] = _serialize_dict(value)


def serialize_layer(layer):
    """``layer`` (or model) as a Keras 3 serialized-object dict: the same as
    :func:`serialize_keras_object`, the name the model code uses."""
    return serialize_keras_object(layer)


# -- deserialization -----------------------------------------------------------------


def _unknown(kind, name, config):
    return UnknownObjectError(
        f"Could not locate {kind} {name!r}: it is not a sepconv built-in, not registered "
        "and not in `custom_objects`. Pass it when loading, e.g. "
        f"custom_objects={{{name!r}: {name.split('>')[-1]}}}, or decorate it with "
        "@sepconv.saving.register_keras_serializable() and import it before loading. "
        f"Received: config={short_repr(config)}"
    )


def _check_builtin_registered_name(config, name):
    explicit = config.get("registered_name")
    if explicit and explicit not in (name, config.get("class_name")):
        raise ValueError(
            f"The config names {name!r} from Keras module {config.get('module')!r}, a "
            "built-in, which has no registered name; remove its `registered_name` or pass "
            f"the class registered as {explicit!r}. Received: registered_name={explicit!r}"
        )


def _user_object(names, custom_objects):
    for name in names:
        if isinstance(name, str):
            for key in (name, name.split(">")[-1]):
                found = get_registered_object(key, custom_objects)
                if found is not None:
                    return found
    return None


def _find_function(config, custom_objects):
    fn_name = config["config"]
    if not isinstance(fn_name, str):
        raise TypeError(
            "A serialized function must have its name (a string) as 'config'. "
            f"Received: config={short_repr(config)}"
        )
    registered_name = config.get("registered_name")
    found = _user_object([fn_name, registered_name if registered_name != "function" else None],
                         custom_objects)
    if found is not None:
        return found
    module = config.get("module", _MISSING)
    if module is _MISSING or module == "builtins" or _is_keras_module(module):
        found = _builtin(module, fn_name, function=True)
        if found is not None:
            _check_builtin_registered_name(config, fn_name)
            return found
    if module == "builtins" and ">" not in fn_name:
        # Keras <= 3.6 wrote a registered function under its bare name.
        for key, value in custom_objects.items():
            if key.endswith(f">{fn_name}"):
                return value
    raise _unknown("function", fn_name, config)


def _find_class(config, custom_objects):
    class_name = config["class_name"]
    found = _user_object([config.get("registered_name", class_name), class_name],
                         custom_objects)
    if found is not None:
        return found
    module = config.get("module", _MISSING)
    if module is _MISSING or _is_keras_module(module):
        found = _builtin(module, class_name)
        if found is not None:
            _check_builtin_registered_name(config, class_name)
            return found
    raise _unknown("class", class_name, config)


def layer_class(data, custom_objects=None):
    """The class (or function) a serialized-object dict names: a user object
    (scoped, registered or in ``custom_objects``) first, then sepconv's
    built-in for a ``keras.*`` module (or a Keras 2 config without one).

    >>> layer_class({"module": "keras.layers", "class_name": "Dense", "config": {}})
    <class 'sepconv.layers.core.Dense'>
    """
    if data.get("class_name") == "function":
        return _find_function(data, active_custom_objects(custom_objects))
    return _find_class(data, active_custom_objects(custom_objects))


def _lambda_refused(config, safe_mode):
    if safe_mode:
        return ValueError(
            "Requested the deserialization of a Python lambda, which is stored as "
            "bytecode: running it could execute arbitrary code, so it is refused in safe "
            "mode. sepconv never runs bytecode from a config, even with "
            "safe_mode=False: for a Lambda layer, pass safe_mode=False together with the "
            "function itself as custom_objects={'<layer name>': function}; elsewhere use a "
            f"named function (registered or in custom_objects). Received: {short_repr(config)}"
        )
    return ValueError(
        "The config holds a Python lambda as bytecode; sepconv never runs bytecode from a "
        "config, even with safe_mode=False. Replace it by a named function (registered, "
        "or passed in custom_objects); for a Lambda layer pass the function itself as "
        f"custom_objects={{'<layer name>': function}}. Received: {short_repr(config)}"
    )


def _deserialize_special(class_name, inner, config, custom_objects, safe_mode):
    if class_name in _SPECIAL_VALUES:
        return deserialize_value({"class_name": class_name, "config": inner})
    if class_name == "__keras_tensor__":
        from sepconv.layers.node import KerasTensor

        tensor = KerasTensor(inner["shape"], dtype=inner["dtype"])
        tensor._pre_serialization_keras_history = inner.get("keras_history")
        return tensor
    if class_name == "__bytes__":
        return inner["value"].encode("utf-8")
    if class_name == "__ellipsis__":
        return Ellipsis
    if class_name == "__slice__":
        return slice(*(deserialize_keras_object(inner.get(key), custom_objects, safe_mode)
                       for key in ("start", "stop", "step")))
    if class_name == "__tuple__":  # Keras 2's JSON encoding of tuples
        return tuple(deserialize_keras_object(inner["value"], custom_objects, safe_mode))
    if class_name == "__lambda__":
        raise _lambda_refused(config, safe_mode)
    raise TypeError(
        f"Cannot deserialize a {class_name!r} value: sepconv reads __tensor__, __numpy__, "
        "__keras_tensor__, __bytes__, __slice__, __ellipsis__ and __tuple__ values "
        "(__typespec__ is TensorFlow's and has no PyTorch counterpart). "
        f"Received: config={short_repr(config)}"
    )


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """The object a serialized value describes: the inverse of
    :func:`serialize_keras_object`, and the reader of Keras 3's dicts.

    Classes and functions are looked up, never imported: first the active
    ``custom_object_scope``\\ s, registered objects and ``custom_objects``
    (by registered name, then class name), then sepconv's built-ins when the
    config's ``module`` is a Keras one. A class is rebuilt with its
    ``from_config`` (inside a scope holding ``custom_objects``, so nested
    configs find them too), then built from ``build_config``.

    A Python lambda (``"__lambda__"``) is refused: in safe mode, as by Keras;
    with ``safe_mode=False`` too, because sepconv never runs bytecode from a
    config. A ``Lambda`` layer loads when its function is supplied in
    ``custom_objects`` (see :class:`sepconv.layers.Lambda`).

    Args:
        config: a serialized value (dict, list, string, number or None).
        custom_objects: ``{name: class_or_function}`` for user objects.
        safe_mode: refuse lambdas (an enclosing :class:`SafeModeScope` wins).
        module_objects: extra ``{name: object}`` searched after
            ``custom_objects`` (Keras's argument for its submodules).

    >>> deserialize_keras_object({"class_name": "__numpy__",
    ...                           "config": {"value": [1, 2], "dtype": "int8"}})
    array([1, 2], dtype=int8)
    >>> deserialize_keras_object({"module": "x", "class_name": "Mine", "config": {},
    ...                           "registered_name": "Mine"})
    Traceback (most recent call last):
    ...
    sepconv.saving.serialization.UnknownObjectError: Could not locate class 'Mine': ...
    """
    module_objects = kwargs.pop("module_objects", None)
    kwargs.pop("printable_module_name", None)  # Keras 2's argument, for messages only
    if kwargs:
        raise TypeError(
            "deserialize_keras_object takes config, custom_objects, safe_mode and "
            f"module_objects. Received: unexpected arguments {sorted(kwargs)}"
        )
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(
            "`custom_objects` must be a dict mapping names to classes or functions. "
            f"Received: custom_objects={short_repr(custom_objects)}"
        )
    scoped = in_safe_mode()
    safe_mode = scoped if scoped is not None else bool(safe_mode)
    objects = active_custom_objects({**(module_objects or {}), **(custom_objects or {})})
    return _deserialize(config, objects, safe_mode)


def _deserialize(config, custom_objects, safe_mode):
    if config is None:
        return None
    if isinstance(config, str) and custom_objects.get(config) is not None:
        return custom_objects[config]  # a function saved by name (older formats)
    if isinstance(config, _PLAIN_TYPES):
        return config
    if isinstance(config, (list, tuple)):
        return [_deserialize(item, custom_objects, safe_mode) for item in config]
    if not isinstance(config, dict):
        raise TypeError(
            "A serialized value must be None, a number, a string, a list or a dict. "
            f"Received: config={short_repr(config)} of type {type(config).__name__}"
        )
    if "class_name" not in config or "config" not in config:
        return {key: _deserialize(value, custom_objects, safe_mode)
                for key, value in config.items()}
    class_name = config["class_name"]
    inner = config["config"] if config["config"] is not None else {}
    if isinstance(class_name, str) and class_name.startswith("__") and class_name.endswith("__"):
        return _deserialize_special(class_name, inner, config, custom_objects, safe_mode)
    if class_name == "function":
        return _find_function(config, custom_objects)
    if not isinstance(inner, dict):
        raise TypeError(
            f"The 'config' of a serialized {class_name} must be a dict. "
            f"Received: config={short_repr(config)}"
        )
    cls = _find_class(config, custom_objects)
    if isinstance(cls, types.FunctionType):
        return cls
    if not hasattr(cls, "from_config"):
        raise TypeError(
            f"Cannot rebuild {class_name!r}: {cls!r} has no from_config() method. "
            f"Received: config={short_repr(config)}"
        )
    with CustomObjectScope(custom_objects), SafeModeScope(safe_mode):
        instance = cls.from_config(inner)
        build_config = config.get("build_config")
        if build_config and not getattr(instance, "built", True):
            instance.build_from_config(build_config)
        compile_config = config.get("compile_config")
        if compile_config and hasattr(instance, "compile_from_config"):
            instance.compile_from_config(compile_config)
    return instance


def deserialize_layer(data, custom_objects=None, safe_mode=True):
    """A new layer (or model) from :func:`serialize_layer` output or Keras's."""
    if not isinstance(data, dict) or "class_name" not in data:
        raise TypeError(
            "A serialized layer must be a dict with 'class_name' and 'config'. "
            f"Received: config={short_repr(data)}"
        )
    if "config" not in data:  # older writers leave out an empty config
        data = {**data, "config": {}}
    return deserialize_keras_object(data, custom_objects=custom_objects, safe_mode=safe_mode)


__all__ = [
    "SafeModeScope",
    "UnknownObjectError",
    "deserialize_keras_object",
    "deserialize_layer",
    "dump_function",
    "in_safe_mode",
    "is_lambda",
    "layer_class",
    "serialize_keras_object",
    "serialize_layer",
    "short_repr",
]
