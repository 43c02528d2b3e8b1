"""Model weights in Keras 3's HDF5 layout (``.weights.h5``, and the
``model.weights.h5`` member of a ``.keras`` archive).

Keras 3 stores each layer's own weights under a path made of attribute
names: ``layers/<snake_case class name>[_N]/vars/<index>`` for the layers of
a functional or Sequential model (numbered per class, in ``model.layers``
order, not by layer name), ``<attribute>/vars/...`` for the layers a
subclassed model or layer holds in attributes, ``<list attribute>/<class
name>[_N]/...`` for layers in lists, and the object's own ``vars`` group
carries a ``name`` attribute. A model compiled with a sepconv optimizer
also stores the optimizer's variables under ``optimizer/vars`` (Keras does
so in ``.keras`` archives and ``.weights.h5`` files alike; see
:mod:`sepconv.saving.optimizer_state`; a plain torch optimizer's state is
not saved). :func:`walk` reproduces those paths for sepconv modules, so
Keras reads our files and we read Keras's.

>>> import io, sepconv
>>> model = sepconv.Sequential([sepconv.Input((3,)), sepconv.layers.Dense(2)])
>>> buffer = io.BytesIO()
>>> save_weights_h5(model, buffer)
>>> [path for path, _ in walk(model)]
['', 'layers/dense']
"""

from __future__ import annotations

import numpy as np
import torch

from sepconv.utils.naming import to_snake_case


# ------------------------------------------------------------------ traversal
def _name_key(name):
    return f"~{name}" if name.startswith("_") else name


def _is_container(obj):
    return isinstance(obj, (torch.nn.ModuleList, torch.nn.ModuleDict, list, tuple))


def _container_items(container):
    if isinstance(container, torch.nn.ModuleDict):
        return list(container.values())
    if isinstance(container, torch.nn.ModuleList):
        return list(container)
    return list(container)


def _children(obj):
    """(attribute, child) pairs in Keras's order: a functional or Sequential
    model's ``layers`` list (then its ``optimizer``); otherwise the module's
    attributes sorted by name (underscored names last), a subclassed model's
    ``layers`` property and ``optimizer`` among them (layers already visited
    through ``layers`` keep their first path)."""
    from sepconv.models.functional import Functional
    from sepconv.models.model import Model
    from sepconv.saving.optimizer_state import optimizer_entry

    optimizer = optimizer_entry(obj) if isinstance(obj, Model) else None
    if isinstance(obj, Functional):
        yield "layers", obj.layers
        if optimizer is not None:
            yield "optimizer", optimizer
        return
    attributes = dict(obj._modules)
    if isinstance(obj, Model):
        attributes["layers"] = obj.layers
        if optimizer is not None:
            attributes["optimizer"] = optimizer
    for name, child in sorted(attributes.items(), key=lambda item: _name_key(item[0])):
        if child is not None:
            yield name, child


def walk(module):
    """``(path, module)`` for ``module`` and every module below it whose
    weights Keras would store, each once, with Keras's path (a compiled
    model's optimizer as an :class:`~sepconv.saving.optimizer_state.OptimizerEntry`)."""
    visited = set()
    found = []

    def visit(obj, path):
        if id(obj) in visited:
            return
        visited.add(id(obj))
        found.append((path, obj))
        if not isinstance(obj, torch.nn.Module):
            return  # an optimizer entry: variables, no children
        for attribute, child in _children(obj):
            child_path = f"{path}/{attribute}" if path else attribute
            if _is_container(child):
                visit_container(child, child_path)
            elif isinstance(child, torch.nn.Module) or hasattr(child, "save_own_variables"):
                visit(child, child_path)

    def visit_container(container, path):
        used = {}
        for item in _container_items(container):
            base = "container" if _is_container(item) else to_snake_case(type(item).__name__)
            count = used.get(base)
            used[base] = 0 if count is None else count + 1
            name = base if count is None else f"{base}_{count + 1}"
            if _is_container(item):
                visit_container(item, f"{path}/{name}")
            elif isinstance(item, torch.nn.Module):
                visit(item, f"{path}/{name}")

    visit(module, "")
    return found


