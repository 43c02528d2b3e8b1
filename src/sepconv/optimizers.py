"""``sepconv.optimizers``: Keras 3's optimizers and learning-rate schedules
as ``torch.optim`` optimizers.

Make an optimizer from Keras's arguments, ``build`` it on the parameters and
use it like any torch optimizer:

>>> import torch
>>> import sepconv
>>> model = torch.nn.Linear(3, 1)
>>> optimizer = sepconv.optimizers.get("adam")
>>> optimizer.build(model.parameters())
>>> model(torch.ones(2, 3)).sum().backward()
>>> optimizer.step()
>>> optimizer.iterations
1
>>> from sepconv.optimizers import schedules
>>> float(schedules.ExponentialDecay(1.0, 1, 0.5)(2))
0.25
"""

import inspect

import torch

from sepconv.training import schedules
from sepconv.training.optimizers import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Nadam,
    Optimizer,
    RMSprop,
)
from sepconv.utils.registry import Registry

_REGISTRY = Registry(
    "optimizer",
    "keras.optimizers",
    [(Optimizer, "optimizer"), (SGD, "sgd"), (Adam, "adam"), (AdamW, "adamw"),
     (RMSprop, "rmsprop"), (Adagrad, "adagrad"), (Adadelta, "adadelta"),
     (Adamax, "adamax"), (Nadam, "nadam")],
    module_overrides={Optimizer: "keras"},
)


def get(identifier):
    """The optimizer ``identifier`` stands for: None gives None; a Keras name
    (``"adam"``, ``"Adam"``, ``"rmsprop"``) or class gives a new default
    instance, a config dict is deserialized, an optimizer (any
    ``torch.optim.Optimizer``) is returned as is.

    >>> get("rmsprop").get_config()["rho"]
    0.9
    """
    if identifier is None or isinstance(identifier, torch.optim.Optimizer):
        return identifier
    if isinstance(identifier, str):
        identifier = _REGISTRY.names.get(identifier.lower(), identifier)
    if inspect.isclass(identifier) and not issubclass(identifier, Optimizer):
        raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}. "
                         f"Received: identifier={identifier!r}")
    if not isinstance(identifier, (str, dict)) and not inspect.isclass(identifier):
        raise ValueError(
            "Could not interpret optimizer identifier: it must be a name, a config dict, "
            f"an optimizer class or instance. Received: identifier={identifier!r}"
        )
    return _REGISTRY.get(identifier)


def serialize(optimizer):
    """The Keras 3 config dict of ``optimizer``.

    >>> serialize(SGD(name="sgd"))["class_name"]
    'SGD'
    """
    return _REGISTRY.serialize(optimizer)


def deserialize(config, custom_objects=None):
    """The optimizer a config dict describes; the inverse of
    :func:`serialize` (the learning rate may be a serialized schedule).

    >>> deserialize({"class_name": "Adam", "config": {"learning_rate": 0.01}}).learning_rate
    0.009999999776482582
    """
    if isinstance(config, dict) and isinstance(config.get("class_name"), str):
        config = {**config, "class_name": _lower_case_alias(config["class_name"])}
    return _REGISTRY.deserialize(config, custom_objects)


def _lower_case_alias(class_name):
    builtin = _REGISTRY.names.get(class_name.lower())
    return builtin.__name__ if builtin is not None else class_name


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "Nadam", "schedules", "get", "serialize", "deserialize"]
