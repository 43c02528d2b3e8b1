"""``.keras`` archives exactly as Keras 3 writes them, read defensively.

An archive is a zip file with ``metadata.json`` (Keras version, date),
``config.json`` (the model serialized as Keras 3 does: ``module``,
``class_name``, ``config``, ``registered_name``, ``build_config``,
``compile_config``) and ``model.weights.h5`` (see
:mod:`sepconv.saving.weights_h5`; a compiled model's optimizer variables
included). Writing is atomic (see
:mod:`sepconv.saving.atomic`). Reading never extracts to disk and never
runs code from the file: members are read into memory after checking their
names and declared sizes, the JSON is parsed, classes are only looked up.

>>> import os, tempfile, numpy as np, sepconv
>>> model = sepconv.Sequential([sepconv.Input((3,)), sepconv.layers.Dense(2)])
>>> path = os.path.join(tempfile.mkdtemp(), "model.keras")
>>> save_archive(model, path)
>>> loaded = load_archive(path)
>>> bool(np.allclose(loaded.predict(np.ones((1, 3)), verbose=0),
...                  model.predict(np.ones((1, 3)), verbose=0)))
True
"""

from __future__ import annotations

import datetime
import io
import json
import os
import zipfile

from sepconv.saving.atomic import atomic_write
from sepconv.saving.weights_h5 import load_weights_h5, save_weights_h5

KERAS_FORMAT_VERSION = "3.15.1"
CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"
_LIMITS = {CONFIG: 256 * 2**20, METADATA: 2**20}  # bytes; weights: bounded by the file
_MAX_RATIO = 1000  # uncompressed / compressed: more is a zip bomb


def _serialize(model):
    from sepconv.saving.serialization import serialize_layer

    return serialize_layer(model)


def archive_bytes(model):
    """The ``.keras`` archive of ``model`` as bytes."""
    import sepconv

    config = json.dumps(_serialize(model))
    metadata = json.dumps({
        "keras_version": KERAS_FORMAT_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "sepconv_version": sepconv.__version__,
    })
    weights = io.BytesIO()
    save_weights_h5(model, weights)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(METADATA, metadata)
        archive.writestr(CONFIG, config)
        archive.writestr(WEIGHTS, weights.getvalue())
    return buffer.getvalue()


def save_archive(model, path, overwrite=True):
    """Write ``model`` to the ``.keras`` file ``path`` atomically."""
    data = archive_bytes(model)
    with atomic_write(path, overwrite=overwrite) as handle:
        handle.write(data)


# --------------------------------------------------------------------- reading
def _check_member_names(archive, filename):
    for info in archive.infolist():
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
            raise ValueError(
                f"{filename} is not a safe .keras archive: member {name!r} has an absolute "
                "or parent-directory path. Received: a hostile or corrupted archive"
            )


def _read_member(archive, name, filename, required=True):
    try:
        info = archive.getinfo(name)
    except KeyError:
        if not required:
            return None
        raise ValueError(
            f"{filename} is not a complete .keras archive: it has no {name!r}. "
            f"Received: members {archive.namelist()}"
        ) from None
    limit = _LIMITS.get(name)
    if limit is not None and info.file_size > limit:
        raise ValueError(
            f"{filename}: member {name!r} declares {info.file_size} bytes, more than the "
            f"{limit} a .keras {name} may have. Received: a hostile or corrupted archive"
        )
    if info.compress_size and info.file_size / info.compress_size > _MAX_RATIO:
        raise ValueError(
            f"{filename}: member {name!r} would expand {info.file_size / info.compress_size:.0f}"
            f" times (more than {_MAX_RATIO}): refused as a zip bomb. "
            "Received: a hostile or corrupted archive"
        )
    try:
        with archive.open(info) as member:
            data = member.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as error:
        raise ValueError(f"{filename}: member {name!r} cannot be read ({error}).") from None
    if len(data) != info.file_size:
        raise ValueError(
            f"{filename}: member {name!r} holds {len(data)} bytes but declares "
            f"{info.file_size}. Received: a corrupted archive"
        )
    return data


def _read_json(archive, name, filename):
    data = _read_member(archive, name, filename)
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{filename}: {name} is not valid JSON ({error}).") from None
    if not isinstance(value, dict):
        raise ValueError(
            f"{filename}: {name} must hold a JSON object. Received: {type(value).__name__}"
        )
    return value


def _open(path):
    filename = os.fspath(path) if not hasattr(path, "read") else "the archive"
    try:
        archive = zipfile.ZipFile(path, "r")
    except zipfile.BadZipFile as error:
        raise ValueError(f"{filename} is not a .keras (zip) archive: {error}.") from None
    except FileNotFoundError:
        raise FileNotFoundError(f"No such file: {filename!r}") from None
    _check_member_names(archive, filename)
    return archive, filename


def load_archive(path, custom_objects=None, compile=True, safe_mode=True):
    """The model stored in the ``.keras`` file ``path`` (ours or Keras's).

    With ``compile=True`` a saved ``compile_config`` compiles the model and
    the saved optimizer state is restored into its optimizer; with
    ``compile=False`` the model comes back uncompiled (as in Keras: the
    compile configuration and optimizer state are ignored)."""
    archive, filename = _open(path)
    with archive:
        _read_json(archive, METADATA, filename)
        config = _read_json(archive, CONFIG, filename)
        if "class_name" not in config:
            raise ValueError(
                f"{filename}: config.json must describe a model (a 'class_name' entry). "
                f"Received: keys {sorted(config)}"
            )
        if not compile:
            config["compile_config"] = None
        model = _deserialize(config, custom_objects, safe_mode)
        weights = _read_member(archive, WEIGHTS, filename)
    load_weights_h5(model, io.BytesIO(weights), filename=f"{filename}/{WEIGHTS}")
    return model


def _deserialize(config, custom_objects, safe_mode):
    from sepconv.saving import serialization

    deserialize = getattr(serialization, "deserialize_keras_object", None)
    if deserialize is not None:
        return deserialize(config, custom_objects=custom_objects, safe_mode=safe_mode)
    return serialization.deserialize_layer(config, custom_objects)


def load_archive_weights(model, path, skip_mismatch=False):
    """Load only the weights of the ``.keras`` file ``path`` into ``model``."""
    archive, filename = _open(path)
    with archive:
        weights = _read_member(archive, WEIGHTS, filename)
    load_weights_h5(model, io.BytesIO(weights), skip_mismatch=skip_mismatch,
                    filename=f"{filename}/{WEIGHTS}")
