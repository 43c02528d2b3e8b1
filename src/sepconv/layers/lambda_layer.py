"""``Lambda``, as ``keras.layers.Lambda`` (Keras 3.15.1): a function used as a layer.

>>> import torch
>>> double = Lambda(lambda x: 2 * x, name="double")
>>> double(torch.tensor([1.0, 2.0]))
tensor([2., 4.])

Configs are Keras's: a named function is saved by (registered) name, a
Python lambda as Keras writes it (its bytecode, so Keras can read the file).
Loading never runs that bytecode: a lambda's function must be supplied by
the caller, ``safe_mode=False`` plus ``custom_objects={layer_name: fn}``.

>>> config = double.get_config()
>>> config["function"]["class_name"]
'__lambda__'
>>> Lambda.from_config(config, custom_objects={"double": lambda x: 2 * x}, safe_mode=False)(
...     torch.ones(2))
tensor([2., 2.])
"""

from __future__ import annotations

import inspect

import numpy as np

from sepconv.layers.layer import Layer


def _is_dim(value):
    return value is None or (isinstance(value, (int, np.integer)) and not isinstance(
        value, (bool, np.bool_)) and value >= 0)


def _is_shape(value):
    return isinstance(value, (tuple, list)) and all(_is_dim(d) for d in value)


