"""Keras 2 / tf.keras HDF5 files (``.h5`` / ``.hdf5``), read-only.

The layout Keras 2's ``model.save("m.h5")`` and ``save_weights("w.h5")``
write (and Keras 3's legacy writer, with Keras 3 layer configs)::

    /                          attrs: model_config (JSON), keras_version, backend,
                                      training_config (when compiled)
    /model_weights             attrs: layer_names, keras_version, backend
    /model_weights/<layer>     attrs: weight_names, e.g. ["conv1/kernel:0"]
    /model_weights/<layer>/<weight name>    one dataset per weight

A weights-only file has ``layer_names`` and the layer groups at its root.
Long attribute lists are split as ``layer_names0``, ``layer_names1``, ...
A layer's weights are stored in Keras 2's order, trainable then
non-trainable.

Reading never runs anything from the file: the config is parsed as JSON and
classes are only looked up (see :mod:`sepconv.saving.legacy_config`); only
hard-linked groups and datasets stored in the file itself are read, and a
dataset is read only after its shape matched the weight it is for.

>>> import os, tempfile, h5py, numpy as np, sepconv
>>> model = sepconv.Sequential([sepconv.Input((2,)), sepconv.layers.Dense(1, name="d")])
>>> path = os.path.join(tempfile.mkdtemp(), "weights.h5")
>>> with h5py.File(path, "w") as h5file:  # a Keras 2 weights-only file
...     h5file.attrs["layer_names"] = [b"d"]
...     group = h5file.create_group("d")
...     group.attrs["weight_names"] = [b"d/kernel:0", b"d/bias:0"]
...     group["d/kernel:0"] = np.ones((2, 1))
...     group["d/bias:0"] = np.full((1,), 0.5)
>>> load_weights_from_legacy_h5(model, path)
>>> model.predict(np.ones((1, 2)), verbose=0)
array([[2.5]], dtype=float32)
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings

import numpy as np
import torch

from sepconv.utils.validation import check_bool

MODEL_WEIGHTS = "model_weights"
TOP_LEVEL_WEIGHTS = "top_level_model_weights"


# ------------------------------------------------------------------- the file
def _filename(path):
    try:
        return os.fspath(path)
    except TypeError:
        raise TypeError(
            f"`filepath` must be a str or os.PathLike. Received: filepath={path!r}"
        ) from None


@contextlib.contextmanager
def _open(path):
    """``(h5file, filename)``; HDF5 errors while reading become ValueErrors
    naming the file."""
    import h5py

    filename = _filename(path)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f"No such file: {filename!r}")
    try:
        h5file = h5py.File(filename, "r")
    except OSError as error:
        raise ValueError(
            f"{filename} is not a readable HDF5 file ({error}): it is truncated, "
            f"corrupted or in another format. Received: filepath={filename!r}"
        ) from None
    try:
        with h5file:
            yield h5file, filename
    except (OSError, RuntimeError) as error:  # h5py's errors on damaged data
        raise ValueError(
            f"{filename} cannot be read: {error}. The file is damaged. "
            f"Received: filepath={filename!r}"
        ) from None


def _text(value, filename, what):
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(
                f"{filename}: {what} must be UTF-8 text. Received: {value[:60]!r}"
            ) from None
    if isinstance(value, str):
        return value
    raise ValueError(
        f"{filename}: {what} must be a string. Received: {type(value).__name__} "
        f"{str(value)[:60]}"
    )


def _string_list(attrs, name, filename, where):
    """The strings of attribute ``name`` (or of its chunks ``name0``,
    ``name1``, ...), or None when there is none."""
    if name in attrs:
        chunks = [attrs[name]]
    else:
        chunks, index = [], 0
        while f"{name}{index}" in attrs:
            chunks.append(attrs[f"{name}{index}"])
            index += 1
        if not chunks:
            return None
    items = []
    for chunk in chunks:
        array = np.asarray(chunk)
        if array.size == 0:  # Keras writes an empty list as an empty float array
            continue
        if array.ndim > 1:
            raise ValueError(
                f"{filename}: attribute {name!r} of {where} must be a list of strings. "
                f"Received: an array of shape {array.shape}"
            )
        items += [_text(item, filename, f"each entry of attribute {name!r} of {where}")
                  for item in array.reshape(-1).tolist()]
    return items


def _child(group, path, kind, filename, what):
    """The group or dataset at ``path`` below ``group``, reached through hard
    links only (soft and external links could point anywhere)."""
    import h5py

    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(
            f"{filename}: {what} has an invalid name. Received: name={path!r}"
        )
    current = group
    for part in parts:
        if not isinstance(current, h5py.Group) or part not in current:
            raise ValueError(
                f"{filename} has no {what} at '{group.name.rstrip('/')}/{path}': the file "
                f"is incomplete or not a Keras HDF5 file. Received: name={path!r}"
            )
        link = current.get(part, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise ValueError(
                f"{filename}: {what} '{path}' is a {type(link).__name__}; only entries "
                f"stored in the file itself are read. Received: a hostile or corrupted file"
            )
        current = current[part]
    if not isinstance(current, kind):
        raise ValueError(
            f"{filename}: {what} '{path}' must be an HDF5 {kind.__name__}. "
            f"Received: {type(current).__name__}"
        )
    return current


def _dataset(group, name, filename, layer_name):
    import h5py

    dataset = _child(group, name, h5py.Dataset, filename, f"weight of layer {layer_name!r}")
    if dataset.external or dataset.is_virtual:
        raise ValueError(
            f"{filename}: weight '{name}' of layer {layer_name!r} keeps its data outside "
            "the file (an external or virtual dataset); only data stored in the file is "
            "read. Received: a hostile or corrupted file"
        )
    if dataset.dtype.kind not in "fiub":
        raise ValueError(
            f"{filename}: weight '{name}' of layer {layer_name!r} must hold numbers. "
            f"Received: dtype {dataset.dtype}"
        )
    return dataset


# -------------------------------------------------------------- saved layers
class _SavedLayer:
    """One layer group: its name, its weight names and its datasets."""

    def __init__(self, root, name, filename):
        import h5py

        self.name, self.filename = name, filename
        self.group = _child(root, name, h5py.Group, filename, f"group of layer {name!r}")
        weight_names = _string_list(self.group.attrs, "weight_names", filename,
                                    f"layer group {name!r}")
        if weight_names is None:
            raise ValueError(
                f"{filename}: layer group {name!r} has no 'weight_names' attribute, which "
                "every Keras layer group has. Received: attributes "
                f"{sorted(self.group.attrs)}"
            )
        self.weight_names = weight_names

    def datasets(self):
        return [_dataset(self.group, name, self.filename, self.name)
                for name in self.weight_names]


def _weights_root(h5file, filename):
    """``model_weights`` of a full-model file, else the root of a weights file."""
    import h5py

    if MODEL_WEIGHTS in h5file:
        return _child(h5file, MODEL_WEIGHTS, h5py.Group, filename, "group")
    if _string_list(h5file.attrs, "layer_names", filename, "the file") is not None:
        return h5file
    raise ValueError(
        f"{filename} is not a Keras HDF5 weights file: it has neither a "
        f"'{MODEL_WEIGHTS}' group nor a 'layer_names' attribute. Received: entries "
        f"{sorted(h5file)[:10]} and attributes {sorted(h5file.attrs)[:10]}"
    )


def _saved_layers(root, filename):
    names = _string_list(root.attrs, "layer_names", filename, f"group '{root.name}'")
    if names is None:
        raise ValueError(
            f"{filename}: group '{root.name}' has no 'layer_names' attribute, so its "
            f"layers are unknown. Received: attributes {sorted(root.attrs)}"
        )
    return [_SavedLayer(root, name, filename) for name in names]


# ------------------------------------------------------------------- loading
def _legacy_order(layer):
    """A layer's weights as Keras 2 stored them: trainable, then non-trainable."""
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _skip(message):
    warnings.warn(f"Skipping a layer (skip_mismatch=True): {message}", stacklevel=4)
    return False


