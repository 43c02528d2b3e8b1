"""Dtype policies, as Keras 3's ``keras.dtype_policies``: the dtype a layer
keeps its variables in and the dtype it computes in.

``"float32"`` keeps both in float32; ``"mixed_float16"`` and
``"mixed_bfloat16"`` keep variables in float32 and compute in half precision.
A layer created with ``dtype=None`` takes the global policy
(:func:`dtype_policy`), which is ``DTypePolicy(floatx())`` until
:func:`set_dtype_policy` changes it. As in Keras, the global policy is
fixed from ``floatx()`` the first time it is read, so a later
``set_floatx`` does not change it; ``sepconv.utils.clear_session()``
forgets it. Like all of Keras's global state, it is kept per thread.

>>> policy = get("mixed_bfloat16")
>>> policy.variable_dtype, policy.compute_dtype
('float32', 'bfloat16')
>>> serialize(get("float64"))["config"]
{'name': 'float64'}
>>> set_dtype_policy("mixed_bfloat16")
>>> dtype_policy()
<DTypePolicy "mixed_bfloat16">
>>> set_dtype_policy("float32")
"""

from __future__ import annotations

import threading

import torch

from sepconv import config

_TORCH_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "uint8": torch.uint8,
    "bool": torch.bool,
}
_NAMES_BY_TORCH_DTYPE = {v: k for k, v in _TORCH_DTYPES.items()}
_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}
#: Prefixes of Keras's quantized policy names ("int8_from_float32", ...).
QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")

_state = threading.local()


def standardize_dtype(dtype, argument="dtype") -> str:
    """A dtype's Keras name (``"float32"``) from a name, torch dtype or NumPy dtype.

    >>> standardize_dtype(torch.float64), standardize_dtype("float16")
    ('float64', 'float16')
    """
    if dtype is None:
        return config.floatx()
    if isinstance(dtype, torch.dtype):
        if dtype in _NAMES_BY_TORCH_DTYPE:
            return _NAMES_BY_TORCH_DTYPE[dtype]
    else:
        name = getattr(dtype, "name", dtype)  # NumPy dtypes and types
        if isinstance(dtype, type):
            name = dtype.__name__
        if isinstance(name, str) and name in _TORCH_DTYPES:
            return name
    raise ValueError(
        f"Invalid `{argument}`: it must be one of {sorted(_TORCH_DTYPES)} or a "
        f"matching torch/NumPy dtype. Received: {argument}={dtype!r}"
    )


def to_torch_dtype(dtype) -> torch.dtype:
    """The torch dtype for a Keras dtype name (or anything standardize_dtype takes).

    >>> to_torch_dtype("bfloat16")
    torch.bfloat16
    """
    found = _TORCH_DTYPES.get(dtype) if type(dtype) is str else None  # every layer call
    return found if found is not None else _TORCH_DTYPES[standardize_dtype(dtype)]


def _parse_name(name, argument):
    """``(variable_dtype, compute_dtype)`` for a policy name."""
    if name in _MIXED:
        return "float32", _MIXED[name]
    if name in _TORCH_DTYPES:
        return name, name
    raise ValueError(
        f"Cannot convert {name!r} to a DTypePolicy: the name must be 'mixed_float16', "
        f"'mixed_bfloat16' or a dtype name such as 'float32' (one of "
        f"{sorted(_TORCH_DTYPES)}). Received: {argument}={name!r}"
    )


class DTypePolicy:
    """The dtypes a layer creates its variables in and computes in
    (``keras.DTypePolicy``; ``keras.mixed_precision.Policy`` is the same class).

    Args:
        name: ``"mixed_float16"`` or ``"mixed_bfloat16"`` (float32 variables,
            16-bit compute), or a dtype name such as ``"float32"`` (both in
            that dtype). ``None`` takes the global policy's name.

    >>> DTypePolicy("float32").compute_dtype
    'float32'
    >>> DTypePolicy("mixed_float16")
    <DTypePolicy "mixed_float16">
    """

    def __init__(self, name=None):
        if name is None:
            name = dtype_policy().name
        if not isinstance(name, str):
            raise TypeError(
                "The policy `name` must be a string, such as 'mixed_float16'. "
                f"Received: name={name!r} (of type {type(name).__name__})"
            )
        self._variable_dtype, self._compute_dtype = _parse_name(name, "name")
        self._name = name

    @property
    def name(self):
        """The policy's name, e.g. ``"mixed_bfloat16"``."""
        return self._name

    @property
    def variable_dtype(self):
        """The dtype layers create their variables in."""
        return self._variable_dtype

    @property
    def compute_dtype(self):
        """The dtype layers cast floating inputs (and their variables) to."""
        return self._compute_dtype

    @property
    def quantization_mode(self):
        """Always None: sepconv has no quantized policies."""
        return None

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return f'<DTypePolicy "{self._name}">'


