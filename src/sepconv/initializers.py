"""Weight initializers, as ``keras.initializers``, returning torch tensors.

An initializer is called with a shape in Keras's weight layout (a conv kernel
is ``(*kernel_size, in_channels, out_channels)``) and an optional dtype
(a name such as ``"float32"`` or a ``torch.dtype``; default
``sepconv.config.floatx()``).

An initializer built with an integer ``seed`` returns the same values on every
call. Without a seed it draws from torch's global generator, so
``torch.manual_seed`` makes a run reproducible.

>>> import torch
>>> from sepconv import initializers
>>> init = initializers.get("glorot_uniform")
>>> kernel = init((3, 3, 4, 8))
>>> kernel.shape, kernel.dtype
(torch.Size([3, 3, 4, 8]), torch.float32)
>>> bool(kernel.abs().max() <= (6 / (36 + 72)) ** 0.5)
True
>>> compute_fans((3, 3, 4, 8))
(36, 72)
>>> seeded = initializers.HeNormal(seed=7)
>>> torch.equal(seeded((5, 5)), seeded((5, 5)))
True
>>> initializers.Constant(2.0)((2,), dtype="float64")
tensor([2., 2.], dtype=torch.float64)
>>> initializers.serialize(initializers.Zeros())
{'module': 'keras.initializers', 'class_name': 'Zeros', 'config': {}, 'registered_name': None}
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from sepconv import config
from sepconv.utils.registry import Configurable, Registry, deserialize_value, serialize_value

# -- argument helpers ---------------------------------------------------------


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_number(name, value, rule="a number", ok=lambda v: True):
    if not _is_number(value) or math.isnan(value) or not ok(value):
        raise ValueError(f"Invalid value for argument `{name}`: it must be {rule}. "
                         f"Received: {name}={value!r}")
    return value


def _to_torch_dtype(dtype):
    """``None`` (floatx), a dtype name, a NumPy dtype or a torch dtype."""
    if dtype is None:
        dtype = config.floatx()
    if isinstance(dtype, torch.dtype):
        return dtype
    name = dtype
    if not isinstance(name, str):
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = None
    result = getattr(torch, name, None) if isinstance(name, str) else None
    if not isinstance(result, torch.dtype):
        raise ValueError(
            "Invalid `dtype`: it must be None, a dtype name such as 'float32' "
            f"or a torch.dtype. Received: dtype={dtype!r}"
        )
    return result


def _float_dtype(dtype):
    result = _to_torch_dtype(dtype)
    if not result.is_floating_point:
        raise ValueError(
            "Invalid `dtype`: a random initializer needs a floating-point dtype. "
            f"Received: dtype={dtype!r}"
        )
    return result


def _to_shape(shape):
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise TypeError(
            "Invalid `shape`: it must be a tuple or list of non-negative ints. "
            f"Received: shape={shape!r}"
        )
    shape = tuple(shape)
    for dim in shape:
        if not isinstance(dim, numbers.Integral) or isinstance(dim, bool) or dim < 0:
            raise ValueError(
                "Invalid `shape`: every dimension must be a non-negative int. "
                f"Received: shape={shape!r}"
            )
    return tuple(int(dim) for dim in shape)


def _check_axes(name, axes):
    if axes is None:
        return None
    if not isinstance(axes, (list, tuple)) or not all(
        isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axes
    ):
        raise ValueError(f"Invalid value for argument `{name}`: it must be None or a "
                         f"list of ints. Received: {name}={axes!r}")
    return axes


def compute_fans(shape, input_axes=None, output_axes=None):
    """``(fan_in, fan_out)`` of a weight shape, as Keras computes them.

    With both ``input_axes`` and ``output_axes``, the fans are the products of
    those dimensions. Otherwise a vector has ``fan_in = fan_out = shape[0]``, a
    matrix is ``(fan_in, fan_out)``, and a conv kernel
    ``(*kernel_size, in, out)`` multiplies ``in`` and ``out`` by the receptive
    field size ``prod(kernel_size)``. A scalar has fans ``(1, 1)``.

    >>> compute_fans((5,)), compute_fans((4, 6)), compute_fans((3, 3, 2, 16))
    ((5, 5), (4, 6), (18, 144))
    >>> compute_fans((3, 3, 2, 16), input_axes=[2], output_axes=[3])
    (2, 16)
    """
    shape = _to_shape(shape)
    if input_axes is not None and output_axes is not None:
        if not all(-len(shape) <= a < len(shape) for a in (*input_axes, *output_axes)):
            raise ValueError(
                f"`input_axes` and `output_axes` must be axes of the weight shape {shape}. "
                f"Received: input_axes={input_axes!r}, output_axes={output_axes!r}"
            )
        return math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


# -- base classes ---------------------------------------------------------------


class Initializer(Configurable):
    """Base class: ``initializer(shape, dtype=None)`` returns a new tensor.

    Subclasses implement ``__call__`` and, when they take arguments,
    ``get_config``.
    """

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(
            f"{type(self).__name__} must implement `__call__(shape, dtype=None)`."
        )

    def clone(self):
        """A new initializer with the same config."""
        return type(self).from_config(self.get_config())


class RandomInitializer(Initializer):
    """Base of the random initializers: holds and checks ``seed``."""

    def __init__(self, seed=None):
        if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
            raise ValueError(
                "Invalid value for argument `seed`: it must be None or an int. "
                f"Received: seed={seed!r}"
            )
        self.seed = seed

    def _generator(self):
        """A fresh generator for a seeded initializer, else None (global RNG)."""
        if self.seed is None:
            return None
        return torch.Generator().manual_seed(int(self.seed))

    def get_config(self):
        return {"seed": self.seed}


def _draw(kind, shape, dtype, generator, a, b):
    """Normal(a, b), uniform [a, b) or normal(a, b) truncated at 2 std."""
    shape, dtype = _to_shape(shape), _float_dtype(dtype)
    work = torch.float64 if dtype == torch.float64 else torch.float32
    out = torch.empty(shape, dtype=work)
    if kind == "normal":
        out.normal_(a, b, generator=generator)
    elif kind == "uniform":
        out.uniform_(a, b, generator=generator)
    else:  # inverse-CDF sampling of the standard normal on [-2, 2]
        edge = 0.5 * (1.0 + math.erf(2.0 / math.sqrt(2.0)))
        out.uniform_(1.0 - edge, edge, generator=generator)
        out = torch.erfinv(out.mul_(2.0).sub_(1.0)).mul_(math.sqrt(2.0)).clamp_(-2.0, 2.0)
        out = out.mul_(b).add_(a)
    return out.to(dtype)


# -- constant initializers --------------------------------------------------------


class Constant(Initializer):
    """Fills with ``value``.

    ``value`` is a scalar; a tensor or array is also accepted, and then the
    requested shape must equal its shape (``get(tensor)`` builds this).

    >>> Constant(3)((2, 2), dtype="int32")
    tensor([[3, 3],
            [3, 3]], dtype=torch.int32)
    """

    def __init__(self, value=0.0):
        try:
            torch.as_tensor(value, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            raise ValueError("Invalid value for argument `value`: it must be a number or a "
                             f"numeric tensor/array. Received: value={value!r}") from None
        self.value = value

    def __call__(self, shape, dtype=None):
        shape, dtype = _to_shape(shape), _to_torch_dtype(dtype)
        value = torch.as_tensor(self.value)
        if value.ndim > 0 and tuple(value.shape) != shape:
            raise ValueError(
                f"A Constant initializer holding a tensor of shape {tuple(value.shape)} "
                f"can only fill that shape. Received: shape={shape}"
            )
        return torch.ones(shape, dtype=dtype) * value.to(dtype)

    def get_config(self):
        return {"value": serialize_value(self.value)}

    @classmethod
    def from_config(cls, config):
        return cls(deserialize_value(config["value"]))


class Zeros(Initializer):
    """Fills with 0."""

    def __call__(self, shape, dtype=None):
        return torch.zeros(_to_shape(shape), dtype=_to_torch_dtype(dtype))


class Ones(Initializer):
    """Fills with 1."""

    def __call__(self, shape, dtype=None):
        return torch.ones(_to_shape(shape), dtype=_to_torch_dtype(dtype))


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only; non-square shapes
    get ones on the main diagonal)."""

    def __init__(self, gain=1.0):
        self.gain = _check_number("gain", gain)

    def __call__(self, shape, dtype=None):
        shape, dtype = _to_shape(shape), _to_torch_dtype(dtype)
        if len(shape) != 2:
            raise ValueError(
                "The Identity initializer only makes 2-D matrices. "
                f"Received: shape={shape} of rank {len(shape)}"
            )
        return (self.gain * torch.eye(*shape, dtype=torch.float64)).to(dtype)

    def get_config(self):
        # Keras 3.15 writes no config for Identity (so it loses `gain`); we
        # write the same empty dict for the default gain, and `gain` otherwise
        # (which Keras reads correctly).
        return {} if self.gain == 1.0 else {"gain": self.gain}