def _assign(layer, saved, skip_mismatch, skip_count_mismatch):
    """Load ``saved`` into ``layer`` (with its ``set_weights``); False if skipped."""
    targets = _legacy_order(layer)
    filename = saved.filename
    if len(saved.weight_names) != len(targets):
        message = (
            f"layer '{layer.name}' has {len(targets)} weight(s) "
            f"({', '.join(w.path for w in targets) or 'none'}) but layer '{saved.name}' "
            f"of {filename} has {len(saved.weight_names)} "
            f"({', '.join(saved.weight_names) or 'none'}); the counts must match. "
            f"Received: {len(saved.weight_names)} saved weight(s)"
        )
        if skip_count_mismatch:
            return _skip(message)
        raise ValueError(message[0].upper() + message[1:])
    datasets = saved.datasets()
    for target, dataset, name in zip(targets, datasets, saved.weight_names):
        if tuple(dataset.shape) != tuple(target.shape):
            message = (
                f"weight '{target.path}' of layer '{layer.name}' has shape "
                f"{tuple(target.shape)} but {filename} holds weight '{name}' of layer "
                f"'{saved.name}' for it with shape {tuple(dataset.shape)}; the shapes must "
                f"match. Received: shape {tuple(dataset.shape)}"
            )
            if skip_mismatch:
                return _skip(message)
            raise ValueError(message[0].upper() + message[1:])
    values = {id(target): dataset[()] for target, dataset in zip(targets, datasets)}
    layer.set_weights([values[id(weight)] for weight in layer.weights])
    return True


