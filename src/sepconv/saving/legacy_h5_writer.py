"""Write a model as a legacy HDF5 file (``model.save("m.h5")``), the layout
Keras 3 still writes for ``.h5`` names and reads with ``keras.models.load_model``
(see :mod:`sepconv.saving.legacy_h5` for the layout and the reader).

The model config is stored as JSON in the root's ``model_config`` attribute,
the weights under ``model_weights``, one group per layer (sorted by name, as
Keras writes them), each weight a dataset named by its path, trainable weights
first. The file is written atomically: a failed save leaves the previous file.

>>> import os, tempfile, numpy as np, sepconv
>>> model = sepconv.Sequential([sepconv.Input((2,)), sepconv.layers.Dense(1, name="d")])
>>> path = os.path.join(tempfile.mkdtemp(), "model.h5")
>>> save_model_to_legacy_h5(model, path)
>>> again = sepconv.models.load_model(path)
>>> x = np.ones((1, 2), "float32")
>>> bool(np.allclose(again.predict(x, verbose=0), model.predict(x, verbose=0)))
True
"""

from __future__ import annotations

import json

import numpy as np

from sepconv.saving.atomic import atomic_write

# HDF5 refuses object headers above 64 KiB; Keras splits long attributes into
# ``name0``, ``name1``, ... below this size, and so does the reader.
_ATTRIBUTE_LIMIT = 64512
_TOP_LEVEL = "top_level_model_weights"


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"Cannot store {type(value).__name__} in a model config: {value!r}")


def _write_string_list(attrs, name, values):
    """``values`` (bytes) under ``name``, split into numbered chunks when the
    list is too large for one HDF5 attribute."""
    encoded = np.array(values, dtype=bytes) if values else np.array([], dtype="S1")
    chunks = 1
    while encoded.nbytes / chunks > _ATTRIBUTE_LIMIT:
        chunks += 1
    if chunks == 1:
        attrs[name] = encoded
        return
    for index, chunk in enumerate(np.array_split(encoded, chunks)):
        attrs[f"{name}{index}"] = chunk


def _write_weights(group, weights):
    """One dataset per weight, named by the weight's path, in ``weights``'
    order (the order the reader assigns them in)."""
    names = [weight.path.encode("utf8") for weight in weights]
    _write_string_list(group.attrs, "weight_names", names)
    for name, weight in zip(names, weights):
        group.create_dataset(name.decode("utf8"), data=weight.detach().cpu().numpy())


def _own_weights(model):
    """Weights that belong to the model itself rather than to one of its layers."""
    in_layers = {id(weight) for layer in model.layers for weight in layer.weights}
    return [weight for weight in list(model.trainable_weights) + list(model.non_trainable_weights)
            if id(weight) not in in_layers]


def _write(h5file, model):
    from sepconv.saving.keras_archive import KERAS_FORMAT_VERSION

    config = {"class_name": type(model).__name__, "config": model.get_config()}
    h5file.attrs["keras_version"] = KERAS_FORMAT_VERSION.encode("utf8")
    h5file.attrs["backend"] = b"torch"
    h5file.attrs["model_config"] = json.dumps(config, default=_json_default).encode("utf8")
    root = h5file.create_group("model_weights")
    _write_string_list(root.attrs, "layer_names",
                       [layer.name.encode("utf8") for layer in model.layers])
    root.attrs["backend"] = b"torch"
    root.attrs["keras_version"] = KERAS_FORMAT_VERSION.encode("utf8")
    for layer in sorted(model.layers, key=lambda layer: layer.name):
        _write_weights(root.create_group(layer.name),
                       list(layer.trainable_weights) + list(layer.non_trainable_weights))
    _write_weights(root.create_group(_TOP_LEVEL), _own_weights(model))


def save_model_to_legacy_h5(model, path, overwrite=True):
    """Save ``model`` (config and weights) to the legacy HDF5 file ``path``."""
    import h5py

    if not model.built:
        raise ValueError(
            f"Model '{model.name}' has no weights yet: build it (call it on data or "
            "pass an input shape) before saving it. Received: an unbuilt model"
        )
    with atomic_write(path, overwrite=overwrite) as handle:
        with h5py.File(handle, "w") as h5file:
            _write(h5file, model)
