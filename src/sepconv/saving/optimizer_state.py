"""The ``optimizer`` entry of a compiled model in Keras 3's weights layout.

Keras saves a compiled model's optimizer variables (step count, learning
rate, per-parameter slots: see
:mod:`sepconv.training.optimizer_variables`) under ``optimizer/vars`` in
``model.weights.h5`` and ``.weights.h5`` files, and loads them back into
the model's optimizer. :func:`optimizer_entry` gives that entry for a
sepconv model:

* only a sepconv optimizer (Keras's variables) has one; a model compiled
  with a plain ``torch.optim.Optimizer`` saves no optimizer state (save its
  ``state_dict()`` with ``torch.save`` for that) and ignores a saved one;
* loading into an optimizer that is not built yet, when the file holds more
  than its step count and rate, first builds it on the model's trainable
  weights (as Keras's ``load_model`` does through ``compile_from_config``)
  so that the state is restored; when the counts still differ nothing is
  loaded and a warning says so, as in Keras.

>>> import sepconv
>>> model = sepconv.Sequential([sepconv.Input((3,)), sepconv.layers.Dense(2)])
>>> optimizer_entry(model) is None
True
>>> model.compile(optimizer="adam", loss="mse")
>>> store = {}
>>> optimizer_entry(model).save_own_variables(store)
>>> sorted(store)
['0', '1']
"""

from __future__ import annotations


class OptimizerEntry:
    """``save_own_variables`` / ``load_own_variables`` of ``model``'s
    sepconv ``optimizer``, building it on ``model``'s trainable weights
    before loading a store that holds its built state.

    >>> import sepconv
    >>> model = sepconv.Sequential([sepconv.Input((3,)), sepconv.layers.Dense(2)])
    >>> model.compile(optimizer=sepconv.optimizers.SGD(momentum=0.9, name="sgd"), loss="mse")
    >>> saved = {"0": 7, "1": 0.5, "2": [[0.1, 0.2]] * 3, "3": [0.3, 0.4]}
    >>> OptimizerEntry(model, model.optimizer).load_own_variables(saved)
    >>> model.optimizer.built, model.optimizer.iterations
    (True, 7)
    """

    def __init__(self, model, optimizer):
        self.model, self.optimizer = model, optimizer
        self.name = optimizer.name

    def save_own_variables(self, store):
        """Write the optimizer's Keras variables into ``store``."""
        self.optimizer.save_own_variables(store)

    def load_own_variables(self, store):
        """Load ``store`` into the optimizer (built first when needed)."""
        optimizer = self.optimizer
        if not optimizer.built and len(store.keys()) > len(optimizer.variables):
            weights = list(self.model.trainable_weights)
            if weights:
                optimizer.build(weights)
        optimizer.load_own_variables(store)


def optimizer_entry(model):
    """The :class:`OptimizerEntry` of a model compiled with a sepconv
    optimizer, else None (not compiled, or a plain torch optimizer)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "save_own_variables"):
        return None
    return OptimizerEntry(model, optimizer)


__all__ = ["OptimizerEntry", "optimizer_entry"]
