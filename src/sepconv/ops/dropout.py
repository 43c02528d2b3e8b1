"""Dropout with Keras 3's semantics: drop with probability ``rate``, scale the
kept values by ``1 / (1 - rate)``, one mask value per position of
``noise_shape`` broadcast over the input.

Without a ``noise_shape`` or a generator this is ``torch.nn.functional.dropout``
(fused); otherwise the mask is drawn with ``torch.bernoulli`` from the given
``torch.Generator`` (reproducible) and multiplied in, broadcast, without
materializing a full-size mask.

>>> import torch
>>> g = torch.Generator().manual_seed(0)
>>> out = dropout(torch.ones(2, 5), 0.5, noise_shape=(1, None), generator=g)
>>> bool((out[0] == out[1]).all()), sorted(set(out.flatten().tolist())) <= [0.0, 2.0]
(True, True)
>>> concrete_noise_shape((4, 3, 8), (None, 1, None))
(4, 1, 8)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def concrete_noise_shape(input_shape, noise_shape):
    """``noise_shape`` with None entries taken from ``input_shape``; it must have
    the input's rank and each entry must equal the input's size or be 1.

    >>> concrete_noise_shape((2, 3), (None, 1)), concrete_noise_shape((2, 3), None)
    ((2, 1), (2, 3))
    """
    input_shape = tuple(input_shape)
    if noise_shape is None:
        return input_shape
    noise_shape = tuple(noise_shape)
    if len(noise_shape) != len(input_shape):
        raise ValueError(
            f"`noise_shape` must have one entry per input dimension ({len(input_shape)} "
            f"for inputs of shape {input_shape}). Received: noise_shape={noise_shape}"
        )
    concrete = tuple(size if dim is None else dim for dim, size in zip(noise_shape, input_shape))
    for dim, size in zip(concrete, input_shape):
        if dim != size and dim != 1 and size is not None:
            raise ValueError(
                "Each entry of `noise_shape` must be None, 1 or the input's size on that "
                f"axis, so the mask broadcasts over inputs of shape {input_shape}. "
                f"Received: noise_shape={noise_shape}"
            )
    return concrete


def dropout(x, rate, noise_shape=None, generator=None):
    """Training-mode dropout of ``x`` (Keras's ``keras.random.dropout``).

    ``rate`` in [0, 1] (1 gives zeros); ``noise_shape`` as
    :func:`concrete_noise_shape`; ``generator`` a ``torch.Generator`` on
    ``x``'s device, or None for torch's global random state.

    >>> import torch
    >>> out = dropout(torch.ones(1000), 0.25, generator=torch.Generator().manual_seed(0))
    >>> sorted(set(round(v, 4) for v in out.tolist()))
    [0.0, 1.3333]
    """
    if rate == 0:
        return x
    if rate >= 1:  # everything dropped; zeros that still carry a (zero) gradient
        return torch.where(torch.zeros((), dtype=torch.bool, device=x.device), x,
                           torch.zeros((), dtype=x.dtype, device=x.device))
    if noise_shape is None and generator is None:
        return F.dropout(x, p=rate, training=True)
    keep = 1.0 - rate
    shape = concrete_noise_shape(x.shape, noise_shape)
    mask = torch.empty(shape, dtype=x.dtype, device=x.device)
    mask.bernoulli_(keep, generator=generator)
    return x * mask.div_(keep)


__all__ = ["concrete_noise_shape", "dropout"]