def _load_top_level(model, root, filename, skip_mismatch):
    """Keras 3's legacy writer adds the model's own (not its layers') weights."""
    if TOP_LEVEL_WEIGHTS not in root:
        return
    saved = _SavedLayer(root, TOP_LEVEL_WEIGHTS, filename)
    if not saved.weight_names:
        return
    own = model._own_weights()
    message = None
    if len(own) != len(saved.weight_names):
        message = (f"model '{model.name}' has {len(own)} weight(s) of its own but "
                   f"{filename} holds {len(saved.weight_names)} top-level weight(s). "
                   f"Received: {saved.weight_names}")
    else:
        datasets = saved.datasets()
        for target, dataset in zip(own, datasets):
            if tuple(dataset.shape) != tuple(target.shape):
                message = (f"model weight '{target.path}' has shape {tuple(target.shape)} "
                           f"but {filename} holds shape {tuple(dataset.shape)} for it. "
                           f"Received: shape {tuple(dataset.shape)}")
    if message is not None:
        if skip_mismatch:
            _skip(message)
            return
        raise ValueError(message[0].upper() + message[1:])
    with torch.no_grad():
        for target, dataset in zip(own, datasets):
            target.copy_(torch.as_tensor(np.asarray(dataset[()])))


def _load_topological(model, saved_layers, filename, skip_mismatch):
    layers = [layer for layer in model.layers if _legacy_order(layer)]
    saved = [entry for entry in saved_layers if entry.weight_names]
    if len(saved) != len(layers):
        unbuilt = [layer.name for layer in model.layers if not layer.built]
        hint = f" (layers {unbuilt} are not built yet)" if unbuilt else ""
        raise ValueError(
            f"{filename} holds weights for {len(saved)} layers but model '{model.name}' has "
            f"{len(layers)} layers with weights{hint}; loading in layer order needs the same "
            "number (by_name=True matches layers by name instead). Received: saved layers "
            f"{[entry.name for entry in saved]}, model layers {[layer.name for layer in layers]}"
        )
    for layer, entry in zip(layers, saved):
        _assign(layer, entry, skip_mismatch, skip_count_mismatch=False)


def _load_by_name(model, saved_layers, skip_mismatch):
    by_name = {}
    for layer in model.layers:
        by_name.setdefault(layer.name, []).append(layer)
    for entry in saved_layers:
        for layer in by_name.get(entry.name, []):
            _assign(layer, entry, skip_mismatch, skip_count_mismatch=skip_mismatch)


def _load_from_root(model, root, filename, by_name, skip_mismatch):
    saved_layers = _saved_layers(root, filename)
    if by_name:
        _load_by_name(model, saved_layers, skip_mismatch)
    else:
        _load_topological(model, saved_layers, filename, skip_mismatch)
    _load_top_level(model, root, filename, skip_mismatch)


def _check_model(model):
    from sepconv.layers.layer import Layer

    if not isinstance(model, Layer) or not hasattr(model, "layers"):
        raise TypeError(
            "Weights of a legacy HDF5 file load into a sepconv model (Sequential, "
            f"functional or subclassed). Received: model of type {type(model).__name__}"
        )


