"""Utilities: ``clear_session`` and Keras-style naming."""

from sepconv.utils.naming import reset_names, to_snake_case, unique_name
from sepconv.saving.object_registration import (  # Keras has them in keras.utils too
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from sepconv.saving.serialization import deserialize_keras_object, serialize_keras_object

__all__ = [
    "CustomObjectScope", "clear_session", "custom_object_scope", "deserialize_keras_object",
    "get_custom_objects", "get_registered_name", "get_registered_object",
    "register_keras_serializable", "reset_names", "serialize_keras_object", "to_snake_case",
    "unique_name",
]


def clear_session():
    """Reset global state, as ``keras.utils.clear_session()``: layer names
    start again from ``conv2d``, ``separable_conv2d``, ..., and the global
    dtype policy is forgotten (the next layer takes ``floatx()`` again).

    >>> import sepconv
    >>> sepconv.utils.clear_session()
    >>> sepconv.layers.Conv2D(2, 3).name
    'conv2d'
    """
    from sepconv.dtype_policies import clear_global_policy

    reset_names()
    clear_global_policy()


