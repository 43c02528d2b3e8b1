"""``Layer``: Keras's layer contract on a ``torch.nn.Module``.

A layer has a Keras name, builds its weights on first call from the input
shape, casts floating inputs to its dtype, checks its input spec, records
activity-regularization losses, and exposes Keras's weight lists, losses,
``get_weights``/``set_weights`` and ``get_config``/``from_config``. Weights are
:class:`sepconv.variables.Variable` objects, i.e. ``nn.Parameter`` s, so any
torch optimizer, ``state_dict`` or ``torch.compile`` works on a layer.

>>> import numpy as np, torch
>>> class Scale(Layer):
...     def build(self, input_shape):
...         self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones",
...                                      name="scale")
...     def call(self, inputs):
...         return inputs * self.scale
>>> layer = Scale(name="scale_layer")
>>> layer(np.ones((2, 3))).shape
torch.Size([2, 3])
>>> [w.path for w in layer.weights], layer.count_params()
(['scale_layer/scale'], 3)
"""

from __future__ import annotations

import inspect
import itertools
import threading

import numpy as np
import torch

from sepconv import constraints, dtype_policies, initializers, regularizers
from sepconv.layers.autocast import autocast_for_call, weights_dtype_in_call
from sepconv.layers.node import KerasTensor, Node, is_symbolic
from sepconv.layers.node import flatten as _flatten
from sepconv.layers.node import map_structure as _map_structure
from sepconv.utils.naming import to_snake_case, unique_name
from sepconv.utils.validation import check_bool
from sepconv.variables import Variable


class _CallContext(threading.local):
    """Per-thread state of the layer calls in progress."""

    def __init__(self):
        self.depth = 0
        self.training = None
        self.shape_inference = False
        self.scopes = []  # layers whose call/build is in progress, outermost first


class name_scope:
    """Weights created inside are named under ``layer`` (Keras's variable
    paths: ``model/conv2d/kernel`` for a layer built inside ``model``). A
    layer already innermost is not pushed twice."""

    def __init__(self, layer):
        self.layer = layer

    def __enter__(self):
        scopes = _call_context.scopes
        self.pushed = not scopes or scopes[-1] is not self.layer
        if self.pushed:
            scopes.append(self.layer)

    def __exit__(self, *exc_info):
        if self.pushed:
            _call_context.scopes.pop()


_call_context = _CallContext()


class shape_inference:
    """Context in which layer calls only infer shapes: no losses are recorded
    or cleared."""

    def __enter__(self):
        self._previous = _call_context.shape_inference
        _call_context.shape_inference = True

    def __exit__(self, *exc_info):
        _call_context.shape_inference = self._previous
_takes_training_cache: dict = {}


def _call_takes_training(layer_class) -> bool:
    if layer_class not in _takes_training_cache:
        parameters = inspect.signature(layer_class.call).parameters
        _takes_training_cache[layer_class] = "training" in parameters
    return _takes_training_cache[layer_class]


def _shape_of(value):
    """The shape of a tensor or KerasTensor leaf as a tuple (None otherwise)."""
    if isinstance(value, (torch.Tensor, KerasTensor)):
        return tuple(value.shape)
    return None


def _is_shape(value):
    return isinstance(value, (tuple, list)) and all(
        d is None or isinstance(d, (int, np.integer)) for d in value
    )


def _symbolic_outputs(output_shapes, dtype, layer_name):
    """KerasTensors for the structure of shapes ``compute_output_shape`` gave."""
    if _is_shape(output_shapes):
        return KerasTensor(tuple(output_shapes), dtype, name=f"{layer_name}/output")
    counter = itertools.count()

    def make(shapes):
        if _is_shape(shapes):
            return KerasTensor(tuple(shapes), dtype, name=f"{layer_name}/output_{next(counter)}")
        if isinstance(shapes, dict):
            return {key: make(value) for key, value in shapes.items()}
        return [make(value) for value in shapes]

    return make(output_shapes)


def _tracked(name, value):
    """A public list or tuple of modules assigned to a layer becomes an
    ``nn.ModuleList`` (a dict of them an ``nn.ModuleDict``), so its layers'
    weights are the model's, as Keras tracks layers held in lists."""
    if name.startswith("_") or isinstance(value, torch.nn.Module):
        return value
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(item, torch.nn.Module) for item in value):
        return torch.nn.ModuleList(value)
    if isinstance(value, dict) and value and all(
            isinstance(key, str) and isinstance(item, torch.nn.Module)
            for key, item in value.items()):
        return torch.nn.ModuleDict(value)
    return value


