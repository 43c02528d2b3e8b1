"""Brute-force NumPy pooling: TensorFlow's definition, written out window by window.

Independent of sepconv (and of torch): used where Keras's torch backend is not
a valid reference (average pooling with asymmetric 'same' padding, where it
counts replicated edge values; see ``sepconv.ops.pooling``) and to test
``sepconv.ops.pooling`` exhaustively.

TensorFlow's 'same' padding along one dimension of size ``n`` with window
``k`` and stride ``s``: ``out = ceil(n / s)``,
``total = max((out - 1) * s + k - n, 0)``, ``before = total // 2``. The
window of output ``i`` covers input positions ``[i * s - before, i * s -
before + k)``; positions outside ``[0, n)`` are padding and never count (max
ignores them, average divides by the number of positions inside).
"""

from __future__ import annotations

import itertools

import numpy as np


def tf_same_split(n, k, s):
    """(before, after) padding of TensorFlow's 'same' along one dimension."""
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def keras_torch_matches_tf(mode, spatial, pool_size, strides, padding):
    """Whether Keras 3.15.1's torch backend computes TensorFlow's result.

    It does not for average pooling with asymmetric 'same' padding (it counts
    replicated edge values), and it raises for 3D average pooling with 'same'
    padding of an input smaller than the window (torch's avg_pool3d rejects
    it). ``strides`` None means ``pool_size``."""
    if mode == "max" or padding.lower() == "valid":
        return True
    strides = pool_size if strides is None else strides
    if len(spatial) == 3 and any(n < k for n, k in zip(spatial, pool_size)):
        return False
    return all(b == a for b, a in (tf_same_split(n, k, s)
                                   for n, k, s in zip(spatial, pool_size, strides)))


def windows(n, k, s, padding):
    """[(lo, hi)] input ranges (clipped to [0, n)) of each output position."""
    if padding == "valid":
        starts = range(0, n - k + 1, s)
    else:
        before = tf_same_split(n, k, s)[0]
        starts = [i * s - before for i in range(-(-n // s))]
    return [(max(a, 0), min(a + k, n)) for a in starts]


def _channels_first(x, data_format):
    return np.moveaxis(x, -1, 1) if data_format == "channels_last" else x


def _restore(y, data_format):
    return np.moveaxis(y, 1, -1) if data_format == "channels_last" else y


def pool(x, pool_size, strides, padding, mode, data_format, upstream=None):
    """Pooled ``x`` (float64); with ``upstream`` (shaped like the output), also the
    gradient of ``sum(output * upstream)`` w.r.t. ``x``. ``mode``: 'max' or
    'average'; ``x`` must have no ties within a window for 'max'."""
    x = _channels_first(np.asarray(x, dtype=np.float64), data_format)
    rank = x.ndim - 2
    pool_size = (pool_size,) * rank if isinstance(pool_size, int) else tuple(pool_size)
    strides = pool_size if strides is None else strides
    strides = (strides,) * rank if isinstance(strides, int) else tuple(strides)
    per_dim = [windows(n, k, s, padding.lower())
               for n, k, s in zip(x.shape[2:], pool_size, strides)]
    out = np.empty(x.shape[:2] + tuple(len(w) for w in per_dim))
    grad = np.zeros_like(x)
    r = None if upstream is None else _channels_first(np.asarray(upstream, np.float64),
                                                       data_format)
    for index in itertools.product(*(range(len(w)) for w in per_dim)):
        region = (Ellipsis,) + tuple(slice(*per_dim[d][i]) for d, i in enumerate(index))
        block = x[region]
        flat = block.reshape(x.shape[0], x.shape[1], -1)
        at = (Ellipsis,) + index
        if mode == "max":
            out[at] = flat.max(-1)
            if r is not None:
                hit = block == out[at].reshape(out.shape[:2] + (1,) * rank)
                grad[region] += hit * r[at].reshape(r.shape[:2] + (1,) * rank)
        else:
            out[at] = flat.mean(-1)
            if r is not None:
                share = r[at] / flat.shape[-1]
                grad[region] += share.reshape(share.shape + (1,) * rank)
    if upstream is None:
        return _restore(out, data_format)
    return _restore(out, data_format), _restore(grad, data_format)


def replicate_average_pool(x, pool_size, strides, data_format):
    """Average pooling with 'same' padding done as Keras's torch backend does it
    when the padding is asymmetric: pad by repeating the edge, then average
    full windows (the replicas count)."""
    x = _channels_first(np.asarray(x, dtype=np.float64), data_format)
    splits = [tf_same_split(n, k, s) for n, k, s in zip(x.shape[2:], pool_size, strides)]
    padded = np.pad(x, [(0, 0), (0, 0)] + splits, mode="edge")
    return _restore(pool(padded, pool_size, strides, "valid", "average",
                         "channels_first"), data_format)
