"""What ``compile(loss=..., loss_weights=..., metrics=...)`` means for a
model's outputs: the data loss of a batch and the metrics to update, with the
names Keras logs them under.

A single-output model takes one loss and a list of metrics. A model with
several outputs takes one loss for all of them, or a list (in output order)
or dict (by output name) of losses, ``loss_weights`` likewise, and metrics as
a list of lists or a dict; its logs carry ``<output>_loss`` and
``<output>_<metric>`` entries as Keras's do.

>>> import torch
>>> objective = Objective("mse", metrics=["mae"], output_names=["out"])
>>> y, y_pred = torch.zeros(4, 1), torch.ones(4, 1)
>>> float(objective.data_loss(y, y_pred, None)[0])
1.0
>>> objective.update_metrics(y, y_pred, None)
>>> {name: round(float(value), 3) for name, value in objective.metric_results().items()}
{'mae': 1.0}
"""

from __future__ import annotations

import torch

from sepconv.layers.node import flatten


def _per_output(value, output_names, argument):
    """``value`` as a list with one entry per output: a dict by name, a
    list/tuple in output order, or one value for every output."""
    count = len(output_names)
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(output_names))
        if unknown:
            raise ValueError(
                f"`{argument}` names outputs the model does not have: {unknown}; its "
                f"outputs are {output_names}. Received: {argument}={value!r}"
            )
        return [value.get(name) for name in output_names]
    if isinstance(value, (list, tuple)) and count > 1:
        if len(value) != count:
            raise ValueError(
                f"`{argument}` must have one entry per output ({count}: {output_names}). "
                f"Received: {argument} with {len(value)} entries"
            )
        return list(value)
    return [value] * count


def _as_float32(pred):
    """``pred.float()``, without the call when it would change nothing (a
    training loop's predictions come here every step)."""
    return pred if pred.dtype == torch.float32 else pred.float()


def _detached_float(pred):
    """``pred.detach().float()``, likewise."""
    return _as_float32(pred.detach() if pred.requires_grad else pred)