def _shapes_from_json(value):
    """A shape (tuple) or nest of shapes from JSON lists."""
    if isinstance(value, (list, tuple)) and all(d is None or isinstance(d, int) for d in value):
        return tuple(value)
    if isinstance(value, dict):
        return {key: _shapes_from_json(item) for key, item in value.items()}
    return [_shapes_from_json(item) for item in value]


def _is_array_leaf(value):
    return isinstance(value, (torch.Tensor, np.ndarray))


def _inputs_key(inputs):
    """Identity of a call's inputs, for ``get_losses_for``."""
    return frozenset(id(x) for x in _flatten(inputs))


def _standardize_shape(shape, argument):
    """A shape as a tuple of ints / None; an int n means (n,)."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if isinstance(shape, torch.Size):
        shape = tuple(shape)
    if not isinstance(shape, (list, tuple)) or not all(
        d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0)
        for d in shape
    ):
        raise ValueError(
            f"The `{argument}` argument must be a tuple of non-negative integers "
            f"(or None for unknown dimensions). Received: {argument}={shape!r}"
        )
    return tuple(None if d is None else int(d) for d in shape)


def _to_numpy(tensor):
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:  # NumPy has no bfloat16
        tensor = tensor.float()
    return tensor.numpy().copy()


_NODE_PROPERTIES = frozenset(
    {"input", "output", "input_shape", "output_shape", "inputs", "outputs"})


class Layer(torch.nn.Module):
    """Base class of all sepconv layers; subclass it as a Keras ``Layer``.

    Args:
        activity_regularizer: regularizer applied to the layer's output; its
            value, divided by the batch size, joins ``layer.losses``.
        trainable: whether the layer's weights are updated by training.
        dtype: the layer's ``DTypePolicy`` or its name: ``"float32"``, another
            float name, a torch dtype, ``"mixed_float16"`` / ``"mixed_bfloat16"``
            or a serialized policy (default: the global policy,
            ``sepconv.config.dtype_policy()``).
        autocast: cast floating inputs to the compute dtype (default True).
        name: the layer's name; by default the snake_case class name with a
            counter (``conv2d``, ``conv2d_1``, ...).
        input_shape, batch_input_shape, batch_size, input_dim: the expected
            input, as in Keras 2 and R keras (used by ``Sequential``).
        weights: initial weights (a list of arrays), applied when the layer
            builds.

    Subclasses override ``build(input_shape)`` to create weights with
    ``add_weight`` and ``call(inputs)`` for the computation. Layers run in
    inference mode unless ``training=True`` is passed or ``train()`` is called.
    """

    def __init__(
        self,
        *,
        activity_regularizer=None,
        trainable=True,
        dtype=None,
        autocast=True,
        name=None,
        input_shape=None,
        batch_input_shape=None,
        batch_size=None,
        input_dim=None,
        weights=None,
        **kwargs,
    ):
        if kwargs:
            raise ValueError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                f"they must be among the layer's documented arguments. "
                f"Received: {kwargs}"
            )
        super().__init__()
        self.training = False
        if name is None:
            name = unique_name(to_snake_case(type(self).__name__))
        elif not isinstance(name, str) or "/" in name:
            raise ValueError(
                "The `name` argument must be a string without '/'. "
                f"Received: name={name!r}"
            )
        self.name = name
        self._dtype_policy = dtype_policies.get(dtype)
        self.autocast = check_bool(autocast, "autocast")
        self._trainable = True if trainable is None else check_bool(trainable, "trainable")
        self.activity_regularizer = regularizers.get(activity_regularizer, "activity_regularizer")
        self._batch_input_shape = self._resolve_batch_input_shape(
            input_shape, batch_input_shape, batch_size, input_dim
        )
        if weights is not None and not isinstance(weights, (list, tuple)):
            raise TypeError(
                "The `weights` argument must be a list of arrays. "
                f"Received: weights={type(weights).__name__}"
            )
        self._initial_weights = None if weights is None else list(weights)
        self.built = False
        self.input_spec = None
        self._build_device = None
        self._call_depth = 0
        self._call_losses = []
        self._persistent_losses = []
        self._inbound_nodes = []
        self._outbound_nodes = []
        self._build_shapes = None

    @staticmethod
    def _resolve_batch_input_shape(input_shape, batch_input_shape, batch_size, input_dim):
        if batch_size is not None and (
            not isinstance(batch_size, (int, np.integer))
            or isinstance(batch_size, bool)
            or batch_size < 1
        ):
            raise ValueError(
                "The `batch_size` argument must be a positive integer. "
                f"Received: batch_size={batch_size!r}"
            )
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            shape = _standardize_shape(batch_input_shape, "batch_input_shape")
            if input_shape is not None and tuple(
                _standardize_shape(input_shape, "input_shape")
            ) != shape[1:]:
                raise ValueError(
                    "The `input_shape` and `batch_input_shape` arguments disagree: "
                    "input_shape must equal batch_input_shape without its first "
                    f"(batch) dimension. Received: input_shape={input_shape!r}, "
                    f"batch_input_shape={batch_input_shape!r}"
                )
            return shape
        if input_shape is not None:
            return (batch_size,) + _standardize_shape(input_shape, "input_shape")
        return None

    # ------------------------------------------------------------------ dtype
    @property
    def dtype_policy(self):
        """The layer's :class:`sepconv.DTypePolicy`; assign a policy or a name
        to change it."""
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value):
        self._dtype_policy = dtype_policies.get(value)

    @property
    def dtype(self):
        """The dtype of the layer's weights, e.g. ``"float32"``."""
        return self._dtype_policy.variable_dtype

    @property
    def variable_dtype(self):
        return self._dtype_policy.variable_dtype

    @property
    def compute_dtype(self):
        """The dtype the layer computes in (``float16`` under ``mixed_float16``)."""
        return self._dtype_policy.compute_dtype

    @property
    def scope_name(self):
        """The layer's variable scope name (tf.layers): its name."""
        return self.name

    # --------------------------------------------------------------- calling
    def build(self, input_shape):
        """Create the layer's weights for inputs of ``input_shape``.

        The base implementation creates none; subclasses override it.
        """
        self.built = True

    def call(self, inputs, *args, **kwargs):
        """The layer's computation; the base layer is the identity."""
        return inputs

    def forward(self, *args, **kwargs):
        return self.call(*args, **kwargs)

    def __call__(self, inputs, *args, **kwargs):
        # `with name_scope(self)`, inlined: this is every call's hot path.
        scopes = _call_context.scopes
        pushed = not scopes or scopes[-1] is not self
        if pushed:
            scopes.append(self)
        try:
            if not isinstance(inputs, torch.Tensor) and is_symbolic(inputs, args):
                return self._symbolic_call(inputs, args, kwargs)
            return self._eager_call(inputs, args, kwargs)
        finally:
            if pushed:
                scopes.pop()

    def _eager_call(self, inputs, args, kwargs):
        original_inputs = inputs
        inputs = self._convert_inputs(inputs)
        self._check_input_spec(inputs)
        if not self.built:
            self._build_from_inputs(inputs)
            self._check_input_spec(inputs)

        context = _call_context
        if context.depth == 0 and not context.shape_inference:
            self._clear_call_losses()
        training = kwargs.pop("training", None)
        if _call_takes_training(type(self)):
            if training is not None:
                kwargs["training"] = training
            elif context.training is not None:
                kwargs["training"] = context.training
            else:
                kwargs["training"] = self.training
        previous_training = context.training
        if training is not None:
            context.training = bool(training)
        context.depth += 1
        state = self.__dict__  # plain ints: skip nn.Module.__setattr__ on the hot path
        state["_call_depth"] += 1
        try:
            if context.shape_inference and self._holds_data_for(inputs):
                outputs = self._call_on_meta_state(inputs, args, kwargs)
            else:
                autocast = autocast_for_call(self, inputs, context.scopes)
                if autocast is None:
                    outputs = super().__call__(inputs, *args, **kwargs)
                else:
                    with autocast:
                        outputs = super().__call__(inputs, *args, **kwargs)
        finally:
            context.depth -= 1
            state["_call_depth"] -= 1
            context.training = previous_training
        if outputs is None:
            raise ValueError(
                f"The `call` method of layer '{self.name}' returned None: it must "
                "return a tensor or a structure of tensors. Received: outputs=None"
            )
        if self.activity_regularizer is not None and not context.shape_inference:
            self._record_activity_losses(outputs, original_inputs)
        return outputs

    def _symbolic_call(self, inputs, args, kwargs):
        """A call on KerasTensors: build, infer the output shapes, record a
        :class:`Node`; no data is computed."""
        self._check_input_spec(inputs)
        shapes = _map_structure(_shape_of, inputs)
        if not self.built:
            self._build_from_shapes(shapes, device=None)
        output_shapes = self.compute_output_shape(shapes)
        outputs = _symbolic_outputs(output_shapes, self.compute_dtype, self.name)
        Node(self, (inputs,) + tuple(args), kwargs, outputs)
        return outputs

    def _holds_data_for(self, inputs):
        """During shape inference: the inputs are meta tensors but this layer's
        weights hold real data (e.g. a sublayer built during the probe)."""
        tensors = [x for x in _flatten(inputs) if isinstance(x, torch.Tensor)]
        if not tensors or tensors[0].device.type != "meta":
            return False
        return any(t.device.type != "meta" for t in self._state_tensors())

    def _state_tensors(self):
        yield from self.parameters()
        yield from self.buffers()

    def _call_on_meta_state(self, inputs, args, kwargs):
        """The call with meta stand-ins for every weight and buffer (shapes only)."""
        cast = weights_dtype_in_call(self)  # a user's mixed layer reads them in bfloat16

        def stand_in(tensor):
            dtype = cast if cast is not None and tensor.is_floating_point() else tensor.dtype
            return torch.empty_like(tensor, device="meta", dtype=dtype)

        state = {
            name: stand_in(tensor)
            for name, tensor in list(self.named_parameters()) + list(self.named_buffers())
        }
        return torch.func.functional_call(self, state, (inputs,) + tuple(args), kwargs)

    def apply(self, inputs, *args, **kwargs):
        """Apply the layer to ``inputs`` (tf.layers' name for ``__call__``)."""
        return self(inputs, *args, **kwargs)

    def _weight_device(self):
        for parameter in self.parameters():
            return parameter.device
        return None

    def _convert_inputs(self, inputs):
        """NumPy arrays and Python lists to tensors; floating ones to compute dtype."""
        if isinstance(inputs, torch.Tensor):  # the common case, without the generic walk
            dtype = inputs.dtype
            if self.autocast and dtype.is_floating_point:
                compute_dtype = dtype_policies.to_torch_dtype(self.compute_dtype)
                if dtype is not compute_dtype:
                    return inputs.to(compute_dtype)
            return inputs
        if isinstance(inputs, (list, tuple)) and not any(
            _is_array_leaf(x) for x in _flatten(inputs)
        ):
            inputs = np.asarray(inputs)  # nested Python numbers: one array
        compute_dtype = dtype_policies.to_torch_dtype(self.compute_dtype)
        device = self._weight_device()

        def convert(x):
            if isinstance(x, np.ndarray) or isinstance(x, (float, int, np.generic)):
                x = torch.as_tensor(np.asarray(x), device=device)
            if isinstance(x, torch.Tensor) and self.autocast and x.is_floating_point():
                if x.dtype != compute_dtype:
                    x = x.to(compute_dtype)
            return x

        return _map_structure(convert, inputs)

    def _check_input_spec(self, inputs):
        if self.input_spec is None:
            return
        if isinstance(inputs, torch.Tensor) and not isinstance(self.input_spec, (list, tuple)):
            self.input_spec.check(inputs, self.name)  # the common case, without the walk
            return
        specs = self.input_spec if isinstance(self.input_spec, (list, tuple)) else [
            self.input_spec
        ]
        tensors = [x for x in _flatten(inputs) if isinstance(x, (torch.Tensor, KerasTensor))]
        for index, (spec, tensor) in enumerate(zip(specs, tensors)):
            if spec is not None:
                spec.check(tensor, self.name, index)

    def _build_from_inputs(self, inputs):
        shapes = _map_structure(_shape_of, inputs)
        tensors = [x for x in _flatten(inputs) if isinstance(x, torch.Tensor)]
        device = tensors[0].device if tensors else None
        if device is not None and device.type == "meta":  # shape probing: real weights
            device = None
        self._build_from_shapes(shapes, device)

    def _build_from_shapes(self, shapes, device):
        """``build(shapes)`` with new weights on ``device`` (None: the default),
        then the constructor's ``weights``, if any."""
        self._build_device = device
        try:
            self.build(shapes)
        finally:
            self._build_device = None
        self.built = True
        self._build_shapes = shapes
        if self._initial_weights is not None:
            initial, self._initial_weights = self._initial_weights, None
            self.set_weights(initial)

    # ---------------------------------------------------------------- weights
    def add_weight(
        self,
        *args,
        shape=None,
        initializer=None,
        dtype=None,
        trainable=True,
        autocast=True,
        regularizer=None,
        constraint=None,
        aggregation="none",
        overwrite_with_gradient=False,
        name=None,
    ):
        """Create a weight (a :class:`~sepconv.variables.Variable`) on this layer.

        Keras 3 order for positional arguments: ``(shape, initializer, dtype)``;
        a string first argument selects the Keras 2 / tf.layers order
        ``(name, shape, dtype, initializer, regularizer, trainable, constraint)``.
        The initializer defaults to ``"glorot_uniform"`` for float weights and
        ``"zeros"`` otherwise; it may also be an array holding the value.
        """
        if args:
            order = (
                ("name", "shape", "dtype", "initializer", "regularizer",
                 "trainable", "constraint")
                if isinstance(args[0], str)
                else ("shape", "initializer", "dtype")
            )
            if len(args) > len(order):
                raise TypeError(
                    f"add_weight() takes at most {len(order)} positional arguments "
                    f"in this order: {order}. Received: {len(args)} positional "
                    "arguments"
                )
            given = dict(zip(order, args))
            shape = given.get("shape", shape)
            initializer = given.get("initializer", initializer)
            dtype = given.get("dtype", dtype)
            regularizer = given.get("regularizer", regularizer)
            trainable = given.get("trainable", trainable)
            constraint = given.get("constraint", constraint)
            name = given.get("name", name)
        if name is None:
            name = "variable"
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(
                "The weight `name` must be a non-empty string without '/'. "
                f"Received: name={name!r}"
            )
        shape = () if shape is None else _standardize_shape(shape, "shape")
        if None in shape:
            raise ValueError(
                f"The shape of weight '{name}' must be fully defined. "
                f"Received: shape={shape}"
            )
        dtype = dtype_policies.standardize_dtype(dtype or self.variable_dtype)
        trainable = True if trainable is None else check_bool(trainable, "trainable")
        value = self._initial_value(initializer, shape, dtype, name)
        is_float = value.is_floating_point()
        variable = Variable(
            value,
            requires_grad=trainable and self._trainable and is_float,
            name=name,
            path=self._weight_path(name),
            trainable=trainable,
            regularizer=regularizers.get(regularizer, "regularizer"),
            constraint=constraints.get(constraint, "constraint"),
        )
        self.register_parameter(self._free_parameter_key(name), variable)
        return variable

    def add_variable(
        self,
        name,
        shape,
        dtype=None,
        initializer=None,
        regularizer=None,
        trainable=True,
        constraint=None,
        partitioner=None,
    ):
        """tf.layers' name for :meth:`add_weight`; ``partitioner`` must be None."""
        if partitioner is not None:
            raise ValueError(
                "Partitioned variables are not supported: a weight is one tensor "
                f"on one device. Pass partitioner=None. Received: partitioner={partitioner!r}"
            )
        return self.add_weight(
            name=name,
            shape=shape,
            dtype=dtype,
            initializer=initializer,
            regularizer=regularizer,
            trainable=trainable,
            constraint=constraint,
        )

    def _initial_value(self, initializer, shape, dtype, name):
        torch_dtype = dtype_policies.to_torch_dtype(dtype)
        if isinstance(initializer, (np.ndarray, torch.Tensor)):
            value = torch.as_tensor(initializer, dtype=torch_dtype)
        else:
            if initializer is None:
                initializer = "glorot_uniform" if torch_dtype.is_floating_point else "zeros"
            initializer = initializers.get(initializer, "initializer")
            with torch.no_grad():
                value = torch.as_tensor(initializer(shape, dtype=dtype), dtype=torch_dtype)
        if tuple(value.shape) != shape:
            raise ValueError(
                f"The initial value of weight '{name}' must have shape {shape}. "
                f"Received: initial value of shape {tuple(value.shape)}"
            )
        if self._build_device is not None:
            value = value.to(self._build_device)
        return value.detach()

    def _weight_path(self, name):
        """``outer_layer/.../layer/name``: the layers being built or called
        around this one when the weight is created, as Keras names it."""
        scopes = list(_call_context.scopes)
        if not scopes or scopes[-1] is not self:
            scopes.append(self)
        return "/".join([layer.name for layer in scopes] + [name])

    def _free_parameter_key(self, name):
        base = name.replace(".", "_")
        key, suffix = base, 0
        while key in self._parameters or (
            key not in self._parameters and hasattr(self, key)
        ):
            suffix += 1
            key = f"{base}_{suffix}"
        return key

    def __setattr__(self, name, value):
        # `self.w = self.add_weight(name="kernel")`: keep the weight registered
        # once (under its Keras name), and make `self.w` an alias of it.
        if isinstance(value, Variable) and name not in self.__dict__.get("_parameters", {}):
            if any(value is p for p in self.__dict__.get("_parameters", {}).values()):
                object.__setattr__(self, name, value)
                return
        super().__setattr__(name, _tracked(name, value))

    def _own_weights(self):
        own = [p for p in self._parameters.values() if p is not None]
        created_trainable = [p for p in own if getattr(p, "trainable", True)]
        created_frozen = [p for p in own if not getattr(p, "trainable", True)]
        return created_trainable + created_frozen

    def _sublayer_weights(self):
        for child in self.children():
            if isinstance(child, Layer):
                yield from child.weights
            else:
                yield from child.parameters()

    @property
    def weights(self):
        """All weights: own trainable, own non-trainable, then sublayers' (Keras order)."""
        seen, ordered = set(), []
        for weight in list(self._own_weights()) + list(self._sublayer_weights()):
            if id(weight) not in seen:
                seen.add(id(weight))
                ordered.append(weight)
        return ordered

    @property
    def variables(self):
        return self.weights

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [w for w in self.weights if w.requires_grad]

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return [w for w in self.weights if not w.requires_grad]

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_variables(self):
        return self.non_trainable_weights

    @property
    def trainable(self):
        """Whether the layer trains; setting it freezes or unfreezes every weight,
        sublayers included (weights created non-trainable stay frozen)."""
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        value = check_bool(value, "trainable")
        self._trainable = value
        for parameter in self._parameters.values():
            if parameter is not None:
                parameter.requires_grad_(
                    value and getattr(parameter, "trainable", True)
                    and parameter.is_floating_point()
                )
        for child in self.children():
            if isinstance(child, Layer):
                child.trainable = value
            else:
                child.requires_grad_(value)

    def get_weights(self):
        """The weights' values as NumPy arrays, in ``weights`` order."""
        return [_to_numpy(w) for w in self.weights]

    def set_weights(self, weights):
        """Set the weights from arrays (same count, order and shapes as ``get_weights``)."""
        if not isinstance(weights, (list, tuple)):
            raise TypeError(
                "set_weights() expects a list of arrays. "
                f"Received: weights of type {type(weights).__name__}"
            )
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' has no weights yet: it is not built. Call it "
                "on an input or call `layer.build(input_shape)` first, or pass "
                "`weights=` to the constructor. "
                f"Received: {len(weights)} weight arrays"
            )
        targets = self.weights
        if len(weights) != len(targets):
            raise ValueError(
                f"Layer '{self.name}' expects {len(targets)} weight arrays "
                f"({', '.join(w.path or '?' for w in targets)}), one per weight. "
                f"Received: {len(weights)} arrays"
            )
        values = []
        for index, (target, value) in enumerate(zip(targets, weights)):
            value = torch.as_tensor(
                value.detach() if isinstance(value, torch.Tensor) else np.asarray(value)
            )
            if tuple(value.shape) != tuple(target.shape):
                raise ValueError(
                    f"Weight {index} of layer '{self.name}' ({target.path}) has shape "
                    f"{tuple(target.shape)}; the array for it must have the same shape. "
                    f"Received: weights[{index}].shape={tuple(value.shape)}"
                )
            values.append(value)
        with torch.no_grad():
            for target, value in zip(targets, values):
                target.copy_(value)

    def save_own_variables(self, store):
        """Write this layer's own weights (not its sublayers') into ``store`` as
        Keras files hold them: ``store["0"]``, ``store["1"]``, ... NumPy arrays
        in Keras's order (trainable, then non-trainable, each in creation order)."""
        for index, weight in enumerate(self._own_weights()):
            store[str(index)] = _to_numpy(weight)

    def load_own_variables(self, store):
        """Read what :meth:`save_own_variables` (or Keras) wrote; the count and
        every shape must match."""
        targets = self._own_weights()
        if len(store.keys()) != len(targets):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) has {len(targets)} weights "
                f"({', '.join(w.name for w in targets) or 'none'}), so the saved entry "
                f"must hold as many. Received: {len(store.keys())} saved weights"
            )
        values = [np.asarray(store[str(index)]) for index in range(len(targets))]
        for index, (target, value) in enumerate(zip(targets, values)):
            if tuple(value.shape) != tuple(target.shape):
                raise ValueError(
                    f"Weight {index} of layer '{self.name}' ({target.path}) has shape "
                    f"{tuple(target.shape)}; the saved value must too. "
                    f"Received: shape {tuple(value.shape)}"
                )
        with torch.no_grad():
            for target, value in zip(targets, values):
                target.copy_(torch.as_tensor(value))

    def count_params(self):
        """The number of scalars in the layer's weights; the layer must be built."""
        if not self.built:
            raise ValueError(
                f"You called `count_params` on layer '{self.name}', but the layer "
                "isn't built: its weights do not exist yet. Call it on an input or "
                "call `layer.build(input_shape)` first."
            )
        return int(sum(w.numel() for w in self.weights))

    # ----------------------------------------------------------------- losses
    def _layer_tree(self):
        """This layer and every Layer below it, each once, in the order of
        ``self.modules()`` (which builds a dotted name for every module it
        passes; this runs on every call, so it walks ``_modules`` itself)."""
        seen, found = set(), []

        def visit(module):
            if id(module) in seen:
                return
            seen.add(id(module))
            if isinstance(module, Layer):
                found.append(module)
            for child in module._modules.values():
                if child is not None:
                    visit(child)

        visit(self)
        return found

    def _clear_call_losses(self):
        if not self._modules:  # a leaf layer: only its own list
            self._call_losses.clear()
            return
        for layer in self._layer_tree():
            layer._call_losses.clear()

    def _record_activity_losses(self, outputs, original_inputs):
        key = _inputs_key(original_inputs)
        for output in _flatten(outputs):
            if isinstance(output, torch.Tensor):
                loss = self.activity_regularizer(output)
                if output.ndim > 0 and output.shape[0] > 0:
                    loss = loss / output.shape[0]
                self._call_losses.append((loss, key))

    def add_loss(self, losses, inputs=None):
        """Add loss tensors (or zero-argument callables returning one).

        Losses added while the layer is being called are reset by the next
        call; losses added outside a call stay. ``inputs`` marks a loss as
        conditional on those inputs, for ``get_losses_for``.
        """
        key = None if inputs is None else _inputs_key(inputs)
        target = self._call_losses if self._call_depth > 0 else self._persistent_losses
        for loss in _flatten(losses):
            if loss is None:
                continue
            if not (callable(loss) or isinstance(loss, (torch.Tensor, float, int, np.generic))):
                raise TypeError(
                    "add_loss() expects tensors, numbers or zero-argument callables. "
                    f"Received: losses containing {type(loss).__name__}"
                )
            target.append((loss, key))

    def _regularized_weights(self):
        """The trainable weights that have a regularizer (sublayers' too)."""
        return [w for w in self.trainable_weights if getattr(w, "regularizer", None) is not None]

    def _regularization_losses(self, regularized_weights=None):
        if regularized_weights is None:
            regularized_weights = self._regularized_weights()
        return [w.regularizer(w) for w in regularized_weights]

    def _recorded_losses(self):
        """(loss, inputs key) of this layer and its sublayers, callables evaluated."""
        recorded = []
        for layer in self._layer_tree():
            if layer._persistent_losses or layer._call_losses:
                for loss, key in layer._persistent_losses + layer._call_losses:
                    value = loss() if callable(loss) else loss
                    recorded.append((torch.as_tensor(value), key))
        return recorded

    @property
    def losses(self):
        """The activity losses of the last call and ``add_loss`` entries, then
        the weight-regularization losses on the current trainable weights
        (sublayers included; Keras's order), as scalar tensors."""
        return self._collect_losses()

    def _collect_losses(self, regularized_weights=None):
        """:attr:`losses`, regularizing ``regularized_weights`` when given (a
        training loop finds them once instead of walking the weights every step)."""
        return ([loss for loss, _ in self._recorded_losses()]
                + self._regularization_losses(regularized_weights))

    def get_losses_for(self, inputs):
        """Losses conditional on ``inputs``; ``None`` gives the unconditional ones
        (weight regularization and losses added without inputs)."""
        if inputs is None:
            return self._regularization_losses() + [
                loss for loss, key in self._recorded_losses() if key is None
            ]
        wanted = _inputs_key(inputs)
        return [loss for loss, key in self._recorded_losses() if key == wanted]

    @property
    def updates(self):
        """Update ops (tf.layers): always empty, as in eager TensorFlow."""
        return []

    def add_update(self, updates, inputs=None):
        """Ignored, as in eager TensorFlow: state updates (e.g. moving averages)
        happen directly inside ``call``."""
        return None

    def get_updates_for(self, inputs):
        """Updates conditional on ``inputs`` (tf.layers): always empty in eager mode."""
        return []

    # ------------------------------------------------------- graph nodes
    # tf.layers' node API: what the layer was called on symbolically.
    @property
    def input(self):
        """The input KerasTensor(s) of the layer's only symbolic call."""
        return self._only_node_value("input")

    @property
    def output(self):
        """The output KerasTensor(s) of the layer's only symbolic call."""
        return self._only_node_value("output")

    @property
    def input_shape(self):
        """The input shape(s) of the layer's symbolic calls (all must agree)."""
        return self._only_node_value("input", shapes=True)

    @property
    def output_shape(self):
        """The output shape(s) of the layer's symbolic calls (all must agree)."""
        return self._only_node_value("output", shapes=True)

    def get_input_at(self, node_index):
        """The input KerasTensor(s) of the ``node_index``-th symbolic call."""
        return self._node_value(node_index, "input")

    def get_output_at(self, node_index):
        """The output KerasTensor(s) of the ``node_index``-th symbolic call."""
        return self._node_value(node_index, "output")

    def get_input_shape_at(self, node_index):
        """The input shape(s) of the ``node_index``-th symbolic call."""
        return self._node_value(node_index, "input", shapes=True)

    def get_output_shape_at(self, node_index):
        """The output shape(s) of the ``node_index``-th symbolic call."""
        return self._node_value(node_index, "output", shapes=True)

    def __getattr__(self, name):
        # A property that raises AttributeError makes Python fall back to
        # __getattr__ (nn.Module's: "has no attribute"); re-raise the
        # property's own, explanatory error instead.
        if name in _NODE_PROPERTIES:
            prop = getattr(type(self), name, None)
            if isinstance(prop, property):
                prop.fget(self)
        parameters = self.__dict__.get("_parameters")  # weights: every call reads them
        if parameters is not None and name in parameters:
            return parameters[name]
        return super().__getattr__(name)

    def _node_value(self, node_index, kind, shapes=False):
        if not isinstance(node_index, (int, np.integer)) or isinstance(node_index, bool):
            raise TypeError(
                f"`node_index` must be an integer. Received: node_index={node_index!r}"
            )
        nodes = self._inbound_nodes
        if not nodes:
            raise AttributeError(
                f"Layer '{self.name}' has never been called on a symbolic input "
                f"(sepconv.Input), so it has no defined {kind}. Call it on the "
                "output of `Input(...)` or of another layer first."
            )
        if not -len(nodes) <= node_index < len(nodes):
            raise ValueError(
                f"Layer '{self.name}' has {len(nodes)} inbound node(s); `node_index` "
                f"must be in [0, {len(nodes) - 1}]. Received: node_index={node_index}"
            )
        node = nodes[node_index]
        tensors = node.output_tensors if kind == "output" or node.is_input else node.input_tensors
        values = [t.shape for t in tensors] if shapes else list(tensors)
        return values[0] if len(values) == 1 else values

    def _only_node_value(self, kind, shapes=False):
        values = [self._node_value(i, kind, shapes) for i in range(len(self._inbound_nodes))]
        if not values:
            self._node_value(0, kind, shapes)  # raises the never-called error
        if len(values) > 1 and not (shapes and all(v == values[0] for v in values)):
            what = f"{kind} shape" if shapes else kind
            getter = f"get_{kind}_shape_at" if shapes else f"get_{kind}_at"
            raise AttributeError(
                f"Layer '{self.name}' has been called {len(values)} times on "
                f"symbolic inputs, so its {what} is ambiguous. Use "
                f"`{getter}(node_index)` to ask about one call."
            )
        return values[0]

    # ---------------------------------------------------------------- shapes
    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape`` (``None`` for unknown dimensions).

        The default runs ``call`` on meta-device tensors (no data, no compute),
        so a subclass needs no shape code; unknown dimensions are probed with
        two sizes and reported as ``None`` where the output depends on them.
        """
        from sepconv.layers.meta_shapes import output_shape_by_meta_call

        return output_shape_by_meta_call(self, input_shape)

    # ---------------------------------------------------------------- config
    def get_config(self):
        """The constructor arguments, Keras 3's keys and serialized forms."""
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": dtype_policies.serialize(self.dtype_policy),
        }
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(
                self.activity_regularizer
            )
        return config

    @classmethod
    def from_config(cls, config):
        """A new layer from ``get_config()`` output."""
        return cls(**config)

    def get_build_config(self):
        """``{"input_shape": ...}`` the layer was built for (None if unbuilt),
        as Keras 3 stores it next to the config."""
        if self._build_shapes is None:
            return None
        return {"input_shape": self._build_shapes}

    def build_from_config(self, config):
        """Build from :meth:`get_build_config` output (lists read from JSON
        become shape tuples)."""
        self._build_from_shapes(_shapes_from_json(config["input_shape"]), None)

    def extra_repr(self):
        return f"name={self.name}, built={self.built}"
