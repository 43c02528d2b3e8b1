"""What ``fit`` / ``evaluate`` accept as data, turned into epochs of batches.

Every source yields ``(x, y, sample_weight)`` batches of tensors (``y`` and
``sample_weight`` may be None; ``x`` and ``y`` may be lists or dicts for
models with several inputs or outputs):

* arrays or tensors (NumPy, torch, nested lists/dicts of them), cut into
  ``batch_size`` slices, shuffled each epoch when asked;
* a map-style ``torch.utils.data.Dataset`` whose items are ``x``, ``(x, y)``
  or ``(x, y, sample_weight)``, batched by a DataLoader;
* a ``torch.utils.data.DataLoader`` (used as is);
* any other iterable or generator of such batches (a tuple or list of one to
  three elements, as Keras unpacks them).

Under ``torch.distributed`` each process gets its own shard: arrays and
datasets through a ``DistributedSampler``-style split, generators every
``world_size``-th batch.

>>> import numpy as np
>>> source = data_source(np.arange(10.0), np.arange(10), batch_size=4)
>>> source.num_batches(), [tuple(x.shape) for x, y, w in source]
(3, [(4,), (4,), (2,)])
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from sepconv.layers.node import flatten, map_structure
from sepconv.training import distributed


def unpack(batch):
    """``(x, y, sample_weight)`` from a batch as Keras unpacks one: a tuple
    (or list) of 1 to 3 items, anything else is ``x`` alone."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple):
        return batch, None, None
    if not 1 <= len(batch) <= 3:
        raise ValueError(
            "A batch must be x, (x,), (x, y) or (x, y, sample_weight). "
            f"Received: a tuple of {len(batch)} elements"
        )
    return batch + (None,) * (3 - len(batch))


def to_tensors(value):
    """Arrays, lists of numbers and tensors (nested in lists/dicts) as tensors."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and value and not any(
            hasattr(leaf, "shape") for leaf in flatten(value)):
        value = np.asarray(value)
    return map_structure(_leaf_tensor, value)


def _leaf_tensor(leaf):
    if isinstance(leaf, torch.Tensor):
        return leaf
    array = np.asarray(leaf)
    if array.dtype == object:
        raise TypeError(
            "Training data must be numeric arrays or tensors. "
            f"Received: an array of Python objects of shape {array.shape}"
        )
    return torch.from_numpy(np.ascontiguousarray(array))


def count_samples(*structures):
    """The common first dimension of every array in ``structures``."""
    sizes = {int(leaf.shape[0]) for structure in structures if structure is not None
             for leaf in flatten(structure)}
    if len(sizes) != 1:
        raise ValueError(
            "x, y and sample_weight must have the same number of samples (first "
            f"dimension). Received: sizes {sorted(sizes)}"
        )
    return sizes.pop()


def is_array_data(x):
    """Whether ``x`` is arrays/tensors (possibly nested) rather than a
    dataset, loader or generator."""
    if isinstance(x, (np.ndarray, torch.Tensor)):
        return True
    if isinstance(x, dict):
        return all(is_array_data(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return all(is_array_data(v) or isinstance(v, (int, float)) for v in x)
    return False


def class_weights_to_sample_weights(y, class_weight, sample_weight):
    """Per-sample weights from a ``{class: weight}`` dict, multiplied into
    ``sample_weight`` (Keras: integer labels, or the argmax of one-hot ones)."""
    if not isinstance(class_weight, dict):
        raise TypeError(
            "`class_weight` must be a dict mapping class indices to weights. "
            f"Received: class_weight={class_weight!r}"
        )
    if not isinstance(y, torch.Tensor):
        raise ValueError(
            "`class_weight` needs a single array of targets `y`. "
            f"Received: y of type {type(y).__name__}"
        )
    labels = y.argmax(-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y)).round()
    labels = labels.long()
    table = torch.ones(max(int(labels.max()) + 1, max(class_weight) + 1), dtype=torch.float32)
    for index, weight in class_weight.items():
        table[int(index)] = float(weight)
    weights = table[labels]
    return weights if sample_weight is None else weights * sample_weight.to(torch.float32)


class ArraySource:
    """Batches of in-memory arrays, shuffled per epoch, sharded per process."""

    def __init__(self, x, y, sample_weight, batch_size, shuffle=False):
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.num_samples = count_samples(x, y, sample_weight)
        self.epoch = 0
        world = distributed.world_size()
        self._local = math.ceil(self.num_samples / world)

    def num_batches(self):
        return math.ceil(self._local / self.batch_size)

    def _indices(self):
        n, world = self.num_samples, distributed.world_size()
        if world == 1:
            return torch.randperm(n) if self.shuffle else None
        # Every process draws the same order (a fixed seed per epoch), pads it
        # to a multiple of the world size and takes its own stride.
        order = (torch.randperm(n, generator=torch.Generator().manual_seed(self.epoch))
                 if self.shuffle else torch.arange(n))
        padded = torch.cat([order, order[: self._local * world - n]])
        return padded[distributed.rank()::world]

    def __iter__(self):
        indices = self._indices()
        self.epoch += 1
        total = self.num_samples if indices is None else len(indices)
        for start in range(0, total, self.batch_size):
            if indices is None:
                take = slice(start, start + self.batch_size)
            else:
                take = indices[start:start + self.batch_size]
            yield tuple(None if part is None else part[take] if isinstance(part, torch.Tensor)
                        else map_structure(lambda a: a[take], part)
                        for part in (self.x, self.y, self.sample_weight))


class LoaderSource:
    """A DataLoader's batches, unpacked; a Dataset is wrapped in one."""

    def __init__(self, data, batch_size, shuffle=False):
        if isinstance(data, Dataset) and not isinstance(data, torch.utils.data.IterableDataset):
            sampler = (DistributedSampler(data, shuffle=shuffle)
                       if distributed.is_distributed() else None)
            data = DataLoader(data, batch_size=batch_size,
                              shuffle=shuffle and sampler is None, sampler=sampler)
        elif isinstance(data, Dataset):
            data = DataLoader(data, batch_size=batch_size)
        self.loader = data
        self.epoch = 0

    def num_batches(self):
        try:
            return len(self.loader)
        except TypeError:
            return None

    def __iter__(self):
        sampler = getattr(self.loader, "sampler", None)
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(self.epoch)
        self.epoch += 1
        for batch in self.loader:
            yield unpack(batch)


