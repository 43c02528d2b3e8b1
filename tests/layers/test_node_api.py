"""tf.layers' node API (input, output, input_shape, output_shape and the
``get_*_at(node_index)`` family) on layers called on symbolic inputs.

Keras 3 dropped ``get_input_at`` and friends; where both libraries answer
(``input`` / ``output`` of a single call, Keras 3's ``Operation``), the
answers are compared with Keras 3.15.1.
"""

from __future__ import annotations

import pytest
import torch

import sepconv
from keras_reference import keras


def called_twice(lib):
    a = lib.Input(shape=(12, 12, 3), name="first")
    b = lib.Input(shape=(20, 16, 3), name="second")
    layer = lib.layers.SeparableConv2D(5, 3, strides=2, name="sep")
    return layer, a, b, layer(a), layer(b)


def test_a_layer_called_on_two_inputs_answers_per_node():
    layer, a, b, out_a, out_b = called_twice(sepconv)
    assert layer.get_input_at(0) is a and layer.get_input_at(1) is b
    assert layer.get_output_at(0) is out_a and layer.get_output_at(1) is out_b
    assert layer.get_input_shape_at(0) == (None, 12, 12, 3)
    assert layer.get_input_shape_at(1) == (None, 20, 16, 3)
    # Keras computes the same output shapes for the two calls
    k_layer, _, _, k_out_a, k_out_b = called_twice(keras)
    assert layer.get_output_shape_at(0) == tuple(k_out_a.shape) == (None, 5, 5, 5)
    assert layer.get_output_shape_at(1) == tuple(k_out_b.shape) == (None, 9, 7, 5)
    assert layer.get_input_at(-1) is b


def test_single_call_properties_agree_with_keras():
    for lib in (sepconv, keras):
        x = lib.Input(shape=(8, 8, 2), name="x")
        layer = lib.layers.Conv2D(3, 3, name="conv")
        y = layer(x)
        assert layer.input is x and layer.output is y
    layer = sepconv.layers.Conv2D(3, 3)
    layer(sepconv.Input(shape=(8, 8, 2)))
    assert layer.input_shape == (None, 8, 8, 2)
    assert layer.output_shape == (None, 6, 6, 3)


def test_input_layer_input_is_its_tensor():
    x = sepconv.Input(shape=(4,), name="feature")
    input_layer = x._keras_history.layer
    assert input_layer.input is x and input_layer.output is x
    assert input_layer.input_shape == (None, 4)


def test_never_called_is_a_clear_attribute_error():
    layer = sepconv.layers.Conv2D(3, 3, name="lonely")
    for attribute in ("input", "output", "input_shape", "output_shape"):
        with pytest.raises(AttributeError, match=r"'lonely' has never been called"):
            getattr(layer, attribute)
    with pytest.raises(AttributeError, match="never been called"):
        layer.get_input_at(0)
    # eager calls do not make nodes
    layer(torch.zeros(1, 5, 5, 2))
    assert not hasattr(layer, "output")


def test_several_calls_make_the_plain_properties_ambiguous():
    layer, *_ = called_twice(sepconv)
    for attribute, getter in (("input", "get_input_at"), ("output", "get_output_at"),
                              ("input_shape", "get_input_shape_at"),
                              ("output_shape", "get_output_shape_at")):
        with pytest.raises(AttributeError, match=rf"called 2 times.*`{getter}\(node_index\)`"):
            getattr(layer, attribute)


def test_shapes_that_agree_across_calls_are_not_ambiguous():
    layer = sepconv.layers.Conv2D(2, 1)
    layer(sepconv.Input((4, 4, 3)))
    layer(sepconv.Input((4, 4, 3)))
    assert layer.input_shape == (None, 4, 4, 3)
    with pytest.raises(AttributeError):
        layer.input


def test_node_index_errors_name_the_argument():
    layer, *_ = called_twice(sepconv)
    with pytest.raises(ValueError, match=r"2 inbound node\(s\).*Received: node_index=2"):
        layer.get_output_at(2)
    with pytest.raises(TypeError, match=r"Received: node_index='0'"):
        layer.get_input_shape_at("0")


def test_multi_input_layer_lists_its_inputs():
    a, b = sepconv.Input((3,), name="a"), sepconv.Input((3,), name="b")
    add = sepconv.layers.Add()
    out = add([a, b])
    assert add.input == [a, b] and add.output is out
    assert add.input_shape == [(None, 3), (None, 3)]
