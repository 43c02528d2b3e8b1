"""Keras 3 (torch backend) as the reference for sepconv's convolution layers.

Shared by the differential tests: build the Keras layer and the sepconv layer
from the same arguments, copy Keras's weights into ours, run both on the same
float32 input and compare outputs, gradients, weights, shapes and configs.

Keras runs on its torch backend (``tests/conftest.py`` sets
``KERAS_BACKEND=torch`` before anything imports Keras), so a Keras variable
wraps a ``torch.nn.Parameter`` (``variable.value``) and
``torch.autograd.grad`` gives Keras's gradients directly: no TensorFlow and no
numbers produced by our own code enter the expected values.

Tolerances (float32):
    Elementwise ``|ours - keras| <= rtol * |keras| + rtol * max|keras|``, plus
    a norm check ``||ours - keras|| <= rtol * ||keras||``. The absolute part is
    scaled to the output's magnitude because a float32 convolution sums many
    products: an element that is small only through cancellation carries the
    rounding error of its (large) summands, so a pure relative test on it
    would reject correct results. ``rtol`` is 2e-5 for outputs and 1e-4 for
    gradients (gradients sum over more terms: batch and spatial positions).

    Some quantities are exactly zero in exact arithmetic, so both float32
    results are pure rounding noise (e.g. the bias gradient under a softmax
    over a spatial axis: softmax ignores a per-channel constant). Only when
    the check above fails, Keras is run again in float64 with the same weights
    and input, and the absolute tolerance grows by 4x Keras's own float32
    error on that quantity (``max|keras32 - keras64|``): we must be as exact
    as Keras, not more exact than float32 allows.
"""

from __future__ import annotations

import contextlib
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import sepconv  # noqa: E402

assert keras.backend.backend() == "torch", "Keras must run on its torch backend"

OUTPUT_RTOL = 2e-5
GRAD_RTOL = 1e-4

#: class name -> (rank, family)
LAYERS = {
    "Conv1D": (1, "conv"),
    "Conv2D": (2, "conv"),
    "Conv3D": (3, "conv"),
    "DepthwiseConv1D": (1, "depthwise"),
    "DepthwiseConv2D": (2, "depthwise"),
    "SeparableConv1D": (1, "separable"),
    "SeparableConv2D": (2, "separable"),
}


@contextlib.contextmanager
def kernels_on():
    """sepconv's C kernels switched on (as by default, unless the
    environment switched them off), and back as they were after."""
    with sepconv.ops.kernels.switched(True):
        yield


@contextlib.contextmanager
def kernels_off():
    """PyTorch's operations only, and the kernels back as they were after."""
    with sepconv.ops.kernels.switched(False):
        yield


# The layers sepconv's C kernels serve (2D, channels_last, float32).
KERNEL_LAYERS = ("SeparableConv2D", "DepthwiseConv2D")


def make_layers(class_name, kwargs):
    """(ours, keras) layers of ``class_name`` from the same keyword arguments."""
    ours = getattr(sepconv.layers, class_name)(**kwargs)
    theirs = getattr(keras.layers, class_name)(**kwargs)
    return ours, theirs


def input_shape(rank, spatial, channels, data_format, batch=2):
    spatial = tuple(spatial)[:rank]
    if data_format == "channels_first":
        return (batch, channels) + spatial
    return (batch,) + spatial + (channels,)


def normalize(value):
    """Configs compared structurally: tuples and lists alike, NumPy scalars as Python."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def assert_close(actual, expected, rtol, what, noise=None):
    """``noise``: None, or a zero-argument callable giving Keras's float32
    error on this quantity (consulted only if the strict check fails)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (
        f"{what}: shape {actual.shape} != Keras's {expected.shape}"
    )
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    atol = rtol * scale + 1e-30
    error = float(np.linalg.norm(actual - expected))
    norm = float(np.linalg.norm(expected))
    strict = np.allclose(actual, expected, rtol=rtol, atol=atol) and error <= rtol * norm + 1e-30
    if strict:
        return
    keras_noise = 0.0 if noise is None else float(noise())
    atol += 4 * keras_noise
    np.testing.assert_allclose(
        actual, expected, rtol=rtol, atol=atol,
        err_msg=f"{what} (atol includes 4 x Keras's own float32 error {keras_noise:.3g})",
    )
    assert error <= rtol * norm + 4 * keras_noise * np.sqrt(expected.size) + 1e-30, (
        f"{what}: norm-relative error {error / max(norm, 1e-30):.3g} > {rtol} "
        f"(Keras's own float32 error: {keras_noise:.3g})"
    )