def _check_shape_structure(value):
    """A shape (tuple or list of dimensions) or a list/tuple/dict of them."""
    if _is_shape(value):
        return True
    if isinstance(value, dict):
        return bool(value) and all(_check_shape_structure(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return bool(value) and all(_check_shape_structure(v) for v in value)
    return False


def _map_shapes(fn, structure):
    if _is_shape(structure):
        return fn(tuple(structure))
    if isinstance(structure, dict):
        return {key: _map_shapes(fn, value) for key, value in structure.items()}
    return type(structure)(_map_shapes(fn, value) for value in structure)


def _first_dimension(shapes):
    """Keras's batch size for a tuple ``output_shape``: the first entry of the
    flattened input shape(s)."""
    while isinstance(shapes, (list, tuple, dict)) and len(shapes):
        shapes = next(iter(shapes.values())) if isinstance(shapes, dict) else shapes[0]
    return shapes


def _positional_names(function):
    """Names of the parameters a call can fill positionally or by keyword
    (Keras: ``getfullargspec(function).args``); none if there is no signature."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature
        return set()
    return {p.name for p in parameters
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)}


class Lambda(Layer):
    """Wrap ``function(inputs, **arguments)`` as a layer.

    Prefer a ``Layer`` subclass for anything to be saved: a lambda is saved
    as bytecode, which sepconv refuses to load (see :meth:`from_config`).

    Args:
        function: any callable; it receives the inputs, the ``arguments``
            and, when its signature names them, ``mask`` and ``training``.
        output_shape: the output shape without the batch dimension (a
            tuple, or a list/dict of them for several outputs; the batch
            dimension is the input's), or a callable ``input_shape ->
            output_shape`` (batch included). By default the function is run
            on meta-device tensors (no data) to find it.
        mask: None, a callable ``(inputs, mask) -> mask``, or a fixed mask
            returned by :meth:`compute_mask`.
        arguments: a dict of keyword arguments for ``function``.
        **kwargs: the base layer's arguments (``name``, ``dtype``, ...).

    >>> import torch
    >>> scale = Lambda(lambda x, factor: x * factor, arguments={"factor": 3.0},
    ...                output_shape=(2,))
    >>> scale(torch.ones(1, 2)), scale.compute_output_shape((None, 2))
    (tensor([[3., 3.]]), (None, 2))
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(
                "The `function` argument of Lambda must be callable (a function, "
                f"lambda or callable object). Received: function={function!r}"
            )
        if output_shape is not None and not callable(output_shape) \
                and not _check_shape_structure(output_shape):
            raise ValueError(
                "The `output_shape` argument of Lambda must be None, a callable, or "
                "a shape without the batch dimension: a tuple of non-negative ints or "
                "None (or a list/dict of such tuples for several outputs). "
                f"Received: output_shape={output_shape!r}"
            )
        if arguments is not None and (not isinstance(arguments, dict) or not all(
                isinstance(key, str) for key in arguments)):
            raise TypeError(
                "The `arguments` argument of Lambda must be a dict of keyword "
                f"arguments for `function` (string keys). Received: arguments={arguments!r}"
            )
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self.supports_masking = mask is not None
        self._output_shape = output_shape
        names = _positional_names(function)
        self._fn_expects_training_arg = "training" in names
        self._fn_expects_mask_arg = "mask" in names

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_expects_mask_arg:
            kwargs["mask"] = mask
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def _symbolic_call(self, inputs, args, kwargs):
        # Keras passes `mask` (None without masking) to a layer whose call takes
        # one, so its recorded call (the config's inbound_nodes) has it.
        return super()._symbolic_call(inputs, args, {"mask": None, **kwargs})

    def compute_mask(self, inputs, mask=None):
        """``mask(inputs, mask)`` when the layer's ``mask`` is callable, else
        the layer's ``mask`` itself."""
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            try:
                return super().compute_output_shape(input_shape)
            except Exception as error:
                raise NotImplementedError(
                    f"Could not infer the output shape of Lambda layer '{self.name}' by "
                    f"running its function on probe tensors ({error}). Pass the "
                    f"`output_shape` argument. Received: input_shape={input_shape!r}"
                ) from error
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        batch = _first_dimension(input_shape)
        return _map_shapes(lambda shape: (batch,) + shape, self._output_shape)

    # ---------------------------------------------------------------- config
    def get_config(self):
        from sepconv.saving.serialization import serialize_keras_object

        config = {"function": _serialize_callable(self.function)}
        if self._output_shape is not None:
            config["output_shape"] = (_serialize_callable(self._output_shape)
                                      if callable(self._output_shape) else self._output_shape)
        if self.mask is not None:
            config["mask"] = (_serialize_callable(self.mask) if callable(self.mask)
                              else serialize_keras_object(self.mask))
        config["arguments"] = serialize_keras_object(self.arguments)
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """A Lambda from its config (Keras 3's, or Keras 2's with
        ``function_type``).

        A named function is looked up (registered, scoped or in
        ``custom_objects`` under its name). A Python lambda is stored as
        bytecode, which sepconv never runs: in safe mode (the default, or an
        enclosing deserialization's) it is refused; with ``safe_mode=False``
        the function itself must be in ``custom_objects`` under the layer's
        name (``output_shape`` / ``mask`` lambdas under ``"<name>/output_shape"``
        / ``"<name>/mask"``).
        """
        from sepconv.saving.object_registration import active_custom_objects
        from sepconv.saving.serialization import deserialize_keras_object, in_safe_mode

        if safe_mode is None:  # the enclosing deserialization's; unset is safe
            safe_mode = in_safe_mode()
        config = dict(config)
        loader = _CallableLoader(config.get("name"), active_custom_objects(custom_objects),
                                 safe_mode is not False)
        kinds = {key: config.pop(f"{key}_type", None)
                 for key in ("function", "output_shape", "mask")}
        for legacy_key in ("module", "output_shape_module", "mask_module"):
            config.pop(legacy_key, None)  # Keras 2: where the functions were defined
        if "function" not in config:
            raise ValueError(
                "A Lambda config needs a 'function' entry. "
                f"Received: config keys {sorted(config)}"
            )
        for key in ("function", "output_shape", "mask"):
            if key in config:
                config[key] = loader.load(key, config[key], kinds[key])
        if isinstance(config.get("output_shape"), list) and _is_shape(config["output_shape"]):
            config["output_shape"] = tuple(config["output_shape"])
        if "arguments" in config:
            config["arguments"] = deserialize_keras_object(
                config["arguments"], custom_objects=loader.objects, safe_mode=loader.safe)
        return cls(**config)


def _serialize_callable(fn):
    """A function as Keras's Lambda writes it: a lambda's bytecode (for Keras
    to read; never read back here), anything else by name or config."""
    from sepconv.saving.serialization import dump_function, is_lambda, serialize_keras_object

    if is_lambda(fn):
        code, defaults, closure = dump_function(fn)
        return {"class_name": "__lambda__",
                "config": {"code": code, "defaults": defaults, "closure": closure}}
    return serialize_keras_object(fn)


class _CallableLoader:
    """Turns the saved ``function`` / ``output_shape`` / ``mask`` of one
    Lambda config back into objects, by lookup only."""

    def __init__(self, layer_name, objects, safe):
        self.layer_name, self.objects, self.safe = layer_name, objects, safe

    def key(self, entry):
        return self.layer_name if entry == "function" else f"{self.layer_name}/{entry}"

    def load(self, entry, value, kind):
        from sepconv.saving.object_registration import get_registered_object
        from sepconv.saving.serialization import deserialize_keras_object

        is_bytecode = kind == "lambda" or (kind is None and (
            (entry == "function" and isinstance(value, (list, tuple)))
            or (isinstance(value, dict) and value.get("class_name") == "__lambda__")))
        if is_bytecode:
            return self._supplied(entry, value)
        if kind == "function":  # Keras 2: the function's name
            found = get_registered_object(value, self.objects)
            if found is None:
                raise ValueError(
                    f"Lambda layer '{self.layer_name}' calls the function {value!r}, which is "
                    f"not registered and not in `custom_objects`: pass "
                    f"custom_objects={{{value!r}: {value}}}. Received: {entry}={value!r}"
                )
            return found
        if kind == "raw":  # Keras 2: a plain value
            return value
        return deserialize_keras_object(value, custom_objects=self.objects, safe_mode=self.safe)

    def _supplied(self, entry, value):
        from sepconv.saving.serialization import short_repr

        key = self.key(entry)
        if self.safe:
            raise ValueError(
                f"Lambda layer '{self.layer_name}' stores its `{entry}` as a Python lambda "
                "(bytecode); loading it is refused in safe mode, since running code from a "
                "file could do anything. sepconv never runs that bytecode: to load the "
                "layer, pass safe_mode=False together with the function itself, "
                f"custom_objects={{{key!r}: <the function>}}. Received: {entry}={short_repr(value)}"
            )
        supplied = self.objects.get(key)
        if supplied is None or not callable(supplied):
            raise ValueError(
                f"Lambda layer '{self.layer_name}' stores its `{entry}` as a Python lambda "
                "(bytecode), which sepconv never runs, even with safe_mode=False: supply "
                f"the function through custom_objects={{{key!r}: <the function>}}. "
                f"Received: custom_objects[{key!r}]={supplied!r}"
            )
        return supplied
