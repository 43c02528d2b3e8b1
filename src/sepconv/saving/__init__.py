"""Keras 3 serialization of layers and models (configs; files come with the
saving module's archive readers and writers)."""

from sepconv.saving.serialization import deserialize_layer, serialize_layer

__all__ = ["deserialize_layer", "serialize_layer"]