class FloatDTypePolicy(DTypePolicy):
    """Keras's alias of :class:`DTypePolicy` (kept for files that name it).

    >>> FloatDTypePolicy("float32") == DTypePolicy("float32")
    True
    """


def _from_string(name, argument):
    """``DTypePolicy(name)``, with errors naming ``argument``. Keras reads a
    name that starts with a quantization mode as a quantized policy."""
    if name.startswith(QUANTIZATION_MODES):
        raise ValueError(
            f"A policy name starting with a quantization mode {QUANTIZATION_MODES} names "
            "a quantized policy (such as 'int8_from_float32'), which sepconv does not "
            f"support; for a plain {name.split('_')[0]} policy pass a DTypePolicy "
            f"instance. Received: {argument}={name!r}"
        )
    _parse_name(name, argument)
    return DTypePolicy(name)


def set_dtype_policy(policy) -> None:
    """Set the global dtype policy: the one layers created with ``dtype=None``
    take (``keras.config.set_dtype_policy``, also
    ``keras.mixed_precision.set_global_policy``).

    Args:
        policy: a :class:`DTypePolicy` or its name (``"mixed_bfloat16"``).

    >>> set_dtype_policy("mixed_float16")
    >>> dtype_policy().compute_dtype
    'float16'
    >>> set_dtype_policy("float32")
    """
    if not isinstance(policy, DTypePolicy):
        if not isinstance(policy, str):
            raise ValueError(
                "Invalid `policy` argument: it must be the name of a policy (such as "
                f"'mixed_float16') or a DTypePolicy instance. Received: policy={policy!r} "
                f"(of type {type(policy).__name__})"
            )
        policy = _from_string(policy, "policy")
    _state.policy = policy


def dtype_policy() -> DTypePolicy:
    """The global dtype policy (``keras.config.dtype_policy``, also
    ``keras.mixed_precision.global_policy``). Until one is set it is
    ``DTypePolicy(floatx())``, fixed at this first read.

    >>> dtype_policy().name
    'float32'
    """
    policy = getattr(_state, "policy", None)
    if policy is None:
        policy = _from_string(config.floatx(), "floatx")
        _state.policy = policy
    return policy


def clear_global_policy() -> None:
    """Forget the global policy (``clear_session`` calls this); the next read
    takes ``floatx()`` again.

    >>> clear_global_policy()
    >>> dtype_policy().name
    'float32'
    """
    _state.policy = None


def get(identifier, argument="dtype") -> DTypePolicy:
    """A policy from None (the global policy), a policy, a name, a torch or
    NumPy dtype, or a serialized policy dict (``keras.dtype_policies.get``).

    >>> get("mixed_bfloat16").compute_dtype
    'bfloat16'
    >>> get(torch.float64)
    <DTypePolicy "float64">
    """
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return _from_string(identifier, argument)
    try:
        name = standardize_dtype(identifier, argument)
    except ValueError:
        raise ValueError(
            f"Cannot interpret `{argument}`: it must be a policy name (such as "
            "'mixed_bfloat16'), a dtype or a DTypePolicy instance. "
            f"Received: {argument}={identifier!r}"
        ) from None
    return DTypePolicy(name)


def serialize(policy: DTypePolicy) -> dict:
    """The policy in Keras 3's serialized form (``keras.dtype_policies.serialize``).

    >>> serialize(DTypePolicy("mixed_float16"))["class_name"]
    'DTypePolicy'
    """
    from sepconv.saving.serialization import serialize_keras_object

    return serialize_keras_object(policy)


def deserialize(config, custom_objects=None) -> DTypePolicy:
    """The policy a serialized dict describes (``keras.dtype_policies.deserialize``).

    >>> deserialize({"class_name": "DTypePolicy", "config": {"name": "float16"}})
    <DTypePolicy "float16">
    """
    from sepconv.saving.serialization import deserialize_keras_object

    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "A serialized dtype policy must be a dict like {'class_name': 'DTypePolicy', "
            f"'config': {{'name': ...}}}}. Received: config={config!r}"
        )
    policy = deserialize_keras_object(
        config, custom_objects=custom_objects,
        module_objects={"DTypePolicy": DTypePolicy, "FloatDTypePolicy": FloatDTypePolicy})
    if not isinstance(policy, DTypePolicy):
        raise ValueError(
            "A serialized dtype policy must describe a DTypePolicy. "
            f"Received: config={config!r}"
        )
    return policy


__all__ = [
    "DTypePolicy",
    "FloatDTypePolicy",
    "deserialize",
    "dtype_policy",
    "get",
    "serialize",
    "set_dtype_policy",
]