class Objective:
    """Losses, loss weights and metrics of a compiled model (see the module
    docstring). Loss and metric objects are resolved on the first batch,
    when the shapes of targets and predictions are known (as Keras resolves
    ``"crossentropy"`` and ``"accuracy"``)."""

    def __init__(self, loss, loss_weights=None, metrics=None, weighted_metrics=None,
                 output_names=("output",)):
        self.output_names = list(output_names)
        multi = len(self.output_names) > 1
        self.loss_specs = _per_output(loss, self.output_names, "loss")
        self.losses = None  # Loss objects, one per output, from the first batch
        weights = _per_output(1.0 if loss_weights is None else loss_weights,
                              self.output_names, "loss_weights")
        self.loss_weights = [1.0 if weight is None else float(weight) for weight in weights]
        self._metric_specs = self._metric_lists(metrics, "metrics", multi)
        self._weighted_specs = self._metric_lists(weighted_metrics, "weighted_metrics", multi)
        self._metrics = None  # [(output index, metric, weighted, log name)]

    def _metric_lists(self, metrics, argument, multi):
        if metrics is None:
            return [[] for _ in self.output_names]
        if not multi:
            if not isinstance(metrics, (list, tuple)):
                raise TypeError(
                    f"`{argument}` must be a list of metrics. Received: {argument}={metrics!r}"
                )
            return [list(metrics)]
        specs = _per_output(metrics, self.output_names, argument)
        return [[] if spec is None else list(spec) if isinstance(spec, (list, tuple)) else [spec]
                for spec in specs]

    def _structure(self, value):
        """``value`` (one tensor, a list, or a dict by output name) as a list
        in output order."""
        if isinstance(value, dict):
            return [value[name] for name in self.output_names]
        if isinstance(value, (list, tuple)) and len(self.output_names) > 1:
            return list(value)
        return [value]

    # ----------------------------------------------------------------- loss
    def data_loss(self, y_true, y_pred, sample_weight):
        """(total weighted loss, [per-output losses]) as float32 tensors."""
        from sepconv.training.losses import resolve_loss

        trues, preds = self._structure(y_true), self._structure(y_pred)
        if any(spec is not None and true is None for spec, true in zip(self.loss_specs, trues)):
            raise ValueError(
                "The model was compiled with a loss but no targets `y` were given. "
                "Received: y=None"
            )
        if self.losses is None:
            self.losses = [resolve_loss(spec, true, pred) for spec, true, pred
                           in zip(self.loss_specs, trues, preds)]
        weights = (self._structure(sample_weight) if isinstance(sample_weight, (list, dict))
                   else [sample_weight] * len(preds))
        total, per_output = None, []
        for loss, weight, true, pred, sw in zip(self.losses, self.loss_weights, trues, preds,
                                                weights):
            if loss is None:
                per_output.append(None)
                continue
            value = loss(true, _as_float32(pred), sample_weight=sw)
            per_output.append(value)
            weighted = value if weight == 1 else weight * value  # x * 1 is x: no graph node
            total = weighted if total is None else total + weighted
        if total is None:
            raise ValueError(
                "No loss to optimize: compile the model with `loss=...`. Received: loss=None"
            )
        return total, per_output

    # -------------------------------------------------------------- metrics
    def _resolve(self, y_true, y_pred):
        if not any(flatten(self._metric_specs + self._weighted_specs)):
            self._metrics = []
            return
        from sepconv.metrics import resolve_metric

        trues, preds = self._structure(y_true), self._structure(y_pred)
        multi = len(self.output_names) > 1
        resolved, taken = [], {}
        for weighted, specs in ((False, self._metric_specs), (True, self._weighted_specs)):
            for index, output_specs in enumerate(specs):
                prefix = f"{self.output_names[index]}_" if multi else ""
                for spec in output_specs:
                    metric = resolve_metric(spec, trues[index], preds[index])
                    name = _log_name(prefix, metric.name, weighted, taken)
                    resolved.append((index, metric, weighted, name))
        self._metrics = resolved

    @property
    def metrics(self):
        """The resolved metric objects (empty before the first batch)."""
        return [metric for _, metric, _, _ in self._metrics or []]

    def update_metrics(self, y_true, y_pred, sample_weight):
        """Update every metric with a batch (predictions detached)."""
        if self._metrics is None:
            self._resolve(y_true, y_pred)
        if not self._metrics:
            return
        trues = self._structure(y_true)
        preds = [_detached_float(pred) for pred in self._structure(y_pred)]
        weights = (self._structure(sample_weight) if isinstance(sample_weight, (list, dict))
                   else [sample_weight] * len(preds))
        for index, metric, weighted, _ in self._metrics:
            metric.update_state(trues[index], preds[index],
                                sample_weight=weights[index] if weighted else None)

    def metric_results(self):
        """``{log name: result tensor}`` in the order Keras's ``evaluate``
        lists them: the metrics logged under their own name in compile
        order, then the renamed ones (``<output>_…``, ``weighted_…``,
        ``…_1``) sorted by name."""
        entries = self._metrics or []
        own = [(name, metric) for _, metric, _, name in entries if name == metric.name]
        renamed = sorted(((name, metric) for _, metric, _, name in entries
                          if name != metric.name), key=lambda entry: entry[0])
        return {name: metric.result() for name, metric in own + renamed}

    def reset_metrics(self):
        for _, metric, _, _ in self._metrics or []:
            metric.reset_state()


def _log_name(prefix, name, weighted, taken):
    """The name Keras logs a metric under, given the names ``taken`` so far
    (a dict it updates): ``prefix + name``; a repeated name gets ``_1``,
    ``_2``… except that a weighted metric first tries
    ``prefix + "weighted_" + name``."""
    log_name = prefix + name
    if log_name in taken and weighted:
        log_name = f"{prefix}weighted_{name}"
    if log_name not in taken:
        taken[log_name] = 1
        return log_name
    count = taken[log_name]
    taken[log_name] = count + 1
    return f"{log_name}_{count}"


def output_names(model):
    """Keras's output names: the names of the layers that make the outputs."""
    outputs = getattr(model, "_outputs_struct", None)
    if outputs is None:
        return ["output"]
    if isinstance(outputs, dict):
        return list(outputs)
    names = []
    for index, tensor in enumerate(flatten(outputs)):
        history = getattr(tensor, "_keras_history", None)
        names.append(history.layer.name if history is not None else f"output_{index}")
    return names