def _general_cosine(*coefficients):
    def window(n_points):
        phase = np.linspace(-np.pi, np.pi, n_points)
        return sum(c * np.cos(k * phase) for k, c in enumerate(coefficients))
    return window


def _bartlett(n_points):
    n = np.arange(n_points)
    half = (n_points - 1) / 2.0
    return np.where(n <= half, n / half, 2.0 - n / half)


def _triang(n_points):
    n = np.arange(1, (n_points + 1) // 2 + 1)
    if n_points % 2 == 0:
        w = (2 * n - 1.0) / n_points
        return np.concatenate([w, w[::-1]])
    w = 2 * n / (n_points + 1.0)
    return np.concatenate([w, w[-2::-1]])


# The windows of scipy.signal.get_window that need no parameter (common ones).
_WINDOWS = {
    "boxcar": np.ones,
    "hann": _general_cosine(0.5, 0.5),
    "hamming": _general_cosine(0.54, 0.46),
    "blackman": _general_cosine(0.42, 0.50, 0.08),
    "blackmanharris": _general_cosine(0.35875, 0.48829, 0.14128, 0.01168),
    "nuttall": _general_cosine(0.3635819, 0.4891775, 0.1365995, 0.0106411),
    "flattop": _general_cosine(0.21557895, 0.41663158, 0.277263158, 0.083578947, 0.006947368),
    "bartlett": _bartlett,
    "triang": _triang,
    "cosine": lambda n_points: np.sin(np.pi / n_points * (np.arange(n_points) + 0.5)),
}
_WINDOW_ALIASES = {"box": "boxcar", "ones": "boxcar", "rect": "boxcar", "rectangular": "boxcar",
                   "han": "hann", "hamm": "hamming", "ham": "hamming", "black": "blackman",
                   "blk": "blackman", "blackharr": "blackmanharris", "bkh": "blackmanharris",
                   "nutl": "nuttall", "nut": "nuttall", "flat": "flattop", "flt": "flattop",
                   "bart": "bartlett", "brt": "bartlett", "triangle": "triang", "tri": "triang",
                   "halfcosine": "cosine"}


def _window(name, n_points, periodic):
    """``scipy.signal.get_window(name, n_points, fftbins=periodic)`` for the
    windows in ``_WINDOWS``."""
    make = _WINDOWS[_WINDOW_ALIASES.get(name, name)]
    if n_points == 1:
        return np.ones(1)
    if periodic:
        return make(n_points + 1)[:-1]
    return make(n_points)


class STFT(Initializer):
    """Kernels of a short-time Fourier transform, for a conv of shape
    ``(frame_length, input_channels, fft_length // 2 + 1)``: the real
    (``side="real"``, cosines) or imaginary (``"imag"``, sines) part, times
    an optional window, divided by the window's L2 (``scaling="density"``) or
    L1 (``"spectrum"``) norm.

    ``window`` is a window name (``"hann"``, ``"hamming"``, ``"blackman"``,
    ``"bartlett"``, ``"boxcar"``, ... as in ``scipy.signal.get_window``), a
    sequence of ``frame_length`` values, or None. ``periodic`` picks the
    periodic rather than the symmetric form of a named window.

    >>> STFT(window=None, scaling=None)((4, 1, 3))[:, 0, 1].round()
    tensor([ 1.,  0., -1., -0.])
    """

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError("Invalid value for argument `side`: it must be 'real' or "
                             f"'imag'. Received: side={side!r}")
        if isinstance(window, str) and _WINDOW_ALIASES.get(window, window) not in _WINDOWS:
            raise ValueError(
                f"Invalid value for argument `window`: unknown window name. Known names: "
                f"{sorted(_WINDOWS)}; or pass the window values. Received: window={window!r}"
            )
        if scaling not in (None, "density", "spectrum"):
            raise ValueError("Invalid value for argument `scaling`: it must be None, "
                             f"'density' or 'spectrum'. Received: scaling={scaling!r}")
        self.side = side
        self.window = window
        self.scaling = scaling
        self.periodic = periodic

    def __call__(self, shape, dtype=None):
        shape, dtype = _to_shape(shape), _float_dtype(dtype)
        if len(shape) != 3 or shape[2] < 2:
            raise ValueError(
                "The STFT initializer needs a shape (frame_length, input_channels, "
                f"fft_length // 2 + 1) with a last dimension >= 2. Received: shape={shape}"
            )
        frame_length, _, n_bins = shape
        time = np.arange(frame_length, dtype=np.float64).reshape(-1, 1, 1)
        freq = np.arange(n_bins, dtype=np.float64).reshape(1, 1, -1) / ((n_bins - 1) * 2)
        angle = -2.0 * np.pi * time * freq
        kernel = np.cos(angle) if self.side == "real" else np.sin(angle)
        if self.window is not None:
            if isinstance(self.window, str):
                win = _window(self.window, frame_length, self.periodic)
            else:
                win = np.asarray(deserialize_value(self.window), dtype=np.float64)
            if win.shape != (frame_length,):
                raise ValueError(
                    f"The STFT window must have shape ({frame_length},), one value per "
                    f"frame. Received: window shape={win.shape}"
                )
            kernel = kernel * win.reshape(-1, 1, 1)
            if self.scaling == "density":
                kernel = kernel / np.sqrt(np.sum(win**2))
            elif self.scaling == "spectrum":
                kernel = kernel / np.sum(np.abs(win))
        kernel = torch.from_numpy(kernel).to(dtype)
        return kernel.expand(shape).clone()

    def get_config(self):
        return {"side": self.side, "window": serialize_value(self.window),
                "periodic": self.periodic, "scaling": self.scaling}


# -- random initializers ---------------------------------------------------------


class RandomNormal(RandomInitializer):
    """Normal distribution with ``mean`` and ``stddev``."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = _check_number("mean", mean)
        self.stddev = _check_number("stddev", stddev, "a non-negative number", lambda v: v >= 0)
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        return _draw("normal", shape, dtype, self._generator(), self.mean, self.stddev)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomNormal):
    """Normal distribution with ``mean`` and ``stddev``, values further than
    two ``stddev`` from the mean redrawn (so the result's std is about
    0.88 ``stddev``)."""

    def __call__(self, shape, dtype=None):
        return _draw("truncated", shape, dtype, self._generator(), self.mean, self.stddev)


class RandomUniform(RandomInitializer):
    """Uniform distribution on ``[minval, maxval)``."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = _check_number("minval", minval)
        self.maxval = _check_number("maxval", maxval, f"a number >= minval ({minval})",
                                    lambda v: v >= minval)
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        return _draw("uniform", shape, dtype, self._generator(), self.minval, self.maxval)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


class VarianceScaling(RandomInitializer):
    """Scale adapted to the weight's fans: variance ``scale / n`` where ``n`` is
    ``fan_in``, ``fan_out`` or their mean (``mode="fan_avg"``), at least 1.

    ``distribution`` is ``"truncated_normal"`` (``"normal"`` is read as that;
    the std before truncation is divided by 0.8796 so the variance after it
    is right), ``"untruncated_normal"`` or ``"uniform"`` (limit
    ``sqrt(3 * scale / n)``). ``input_axes`` and ``output_axes``, given
    together, choose the dimensions the fans multiply (see
    :func:`compute_fans`).
    """

    MODES = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        self.scale = _check_number("scale", scale, "a positive number", lambda v: v > 0)
        if mode not in self.MODES:
            raise ValueError(f"Invalid value for argument `mode`: it must be one of "
                             f"{self.MODES}. Received: mode={mode!r}")
        if isinstance(distribution, str):
            distribution = distribution.lower()
            if distribution == "normal":
                distribution = "truncated_normal"
        if distribution not in self.DISTRIBUTIONS:
            raise ValueError(f"Invalid value for argument `distribution`: it must be one of "
                             f"{self.DISTRIBUTIONS}. Received: distribution={distribution!r}")
        if (input_axes is None) != (output_axes is None):
            raise ValueError(
                "Arguments `input_axes` and `output_axes` must be given together (the fans "
                f"are computed from both). Received: input_axes={input_axes!r}, "
                f"output_axes={output_axes!r}"
            )
        self.mode = mode
        self.distribution = distribution
        self.input_axes = _check_axes("input_axes", input_axes)
        self.output_axes = _check_axes("output_axes", output_axes)
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(variance) / 0.87962566103423978
            return _draw("truncated", shape, dtype, self._generator(), 0.0, stddev)
        if self.distribution == "untruncated_normal":
            return _draw("normal", shape, dtype, self._generator(), 0.0, math.sqrt(variance))
        limit = math.sqrt(3.0 * variance)
        return _draw("uniform", shape, dtype, self._generator(), -limit, limit)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class _FixedVarianceScaling(VarianceScaling):
    """A VarianceScaling with fixed scale/mode/distribution (Glorot, He, Lecun)."""

    _settings = {}

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(**self._settings, seed=seed, input_axes=input_axes,
                         output_axes=output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


class GlorotNormal(_FixedVarianceScaling):
    """Truncated normal with std ``sqrt(2 / (fan_in + fan_out))`` (Xavier normal)."""

    _settings = {"scale": 1.0, "mode": "fan_avg", "distribution": "truncated_normal"}


class GlorotUniform(_FixedVarianceScaling):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(6 / (fan_in + fan_out))``
    (Xavier uniform; Keras's default kernel initializer)."""

    _settings = {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform"}


class HeNormal(_FixedVarianceScaling):
    """Truncated normal with std ``sqrt(2 / fan_in)``."""

    _settings = {"scale": 2.0, "mode": "fan_in", "distribution": "truncated_normal"}


class HeUniform(_FixedVarianceScaling):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(6 / fan_in)``."""

    _settings = {"scale": 2.0, "mode": "fan_in", "distribution": "uniform"}


class LecunNormal(_FixedVarianceScaling):
    """Truncated normal with std ``sqrt(1 / fan_in)``."""

    _settings = {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"}


class LecunUniform(_FixedVarianceScaling):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(3 / fan_in)``."""

    _settings = {"scale": 1.0, "mode": "fan_in", "distribution": "uniform"}


class Orthogonal(RandomInitializer):
    """``gain`` times a random orthogonal matrix (QR of a normal matrix, signs
    fixed so the distribution is uniform). A shape of rank > 2 is treated as
    the matrix ``(prod(shape[:-1]), shape[-1])``; a wide matrix has orthogonal
    rows, a tall one orthogonal columns.

    >>> q = Orthogonal(seed=1)((4, 6))
    >>> torch.allclose(q @ q.T, torch.eye(4), atol=1e-5)
    True
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = _check_number("gain", gain)
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        shape, dtype = _to_shape(shape), _float_dtype(dtype)
        if len(shape) < 2:
            raise ValueError(
                "The Orthogonal initializer needs a shape of rank 2 or more. "
                f"Received: shape={shape} of rank {len(shape)}"
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        work = torch.float64 if dtype == torch.float64 else torch.float32
        flat = (max(rows, cols), min(rows, cols))
        matrix = _draw("normal", flat, work, self._generator(), 0.0, 1.0)
        q, r = torch.linalg.qr(matrix)
        q = q * torch.sign(torch.diagonal(r))
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).to(dtype)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


# -- lookup and serialization ---------------------------------------------------

_REGISTRY = Registry(
    "initializer",
    "keras.initializers",
    [
        (Initializer, "initializer"), (Constant, "constant"), (Zeros, "zeros"), (Ones, "ones"),
        (Identity, "identity"), (STFT, "stft"), (RandomNormal, "random_normal"),
        (RandomUniform, "random_uniform"), (TruncatedNormal, "truncated_normal"),
        (VarianceScaling, "variance_scaling"), (GlorotNormal, "glorot_normal"),
        (GlorotUniform, "glorot_uniform"), (HeNormal, "he_normal"), (HeUniform, "he_uniform"),
        (LecunNormal, "lecun_normal"), (LecunUniform, "lecun_uniform"),
        (Orthogonal, "orthogonal"),
    ],
    aliases={"IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal,
             "STFTInitializer": STFT, "normal": RandomNormal, "uniform": RandomUniform,
             "one": Ones, "zero": Zeros},
    module_overrides={Initializer: "keras"},
)


def get(identifier, argument="identifier"):
    """The initializer ``identifier`` stands for.

    None gives None; a name (``"glorot_uniform"``, ``"GlorotUniform"``) or a
    class gives a default instance; a config dict is deserialized; an
    instance or any callable ``f(shape, dtype=None)`` is returned as is; a
    tensor or array gives ``Constant(value)``, which only fills its own shape.
    """
    if isinstance(identifier, (torch.Tensor, np.ndarray, np.generic)):
        return Constant(identifier)
    return _REGISTRY.get(identifier, argument)


def serialize(initializer):
    """The Keras 3 config dict of ``initializer``."""
    return _REGISTRY.serialize(initializer)


def deserialize(config, custom_objects=None):
    """The initializer a config (dict or name) describes; the inverse of
    :func:`serialize`. ``custom_objects`` maps names to user classes."""
    return _REGISTRY.deserialize(config, custom_objects)


# Keras's snake_case spellings of the classes.
constant, zeros, ones, identity, stft = Constant, Zeros, Ones, Identity, STFT
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, orthogonal = VarianceScaling, Orthogonal
glorot_normal, glorot_uniform = GlorotNormal, GlorotUniform
he_normal, he_uniform = HeNormal, HeUniform
lecun_normal, lecun_uniform = LecunNormal, LecunUniform
IdentityInitializer, OrthogonalInitializer, STFTInitializer = Identity, Orthogonal, STFT

__all__ = [
    "Initializer", "Constant", "Zeros", "Ones", "Identity", "STFT", "RandomNormal",
    "RandomUniform", "TruncatedNormal", "VarianceScaling", "GlorotNormal", "GlorotUniform",
    "HeNormal", "HeUniform", "LecunNormal", "LecunUniform", "Orthogonal",
    "IdentityInitializer", "OrthogonalInitializer", "STFTInitializer",
    "constant", "zeros", "ones", "identity", "stft", "random_normal", "random_uniform",
    "truncated_normal", "variance_scaling", "orthogonal", "glorot_normal", "glorot_uniform",
    "he_normal", "he_uniform", "lecun_normal", "lecun_uniform",
    "compute_fans", "get", "serialize", "deserialize",
]
