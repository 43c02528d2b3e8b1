"""Keras 3's optimizers (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta,
Adamax, Nadam) as ``torch.optim`` optimizers, with Keras's arguments,
defaults and float32 update formulas (those of Keras's torch backend).

>>> import torch
>>> weight = torch.nn.Parameter(torch.zeros(3))
>>> optimizer = Adam(learning_rate=0.1)
>>> optimizer.build([weight])
>>> weight.grad = torch.tensor([1.0, -2.0, 0.0])
>>> optimizer.step()
>>> weight.detach()
tensor([-0.1000,  0.1000,  0.0000])
"""

from __future__ import annotations

import numpy as np
import torch

from sepconv.ops.kernels import optimizer_updates
from sepconv.training.optimizer_arguments import check_beta, check_epsilon, check_rate
from sepconv.training.optimizer_variables import VariableEntry
from sepconv.training.optimizers_base import Optimizer
from sepconv.utils.numbers import check_number
from sepconv.utils.validation import check_bool


class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum:
    ``m = momentum * m - lr * g``; ``w += m`` (Nesterov:
    ``w += momentum * m - lr * g``).

    >>> SGD(momentum=0.9, nesterov=True, name="sgd").get_config()["momentum"]
    0.9
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(
            learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
            clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
            ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        if not isinstance(momentum, float) or not 0 <= momentum <= 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]. "
                             f"Received: momentum={momentum!r}")
        self.momentum = momentum
        self.nesterov = check_bool(nesterov, "nesterov")

    def _slots(self):
        return {"momentum": 0.0} if self.momentum != 0 else {}

    def _update_group(self, params, grads, states, lr):
        lr = float(lr)
        if self.momentum == 0:
            for param, grad in zip(params, grads):
                param.add_(grad, alpha=-lr)
            return
        for param, grad, state in zip(params, grads, states):
            buffer = state["momentum"]
            buffer.mul_(self.momentum)
            buffer.add_(grad, alpha=-lr)
            if self.nesterov:
                param.add_(grad, alpha=-lr)
                param.add_(buffer, alpha=self.momentum)
            else:
                param.add_(buffer)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam: moving averages ``m`` of the gradient and ``v`` of its square;
    ``w -= lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) + epsilon)``
    (``amsgrad``: ``v`` is the running maximum of ``v``).

    >>> Adam(amsgrad=True, name="adam").get_config()["amsgrad"]
    True
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07,
                 amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(
            learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
            clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
            ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.beta_1 = check_beta(beta_1, "beta_1")
        self.beta_2 = check_beta(beta_2, "beta_2")
        self.epsilon = check_epsilon(epsilon)
        self.amsgrad = check_bool(amsgrad, "amsgrad")

    def _slots(self):
        slots = {"momentum": 0.0, "velocity": 0.0}
        if self.amsgrad:
            slots["velocity_hat"] = 0.0
        return slots

    def _slot_groups(self):
        # Keras creates AMSGrad's velocity_hat after all moments.
        return [("momentum", "velocity")] + ([("velocity_hat",)] if self.amsgrad else [])

    def _alpha(self, lr, dtype):
        """Keras's step size ``lr * sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)``
        (``t`` the step, from 1) in ``dtype``: a float for float32, else a 0-d
        tensor.

        >>> import torch
        >>> lr, beta_1, beta_2, t = (torch.tensor(v) for v in (0.1, 0.9, 0.999, 1.0))
        >>> on_tensors = lr * torch.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        >>> Adam(0.1)._alpha(lr, torch.float32) == on_tensors.item()
        True
        """
        if dtype != torch.float32:
            step = self._local_step(dtype)
            beta_1_power = torch.pow(torch.tensor(self.beta_1, dtype=dtype), step)
            beta_2_power = torch.pow(torch.tensor(self.beta_2, dtype=dtype), step)
            return lr * torch.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        root, denominator = self._bias_corrections(self.iterations + 1)
        return float(np.float32(float(lr)) * root / denominator)

    _CORRECTIONS_PER_TABLE = 256

    def _bias_corrections(self, step):
        """``(sqrt(1 - beta_2 ** step), 1 - beta_1 ** step)`` as float32
        scalars, equal to what the operations on float32 0-d tensors give.
        They depend on the step only, so they come from a table made for 256
        steps at a time: the powers one by one with NumPy's float32 scalars
        (the C library's ``powf``, as PyTorch's 0-d ``pow``; NumPy's vector
        power is another algorithm), the square roots in one call of
        PyTorch's (not always the correctly rounded one, and the same for a
        vector as for a 0-d tensor)."""
        table = getattr(self, "_correction_table", None)
        key = (self.beta_1, self.beta_2)
        if table is None or table[0] != key or not 0 <= step - table[1] < len(table[2]):
            one = np.float32(1)
            steps = [np.float32(t) for t in range(step, step + self._CORRECTIONS_PER_TABLE)]
            squares = np.array([one - np.float32(self.beta_2) ** t for t in steps])
            roots = torch.sqrt(torch.from_numpy(squares)).numpy()
            denominators = [one - np.float32(self.beta_1) ** t for t in steps]
            table = (key, step, list(zip(roots, denominators)))
            self._correction_table = table
        return table[2][step - table[1]]

    def _update_group(self, params, grads, states, lr):
        alpha = self._alpha(lr, params[0].dtype)
        m = [state["momentum"] for state in states]
        v = [state["velocity"] for state in states]
        v_hat = [state["velocity_hat"] for state in states] if self.amsgrad else None
        if isinstance(alpha, float) and optimizer_updates.adam_update(
                params, grads, m, v, v_hat, alpha, self.beta_1, self.beta_2, self.epsilon,
                checked=self.__dict__.setdefault("_checked_for_kernel", {})):
            return
        # The same float operations as one update per weight, done for all
        # the group's weights per call (torch's foreach kernels).
        torch._foreach_mul_(m, self.beta_1)
        torch._foreach_add_(m, grads, alpha=1 - self.beta_1)
        torch._foreach_mul_(v, self.beta_2)
        torch._foreach_add_(v, torch._foreach_mul(grads, grads), alpha=1 - self.beta_2)
        if self.amsgrad:
            torch._foreach_maximum_(v_hat, v)
            v = v_hat
        denominators = torch._foreach_sqrt(v)
        torch._foreach_add_(denominators, self.epsilon)
        # w + (-1 * (m * alpha)) / d: the negation is exact, so this is
        # w - (m * alpha) / d in one pass.
        torch._foreach_addcdiv_(params, torch._foreach_mul(m, alpha), denominators, value=-1)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (``weight_decay`` defaults to 0.004
    and may not be None).

    >>> AdamW(name="adamw").get_config()["weight_decay"]
    0.004
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-07, amsgrad=False, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. "
                             "Received: weight_decay=None")
        super().__init__(
            learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            amsgrad=amsgrad, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
            global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)


