"""Keras's autocasting of a layer's variables under a mixed dtype policy,
mapped onto ``torch.autocast``.

Under ``"mixed_bfloat16"`` Keras reads a layer's float32 variables as
bfloat16 while the layer runs, and a layer whose own policy is not mixed
(``Dense(10, dtype="float32")``) reads them, and computes, in its own dtype.
sepconv's built-in layers cast their weights to their compute dtype
themselves, so they need no ``torch.autocast``; they must also not be
changed by one (``fit`` opens one around a mixed model). So, for the call of
one layer:

* a mixed layer running code that is not sepconv's (a user's ``call``)
  runs under ``torch.autocast`` in its compute dtype: its matmuls and
  convolutions with float32 weights then work as in Keras (ops that torch
  does not autocast, such as ``x * weight``, promote to float32 instead);
* inside a mixed model (any layer being called is mixed), every other
  layer runs with ``torch.autocast`` off, so a float32 layer computes in
  float32 and a built-in bfloat16 layer computes exactly as outside ``fit``;
* outside any mixed layer, the caller's own ``torch.autocast`` is left as it
  is (plain PyTorch mixed precision on a float32 model keeps working).

>>> import torch, sepconv
>>> class Project(sepconv.layers.Layer):
...     def build(self, input_shape):
...         self.w = self.add_weight(shape=(input_shape[-1], 2), name="w")
...     def call(self, x):
...         return x @ self.w
>>> layer = Project(dtype="mixed_bfloat16")
>>> layer(torch.ones(3, 4)).dtype, layer.w.dtype
(torch.bfloat16, torch.float32)
"""

from __future__ import annotations

import sys
import weakref

import torch

from sepconv import dtype_policies
from sepconv.layers.node import flatten


def is_mixed(policy) -> bool:
    """Whether ``policy`` computes in another dtype than its variables'."""
    return policy.compute_dtype != policy.variable_dtype


_FOREIGN = weakref.WeakKeyDictionary()  # layer class -> _runs_foreign_code(cls)


def _runs_foreign_code(cls) -> bool:
    """Whether ``cls.call`` comes from a class that is not one of sepconv's
    own (a user's layer, wherever it is defined)."""
    foreign = _FOREIGN.get(cls)
    if foreign is None:
        owner = next((klass for klass in cls.__mro__ if "call" in vars(klass)), None)
        module = sys.modules.get(getattr(owner, "__module__", ""))
        ours = owner is None or (
            owner.__module__.split(".")[0] == "sepconv" and module is not None
            and getattr(module, owner.__qualname__, None) is owner)
        foreign = _FOREIGN[cls] = not ours
    return foreign


def weights_dtype_in_call(layer):
    """The torch dtype a layer's float weights are read in while it runs
    user code under a mixed policy (as Keras's autocast scope), else None."""
    policy = layer.dtype_policy
    if layer.autocast and is_mixed(policy) and _runs_foreign_code(type(layer)):
        return dtype_policies.to_torch_dtype(policy.compute_dtype)
    return None


def _device_type(inputs):
    if isinstance(inputs, torch.Tensor):
        return inputs.device.type
    for x in flatten(inputs):
        if isinstance(x, torch.Tensor):
            return x.device.type
    return None


def autocast_for_call(layer, inputs, active_layers):
    """The ``torch.autocast`` context ``layer``'s call on ``inputs`` needs, or
    None when the current autocast state is already right.

    ``active_layers``: the layers whose calls are in progress (``layer``
    included).
    """
    for other in active_layers:  # a loop, not a generator: every layer call runs this
        if is_mixed(other.dtype_policy):
            break
    else:
        return None  # the common case (no mixed layer running: whatever the autocast
        # state, it is right), decided without touching the tensors
    device = _device_type(inputs)
    if device is None or not torch.amp.is_autocast_available(device):
        return None  # e.g. meta tensors during shape inference
    enabled = torch.is_autocast_enabled(device)
    if not enabled and not is_mixed(layer.dtype_policy):
        return None  # a float32 layer inside a mixed one, no autocast
    wanted = weights_dtype_in_call(layer)
    if wanted is not None:
        if enabled and torch.get_autocast_dtype(device) == wanted:
            return None
        return torch.autocast(device, dtype=wanted)
    if enabled and any(is_mixed(other.dtype_policy) for other in active_layers):
        return torch.autocast(device, enabled=False)
    return None
