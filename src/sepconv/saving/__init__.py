"""Keras 3 serialization of layers and models (configs; files come with the
saving module's archive readers and writers)."""

from sepconv.saving.api import load_model, load_weights, save_model, save_weights
from sepconv.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from sepconv.saving.serialization import (
    deserialize_keras_object,
    deserialize_layer,
    serialize_keras_object,
    serialize_layer,
)

__all__ = ["load_model", "load_weights", "save_model", "save_weights",
           "deserialize_layer", "serialize_layer",
           "CustomObjectScope", "custom_object_scope", "get_custom_objects",
           "get_registered_name", "get_registered_object", "register_keras_serializable",
           "deserialize_keras_object", "serialize_keras_object"]
