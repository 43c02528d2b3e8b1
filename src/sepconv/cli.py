"""The ``sepconv`` command (also ``python -m sepconv``): runs the examples of
the documents the project follows and prints what they produce.

>>> main([]) == 0  # doctest: +ELLIPSIS
sepconv ...
True
"""

from __future__ import annotations

import argparse

import numpy as np


def run_seed_examples(print_fn=print) -> None:
    """Run the layer-level examples of Keras's, R keras' and tf.layers' docs."""
    import sepconv as keras

    rng = np.random.default_rng(0)

    print_fn("Conv2D doc example: Conv2D(32, 3, activation='relu') on (4, 10, 10, 128)")
    y = keras.layers.Conv2D(32, 3, activation="relu")(rng.random((4, 10, 10, 128)))
    print_fn(f"  output shape: {tuple(y.shape)}")

    x = rng.random((4, 10, 10, 12))
    print_fn("SeparableConv2D doc example: SeparableConv2D(3, 4, 3, 2, activation='relu')")
    try:
        keras.layers.SeparableConv2D(3, 4, 3, 2, activation="relu")(x)
    except (TypeError, ValueError) as error:
        print_fn(f"  rejected as it should be (Keras crashes here): {error}")
    y = keras.layers.SeparableConv2D(3, 4, 3, padding="same", activation="relu")(x)
    print_fn(f"  with padding='same': output shape {tuple(y.shape)}")

    print_fn("MobileNet v1 block (depthwise 3x3 'same' then pointwise 1x1) on (1, 56, 56, 32)")
    depthwise = keras.layers.DepthwiseConv2D(
        kernel_size=(3, 3), strides=(1, 1), padding="same", use_bias=False
    )
    pointwise = keras.layers.Conv2D(64, (1, 1), strides=(1, 1), padding="same", use_bias=False)
    h = depthwise(rng.random((1, 56, 56, 32)))
    print_fn(f"  {depthwise.name}: {tuple(h.shape)}, {depthwise.count_params()} params")
    h = pointwise(h)
    print_fn(f"  {pointwise.name}: {tuple(h.shape)}, {pointwise.count_params()} params")

    print_fn("Article test_model: SeparableConv2D(32, (3, 3), activation='relu', "
             "padding='same') on input (224, 224, 10)")
    layer = keras.layers.SeparableConv2D(32, kernel_size=(3, 3), activation="relu", padding="same")
    layer.build((None, 224, 224, 10))
    print_fn(f"  {layer.name}: output shape {layer.compute_output_shape((None, 224, 224, 10))}, "
             f"params {layer.count_params()}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="sepconv",
        description="Keras's convolution layers on PyTorch: runs the documented examples.",
    )
    parser.parse_args(argv)
    import sepconv

    print(f"sepconv {sepconv.__version__} (backend: {sepconv.config.backend()})")
    run_seed_examples()
    return 0
