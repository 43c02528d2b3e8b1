"""The base class of sepconv's optimizers: Keras 3's optimizer behaviour
(arguments, learning rate, clipping, weight decay, EMA, gradient
accumulation, loss scaling, configs) on a genuine ``torch.optim.Optimizer``.

An optimizer is made from Keras's arguments alone and gets its parameters
from :meth:`Optimizer.build`; from then on it is an ordinary torch optimizer:

>>> import torch
>>> from sepconv.training.optimizers import SGD
>>> weight = torch.nn.Parameter(torch.ones(2))
>>> optimizer = SGD(learning_rate=0.5)
>>> optimizer.build([weight])
>>> weight.grad = torch.tensor([1.0, -1.0])
>>> optimizer.step()
>>> weight.detach(), optimizer.iterations
(tensor([0.5000, 1.5000]), 1)
"""

from __future__ import annotations

import collections
import re

import torch

from sepconv.training import schedules
from sepconv.training.gradient_clipping import clip_gradients
from sepconv.training.optimizer_arguments import (
    check_base_arguments,
    check_learning_rate,
    float32,
)
from sepconv.training.optimizer_variables import OptimizerVariables
from sepconv.utils.naming import to_snake_case, unique_name
from sepconv.utils.numbers import check_number

_HOOK_DICTS = ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
               "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
               "_optimizer_load_state_dict_pre_hooks", "_optimizer_load_state_dict_post_hooks")


