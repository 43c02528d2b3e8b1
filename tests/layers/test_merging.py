"""Add and Concatenate against keras.layers (Keras 3.15.1, torch backend).

Same random inputs into both: outputs and the gradient w.r.t. every input,
compute_output_shape on lists of shapes with None dims, get_config both ways
and round trips; bad inputs and arguments raise ValueError/TypeError naming
them with ``Received: ...``.
"""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest
import torch

from error_checks import expect_error
from keras_reference import GRAD_RTOL, OUTPUT_RTOL, assert_close, normalize
from sepconv import layers


def differential(class_name, kwargs, shapes):
    """Outputs and input gradients of ours and Keras's layer on the same inputs."""
    rng = np.random.default_rng(len(shapes))
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    results = []
    for layer in (getattr(layers, class_name)(**kwargs),
                  getattr(keras.layers, class_name)(**kwargs)):
        tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
        out = layer(tensors)
        r = torch.tensor(np.random.default_rng(7).standard_normal(tuple(out.shape)),
                         dtype=torch.float32)
        grads = torch.autograd.grad(out, tensors, r)
        results.append((layer, out.detach().numpy(), [g.numpy() for g in grads]))
    (ours, out, grads), (theirs, k_out, k_grads) = results
    where = f"{class_name}({kwargs}) on {shapes}"
    assert out.dtype == np.float32
    assert_close(out, k_out, OUTPUT_RTOL, f"{where}: output")
    for i, (g, kg) in enumerate(zip(grads, k_grads)):
        assert_close(g, kg, GRAD_RTOL, f"{where}: gradient w.r.t. input {i}")
    assert ours.compute_output_shape(shapes) == tuple(theirs.compute_output_shape(shapes))
    assert ours.compute_output_shape(shapes) == out.shape
    assert ours.weights == [] and ours.count_params() == 0
    check_config(ours, theirs)


def check_config(ours, theirs):
    config = normalize(ours.get_config())
    assert config == normalize(theirs.get_config())
    assert normalize(type(ours).from_config(ours.get_config()).get_config()) == config
    assert normalize(type(theirs).from_config(ours.get_config()).get_config()) == config
    assert normalize(type(ours).from_config(theirs.get_config()).get_config()) == config


# ---------------------------------------------------------------------- Add

ADD_CASES = [
    [(2, 3, 4), (2, 3, 4)],
    [(2, 3, 4), (2, 3, 4), (2, 3, 4)],
    [(2, 3, 4), (2, 1, 4)],           # size-1 broadcast
    [(2, 1, 4), (2, 3, 1)],           # both broadcast
    [(2, 3, 4), (2, 4)],              # lower rank: axes inserted after the batch
    [(2, 3, 4), (2,)],
    [(2, 3, 4), (2, 1), (2, 3, 1)],
    [(2, 5), (2, 5), (2, 1), (2, 5)],
    [(1, 3), (1, 3)],
]


@pytest.mark.parametrize("shapes", ADD_CASES, ids=str)
def test_add_matches_keras(shapes):
    differential("Add", {"name": "merge"}, shapes)


SHAPE_LISTS = [
    [(None, 3, 4), (2, 4)],
    [(None, None, 4), (2, 5, 1)],
    [(None, 1, 4), (2, 5, 1)],
    [(None, 3), (None, 3)],
    [(2, 3), (None, 3), (2, 1)],
    [(None, None), (None, 1)],
    [(4, 1, None), (None, 7, 1)],
]


@pytest.mark.parametrize("shapes", SHAPE_LISTS, ids=str)
def test_add_output_shape_matches_keras(shapes):
    expected = keras.layers.Add().compute_output_shape(shapes)
    assert layers.Add().compute_output_shape(shapes) == tuple(expected)
    assert layers.Add().compute_output_shape([list(s) for s in shapes]) == tuple(expected)


def test_add_of_integers_and_tuple_input():
    out = layers.Add()((torch.arange(3).reshape(1, 3), torch.ones(1, 3, dtype=torch.int64)))
    assert out.tolist() == [[1, 2, 3]]
    out = layers.add([np.ones((1, 2), np.float32), np.ones((1, 2), np.float32)])
    assert out.dtype == torch.float32 and out.tolist() == [[2.0, 2.0]]


# -------------------------------------------------------------- Concatenate

CONCAT_CASES = [
    (-1, [(2, 3, 4), (2, 3, 5)]),
    (-1, [(2, 3, 1), (2, 3, 2), (2, 3, 3)]),
    (1, [(2, 1, 4), (2, 3, 4)]),
    (-2, [(2, 1, 4), (2, 3, 4)]),
    (0, [(1, 3), (2, 3)]),             # along the batch axis: batch sizes may differ
    (2, [(2, 3, 4, 5), (2, 3, 1, 5)]),
    (-1, [(2, 4), (2, 4)]),
]


