"""``load_model``, ``save_model``, ``save_weights`` and ``load_weights``:
the file format follows the file name, as in Keras 3.

=====================  ==========================================  ===========
name ends with         format                                      read/write
=====================  ==========================================  ===========
``.keras``             Keras 3 archive (config + weights)          both
``.weights.h5``        Keras 3 weights                             both
``.h5`` / ``.hdf5``    Keras 2 / tf.keras HDF5 (legacy)            both
``.safetensors``       PyTorch ``state_dict`` (optional extra)     both
=====================  ==========================================  ===========

>>> import os, tempfile, sepconv
>>> model = sepconv.Sequential([sepconv.Input((3,)), sepconv.layers.Dense(2)])
>>> path = os.path.join(tempfile.mkdtemp(), "w.weights.h5")
>>> model.save_weights(path)
>>> model.load_weights(path)
"""

from __future__ import annotations

import os

from sepconv.saving.atomic import atomic_write


def _name(filepath):
    if hasattr(filepath, "read") or hasattr(filepath, "write"):
        raise TypeError(
            "Pass a file path (str or os.PathLike): the format is chosen by its extension. "
            f"Received: filepath of type {type(filepath).__name__}"
        )
    try:
        return os.fspath(filepath)
    except TypeError:
        raise TypeError(
            f"`filepath` must be a str or os.PathLike. Received: filepath={filepath!r}"
        ) from None


def _is_legacy_h5(name):
    return name.endswith((".h5", ".hdf5")) and not name.endswith(".weights.h5")


def save_model(model, filepath, overwrite=True):
    """Save ``model`` (architecture and weights) to a ``.keras`` archive or,
    as Keras 3 does for such names, a legacy ``.h5`` / ``.hdf5`` file."""
    name = _name(filepath)
    if name.endswith(".keras"):
        from sepconv.saving.keras_archive import save_archive

        save_archive(model, name, overwrite=overwrite)
    elif _is_legacy_h5(name):
        from sepconv.saving.legacy_h5_writer import save_model_to_legacy_h5

        save_model_to_legacy_h5(model, name, overwrite=overwrite)
    else:
        raise ValueError(
            "save_model writes Keras 3 `.keras` archives (recommended) or legacy `.h5` / "
            "`.hdf5` files; the file name must end in one of those (`.weights.h5` is for "
            f"save_weights). Received: filepath={name!r}"
        )


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model saved in ``filepath``: a ``.keras`` archive (sepconv's or
    Keras 3's) or a Keras 2 / tf.keras ``.h5`` file. With ``compile=True``
    a ``.keras`` model comes back compiled as saved, its optimizer state
    restored; ``compile=False`` gives an uncompiled model, as in Keras."""
    name = _name(filepath)
    if name.endswith(".keras"):
        from sepconv.saving.keras_archive import load_archive

        return load_archive(name, custom_objects=custom_objects, compile=compile,
                            safe_mode=safe_mode)
    if _is_legacy_h5(name):
        from sepconv.saving.legacy_h5 import load_model_from_legacy_h5

        return load_model_from_legacy_h5(name, custom_objects=custom_objects, compile=compile)
    raise ValueError(
        "load_model reads `.keras` archives and legacy `.h5` / `.hdf5` files; the "
        f"file name must end in one of those. Received: filepath={name!r}"
    )


def save_weights(model, filepath, overwrite=True):
    """Save ``model``'s weights to ``.weights.h5`` (Keras 3) or ``.safetensors``."""
    name = _name(filepath)
    if name.endswith(".weights.h5"):
        from sepconv.saving.weights_h5 import save_weights_h5

        with atomic_write(name, overwrite=overwrite) as handle:
            save_weights_h5(model, handle)
        return
    if name.endswith(".safetensors"):
        from sepconv.saving.torch_formats import save_safetensors

        save_safetensors(model, name, overwrite=overwrite)
        return
    raise ValueError(
        "save_weights writes `.weights.h5` (Keras 3's format) or `.safetensors` (a "
        f"PyTorch state_dict). Received: filepath={name!r}"
    )


def load_weights(model, filepath, skip_mismatch=False, by_name=False):
    """Load weights into ``model`` from ``.weights.h5``, ``.keras``, a legacy
    ``.h5`` (``by_name`` as in Keras 2) or ``.safetensors``."""
    name = _name(filepath)
    if not os.path.exists(name):
        raise FileNotFoundError(f"No such file: {name!r}")
    if by_name and not _is_legacy_h5(name):
        raise ValueError(
            "`by_name=True` applies to legacy `.h5` files only (Keras 3 files are matched "
            f"by layer structure). Received: filepath={name!r}, by_name=True"
        )
    if name.endswith(".weights.h5"):
        from sepconv.saving.weights_h5 import load_weights_h5

        load_weights_h5(model, name, skip_mismatch=skip_mismatch, filename=name)
    elif name.endswith(".keras"):
        from sepconv.saving.keras_archive import load_archive_weights

        load_archive_weights(model, name, skip_mismatch=skip_mismatch)
    elif _is_legacy_h5(name):
        from sepconv.saving.legacy_h5 import load_weights_from_legacy_h5

        load_weights_from_legacy_h5(model, name, by_name=by_name, skip_mismatch=skip_mismatch)
    elif name.endswith(".safetensors"):
        from sepconv.saving.torch_formats import load_safetensors

        load_safetensors(model, name, skip_mismatch=skip_mismatch)
    else:
        raise ValueError(
            "load_weights reads `.weights.h5`, `.keras`, legacy `.h5` / `.hdf5` and "
            f"`.safetensors` files. Received: filepath={name!r}"
        )
