"""``compile`` / ``fit`` / ``evaluate`` / ``train_on_batch`` /
``test_on_batch`` with Keras 3's semantics, on PyTorch.

Each training step: forward in training mode (under autocast for a
``mixed_*`` dtype policy), objective = data loss + ``sum(model.losses)``
(regularization and activity losses, as Keras adds them), backward,
``optimizer.step()``, then every constrained weight is projected (Keras
applies constraints "after the optimizer update"). Logs hold the running
mean of the loss weighted by batch size and the metrics' results.

Under ``torchrun`` (or with ``torch.distributed`` initialised) ``fit`` trains
a ``DistributedDataParallel`` replica per process on its own shard of the
data, averages metrics and non-trainable weights (e.g. BatchNormalization
statistics) across processes every epoch, and only rank 0 prints and writes.

>>> import numpy as np, sepconv
>>> model = sepconv.Sequential([sepconv.Input((2,)), sepconv.layers.Dense(1)])
>>> model.compile(optimizer=sepconv.optimizers.SGD(0.1), loss="mse")
>>> x = np.random.default_rng(0).random((64, 2)).astype("float32")
>>> history = model.fit(x, x.sum(1, keepdims=True), epochs=30, verbose=0)
>>> history.history["loss"][-1] < history.history["loss"][0] / 10
True
"""

from __future__ import annotations

import numbers
import warnings

import torch

from sepconv.training import distributed
from sepconv.training.data import data_source, split_for_validation, unpack


