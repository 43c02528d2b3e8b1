"""``InputLayer`` and ``Input``: where a functional model's graph starts.

>>> x = Input(shape=(224, 224, 10), name="input")
>>> x
<KerasTensor shape=(None, 224, 224, 10), dtype=float32, name=input>
>>> x._keras_history.layer
InputLayer(name=input, batch_shape=(None, 224, 224, 10))
"""

from __future__ import annotations

from sepconv import dtype_policies
from sepconv.layers.layer import Layer, _standardize_shape
from sepconv.layers.node import KerasTensor, Node


def _check_not_both(first, first_name, second, second_name):
    if first is not None and second is not None:
        raise ValueError(
            f"Pass `{first_name}` or `{second_name}`, not both. "
            f"Received: {first_name}={first!r}, {second_name}={second!r}"
        )


class InputLayer(Layer):
    """The layer behind :func:`Input`: holds the batch shape and dtype of a
    model input and produces its symbolic tensor.

    Args:
        shape: the shape without the batch dimension (``None`` entries for
            unknown sizes).
        batch_size: a fixed batch size (default: unknown).
        dtype: the input's dtype (default ``sepconv.config.floatx()``).
        sparse, ragged: must be False (PyTorch tensors here are dense).
        batch_shape: the full shape, batch included (instead of ``shape``).
        input_tensor: an existing KerasTensor to use as the input.
        optional: whether the input may be None (kept for Keras's config).
        name: the layer's name (and its tensor's).

    ``input_shape`` and ``batch_input_shape`` (Keras 2) are accepted as
    aliases of ``shape`` and ``batch_shape``.

    >>> layer = InputLayer(shape=(5,), batch_size=2)
    >>> layer.batch_shape, layer.output.shape
    ((2, 5), (2, 5))
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, ragged=None,
                 batch_shape=None, input_tensor=None, optional=False, name=None,
                 **kwargs):
        if "input_shape" in kwargs:
            _check_not_both(shape, "shape", kwargs["input_shape"], "input_shape")
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            _check_not_both(batch_shape, "batch_shape", kwargs["batch_input_shape"],
                            "batch_input_shape")
            batch_shape = kwargs.pop("batch_input_shape")
        super().__init__(name=name, **kwargs)
        for flag, value in (("sparse", sparse), ("ragged", ragged)):
            if value:
                raise ValueError(
                    f"`{flag}=True` is not supported: sepconv runs on dense PyTorch "
                    f"tensors. Received: {flag}={value!r}"
                )
        if input_tensor is not None:
            batch_shape, dtype = self._adopt_tensor(input_tensor, shape, batch_size,
                                                    batch_shape, dtype)
        else:
            _check_not_both(shape, "shape", batch_shape, "batch_shape")
            _check_not_both(batch_size, "batch_size", batch_shape, "batch_shape")
            if shape is None and batch_shape is None:
                raise ValueError(
                    "An input needs its shape: pass `shape` (without the batch "
                    "dimension) or `batch_shape`. Received: shape=None"
                )
            if shape is not None:
                batch_shape = (self._batch_size(batch_size),) + _standardize_shape(shape, "shape")
            batch_shape = _standardize_shape(batch_shape, "batch_shape")
            if not batch_shape:
                raise ValueError(
                    "`batch_shape` must include the batch dimension (at least one "
                    f"entry). Received: batch_shape={batch_shape!r}"
                )
            input_tensor = KerasTensor(batch_shape, dtype_policies.standardize_dtype(dtype),
                                       name=self.name)
        self._batch_shape = tuple(batch_shape)
        self._input_dtype = dtype_policies.standardize_dtype(dtype)
        self.sparse = False
        self.ragged = False
        self.optional = bool(optional)
        self._input_tensor = input_tensor
        Node(self, (), {}, input_tensor)
        self.built = True

    @staticmethod
    def _batch_size(batch_size):
        if batch_size is None:
            return None
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(
                f"`batch_size` must be a positive integer or None. "
                f"Received: batch_size={batch_size!r}"
            )
        return batch_size

    @staticmethod
    def _adopt_tensor(tensor, shape, batch_size, batch_shape, dtype):
        if not isinstance(tensor, KerasTensor):
            raise TypeError(
                "`input_tensor` must be a KerasTensor (e.g. the output of another "
                f"Input). Received: input_tensor of type {type(tensor).__name__}"
            )
        checks = (
            ("shape", shape, lambda: tuple(_standardize_shape(shape, "shape")) == tensor.shape[1:]),
            ("batch_size", batch_size, lambda: batch_size == tensor.shape[0]),
            ("batch_shape", batch_shape,
             lambda: tuple(_standardize_shape(batch_shape, "batch_shape")) == tensor.shape),
            ("dtype", dtype, lambda: dtype_policies.standardize_dtype(dtype) == tensor.dtype),
        )
        for argument, value, agrees in checks:
            if value is not None and not agrees():
                raise ValueError(
                    f"`{argument}` disagrees with `input_tensor` {tensor!r}: leave it "
                    f"out or make it match. Received: {argument}={value!r}"
                )
        return tensor.shape, tensor.dtype

    @property
    def batch_shape(self):
        """The input's shape, batch dimension included."""
        return self._batch_shape

    @property
    def dtype(self):
        """The input's dtype name."""
        return self._input_dtype

    def call(self, inputs=None):
        return inputs

    def compute_output_shape(self, input_shape=None):
        return self._batch_shape

    def get_config(self):
        return {
            "batch_shape": self._batch_shape,
            "dtype": self._input_dtype,
            "sparse": False,
            "ragged": False,
            "name": self.name,
            "optional": self.optional,
        }

    def extra_repr(self):
        return f"name={self.name}, batch_shape={self._batch_shape}"


def Input(shape=None, batch_size=None, dtype=None, sparse=None, ragged=None,  # noqa: N802
          batch_shape=None, name=None, tensor=None, optional=False):
    """A symbolic model input (a :class:`~sepconv.layers.node.KerasTensor`).

    ``shape`` excludes the batch dimension; ``batch_shape`` includes it. Call
    layers on the result and pass inputs and outputs to ``sepconv.Model``.

    >>> Input((None, 3), dtype="float64").shape
    (None, None, 3)
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                       ragged=ragged, batch_shape=batch_shape, input_tensor=tensor,
                       optional=optional, name=name)
    return layer.output