def forward_and_grads(layer, weights, x_np, r_np, dtype=torch.float32):
    """Output and gradients of ``sum(out * r)`` w.r.t. the input and ``weights``
    (torch tensors that require grad), all as NumPy arrays."""
    x = torch.tensor(x_np, dtype=dtype, requires_grad=True)
    out = layer(x)
    assert isinstance(out, torch.Tensor), f"output is a {type(out).__name__}"
    assert out.dtype == dtype, f"output dtype {out.dtype}"
    r = torch.tensor(r_np, dtype=dtype)
    assert tuple(out.shape) == tuple(r.shape), (tuple(out.shape), tuple(r.shape))
    loss = (out * r).sum()
    grads = torch.autograd.grad(loss, [x] + list(weights))
    return out.detach().numpy(), [g.detach().numpy() for g in grads]


def paired_layers(class_name, kwargs, shape):
    """(ours, keras) built on ``shape`` with Keras's initial weights copied into ours."""
    ours, klayer = make_layers(class_name, kwargs)
    klayer.build(shape)
    ours.build(shape)
    ours.set_weights(klayer.get_weights())
    return ours, klayer


def outputs_close(ours, klayer, x, what, rtol=OUTPUT_RTOL):
    """Forward both on ``x`` (NumPy or tensor) without gradients and compare."""
    with torch.no_grad():
        expected = klayer(torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor)
                                          else x.contiguous())).numpy()
        got = ours(x)
    assert got.dtype == torch.float32, f"{what}: dtype {got.dtype}"
    assert_close(got.numpy(), expected, rtol, what)


def keras_forward_and_grads(klayer, x_np, r_np, dtype=torch.float32):
    """:func:`forward_and_grads` for a Keras layer.

    With one output channel, torch 2.13's CPU conv backward can raise
    "grad_weight must be contiguous" inside Keras (its permuted kernel view
    has ambiguous strides; sepconv avoids that itself, see
    ``sepconv.ops.conv``). Then the reference comes from a Keras twin with a
    second output channel (zero weights, zero gradient): its first channel and
    the matching slices of its gradients are the same function's.
    """
    try:
        return forward_and_grads(klayer, keras_weight_tensors(klayer), x_np, r_np, dtype)
    except RuntimeError as error:
        if "grad_weight must be contiguous" not in str(error):
            raise
    config = klayer.get_config()
    config["filters" if "filters" in config else "depth_multiplier"] = 2
    twin = type(klayer).from_config(config)
    twin.build(x_np.shape)
    originals = klayer.get_weights()
    widened = [np.zeros(w.shape, w.dtype) for w in twin.get_weights()]
    for wide, original in zip(widened, originals):
        wide[tuple(slice(0, n) for n in original.shape)] = original
    twin.set_weights(widened)
    channel_axis = -1 if klayer.data_format == "channels_last" else 1
    first = [slice(None)] * r_np.ndim
    first[channel_axis] = slice(0, 1)
    first = tuple(first)
    r_wide = np.zeros(np.array(twin.compute_output_shape(x_np.shape)), r_np.dtype)
    r_wide[first] = r_np
    out, grads = forward_and_grads(twin, keras_weight_tensors(twin), x_np, r_wide, dtype)
    weight_grads = [g[tuple(slice(0, n) for n in w.shape)] for g, w in zip(grads[1:], originals)]
    return out[first], [grads[0]] + weight_grads


def keras_weight_tensors(klayer):
    """The torch Parameters under Keras's variables (torch backend)."""
    tensors = [v.value for v in klayer.weights]
    for t in tensors:
        assert isinstance(t, torch.Tensor) and t.requires_grad, type(t)
    return tensors


def with_none(shape, axes):
    return tuple(None if i in axes else d for i, d in enumerate(shape))


def spatial_axes(shape, data_format):
    n = len(shape)
    return list(range(1, n - 1)) if data_format == "channels_last" else list(range(2, n))