class _TorchModuleVariables:
    """``save_own_variables`` / ``load_own_variables`` for a plain torch
    module inside a model: its direct parameters, then buffers."""

    def __init__(self, module):
        self.tensors = list(module.parameters(recurse=False)) + list(module.buffers(recurse=False))
        self.name = type(module).__name__

    def save_own_variables(self, store):
        for index, tensor in enumerate(self.tensors):
            store[str(index)] = tensor.detach().cpu().numpy()

    def load_own_variables(self, store):
        if len(store.keys()) != len(self.tensors):
            raise ValueError(
                f"Module {self.name} has {len(self.tensors)} tensors; the saved entry "
                f"must hold as many. Received: {len(store.keys())} saved tensors"
            )
        with torch.no_grad():
            for index, tensor in enumerate(self.tensors):
                value = torch.as_tensor(np.asarray(store[str(index)]))
                if tuple(value.shape) != tuple(tensor.shape):
                    raise ValueError(
                        f"Tensor {index} of {self.name} has shape {tuple(tensor.shape)}; "
                        f"the saved value must too. Received: shape {tuple(value.shape)}"
                    )
                tensor.copy_(value)


def _variables_of(module):
    return module if hasattr(module, "save_own_variables") else _TorchModuleVariables(module)


# ---------------------------------------------------------------------- stores
class _ReadVars:
    """The ``vars`` group of one path, read-only, as a mapping of NumPy arrays."""

    def __init__(self, group, path, filename):
        self.group, self.path, self.filename = group, path, filename

    def keys(self):
        return [] if self.group is None else list(self.group.keys())

    def __len__(self):
        return len(self.keys())

    def __contains__(self, key):
        return key in self.keys()

    def __getitem__(self, key):
        import h5py

        where = f"{self.path}/vars/{key}" if self.path else f"vars/{key}"
        if self.group is None or key not in self.group:
            raise ValueError(f"{self.filename} has no weight at '{where}'. Received: key={key!r}")
        dataset = self.group[key]
        if not isinstance(dataset, h5py.Dataset) or dataset.dtype.kind not in "fiub":
            raise ValueError(
                f"{self.filename}: '{where}' must be a numeric dataset. Received: "
                f"{type(dataset).__name__} of dtype {getattr(dataset, 'dtype', None)}"
            )
        return np.asarray(dataset[()])


def _vars_group(h5file, path, create):
    name = f"{path}/vars" if path else "vars"
    if create:
        return h5file.create_group(name)
    import h5py

    group = h5file.get(name)
    return group if isinstance(group, h5py.Group) else None


def save_weights_h5(model, target):
    """Write ``model``'s weights in Keras 3's layout to ``target`` (a path or
    a binary file object)."""
    import h5py

    with h5py.File(target, "w") as h5file:
        for path, module in walk(model):
            group = _vars_group(h5file, path, create=True)
            name = getattr(module, "name", None)
            if isinstance(name, str):
                group.attrs["name"] = name
            values = {}
            _variables_of(module).save_own_variables(values)
            for key in sorted(values, key=int):
                group.create_dataset(key, data=np.asarray(values[key]))


def load_weights_h5(model, source, skip_mismatch=False, filename="the weights file"):
    """Read weights written by :func:`save_weights_h5` or by Keras 3 into
    ``model``; with ``skip_mismatch`` a layer whose entry does not fit is left
    as it is (with a warning) instead of raising."""
    import warnings

    import h5py

    try:
        h5file = h5py.File(source, "r")
    except OSError as error:
        raise ValueError(
            f"{filename} is not a readable HDF5 file ({error}). Received: {filename}"
        ) from None
    with h5file:
        skipped = []
        for path, module in walk(model):
            store = _ReadVars(_vars_group(h5file, path, create=False), path, filename)
            try:
                _variables_of(module).load_own_variables(store)
            except ValueError as error:
                if not skip_mismatch:
                    raise ValueError(f"Loading {filename} into '{path or 'the model'}': {error}") from None
                skipped.append(f"{path or '<model>'}: {error}")
        if skipped:
            warnings.warn("Skipped weights that did not fit (skip_mismatch=True):\n"
                          + "\n".join(skipped), stacklevel=3)
