"""``keras.mixed_precision``: Keras's older names for the global dtype policy.

``set_global_policy`` / ``set_dtype_policy`` are ``sepconv.config.set_dtype_policy``,
``global_policy`` / ``dtype_policy`` are ``sepconv.config.dtype_policy``,
and ``Policy`` is :class:`sepconv.DTypePolicy`.

>>> import sepconv
>>> sepconv.mixed_precision.set_global_policy("mixed_bfloat16")
>>> sepconv.mixed_precision.global_policy()
<DTypePolicy "mixed_bfloat16">
>>> layer = sepconv.layers.Dense(2)
>>> layer.compute_dtype, layer.variable_dtype
('bfloat16', 'float32')
>>> sepconv.mixed_precision.set_global_policy("float32")

Keras's ``LossScaleOptimizer`` (dynamic loss scaling for ``mixed_float16``)
is not provided.
"""

from sepconv.dtype_policies import DTypePolicy, dtype_policy, set_dtype_policy

Policy = DTypePolicy
set_global_policy = set_dtype_policy
global_policy = dtype_policy

__all__ = [
    "DTypePolicy",
    "Policy",
    "dtype_policy",
    "global_policy",
    "set_dtype_policy",
    "set_global_policy",
]
