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
    """Run the examples of Keras's docs and of the DepthwiseConv2D article
    (its MobileNet block and its 442-parameter test_model, with summaries)."""
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

    print_fn("Article MobileNet v1 block (Conv2-3) as a Sequential on (None, 32, 32, 32):")
    block = keras.Sequential([
        keras.Input(shape=(32, 32, 32)),
        keras.layers.DepthwiseConv2D(kernel_size=(3, 3), strides=(1, 1), padding="same",
                                     use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.Activation("relu"),
        keras.layers.Conv2D(64, (1, 1), strides=(1, 1), padding="same", use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.Activation("relu"),
    ])
    block.summary(print_fn=print_fn)
    out = block.predict(rng.random((2, 32, 32, 32)), verbose=0)
    print_fn(f"  on (2, 32, 32, 32): output shape {out.shape}")

    print_fn("Article test_model: Input((224, 224, 10)) -> SeparableConv2D(32, (3, 3), "
             "activation='relu', padding='same'):")
    _input = keras.Input(shape=(224, 224, 10), name="input")
    _output = keras.layers.SeparableConv2D(32, kernel_size=(3, 3), activation="relu",
                                           padding="same")(_input)
    model = keras.models.Model(_input, _output)
    model.summary(print_fn=print_fn)


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
