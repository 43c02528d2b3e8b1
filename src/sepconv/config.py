"""Global settings, as in ``keras.config``: data format, float type, epsilon
and the global dtype policy.

Defaults are read once, at import, from ``$KERAS_HOME/keras.json`` (else
``~/.keras/keras.json``); with no file they are ``channels_last``,
``float32`` and ``1e-7``. The file is never written. A value in it that
Keras would not accept is an error naming the file and the key.

>>> import sepconv
>>> sepconv.config.image_data_format()
'channels_last'
>>> sepconv.config.set_image_data_format("channels_first")
>>> sepconv.config.image_data_format()
'channels_first'
>>> sepconv.config.set_image_data_format("channels_last")
>>> sepconv.config.backend()
'torch'
"""

from __future__ import annotations

import json
import os

DATA_FORMATS = ("channels_last", "channels_first")
FLOAT_TYPES = ("float16", "bfloat16", "float32", "float64")

_DEFAULTS = {
    "image_data_format": "channels_last",
    "floatx": "float32",
    "epsilon": 1e-7,
}


def keras_config_path() -> str:
    """The keras.json that Keras itself would read, whether or not it exists."""
    if "KERAS_HOME" in os.environ:
        keras_dir = os.environ["KERAS_HOME"]
    else:
        keras_dir = os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(keras_dir, "keras.json")


def _invalid(name, value, rule, where):
    return ValueError(
        f"Invalid value for `{name}`{where}: {rule}. Received: {name}={value!r}"
    )


def _check_data_format(name, value, where=""):
    if value not in DATA_FORMATS:
        raise _invalid(name, value, f"it must be one of {DATA_FORMATS}", where)
    return value


def _check_floatx(name, value, where=""):
    if value not in FLOAT_TYPES:
        raise _invalid(name, value, f"it must be one of {FLOAT_TYPES}", where)
    return value


def _check_epsilon(name, value, where=""):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise _invalid(name, value, "it must be a positive number", where)
    return float(value)


_CHECKS = {
    "image_data_format": _check_data_format,
    "floatx": _check_floatx,
    "epsilon": _check_epsilon,
}


def read_keras_json(path: str) -> dict:
    """Settings from a keras.json file; defaults for keys it lacks.

    A missing file gives the defaults. Unreadable JSON or a bad value is a
    ValueError naming the file (and the key).
    """
    settings = dict(_DEFAULTS)
    if not os.path.exists(path):
        return settings
    try:
        with open(path, encoding="utf-8") as f:
            stored = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(
            f"The Keras config file {path} could not be read as JSON ({e}). "
            "Fix or remove it, or point $KERAS_HOME elsewhere."
        ) from None
    if not isinstance(stored, dict):
        raise ValueError(
            f"The Keras config file {path} must hold a JSON object. "
            f"Received: {type(stored).__name__}"
        )
    for key, check in _CHECKS.items():
        if key in stored:
            settings[key] = check(key, stored[key], f" in {path}")
    return settings


_settings = read_keras_json(keras_config_path())


def image_data_format() -> str:
    """The default data format: ``"channels_last"`` or ``"channels_first"``."""
    return _settings["image_data_format"]


def set_image_data_format(data_format: str) -> None:
    """Set the default data format for layers created afterwards."""
    if isinstance(data_format, str):
        data_format = data_format.lower()
    _settings["image_data_format"] = _check_data_format("data_format", data_format)


def floatx() -> str:
    """The default float type of new layers and weights, e.g. ``"float32"``."""
    return _settings["floatx"]


def set_floatx(value: str) -> None:
    """Set the default float type (float16, bfloat16, float32 or float64)."""
    _settings["floatx"] = _check_floatx("value", value)


def epsilon() -> float:
    """The fuzz factor used in numeric expressions, 1e-7 by default."""
    return _settings["epsilon"]


def set_epsilon(value: float) -> None:
    """Set the fuzz factor."""
    _settings["epsilon"] = _check_epsilon("value", value)


def backend() -> str:
    """The backend: always ``"torch"``."""
    return "torch"


def set_kernels_enabled(enabled) -> None:
    """Run every one of sepconv's C kernels where it applies (True), none
    of them (False: PyTorch's operations only), or the default (None): the
    kernels that beat PyTorch's operations, today all of them (the
    convolutions and the optimizer updates). ``SEPCONV_KERNELS=1`` (or
    ``0``) in the environment starts with True (or False).

    >>> set_kernels_enabled(False); kernels_enabled()
    False
    >>> set_kernels_enabled(None); kernels_enabled()
    True
    """
    from sepconv.ops import kernels

    kernels.set_enabled(enabled)


def kernels_enabled() -> bool:
    """Whether sepconv's fused convolution kernels are switched on."""
    from sepconv.ops import kernels

    return kernels.enabled()


# The global dtype policy lives with the policies; Keras exports the same
# functions here (and as keras.mixed_precision.set_global_policy/global_policy).
from sepconv.dtype_policies import dtype_policy, set_dtype_policy  # noqa: E402
