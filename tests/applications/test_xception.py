"""sepconv.applications.Xception against keras.applications.Xception (Keras
3.15.1): parameter count, layer names/order/configs, outputs with the same
weights at the minimum input size, input-shape rules and argument errors.

Xception is big: each configuration is built once per module (fixtures) and
run at 71x71, its minimum size."""

from __future__ import annotations

import numpy as np
import pytest

import sepconv
from application_pairs import assert_same_outputs, assert_same_structure, build_pair, keras
from error_checks import expect_error

Xception = sepconv.applications.Xception


@pytest.fixture(scope="module")
def default_pair():
    return build_pair("Xception")


@pytest.fixture(scope="module")
def headless_pair():
    return build_pair("Xception", include_top=False, input_shape=(71, 71, 3), seed=1)


def test_default_model_has_kerass_parameter_count(default_pair):
    ours, _ = default_pair
    assert ours.count_params() == 22_910_480  # keras.io's figure for Xception
    assert ours.name == "xception"
    assert ours.input_shape == (None, 299, 299, 3) and ours.output_shape == (None, 1000)


def test_default_model_has_kerass_layers_and_configs(default_pair):
    assert_same_structure(*default_pair)


def test_headless_model_matches_keras_at_minimum_size(headless_pair):
    ours, theirs = headless_pair
    assert ours.output_shape == (None, 3, 3, 2048)
    assert_same_structure(ours, theirs)
    assert_same_outputs(ours, theirs, (2, 71, 71, 3))


@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_pooling_matches_keras(pooling):
    ours, theirs = build_pair("Xception", include_top=False, input_shape=(None, None, 3),
                              pooling=pooling, seed=3)
    assert ours.output_shape == (None, 2048)
    assert_same_structure(ours, theirs)
    assert_same_outputs(ours, theirs, (2, 71, 71, 3))


def test_top_with_few_classes_matches_keras():
    ours, theirs = build_pair("Xception", input_shape=(71, 71, 3), classes=5, seed=2,
                              classifier_activation=None, name="small_xception")
    assert ours.name == "small_xception" and ours.output_shape == (None, 5)
    assert_same_structure(ours, theirs)
    assert_same_outputs(ours, theirs, (2, 71, 71, 3))


def test_keras_input_shape_errors_are_kept():
    for kwargs, received in (
        (dict(input_shape=(70, 71, 3), include_top=False), r"input_shape=\(70, 71, 3\)"),
        (dict(input_shape=(71, 71), include_top=False), r"input_shape=\(71, 71\)"),
        (dict(input_shape=(None, 80, 3)), r"input_shape=\(None, 80, 3\)"),
    ):
        expect_error(lambda: Xception(**kwargs), "input_shape", received)
        with pytest.raises(ValueError):  # Keras rejects it too
            keras.applications.Xception(weights=None, **kwargs)


@pytest.mark.parametrize("kwargs, argument, received", [
    (dict(weights="imagenet"), "weights", "weights='imagenet'"),
    (dict(weights="xception.weights.h5"), "weights", "weights='xception.weights.h5'"),
    (dict(pooling="sum", include_top=False), "pooling", "pooling='sum'"),
    (dict(classes=-1), "classes", "classes=-1"),
    (dict(include_top=None), "include_top", "include_top=None"),
    (dict(input_shape=[71, 0, 3], include_top=False), "input_shape",
     r"input_shape=\[71, 0, 3\]"),
    (dict(input_tensor=np.zeros((1, 71, 71, 3))), "input_tensor", "input_tensor"),
])
def test_argument_errors_name_the_argument(kwargs, argument, received):
    expect_error(lambda: Xception(**kwargs), argument, received)