class RMSprop(Optimizer):
    """RMSprop: ``v = rho * v + (1 - rho) * g**2``; ``w -= lr * g /
    sqrt(v + epsilon)`` (``centered``: ``v - mean(g)**2``; ``momentum``: the
    increments go through a momentum buffer).

    >>> RMSprop(centered=True, name="rmsprop").get_config()["rho"]
    0.9
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-07,
                 centered=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(
            learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
            clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
            ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.rho = check_rate(rho, "rho")
        self.momentum = check_rate(momentum, "momentum")
        self.epsilon = check_epsilon(epsilon)
        self.centered = check_bool(centered, "centered")

    def _slots(self):
        slots = {"velocity": 0.0}
        if self.momentum > 0:
            slots["momentum"] = 0.0
        if self.centered:
            slots["average_gradient"] = 0.0
        return slots

    def _slot_groups(self):
        # Keras creates each kind of slot for all parameters in turn.
        return [(slot,) for slot in self._slots()]

    def _update_group(self, params, grads, states, lr):
        rho = self.rho
        for param, grad, state in zip(params, grads, states):
            velocity = state["velocity"]
            velocity.mul_(rho)
            velocity.add_(grad * grad, alpha=1 - rho)
            denominator = velocity + self.epsilon
            if self.centered:
                average = state["average_gradient"]
                average.mul_(rho)
                average.add_(grad, alpha=1 - rho)
                denominator.add_(average * average, alpha=-1)
            increment = (grad * lr) / torch.sqrt(denominator)
            if self.momentum > 0:
                buffer = state["momentum"]
                buffer.mul_(self.momentum)
                buffer.add_(increment)
                param.add_(buffer, alpha=-1)
            else:
                param.add_(increment, alpha=-1)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad: ``a += g**2`` (``a`` starts at ``initial_accumulator_value``);
    ``w -= lr * g / sqrt(a + epsilon)``.

    >>> Adagrad(name="adagrad").get_config()["initial_accumulator_value"]
    0.1
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-07,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(
            learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
            clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
            ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.initial_accumulator_value = check_number(
            initial_accumulator_value, "initial_accumulator_value", low=0)
        self.epsilon = check_epsilon(epsilon)

    def _slots(self):
        return {"accumulator": self.initial_accumulator_value}

    def _update_group(self, params, grads, states, lr):
        for param, grad, state in zip(params, grads, states):
            accumulator = state["accumulator"]
            accumulator.add_(grad * grad)
            param.add_((grad * lr) / torch.sqrt(accumulator + self.epsilon), alpha=-1)

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta: steps ``-sqrt(d + epsilon) / sqrt(a + epsilon) * g`` from
    moving averages ``a`` of squared gradients and ``d`` of squared steps,
    scaled by ``learning_rate``.

    >>> Adadelta(name="adadelta").get_config()["rho"]
    0.95
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-07, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(
            learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
            clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
            ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.rho = check_rate(rho, "rho")
        self.epsilon = check_epsilon(epsilon)

    def _slots(self):
        return {"accumulated_grad": 0.0, "accumulated_delta_var": 0.0}

    def _update_group(self, params, grads, states, lr):
        rho, lr = self.rho, float(lr)
        for param, grad, state in zip(params, grads, states):
            grads_average = state["accumulated_grad"]
            deltas_average = state["accumulated_delta_var"]
            grads_average.mul_(rho)
            grads_average.add_(grad * grad, alpha=1 - rho)
            delta = (torch.sqrt(deltas_average + self.epsilon) * grad
                     / torch.sqrt(grads_average + self.epsilon)) * -1
            deltas_average.mul_(rho)
            deltas_average.add_(delta * delta, alpha=1 - rho)
            param.add_(delta, alpha=lr)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adamax(Optimizer):
    """Adamax (Adam with the infinity norm): ``u = max(beta_2 * u, |g|)``;
    ``w -= lr * m / ((u + epsilon) * (1 - beta_1**t))``.

    >>> Adamax(name="adamax").get_config()["beta_2"]
    0.999
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(
            learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
            clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
            ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.beta_1 = check_beta(beta_1, "beta_1")
        self.beta_2 = check_rate(beta_2, "beta_2")
        self.epsilon = check_epsilon(epsilon)

    def _slots(self):
        return {"momentum": 0.0, "norm": 0.0}

    def _update_group(self, params, grads, states, lr):
        step = self._local_step(params[0].dtype)
        beta_1_power = torch.pow(torch.tensor(self.beta_1, dtype=step.dtype), step)
        for param, grad, state in zip(params, grads, states):
            m, u = state["momentum"], state["norm"]
            m.mul_(self.beta_1)
            m.add_(grad, alpha=1 - self.beta_1)
            u.mul_(self.beta_2)
            torch.maximum(u, torch.abs(grad), out=u)
            param.add_((m * lr) / ((u + self.epsilon) * (1 - beta_1_power)), alpha=-1)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Adam with Nesterov momentum and Keras's momentum cache
    ``u_t = beta_1 * (1 - 0.5 * 0.96**t)`` (its running product is kept
    across steps).

    >>> Nadam(name="nadam").get_config()["epsilon"]
    1e-07
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(
            learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
            clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
            ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.beta_1 = check_beta(beta_1, "beta_1")
        self.beta_2 = check_beta(beta_2, "beta_2")
        self.epsilon = check_epsilon(epsilon)
        self._u_product = torch.tensor(1.0)

    def _slots(self):
        return {"momentum": 0.0, "velocity": 0.0}

    def _update(self, work):
        dtype = work[0][0][0].dtype
        step, next_step = self._local_step(dtype), self._local_step(dtype) + 1
        decay = torch.tensor(0.96, dtype=dtype)
        beta_1 = torch.tensor(self.beta_1, dtype=dtype)
        u_t = beta_1 * (1.0 - 0.5 * torch.pow(decay, step))
        u_t_1 = beta_1 * (1.0 - 0.5 * torch.pow(decay, next_step))
        u_product_t = self._u_product.to(dtype) * u_t
        self._u_product = u_product_t
        self._cache = (u_t, u_t_1, u_product_t, u_product_t * u_t_1,
                       torch.pow(torch.tensor(self.beta_2, dtype=dtype), step))
        super()._update(work)

    def _update_group(self, params, grads, states, lr):
        u_t, u_t_1, u_product_t, u_product_t_1, beta_2_power = self._cache
        for param, grad, state in zip(params, grads, states):
            m, v = state["momentum"], state["velocity"]
            m.mul_(self.beta_1)
            m.add_(grad, alpha=1 - self.beta_1)
            v.mul_(self.beta_2)
            v.add_(grad * grad, alpha=1 - self.beta_2)
            m_hat = (m * u_t_1) / (1 - u_product_t_1) + (grad * (1 - u_t)) / (1 - u_product_t)
            v_hat = v / (1 - beta_2_power)
            param.add_((m_hat * lr) / (torch.sqrt(v_hat) + self.epsilon), alpha=-1)

    def _extra_variables(self):
        def assign(value):
            self._u_product = torch.as_tensor(value, dtype=torch.float32).clone()

        return [VariableEntry("u_product", lambda: self._u_product, assign)]

    def _global_state(self):
        return {**super()._global_state(), "u_product": self._u_product.clone()}

    def _load_global_state(self, state):
        super()._load_global_state(state)
        self._u_product = torch.as_tensor(state["u_product"]).clone()

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "Nadam"]
