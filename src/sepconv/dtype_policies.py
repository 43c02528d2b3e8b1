"""Dtype policies, as Keras 3's ``DTypePolicy``: a variable dtype and a compute dtype.

``"float32"`` keeps both in float32; ``"mixed_float16"`` and
``"mixed_bfloat16"`` keep variables in float32 and compute in half precision.

>>> policy = get("mixed_bfloat16")
>>> policy.variable_dtype, policy.compute_dtype
('float32', 'bfloat16')
>>> serialize(get("float64"))["config"]
{'name': 'float64'}
"""

from __future__ import annotations

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
    """The torch dtype for a Keras dtype name (or anything standardize_dtype takes)."""
    return _TORCH_DTYPES[standardize_dtype(dtype)]


class DTypePolicy:
    """The dtypes a layer creates its variables in and computes in.

    >>> DTypePolicy("float32").compute_dtype
    'float32'
    """

    def __init__(self, name=None):
        if name is None:
            name = config.floatx()
        if name in _MIXED:
            self._variable_dtype = "float32"
            self._compute_dtype = _MIXED[name]
        else:
            self._variable_dtype = self._compute_dtype = standardize_dtype(name)
            name = self._variable_dtype
        self._name = name

    @property
    def name(self):
        return self._name

    @property
    def variable_dtype(self):
        return self._variable_dtype

    @property
    def compute_dtype(self):
        return self._compute_dtype

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


def get(identifier) -> DTypePolicy:
    """A policy from None (floatx), a policy, a name, a torch/NumPy dtype, or a
    serialized policy dict."""
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        if identifier.get("class_name") != "DTypePolicy" or not isinstance(
            identifier.get("config"), dict
        ):
            raise ValueError(
                "A dtype policy dict must look like {'class_name': 'DTypePolicy', "
                f"'config': {{'name': ...}}}}. Received: dtype={identifier!r}"
            )
        return DTypePolicy.from_config(identifier["config"])
    if isinstance(identifier, str) and identifier in _MIXED:
        return DTypePolicy(identifier)
    return DTypePolicy(standardize_dtype(identifier))


def serialize(policy: DTypePolicy) -> dict:
    """The policy in Keras 3's serialized form."""
    return {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": policy.get_config(),
        "registered_name": None,
    }