@pytest.mark.parametrize("axis,shapes", CONCAT_CASES, ids=str)
def test_concatenate_matches_keras(axis, shapes):
    differential("Concatenate", {"axis": axis, "name": "merge"}, shapes)


@pytest.mark.parametrize("axis,shapes", [
    (-1, [(None, 1, 4), (2, 1, None)]),
    (1, [(None, 1, 4), (2, 3, 4)]),
    (1, [(None, None, 4), (None, 3, 4)]),
    (-1, [(None, 3, 2), (None, 3, 5), (None, 3, 1)]),
    (0, [(None, 3), (2, 3)]),
    (1, [(2, None, 4), (2, 3, None)]),
], ids=str)
def test_concatenate_output_shape_matches_keras(axis, shapes):
    expected = keras.layers.Concatenate(axis=axis).compute_output_shape(shapes)
    assert layers.Concatenate(axis=axis).compute_output_shape(shapes) == tuple(expected)


def test_concatenate_default_config():
    check_config(layers.Concatenate(name="c"), keras.layers.Concatenate(name="c"))
    check_config(layers.Add(name="a"), keras.layers.Add(name="a"))
    assert layers.concatenate([torch.ones(1, 2), torch.zeros(1, 1)], axis=1).shape == (1, 3)
    assert layers.Concatenate().name.startswith("concatenate")


# ------------------------------------------------------------------- errors

def test_merge_needs_a_list():
    x = torch.zeros(2, 3)
    for cls in (layers.Add, layers.Concatenate):
        expect_error(lambda: cls()(x), "non-empty list", r"inputs=a single tensor of shape \(2, 3\)")
        expect_error(lambda: cls().compute_output_shape([]), "non-empty list",
                     r"input_shape=\[\]")
        expect_error(lambda: cls().compute_output_shape((2, 3)), "non-empty list",
                     r"input_shape=\(2, 3\)")


def test_a_single_input_passes_through_like_keras():
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    for name in ("Add", "Concatenate"):
        ours = getattr(layers, name)()([torch.tensor(x)])
        theirs = getattr(keras.layers, name)()([torch.tensor(x)])
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert getattr(layers, name)().compute_output_shape([(None, 3)]) == (None, 3)


@pytest.mark.parametrize("shapes,received", [
    ([(2, 3), (2, 4)], r"\[\(2, 3\), \(2, 4\)\]"),
    ([(2, 3, 4), (2, 3)], r"\[\(2, 3, 4\), \(2, 3\)\]"),
    ([(1, 3), (2, 3)], r"\[\(1, 3\), \(2, 3\)\]"),   # batch sizes differ (Keras rejects too)
    ([(2, 3), (2, 3), (2, 2)], r"\(2, 2\)\]"),
], ids=str)
def test_add_incompatible_shapes(shapes, received):
    inputs = [torch.zeros(s) for s in shapes]
    expect_error(lambda: layers.Add()(inputs), "shapes|batch sizes", received, types=ValueError)
    expect_error(lambda: layers.Add().compute_output_shape(shapes), "shapes|batch sizes",
                 received, types=ValueError)
    with pytest.raises(ValueError):  # Keras rejects them as well
        keras.layers.Add()([np.zeros(s, np.float32) for s in shapes])


@pytest.mark.parametrize("axis,shapes,argument,received", [
    (-1, [(2, 3), (2, 3, 1)], "equal rank", r"\[\(2, 3\), \(2, 3, 1\)\]"),
    (-1, [(2, 3, 1), (2, 4, 1)], "match except", r"\[\(2, 3, 1\), \(2, 4, 1\)\]"),
    (1, [(2, 3, 1), (1, 3, 1)], "match except", r"\[\(2, 3, 1\), \(1, 3, 1\)\]"),
    (3, [(2, 3, 1), (2, 3, 1)], "axis", r"axis=3"),
    (-4, [(2, 3, 1), (2, 3, 1)], "axis", r"axis=-4"),
], ids=str)
def test_concatenate_incompatible_shapes(axis, shapes, argument, received):
    layer = layers.Concatenate(axis=axis)
    expect_error(lambda: layer([torch.zeros(s) for s in shapes]), argument, received,
                 types=ValueError)
    expect_error(lambda: layer.compute_output_shape(shapes), argument, received,
                 types=ValueError)
    with pytest.raises((ValueError, IndexError)):  # Keras rejects them as well
        keras.layers.Concatenate(axis=axis)([np.zeros(s, np.float32) for s in shapes])


@pytest.mark.parametrize("axis", ["1", 1.0, True, None, [1]], ids=repr)
def test_concatenate_bad_axis(axis):
    expect_error(lambda: layers.Concatenate(axis=axis), "axis", "axis=" + re.escape(repr(axis)),
                 types=TypeError)


def test_unknown_keyword():
    expect_error(lambda: layers.Add(axis=1), "Unrecognized", "axis")