def _positive_int(value, argument, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(
            f"`{argument}` must be a positive integer. Received: {argument}={value!r}"
        )
    return int(value)


def _floats(logs):
    return {name: float(value) for name, value in logs.items()}


class Trainer:
    """Keras's training API, mixed into :class:`sepconv.Model`."""

    compiled = False  # until compile()

    # ---------------------------------------------------------------- compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile=False, auto_scale_loss=True, device=None):
        """Configure training: ``optimizer`` (a Keras name, a sepconv
        optimizer or any ``torch.optim.Optimizer``), ``loss`` (name, Loss
        or callable; a list or dict for several outputs), ``metrics``.
        ``jit_compile=True`` runs the model through ``torch.compile``.
        ``device`` moves the model (default: CUDA when available and the
        model is on the CPU)."""
        from sepconv import optimizers
        from sepconv.metrics import Mean
        from sepconv.training.objectives import Objective, output_names

        if steps_per_execution != 1:
            raise ValueError(
                "sepconv runs one step per execution (PyTorch is eager). "
                f"Received: steps_per_execution={steps_per_execution!r}"
            )
        if not isinstance(jit_compile, bool) and jit_compile != "auto":
            raise ValueError(
                f"`jit_compile` must be True, False or 'auto'. Received: jit_compile={jit_compile!r}"
            )
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self._objective = Objective(loss, loss_weights=loss_weights, metrics=metrics,
                                    weighted_metrics=weighted_metrics,
                                    output_names=output_names(self))
        self._loss_tracker = Mean(name="loss")
        self._output_loss_trackers = None
        self._training_ready = False
        self.jit_compile = jit_compile is True
        self._compiled_forward = None
        self._ddp = None
        self.run_eagerly = bool(run_eagerly)
        self._auto_scale_loss = auto_scale_loss
        self.compiled = True
        self.stop_training = False
        from sepconv.saving import serialize_keras_object as serialize

        self._compile_config = {
            "loss": serialize(loss), "loss_weights": loss_weights,
            "metrics": serialize(metrics), "weighted_metrics": serialize(weighted_metrics),
            "run_eagerly": run_eagerly, "steps_per_execution": steps_per_execution,
            "jit_compile": jit_compile,
        }
        if hasattr(self.optimizer, "get_config"):  # a torch.optim one has no Keras config
            self._compile_config["optimizer"] = optimizers.serialize(self.optimizer)
        self._move_to(device)

    def compile_from_config(self, config):
        """Compile as a saved ``compile_config`` says (Keras's
        ``Model.compile_from_config``)."""
        from sepconv import losses, metrics, optimizers

        config = dict(config)
        optimizer = config.pop("optimizer", None)
        self.compile(
            optimizer=optimizers.deserialize(optimizer) if optimizer else "rmsprop",
            loss=_deserialize_nested(config.pop("loss", None), losses),
            metrics=_deserialize_nested(config.pop("metrics", None), metrics),
            weighted_metrics=_deserialize_nested(config.pop("weighted_metrics", None), metrics),
            **{key: value for key, value in config.items()
               if key in ("loss_weights", "run_eagerly", "jit_compile")})
        if self.built and not getattr(self.optimizer, "built", True):
            self.optimizer.build(list(self.trainable_weights))  # as Keras, ready for saved state

    def _move_to(self, device):
        parameters = list(self.parameters())
        if device is not None:
            self.to(device)
        elif torch.cuda.is_available() and parameters and \
                all(p.device.type == "cpu" for p in parameters):
            self.to("cuda")

    def _require_compiled(self, method):
        if not getattr(self, "compiled", False):
            raise RuntimeError(
                f"You must call `compile()` before `{method}()`: the model has no "
                "optimizer, loss or metrics yet."
            )

    @property
    def metrics_names(self):
        """The names in the logs: "loss", per-output losses, then metrics."""
        names = ["loss"]
        objective = getattr(self, "_objective", None)
        if objective is not None:
            if len(objective.output_names) > 1:
                names += [f"{name}_loss" for name, spec in
                          zip(objective.output_names, objective.loss_specs) if spec is not None]
            names += list(objective.metric_results())
        return names

    def reset_metrics(self):
        """Reset the loss tracker and every metric."""
        if getattr(self, "_objective", None) is None:
            return
        self._loss_tracker.reset_state()
        for tracker in self._output_loss_trackers or []:
            tracker.reset_state()
        self._objective.reset_metrics()

    # ------------------------------------------------------------- one step
    def _device(self):
        for parameter in self.parameters():
            return parameter.device
        return torch.device("cpu")

    def _to_device(self, *structures):
        """``structures`` (tensors, lists, dicts or None) with their tensors on
        the model's device (looked up once for all of them)."""
        from sepconv.layers.node import map_structure

        device = self._device()

        def moved(value):
            if isinstance(value, torch.Tensor):
                return value if value.device == device else value.to(device, non_blocking=True)
            return value

        return tuple(
            None if structure is None
            else moved(structure) if isinstance(structure, torch.Tensor)
            else map_structure(moved, structure)
            for structure in structures)

    def _forward(self, x, training):
        if training and self._ddp is not None:
            return self._ddp(x, training=True)
        if self.jit_compile:
            if self._compiled_forward is None:
                # Not through nn.Module.__setattr__: the compiled wrapper holds
                # the model, and as a submodule it would make the model its own
                # child (dynamo then fails tracing `self.modules()`).
                self.__dict__["_compiled_forward"] = torch.compile(self)
            return self._compiled_forward(x, training=training)
        return self(x, training=training)

    def _prepare_training(self, x=None):
        """Once per compile: build the model (a subclassed model gets its
        weights on a first call on ``x``) and the optimizer on the trainable
        weights; then :meth:`_find_special_weights`."""
        if not self.built:
            with torch.no_grad():
                self(x, training=False)
        optimizer = self.optimizer
        if hasattr(optimizer, "build") and not getattr(optimizer, "built", True):
            optimizer.build(list(self.trainable_weights))
        self._find_special_weights()
        self._training_ready = True

    def _find_special_weights(self):
        """The constrained weights to project after each step and the
        regularized ones whose losses join the objective (found once per
        ``fit`` rather than by walking the weights every step)."""
        self._constrained = [p for p in self.parameters()
                             if getattr(p, "constraint", None) is not None]
        self._regularized = self._regularized_weights()

    def _objective_value(self, x, y, sample_weight, training):
        y_pred = self._forward(x, training=training)
        data_loss, per_output = self._objective.data_loss(y, y_pred, sample_weight)
        extra = self._collect_losses(self._regularized if self._training_ready else None)
        total = data_loss + torch.stack([loss.float() for loss in extra]).sum() \
            if extra else data_loss
        return total, per_output, y_pred

    def _track(self, total, per_output, y, y_pred, sample_weight, batch_size):
        from sepconv.metrics import Mean

        self._loss_tracker.update_state(total, sample_weight=batch_size)
        if len(per_output) > 1:
            if self._output_loss_trackers is None:
                self._output_loss_trackers = [Mean(name=f"{name}_loss")
                                              for name in self._objective.output_names]
            for tracker, value in zip(self._output_loss_trackers, per_output):
                if value is not None:
                    tracker.update_state(value.detach(), sample_weight=batch_size)
        self._objective.update_metrics(y, y_pred, sample_weight)

    def _train_step(self, x, y, sample_weight):
        x, y, sample_weight = self._to_device(x, y, sample_weight)
        if not self._training_ready:
            self._prepare_training(x)
        total, per_output, y_pred = self._objective_value(x, y, sample_weight, training=True)
        optimizer = self.optimizer
        optimizer.zero_grad(set_to_none=True)
        scaled = optimizer.scale_loss(total) if hasattr(optimizer, "scale_loss") else total
        scaled.backward()
        optimizer.step()
        if self._constrained:
            with torch.no_grad():
                for parameter in self._constrained:
                    parameter.copy_(parameter.constraint(parameter))
        self._track(total.detach(), per_output, y, y_pred, sample_weight, _batch_size(x))

    def _test_step(self, x, y, sample_weight):
        x, y, sample_weight = self._to_device(x, y, sample_weight)
        with torch.no_grad():
            total, per_output, y_pred = self._objective_value(x, y, sample_weight,
                                                              training=False)
        self._track(total, per_output, y, y_pred, sample_weight, _batch_size(x))

    def _logs(self, reduce=False):
        """The current loss and metric values; ``reduce`` first sums the
        states of all processes (every process gets the same numbers)."""
        trackers = [self._loss_tracker] + list(self._output_loss_trackers or [])
        states = [v for tracker in trackers for v in tracker.variables]
        states += [v for metric in self._objective.metrics for v in metric.variables]
        if reduce and distributed.is_distributed():
            for state, summed in zip(states, distributed.all_reduce_sum(states)):
                state.copy_(summed)
        logs = {"loss": self._loss_tracker.result()}
        if self._output_loss_trackers:
            for name, tracker in zip(self._objective.output_names, self._output_loss_trackers):
                logs[f"{name}_loss"] = tracker.result()
        logs.update(self._objective.metric_results())
        return _floats(logs)

    # -------------------------------------------------------------------- fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs; returns the History (see Keras's
        ``Model.fit``)."""
        from sepconv.training.callbacks import CallbackList

        self._require_compiled("fit")
        batch_size = _positive_int(32 if batch_size is None else batch_size, "batch_size")
        epochs = _positive_int(epochs, "epochs")
        steps_per_epoch = _positive_int(steps_per_epoch, "steps_per_epoch", allow_none=True)
        validation_freq = _positive_int(validation_freq, "validation_freq")
        if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, numbers.Integral) \
                or not 0 <= initial_epoch:
            raise ValueError(
                f"`initial_epoch` must be a non-negative integer. Received: initial_epoch={initial_epoch!r}"
            )
        self._prepare_distributed()
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = split_for_validation(
                x, y, sample_weight, validation_split)
        train = data_source(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle,
                            class_weight=class_weight)
        validation = None
        if validation_data is not None:
            vx, vy, vsw = unpack(validation_data) if isinstance(validation_data, (tuple, list)) \
                else (validation_data, None, None)
            validation = data_source(vx, vy, vsw, batch_size=validation_batch_size or batch_size)
        steps = steps_per_epoch or train.num_batches()
        if not distributed.is_rank_zero():
            verbose = 0
        callbacks = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                 model=self, verbose=verbose, epochs=epochs, steps=steps)
        self.stop_training = False
        if self.built and not self._training_ready:
            self._prepare_training()  # callbacks may read the optimizer from here on
        elif self._training_ready:
            self._find_special_weights()  # `trainable` may have changed since
        callbacks.on_train_begin()
        # A batch hook no callback overrides does nothing: it is not called.
        batch_begins = callbacks.reads_batch_logs("on_train_batch_begin")
        batch_logs = callbacks.reads_batch_logs("on_train_batch_end")
        epoch_logs = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            ran = 0
            for step, (bx, by, bsw) in enumerate(_take(train, steps_per_epoch)):
                if batch_begins:
                    callbacks.on_train_batch_begin(step)
                self._train_step(bx, by, bsw)
                ran += 1
                if batch_logs:
                    callbacks.on_train_batch_end(step, self._logs())
                if self.stop_training:
                    break
            if ran == 0:
                warnings.warn(
                    "Your input ran out of data; training stopped. Make sure the data "
                    "can provide steps_per_epoch * epochs batches.", stacklevel=2)
                break
            epoch_logs = self._logs(reduce=True)
            self._average_non_trainable_weights()
            if validation is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_source(validation, validation_steps, callbacks)
                epoch_logs.update({f"val_{name}": value for name, value in val_logs.items()})
            callbacks.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        callbacks.on_train_end(epoch_logs)
        return self.history

    # --------------------------------------------------------------- evaluate
    def _evaluate_source(self, source, steps, callbacks):
        self.reset_metrics()
        callbacks.on_test_begin()
        batch_logs = callbacks.reads_batch_logs("on_test_batch_end")
        for step, (bx, by, bsw) in enumerate(_take(source, steps)):
            callbacks.on_test_batch_begin(step)
            self._test_step(bx, by, bsw)
            callbacks.on_test_batch_end(step, self._logs() if batch_logs else None)
        logs = self._logs(reduce=True)
        callbacks.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """The loss and metrics on ``x``/``y``: a float when there are no
        metrics, else a list in ``metrics_names`` order (a dict with
        ``return_dict=True``)."""
        from sepconv.training.callbacks import CallbackList

        self._require_compiled("evaluate")
        batch_size = _positive_int(32 if batch_size is None else batch_size, "batch_size")
        steps = _positive_int(steps, "steps", allow_none=True)
        source = data_source(x, y, sample_weight, batch_size=batch_size)
        if not distributed.is_rank_zero():
            verbose = 0
        total_steps = steps or source.num_batches()
        callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                 verbose=verbose, epochs=1, steps=total_steps)
        logs = self._evaluate_source(source, steps, callbacks)
        return _returned(logs, return_dict)

    # --------------------------------------------------------- single batches
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One training step on one batch; returns its loss and metrics as
        :meth:`evaluate` does (metrics are reset first, as Keras does)."""
        self._require_compiled("train_on_batch")
        self.reset_metrics()
        source = data_source(x, y, sample_weight, batch_size=1 << 62, class_weight=class_weight)
        for bx, by, bsw in source:
            self._train_step(bx, by, bsw)
        return _returned(self._logs(), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """The loss and metrics of one batch (metrics are reset first, as
        Keras does)."""
        self._require_compiled("test_on_batch")
        self.reset_metrics()
        source = data_source(x, y, sample_weight, batch_size=1 << 62)
        for bx, by, bsw in source:
            self._test_step(bx, by, bsw)
        return _returned(self._logs(), return_dict)

    # ------------------------------------------------------------ distributed
    def _prepare_distributed(self):
        if not distributed.initialize_from_environment():
            self._ddp = None
            return
        if not self.built:
            raise ValueError(
                "Distributed training needs a built model (give it an Input or call it on "
                f"a batch first). Received: model '{self.name}' with no weights yet"
            )
        if self._ddp is None:
            from torch.nn.parallel import DistributedDataParallel

            if torch.distributed.get_backend() == "nccl":
                self.to(torch.device("cuda", torch.cuda.current_device()))
            device = self._device()
            self._ddp = DistributedDataParallel(
                self, device_ids=[device.index] if device.type == "cuda" else None)

    def _average_non_trainable_weights(self):
        """Replicas' non-trainable weights (e.g. BatchNormalization moving
        statistics, which each process updates on its own shard) set to
        their mean, so that every replica ends with the same weights."""
        if not distributed.is_distributed():
            return
        weights = [w for w in self.non_trainable_weights if w.is_floating_point()]
        world = distributed.world_size()
        with torch.no_grad():
            for weight, summed in zip(weights, distributed.all_reduce_sum(weights)):
                weight.copy_(summed / world)


def _deserialize_nested(value, module):
    """Strings stay names; serialized objects become objects again."""
    if isinstance(value, dict) and "class_name" in value:
        return module.deserialize(value)
    if isinstance(value, (list, tuple)):
        return [_deserialize_nested(item, module) for item in value]
    if isinstance(value, dict):
        return {key: _deserialize_nested(item, module) for key, item in value.items()}
    return value


def _batch_size(x):
    from sepconv.layers.node import flatten

    return int(flatten(x)[0].shape[0])


def _take(source, steps):
    """The batches of one epoch: ``steps`` of them when given (drawing from
    the source again when an array source runs out, as Keras repeats it)."""
    if steps is None:
        yield from source
        return
    taken = 0
    while taken < steps:
        produced = False
        for batch in source:
            yield batch
            produced = True
            taken += 1
            if taken == steps:
                return
        if not produced or getattr(source, "exhausted", False):
            return


def _returned(logs, return_dict):
    if return_dict:
        return dict(sorted(logs.items()))  # Keras's returned logs are sorted by name
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


__all__ = ["Trainer"]
