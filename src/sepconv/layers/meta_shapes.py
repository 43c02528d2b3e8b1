"""Output shapes by running a layer on meta-device tensors: no data, no FLOPs.

Used by :meth:`Layer.compute_output_shape` when a layer has no shape code of
its own. Unknown (``None``) dimensions are probed with two different sizes;
an output dimension that follows them is reported as ``None``. A layer whose
call needs real data (``x.numpy()``, data-dependent control flow) is, as in
Keras, run once more on CPU zeros, without gradients.
"""

from __future__ import annotations

import torch

from sepconv.layers.layer import shape_inference

_PROBE_SIZES = (61, 64)


def _probe_shapes(input_shape, size):
    if isinstance(input_shape, list):
        return [_probe_shapes(s, size) for s in input_shape]
    if isinstance(input_shape, dict):
        return {k: _probe_shapes(s, size) for k, s in input_shape.items()}
    return tuple(size if d is None else int(d) for d in input_shape)


def _is_shape(value):
    return isinstance(value, tuple) and all(d is None or isinstance(d, int) for d in value)


def _probe_inputs(shapes, dtype, device):
    if _is_shape(shapes):
        return torch.zeros(shapes, dtype=dtype, device=device)
    if isinstance(shapes, dict):
        return {k: _probe_inputs(s, dtype, device) for k, s in shapes.items()}
    return [_probe_inputs(s, dtype, device) for s in shapes]


def _output_shapes(outputs):
    if isinstance(outputs, torch.Tensor):
        return tuple(outputs.shape)
    if isinstance(outputs, dict):
        return {k: _output_shapes(v) for k, v in outputs.items()}
    return [_output_shapes(o) for o in outputs]


def _merge(first, second):
    if _is_shape(first):
        return tuple(a if a == b else None for a, b in zip(first, second))
    if isinstance(first, dict):
        return {k: _merge(first[k], second[k]) for k in first}
    return [_merge(a, b) for a, b in zip(first, second)]


def _normalize(input_shape):
    if isinstance(input_shape, (tuple, torch.Size)) and all(
        d is None or isinstance(d, int) for d in input_shape
    ):
        return tuple(input_shape)
    if isinstance(input_shape, dict):
        return {k: _normalize(s) for k, s in input_shape.items()}
    if isinstance(input_shape, (list, tuple)):
        if all(d is None or isinstance(d, int) for d in input_shape):
            return tuple(input_shape)
        return [_normalize(s) for s in input_shape]
    raise ValueError(
        "compute_output_shape() expects a shape tuple (or a list/dict of them). "
        f"Received: input_shape={input_shape!r}"
    )


def output_shape_by_meta_call(layer, input_shape):
    """The output shape(s) of ``layer`` for ``input_shape``, computed on meta tensors.

    >>> import sepconv
    >>> class Double(sepconv.layers.Layer):
    ...     def call(self, x):
    ...         return torch.cat([x, x], dim=-1)
    >>> output_shape_by_meta_call(Double(), (None, 5, 3))
    (None, 5, 6)
    """
    input_shape = _normalize(input_shape)
    if not layer.built:
        layer._build_from_shapes(input_shape, None)
    dtype = getattr(torch, layer.compute_dtype)

    def probe(run, device):
        return _merge(*(_output_shapes(run(_probe_inputs(_probe_shapes(input_shape, size),
                                                         dtype, device)))
                        for size in _PROBE_SIZES))

    try:
        with shape_inference():  # the layer swaps its weights for meta stand-ins
            return probe(layer, "meta")
    except Exception:
        with torch.no_grad():  # call() directly: no activity losses recorded
            return probe(layer.call, "cpu")