class IteratorSource:
    """Batches drawn from a generator or iterable; each process takes every
    ``world_size``-th batch."""

    def __init__(self, data):
        self.iterator = iter(data)
        self.exhausted = False

    def num_batches(self):
        return None

    def __iter__(self):
        world, rank = distributed.world_size(), distributed.rank()
        for index, batch in enumerate(self.iterator):
            if index % world == rank:
                yield unpack(batch)
        self.exhausted = True


def data_source(x, y=None, sample_weight=None, batch_size=32, shuffle=False,
                class_weight=None):
    """The batch source for ``x`` (and ``y`` / ``sample_weight`` when ``x`` is
    arrays); see the module docstring."""
    if class_weight is not None and sample_weight is not None:
        raise ValueError(
            "Pass either `class_weight` or `sample_weight`, not both (as in Keras). "
            f"Received: class_weight={class_weight!r} and a sample_weight"
        )
    if is_array_data(x):
        x, y, sample_weight = to_tensors(x), to_tensors(y), to_tensors(sample_weight)
        if class_weight is not None:
            sample_weight = class_weights_to_sample_weights(y, class_weight, sample_weight)
        return ArraySource(x, y, sample_weight, batch_size, shuffle=shuffle)
    if y is not None or sample_weight is not None:
        raise ValueError(
            "`y` and `sample_weight` must be None when `x` is a dataset, loader or "
            "generator (it yields them itself). "
            f"Received: x of type {type(x).__name__} with y={type(y).__name__}"
        )
    if class_weight is not None:
        raise ValueError(
            "`class_weight` applies to array data only. "
            f"Received: x of type {type(x).__name__}"
        )
    if isinstance(x, (Dataset, DataLoader)):
        return LoaderSource(x, batch_size, shuffle=shuffle)
    if hasattr(x, "__iter__") or hasattr(x, "__next__"):
        return IteratorSource(x)
    raise TypeError(
        "`x` must be arrays or tensors (or a list/dict of them), a torch Dataset or "
        f"DataLoader, or a generator of batches. Received: x of type {type(x).__name__}"
    )


def split_for_validation(x, y, sample_weight, validation_split):
    """``(train, validation)`` parts of array data: the last
    ``validation_split`` fraction of the samples (before any shuffling)
    validates, as in Keras."""
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(
            "`validation_split` must be in [0, 1). "
            f"Received: validation_split={validation_split!r}"
        )
    if not is_array_data(x):
        raise ValueError(
            "`validation_split` is only supported for arrays and tensors; pass "
            "`validation_data` for datasets and generators. "
            f"Received: x of type {type(x).__name__}"
        )
    x, y, sample_weight = to_tensors(x), to_tensors(y), to_tensors(sample_weight)
    n = count_samples(x, y, sample_weight)
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"validation_split={validation_split} leaves no samples for "
            f"{'training' if split_at == 0 else 'validation'} out of {n}. "
            f"Received: validation_split={validation_split}"
        )

    def part(value, piece):
        return None if value is None else map_structure(lambda a: a[piece], value)

    train = slice(0, split_at)
    held_out = slice(split_at, n)
    return ((part(x, train), part(y, train), part(sample_weight, train)),
            (part(x, held_out), part(y, held_out), part(sample_weight, held_out)))