def check_against_keras(class_name, kwargs, shape, seed=0, context=""):
    """Every differential check for one configuration; ``context`` goes into
    failure messages (e.g. the random seed)."""
    rng = np.random.default_rng(seed)
    kwargs = dict(kwargs)
    kwargs.setdefault("name", "layer_under_test")
    data_format = kwargs.get("data_format") or "channels_last"
    where = f"{class_name}({kwargs}) on input {shape}{context}"

    ours, klayer = make_layers(class_name, kwargs)
    x_np = rng.standard_normal(shape).astype(np.float32)

    # Build both on the same input (Keras by its own call).
    klayer.build(shape)
    k_out_shape = tuple(klayer.compute_output_shape(shape))
    ours_out = ours(torch.tensor(x_np))  # builds ours on first call
    assert tuple(ours_out.shape) == k_out_shape, f"{where}: output shape"

    # Weights: names, paths, shapes, order; count_params.
    k_weights = klayer.weights
    assert [w.name for w in ours.weights] == [w.name for w in k_weights], where
    assert [w.path for w in ours.weights] == [w.path for w in k_weights], where
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in k_weights], where
    assert all(isinstance(w, torch.nn.Parameter) for w in ours.weights), where
    assert [w.name for w in ours.trainable_weights] == [
        w.name for w in klayer.trainable_weights
    ], where
    assert ours.count_params() == klayer.count_params(), where

    # Same weights, same input: outputs and gradients.
    ours.set_weights(klayer.get_weights())
    for mine, theirs in zip(ours.get_weights(), klayer.get_weights()):
        np.testing.assert_array_equal(mine, theirs, err_msg=f"{where}: set_weights")
    r_np = rng.standard_normal(k_out_shape).astype(np.float32)
    k_out, k_grads = keras_forward_and_grads(klayer, x_np, r_np)
    with kernels_off():  # PyTorch's path; the kernels' path is checked below
        o_out, o_grads = forward_and_grads(ours, ours.weights, x_np, r_np)

    float64_reference = []

    def keras_noise(index):
        """max |Keras float32 - Keras float64| for quantity ``index`` (0: output)."""
        def compute():
            if not float64_reference:
                config = klayer.get_config()
                config["dtype"] = "float64"
                k64 = type(klayer).from_config(config)
                k64.build(shape)
                k64.set_weights([w.astype(np.float64) for w in klayer.get_weights()])
                out64, grads64 = keras_forward_and_grads(k64, x_np, r_np, dtype=torch.float64)
                float64_reference.extend([out64] + grads64)
            k32 = [k_out] + k_grads
            return np.max(np.abs(k32[index].astype(np.float64) - float64_reference[index]),
                          initial=0.0)
        return compute

    assert_close(o_out, k_out, OUTPUT_RTOL, f"{where}: output", noise=keras_noise(0))
    with torch.no_grad(), kernels_on():  # inference: sepconv's C kernels where they apply
        inference = ours(torch.tensor(x_np)).numpy()
    assert_close(inference, k_out, OUTPUT_RTOL, f"{where}: output without gradients",
                 noise=keras_noise(0))
    names = ["input"] + [w.name for w in k_weights]
    assert len(o_grads) == len(k_grads)
    for i, (name, og, kg) in enumerate(zip(names, o_grads, k_grads)):
        assert_close(og, kg, GRAD_RTOL, f"{where}: gradient w.r.t. {name}",
                     noise=keras_noise(i + 1))
    if class_name in KERNEL_LAYERS:  # training through sepconv's C kernels where they apply
        with kernels_on():
            c_out, c_grads = forward_and_grads(ours, ours.weights, x_np, r_np)
        assert_close(c_out, k_out, OUTPUT_RTOL, f"{where}: output (kernels on)",
                     noise=keras_noise(0))
        for i, (name, cg, kg) in enumerate(zip(names, c_grads, k_grads)):
            assert_close(cg, kg, GRAD_RTOL, f"{where}: gradient w.r.t. {name} (kernels on)",
                         noise=keras_noise(i + 1))

    # compute_output_shape: concrete, None batch, None spatial dims.
    assert tuple(ours.compute_output_shape(shape)) == tuple(o_out.shape), where
    for axes in ([0], spatial_axes(shape, data_format), [0] + spatial_axes(shape, data_format)[:1]):
        symbolic = with_none(shape, axes)
        expected = tuple(klayer.compute_output_shape(symbolic))
        got = tuple(ours.compute_output_shape(symbolic))
        assert got == expected, f"{where}: compute_output_shape({symbolic})"

    # get_config: our keys include Keras's, with equal values.
    k_config = normalize(klayer.get_config())
    o_config = normalize(ours.get_config())
    missing = set(k_config) - set(o_config)
    assert not missing, f"{where}: get_config lacks {sorted(missing)}"
    for key, value in k_config.items():
        assert o_config[key] == value, f"{where}: get_config()[{key!r}]"
    # Keras accepts our config and gives back its own config.
    from_ours = getattr(keras.layers, class_name).from_config(ours.get_config())
    assert normalize(from_ours.get_config()) == k_config, f"{where}: Keras from our config"
    # We accept Keras's config.
    from_keras = type(ours).from_config(klayer.get_config())
    assert normalize(from_keras.get_config()) == o_config, f"{where}: from Keras's config"
    # Round trip: same config, same output with the same weights.
    clone = type(ours).from_config(ours.get_config())
    assert normalize(clone.get_config()) == o_config, f"{where}: from_config round trip"
    clone.build(shape)
    clone.set_weights(ours.get_weights())
    with torch.no_grad(), kernels_on():  # both without gradients: the same kernel path
        np.testing.assert_array_equal(
            clone(torch.tensor(x_np)).numpy(), ours(torch.tensor(x_np)).numpy(),
            err_msg=f"{where}: from_config output"
        )
    return o_out