class Optimizer(OptimizerVariables, torch.optim.Optimizer):
    """Keras 3's ``Optimizer`` on ``torch.optim``; subclasses supply the
    update rule. See the module docstring for the life cycle; Keras's
    ``variables`` / ``save_own_variables`` / ``load_own_variables`` (what
    ``.keras`` files hold) come from
    :class:`sepconv.training.optimizer_variables.OptimizerVariables`.

    Args (Keras's base-optimizer arguments):
        learning_rate: a float, a ``LearningRateSchedule`` (evaluated at the
            step count before every update) or a zero-argument callable.
        weight_decay: decoupled weight decay: before each update every
            parameter not excluded is multiplied by ``1 - weight_decay * lr``.
        clipnorm, global_clipnorm, clipvalue: gradient clipping (one at most).
        use_ema, ema_momentum, ema_overwrite_frequency: a moving average of
            the parameters; every ``ema_overwrite_frequency`` updates (or at
            :meth:`finalize_variable_values`) it overwrites the parameters.
        loss_scale_factor: multiply the loss with :meth:`scale_loss`; the
            gradients are divided by it inside :meth:`step`.
        gradient_accumulation_steps: update the parameters every that many
            calls of :meth:`step`, with the mean gradient of those calls.
        name: the optimizer's name (default: a unique snake_case name).
    """

    def _slots(self):
        """Per-parameter state: slot name -> initial fill value (Keras's
        optimizer-variable names; subclasses)."""
        return {}

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        arguments = check_base_arguments(
            weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
            global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        # Hook dicts exist before build so hooks can be registered early and
        # torch's step wrapper reaches the "not built" check.
        for attribute in _HOOK_DICTS:
            setattr(self, attribute, collections.OrderedDict())
        self.param_groups = []
        self.state = collections.defaultdict(dict)
        self.defaults = {}
        self.built = False
        self.name = unique_name(to_snake_case(type(self).__name__)) if name is None else name
        for argument, value in arguments.items():
            setattr(self, argument, value)
        self._iterations = 0
        self._schedule = None
        self._learning_rate = None
        self._set_initial_learning_rate(learning_rate)
        self._excluded_ids = set()
        self._excluded_pattern = None

    # -- learning rate and step count -----------------------------------------------

    def _set_initial_learning_rate(self, learning_rate):
        if isinstance(learning_rate, schedules.LearningRateSchedule) or callable(learning_rate):
            self._schedule = learning_rate
            return
        self._learning_rate = check_learning_rate(learning_rate)

    @property
    def iterations(self):
        """Updates applied so far (with gradient accumulation: accumulated
        updates, i.e. calls of :meth:`step` // ``gradient_accumulation_steps``)."""
        if self.gradient_accumulation_steps:
            return self._iterations // self.gradient_accumulation_steps
        return self._iterations

    def _current_rate(self):
        """The schedule's (or callable's) rate now as a float32 0-d tensor, or
        None when the rate is a float (the param groups' "lr")."""
        if isinstance(self._schedule, schedules.LearningRateSchedule):
            rate = self._schedule(self._iterations)
        elif self._schedule is not None:
            rate = self._schedule()
        else:
            return None
        return torch.as_tensor(rate, dtype=torch.float32)

    @property
    def learning_rate(self):
        """The learning rate of the next update, as a Python float (a
        schedule is evaluated at the step count). Setting a float updates
        every param group's ``"lr"``; a schedule's rate cannot be set."""
        rate = self._current_rate()
        if rate is not None:
            return float(rate)
        if self.built:
            return float32(self.param_groups[0]["lr"])
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        if isinstance(learning_rate, schedules.LearningRateSchedule) or callable(learning_rate):
            self._schedule = learning_rate
            return
        if isinstance(self._schedule, schedules.LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not "
                "settable. If you need the learning rate to be settable, you should "
                "instantiate the optimizer with a float `learning_rate` argument. "
                f"Received: learning_rate={learning_rate!r}"
            )
        self._schedule = None
        self._learning_rate = float32(check_number(learning_rate, "learning_rate", low=0))
        for group in self.param_groups:
            group["lr"] = self._learning_rate

    # -- building ------------------------------------------------------------------------

    def build(self, variables):
        """Attach the parameters (an iterable of tensors, ``(name, tensor)``
        pairs as ``module.named_parameters()`` gives, or torch param-group
        dicts); afterwards this is a working ``torch.optim.Optimizer``."""
        variables = list(variables)
        if self.built:
            known = [p for group in self.param_groups for p in group["params"]]
            given = [v[1] if isinstance(v, tuple) else v for v in variables]
            if all(isinstance(v, torch.Tensor) for v in given) and (
                    len(given) == len(known) and all(a is b for a, b in zip(given, known))):
                return
            raise ValueError(
                f"Optimizer '{self.name}' is already built on other variables; create a "
                f"new optimizer for new variables. Received: variables of length {len(given)}"
            )
        hooks = {attribute: getattr(self, attribute) for attribute in _HOOK_DICTS}
        rate = self._current_rate()
        lr = float(rate) if rate is not None else self._learning_rate
        torch.optim.Optimizer.__init__(self, variables, {"lr": lr})
        for attribute, hook_dict in hooks.items():
            getattr(self, attribute).update(hook_dict)
        self.built = True

    def add_param_group(self, param_group):
        """torch's ``add_param_group``; a group may set only ``"params"``,
        ``"param_names"`` and ``"lr"`` (the other hyperparameters are the
        optimizer's own, as in Keras)."""
        extra = set(param_group) - {"params", "param_names", "lr"}
        if extra:
            raise ValueError(
                f"A param group of {type(self).__name__} may only set 'params', "
                f"'param_names' and 'lr'; the other hyperparameters are constructor "
                f"arguments. Received: param_group keys {sorted(param_group)}"
            )
        super().add_param_group(param_group)

    # -- weight decay exclusion ------------------------------------------------------

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exempt parameters from ``weight_decay``: those in ``var_list`` and
        those whose name matches one of the regular expressions ``var_names``
        (names from ``build(module.named_parameters())`` or a ``.name``)."""
        self._excluded_ids = {id(v) for v in (var_list or [])}
        self._excluded_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, param, name):
        if id(param) in self._excluded_ids:
            return False
        if self._excluded_pattern is None:
            return True
        if name is None:
            name = getattr(param, "name", None)
        if not isinstance(name, str):
            raise ValueError(
                "`exclude_from_weight_decay(var_names=...)` matches parameter names, but a "
                "parameter has none: build the optimizer with `module.named_parameters()`. "
                f"Received: a parameter of shape {tuple(param.shape)} without a name"
            )
        return re.search(self._excluded_pattern, name) is None

    # -- the step --------------------------------------------------------------------

    def scale_loss(self, loss):
        """``loss * loss_scale_factor`` (``loss`` itself without a factor)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    def _state_of(self, param):
        state = self.state[param]
        if not state:
            for slot, fill in self._slots().items():
                state[slot] = torch.full_like(param, fill, memory_format=torch.preserve_format)
            if self.use_ema:
                state["average"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            if self.gradient_accumulation_steps:
                state["gradient_accumulator"] = torch.zeros_like(
                    param, memory_format=torch.preserve_format)
        return state

    def _batches(self):
        """(group, params with a gradient, their names, their gradients) for
        every group that has any."""
        batches = []
        for group in self.param_groups:
            params = group["params"]
            names = group.get("param_names") or [None] * len(params)
            grads = [p.grad for p in params]
            if any(g is None for g in grads):
                kept = [i for i, g in enumerate(grads) if g is not None]
                params, names, grads = ([seq[i] for i in kept] for seq in (params, names, grads))
            for param, grad in zip(params, grads):
                if grad.is_sparse:
                    raise ValueError(
                        f"{type(self).__name__} does not support sparse gradients. Received: "
                        f"a sparse gradient for a parameter of shape {tuple(param.shape)}"
                    )
            if params:
                batches.append((group, params, names, grads))
        return batches

    def step(self, closure=None):
        """Apply the gradients in ``.grad`` as one Keras ``apply()`` does;
        ``closure`` (optional) re-evaluates and returns the loss first."""
        if not self.built:
            raise ValueError(
                f"Optimizer '{self.name}' is not built: call `optimizer.build(parameters)` "
                "before `step()`. Received: step() on an unbuilt optimizer"
            )
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad():
            self._apply()
        return loss

    def _apply(self):
        batches = self._batches()
        if not batches:
            raise ValueError("No gradients provided for any variable. Received: every "
                             "parameter's .grad is None")
        rate = self._current_rate()
        grads = [g for *_, group_grads in batches for g in group_grads]
        if self.loss_scale_factor is not None:
            grads = [g / self.loss_scale_factor for g in grads]
        states = [self._state_of(p) for _, params, _, _ in batches for p in params]
        steps = self.gradient_accumulation_steps
        if steps and (self._iterations + 1) % steps:
            for g, state in zip(grads, states):
                state["gradient_accumulator"].add_(g, alpha=1.0)
        else:
            if steps:
                grads = [(g + s["gradient_accumulator"]) / steps for g, s in zip(grads, states)]
            grads = clip_gradients(grads, self.clipnorm, self.global_clipnorm, self.clipvalue)
            work, start = [], 0
            for group, params, names, _ in batches:
                lr = rate if rate is not None else self._rate_tensor(group["lr"])
                if rate is not None:
                    group["lr"] = float(rate)
                end = start + len(params)
                self._apply_weight_decay(params, names, lr)
                work.append((params, grads[start:end], states[start:end], lr))
                start = end
            self._update(work)
            if steps:
                for state in states:
                    state["gradient_accumulator"].zero_()
        if self.use_ema:
            self._update_moving_averages()
        self._iterations += 1

    def _apply_weight_decay(self, params, names, lr):
        if self.weight_decay is None:
            return
        factor = 1 - self.weight_decay * lr
        for param, name in zip(params, names):
            if self._use_weight_decay(param, name):
                param.mul_(factor)

    def _rate_tensor(self, rate):
        """A group's float learning rate as a float32 0-d tensor, made again
        only when the rate changes (the updates never modify it)."""
        made = self.__dict__.get("_made_rate")
        if made is None or made[0] != rate:
            made = self._made_rate = (rate, torch.tensor(rate, dtype=torch.float32))
        return made[1]

    def _update(self, work):
        """Update every group: ``work`` is a list of (params, grads, states,
        lr) with ``lr`` a float32 0-d tensor."""
        for params, grads, states, lr in work:
            self._update_group(params, grads, states, lr)

    def _update_group(self, params, grads, states, lr):
        raise NotImplementedError(f"{type(self).__name__} must implement `_update_group`.")

    def _local_step(self, dtype):
        """Keras's ``iterations + 1`` in ``dtype`` (bias corrections)."""
        return torch.tensor(self.iterations + 1, dtype=dtype)

    # -- moving average ------------------------------------------------------------------

    def _all_params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def _update_moving_averages(self):
        first = self.iterations == 0
        for param in self._all_params():
            average = self._state_of(param)["average"]
            momentum = torch.tensor(0.0 if first else 1.0, dtype=param.dtype) * self.ema_momentum
            average.copy_(momentum * average + (1 - momentum) * param)
        frequency = self.ema_overwrite_frequency
        if frequency and (self.iterations + 1) % frequency == 0:
            self._overwrite_with_averages(self._all_params())

    def _overwrite_with_averages(self, params):
        for param in params:
            state = self.state.get(param)
            if state and "average" in state:
                param.copy_(state["average"])

    def finalize_variable_values(self, var_list=None):
        """With ``use_ema``, overwrite the parameters (``var_list``, default
        all) with their moving averages; a no-op otherwise."""
        if self.use_ema:
            with torch.no_grad():
                self._overwrite_with_averages(self._all_params() if var_list is None
                                              else list(var_list))

    # -- state dict --------------------------------------------------------------------

    def _global_state(self):
        """Optimizer-wide state beyond the per-parameter tensors."""
        return {"iterations": self._iterations}

    def _load_global_state(self, state):
        self._iterations = int(state["iterations"])

    def state_dict(self):
        """torch's state dict plus a ``"keras"`` entry (step count etc.)."""
        state_dict = super().state_dict()
        state_dict["keras"] = self._global_state()
        return state_dict

    def load_state_dict(self, state_dict):
        """Load what :meth:`state_dict` returned."""
        if "keras" not in state_dict:
            raise ValueError(
                f"The state dict was not saved by a sepconv optimizer: it lacks the 'keras' "
                f"entry (step count). Received: state_dict keys {sorted(state_dict)}"
            )
        state_dict = dict(state_dict)
        global_state = state_dict.pop("keras")
        super().load_state_dict(state_dict)
        self._load_global_state(global_state)

    def __getstate__(self):
        return dict(self.__dict__)

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __repr__(self):
        if not self.built:
            return f"<{type(self).__name__} name={self.name!r} (not built)>"
        return super().__repr__()

    # -- config -------------------------------------------------------------------------

    def _learning_rate_config(self):
        if isinstance(self._schedule, schedules.LearningRateSchedule):
            return schedules.serialize(self._schedule)
        if self._schedule is not None:
            from sepconv.saving.serialization import serialize_keras_object

            return serialize_keras_object(self._schedule)
        return self.learning_rate

    def get_config(self):
        """The constructor arguments, with Keras's keys and values."""
        return {
            "name": self.name, "learning_rate": self._learning_rate_config(),
            "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
            "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A new (unbuilt) optimizer from a :meth:`get_config` dict."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"],
                                                            custom_objects)
        return cls(**config)