def load_weights_from_legacy_h5(model, path, by_name=False, skip_mismatch=False):
    """Load the weights of the Keras 2 / tf.keras HDF5 file ``path`` (a
    full model or weights only) into ``model``, as Keras 2 did.

    By default layers with weights are matched in order: the model's
    ``layers`` that have weights against the file's layers that have some,
    the counts of both must be equal. ``by_name=True`` loads each saved layer
    into the model's layers of the same name and leaves the others as they
    are. A layer's weights must match in number and shapes; with
    ``skip_mismatch=True`` a layer that does not fit is skipped with a
    warning (in order-based loading only shape mismatches are skipped).
    """
    _check_model(model)
    by_name = check_bool(by_name, "by_name")
    skip_mismatch = check_bool(skip_mismatch, "skip_mismatch")
    with _open(path) as (h5file, filename):
        _load_from_root(model, _weights_root(h5file, filename), filename, by_name,
                        skip_mismatch)


# -------------------------------------------------------------------- models
def _decode_json_object(obj):
    """Keras's JSON encodings of tuples and TensorShapes, as lists."""
    if obj.get("class_name") in ("__tuple__", "TensorShape") and set(obj) == {"class_name",
                                                                               "items"}:
        items = obj["items"]
        return list(items) if items is not None else None
    return obj


def _model_config(h5file, filename):
    if "model_config" not in h5file.attrs:
        raise ValueError(
            f"{filename} holds no model (it has no 'model_config' attribute): it is a "
            "weights-only file. Build the model and load the weights with "
            "`model.load_weights(path)`. Received: attributes "
            f"{sorted(h5file.attrs)}"
        )
    text = _text(h5file.attrs["model_config"], filename, "attribute 'model_config'")
    try:
        config = json.loads(text, object_hook=_decode_json_object)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ValueError(
            f"{filename}: attribute 'model_config' is not valid JSON ({error}). "
            f"Received: {text[:80]!r}"
        ) from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"{filename}: attribute 'model_config' must describe a model "
            "({'class_name': ..., 'config': ...}). "
            f"Received: {text[:80]!r}"
        )
    return config


def _check_keras_version(h5file, filename):
    if "keras_version" not in h5file.attrs:
        return
    version = _text(h5file.attrs["keras_version"], filename, "attribute 'keras_version'")
    if version.startswith("1."):
        raise ValueError(
            f"{filename} was written by Keras {version}; Keras 1 configs (layer "
            "arguments such as `nb_filter`) are not read, only Keras 2 / tf.keras and "
            f"later. Received: keras_version={version!r}"
        )


def load_model_from_legacy_h5(path, custom_objects=None, compile=True):
    """The model (architecture and weights) in the Keras 2 / tf.keras HDF5
    file ``path``.

    ``custom_objects`` maps class names to layer classes for layers sepconv
    does not have (a ``Lambda`` layer's code is never run: it needs a class
    from here). sepconv has no ``compile()`` yet: a file's training
    configuration is not restored (with ``compile=True`` a warning says so).
    """
    from sepconv.models.model import Model
    from sepconv.saving.legacy_config import translate_layer
    from sepconv.saving.serialization import deserialize_layer

    compile = check_bool(compile, "compile")
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(
            "`custom_objects` must be a dict of class names to classes. "
            f"Received: custom_objects of type {type(custom_objects).__name__}"
        )
    with _open(path) as (h5file, filename):
        _check_keras_version(h5file, filename)
        config = translate_layer(_model_config(h5file, filename), custom_objects,
                                 where=filename)
        try:
            model = deserialize_layer(config, custom_objects)
        except (ValueError, TypeError) as error:
            raise type(error)(
                f"{filename}: the model in 'model_config' cannot be rebuilt: {error}"
            ) from error
        if not isinstance(model, Model):
            raise ValueError(
                f"{filename}: 'model_config' must describe a model (Sequential or "
                f"functional). Received: class_name={config['class_name']!r}"
            )
        import h5py

        root = _child(h5file, MODEL_WEIGHTS, h5py.Group, filename, "group")
        _load_from_root(model, root, filename, by_name=False, skip_mismatch=False)
        has_training_config = "training_config" in h5file.attrs
    if compile and has_training_config:
        warnings.warn(
            f"{filename} holds a training configuration (training_config); sepconv has "
            "no compile() yet, so the model is loaded uncompiled with its weights.",
            stacklevel=2,
        )
    return model
