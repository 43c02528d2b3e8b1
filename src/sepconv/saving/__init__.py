"""Keras 3 serialization of layers and models (configs; files come with the
saving module's archive readers and writers)."""

from sepconv.saving.api import load_model, load_weights, save_model, save_weights
from sepconv.saving.serialization import deserialize_layer, serialize_layer

__all__ = ["load_model", "load_weights", "save_model", "save_weights",
           "deserialize_layer", "serialize_layer"]
