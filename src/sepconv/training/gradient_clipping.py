"""Keras's gradient clipping (``clipnorm``, ``global_clipnorm``,
``clipvalue``), in Keras's float32 arithmetic.

>>> import torch
>>> clip_by_norm(torch.tensor([3.0, 4.0]), 1.0)
tensor([0.6000, 0.8000])
>>> [g.tolist() for g in clip_by_global_norm([torch.tensor([3.0]), torch.tensor([4.0])], 1.0)]
[[0.6000000238418579], [0.800000011920929]]
>>> clip_by_value(torch.tensor([-2.0, 0.5, 3.0]), 1.0)
tensor([-1.0000,  0.5000,  1.0000])
"""

from __future__ import annotations

import torch


def clip_by_norm(gradient, clipnorm):
    """``gradient`` scaled down so that its L2 norm is at most ``clipnorm``
    (``gradient * clipnorm / max(norm, clipnorm)``, as Keras computes it).

    >>> clip_by_norm(torch.tensor([0.3, 0.4]), 1.0)
    tensor([0.3000, 0.4000])
    """
    squared = torch.sum(torch.square(gradient))
    positive = squared > 0
    norm = torch.where(positive, torch.sqrt(torch.where(positive, squared,
                                                        torch.ones_like(squared))), squared)
    limit = torch.tensor(clipnorm, dtype=gradient.dtype)
    return gradient * clipnorm / torch.maximum(norm, limit)


def clip_by_global_norm(gradients, clipnorm):
    """All ``gradients`` scaled by one factor so that their joint L2 norm is
    at most ``clipnorm``.

    >>> clip_by_global_norm([torch.tensor([0.1])], 1.0)
    [tensor([0.1000])]
    """
    norm = torch.sqrt(torch.sum(torch.stack([torch.sum(torch.square(g)) for g in gradients])))
    limit = torch.tensor(1.0 / clipnorm, dtype=norm.dtype)
    scale = clipnorm * torch.minimum(1.0 / norm, limit) + (norm - norm)
    return [g * scale for g in gradients]


def clip_by_value(gradient, clipvalue):
    """``gradient`` clipped elementwise to ``[-clipvalue, clipvalue]``.

    >>> clip_by_value(torch.tensor([5.0]), 2.0)
    tensor([2.])
    """
    return torch.clip(gradient, -clipvalue, clipvalue)


def clip_gradients(gradients, clipnorm=None, global_clipnorm=None, clipvalue=None):
    """``gradients`` (a list) clipped as a Keras optimizer with these
    arguments clips them (at most one is set; None or 0 means off).

    >>> clip_gradients([torch.tensor([3.0, 4.0])], clipvalue=3.5)
    [tensor([3.0000, 3.5000])]
    """
    if clipnorm:
        return [clip_by_norm(g, clipnorm) for g in gradients]
    if global_clipnorm:
        return clip_by_global_norm(gradients, global_clipnorm)
    if clipvalue:
        return [clip_by_value(g, clipvalue) for g in gradients]
    return list(gradients)
