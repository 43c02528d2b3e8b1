"""User classes and functions that configs may name: Keras 3's registry.

``@register_keras_serializable(package, name)`` records an object globally
under ``"package>name"``; ``custom_object_scope({...})`` adds objects for the
current thread while a ``with`` block runs; ``custom_objects=`` arguments add
them for one call. Deserialization only *looks names up* here: nothing in a
config is imported or executed.

>>> @register_keras_serializable(package="doc")
... class Scale:
...     def __init__(self, factor=1.0):
...         self.factor = factor
...     def get_config(self):
...         return {"factor": self.factor}
>>> get_registered_name(Scale)
'doc>Scale'
>>> get_registered_object("doc>Scale") is Scale
True
>>> with custom_object_scope({"half": 0.5}):
...     get_registered_object("half")
0.5
>>> get_registered_object("half") is None
True

Unlike Keras 3, whose inner scope hides the outer one, scopes nest: an inner
scope adds to the objects of the enclosing ones (Keras 2's behaviour).
"""

from __future__ import annotations

import inspect
import threading

_GLOBAL_CUSTOM_OBJECTS = {}  # "package>name" -> object
_GLOBAL_CUSTOM_NAMES = {}  # object -> "package>name"


class _ScopeState(threading.local):
    def __init__(self):
        self.objects = {}


_scope = _ScopeState()


class CustomObjectScope:
    """Make custom classes and functions findable by name while a ``with``
    block runs, in this thread only (``custom_object_scope`` is an alias).

    Args:
        *custom_objects: dicts ``{name: class_or_function}`` (or None); later
            ones win on equal names. Nested scopes add to the enclosing ones.

    >>> class Twice:
    ...     def get_config(self):
    ...         return {}
    >>> with CustomObjectScope({"Twice": Twice}):
    ...     with CustomObjectScope({"other": print}):
    ...         sorted(n for n in ("Twice", "other") if get_registered_object(n))
    ['Twice', 'other']
    """

    def __init__(self, *custom_objects):
        merged = {}
        for index, objects in enumerate(custom_objects):
            if objects is None:
                continue
            if not isinstance(objects, dict):
                raise TypeError(
                    "custom_object_scope takes dicts mapping names to classes or "
                    f"functions. Received: custom_objects[{index}]={objects!r} "
                    f"of type {type(objects).__name__}"
                )
            merged.update(objects)
        self.custom_objects = merged
        self._saved = []

    def __enter__(self):
        self._saved.append(_scope.objects)
        _scope.objects = {**_scope.objects, **self.custom_objects}
        return self

    def __exit__(self, *exc_info):
        _scope.objects = self._saved.pop()
        return False


custom_object_scope = CustomObjectScope


def get_custom_objects():
    """The live global dict of registered objects (``"package>name"`` keys).

    Scoped objects are not in it. Adding an entry by hand registers it.

    >>> "doc>nothing" in get_custom_objects()
    False
    """
    return _GLOBAL_CUSTOM_OBJECTS


def _check_name_part(value, argument):
    if not isinstance(value, str) or not value:
        raise TypeError(
            f"register_keras_serializable's `{argument}` must be a non-empty string. "
            f"Received: {argument}={value!r}"
        )
    if ">" in value:
        raise ValueError(
            f"register_keras_serializable's `{argument}` must not contain '>': it "
            f"separates the package from the name in 'package>name'. "
            f"Received: {argument}={value!r}"
        )


def _same_definition(old, new):
    """Whether ``new`` redefines ``old`` (a re-run notebook cell or a reloaded
    module): the same module and qualified name."""
    return (getattr(old, "__module__", None) == getattr(new, "__module__", None)
            and getattr(old, "__qualname__", None) == getattr(new, "__qualname__", None))


def register_keras_serializable(package="Custom", name=None):
    """Decorator recording a class or function under ``"package>name"``
    (``name`` defaults to its ``__name__``), so configs that name it load
    without ``custom_objects`` and serialized configs carry that name.

    A class must have ``get_config()``. Registering a name that already
    belongs to another object is an error, unless the new object redefines
    the old one (same module and qualified name: a re-run cell or reloaded
    module), which replaces it.

    >>> @register_keras_serializable("doc", name="triple")
    ... def times_three(x):
    ...     return 3 * x
    >>> get_registered_name(times_three), get_registered_object("doc>triple")(2)
    ('doc>triple', 6)
    """
    _check_name_part(package, "package")
    if name is not None:
        _check_name_part(name, "name")

    def decorator(arg):
        if inspect.isclass(arg) and not hasattr(arg, "get_config"):
            raise ValueError(
                "Cannot register a class that does not have a get_config() method: "
                "its config is what gets saved. "
                f"Received: {arg.__module__}.{arg.__qualname__}"
            )
        if not inspect.isclass(arg) and not callable(arg):
            raise TypeError(
                "register_keras_serializable decorates classes and functions. "
                f"Received: {arg!r} of type {type(arg).__name__}"
            )
        registered_name = f"{package}>{name if name is not None else arg.__name__}"
        existing = _GLOBAL_CUSTOM_OBJECTS.get(registered_name)
        if existing is not None and existing is not arg and not _same_definition(existing, arg):
            raise ValueError(
                f"The name {registered_name!r} is already registered to "
                f"{existing.__module__}.{existing.__qualname__}; registered names must "
                "be unique: pass another `package` or `name`. "
                f"Received: {arg.__module__}.{arg.__qualname__}"
            )
        if existing is not None and existing is not arg:
            _GLOBAL_CUSTOM_NAMES.pop(existing, None)
        _GLOBAL_CUSTOM_OBJECTS[registered_name] = arg
        _GLOBAL_CUSTOM_NAMES[arg] = registered_name
        return arg

    return decorator


def get_registered_name(obj):
    """The name ``obj`` is registered under, else its ``__name__``.

    >>> get_registered_name(len)
    'len'
    """
    try:
        return _GLOBAL_CUSTOM_NAMES[obj]
    except (KeyError, TypeError):  # TypeError: an unhashable object
        return obj.__name__


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object ``name`` stands for, or None: searched in the active
    ``custom_object_scope``\\ s, then the registered objects, then
    ``custom_objects``, then ``module_objects`` (Keras's order).

    >>> get_registered_object("f", custom_objects={"f": abs}) is abs
    True
    """
    for objects in (_scope.objects, _GLOBAL_CUSTOM_OBJECTS, custom_objects, module_objects):
        if objects and name in objects:
            return objects[name]
    return None


def active_custom_objects(custom_objects=None):
    """``custom_objects`` merged with the scoped and registered objects (the
    latter win on equal names, as in Keras): what a deserialization call sees.

    >>> active_custom_objects({"x": 1})["x"]
    1
    """
    return {**(custom_objects or {}), **_scope.objects, **_GLOBAL_CUSTOM_OBJECTS}


__all__ = [
    "CustomObjectScope",
    "active_custom_objects",
    "custom_object_scope",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "register_keras_serializable",
]
