"""``Model.predict``: batched inference returning NumPy arrays."""

from __future__ import annotations

import numpy as np
import torch

from sepconv.layers.node import flatten, map_structure
from sepconv.training.progress import ProgressBar, resolve_verbose


def _to_numpy(tensor):
    """A NumPy copy; bfloat16 (which NumPy lacks) as ml_dtypes.bfloat16, the
    array type Keras returns, or float32 where ml_dtypes is not installed."""
    tensor = tensor.detach().cpu()
    if tensor.dtype != torch.bfloat16:
        return tensor.numpy()
    try:
        import ml_dtypes
    except ImportError:
        return tensor.float().numpy()
    return tensor.view(torch.int16).numpy().view(ml_dtypes.bfloat16)


def _check_batch_size(batch_size):
    if batch_size is None:
        return 32
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) \
            or batch_size < 1:
        raise ValueError(
            f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}"
        )
    return int(batch_size)


def num_samples(x, argument="x"):
    """The common first dimension of the arrays in ``x``."""
    leaves = flatten(x)
    sizes = set()
    for leaf in leaves:
        if not hasattr(leaf, "shape") or len(leaf.shape) == 0:
            raise ValueError(
                f"`{argument}` must be arrays or tensors with a batch dimension (or a "
                f"list/dict of them). Received: {argument} containing "
                f"{type(leaf).__name__}"
            )
        sizes.add(int(leaf.shape[0]))
    if len(sizes) != 1:
        raise ValueError(
            f"All arrays in `{argument}` must have the same number of samples (first "
            f"dimension). Received: sizes {sorted(sizes)}"
        )
    return sizes.pop()


def _as_arrays(x):
    """Python lists of numbers become one array; nests of arrays stay nests."""
    if isinstance(x, (list, tuple)) and x and not any(
            hasattr(leaf, "shape") for leaf in flatten(x)):
        return np.asarray(x)
    return x


def predict(model, x, batch_size=None, verbose="auto", steps=None):
    """``model``'s outputs for ``x`` as NumPy arrays (same nesting as the
    model's outputs), ``batch_size`` samples per forward pass.

    >>> import sepconv
    >>> layer_model = sepconv.Sequential([sepconv.layers.Conv2D(2, 1, input_shape=(4, 4, 3))])
    >>> predict(layer_model, np.ones((5, 4, 4, 3)), batch_size=2, verbose=0).shape
    (5, 4, 4, 2)
    """
    batch_size = _check_batch_size(batch_size)
    verbose = resolve_verbose(verbose)
    x = _as_arrays(x)
    n = num_samples(x)
    total_steps = -(-n // batch_size)
    if steps is not None:
        if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 1:
            raise ValueError(f"`steps` must be a positive integer. Received: steps={steps!r}")
        total_steps = min(total_steps, int(steps))
    progress = ProgressBar(total_steps, verbose=verbose)
    collected = []
    with torch.no_grad():
        for step in range(total_steps):
            start = step * batch_size
            batch = map_structure(lambda a, s=start: a[s:s + batch_size], x)
            outputs = model(batch, training=False)
            collected.append(map_structure(_to_numpy, outputs))
            progress.update(step + 1)
    if not collected:
        raise ValueError(f"`x` is empty: predict needs at least one sample. Received: {n} samples")
    first = collected[0]
    leaves = [flatten(outputs) for outputs in collected]
    merged = [np.concatenate([batch[i] for batch in leaves]) for i in range(len(leaves[0]))]
    iterator = iter(merged)
    return map_structure(lambda _: next(iterator), first)
