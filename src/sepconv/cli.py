"""The ``sepconv`` command (also ``python -m sepconv``).

``sepconv demo`` (the default) trains a separable-convolution network and its
plain-Conv2D twin on handwritten digits and compares them (see
:mod:`sepconv.demo`); ``sepconv examples`` runs the examples of the documents
the project follows and prints what they produce.

>>> main(["examples"]) == 0  # doctest: +ELLIPSIS
sepconv ...
True
"""

from __future__ import annotations

import argparse
import sys

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


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value <= 0:
            raise argparse.ArgumentTypeError(f"must be a positive {kind.__name__}; got {text!r}")
        return value
    return parse


def _parser():
    parser = argparse.ArgumentParser(
        prog="sepconv",
        description="Keras's convolution layers on PyTorch. Without a command: the demo.")
    commands = parser.add_subparsers(dest="command")
    demo = commands.add_parser(
        "demo", help="train a separable and a plain-Conv2D network on digits and compare them")
    demo.add_argument("--epochs", type=_positive(int), default=30)
    demo.add_argument("--batch-size", type=_positive(int), default=32)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--save", metavar="PATH",
                      help="where to save the trained separable model (.keras)")
    demo.add_argument("--data", metavar="DIR",
                      help="a folder with one sub-folder of images per class "
                           "(default: scikit-learn's digits)")
    demo.add_argument("--image-size", type=_positive(int), default=32,
                      help="side length images from --data are resized to")
    demo.add_argument("--quiet", action="store_true", help="no summaries or progress bars")
    commands.add_parser("examples", help="run the documented examples and print their shapes")
    return parser


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    import sepconv

    print(f"sepconv {sepconv.__version__} (backend: {sepconv.config.backend()})")
    if args.command == "examples":
        run_seed_examples()
        return 0
    if args.command is None:
        args = parser.parse_args(["demo"])
    if args.save is not None and not args.save.endswith(".keras"):
        parser.error(f"--save must name a .keras file; got {args.save!r}")
    from sepconv.demo import run_demo

    try:
        run_demo(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                 save=args.save, data=args.data, image_size=args.image_size, quiet=args.quiet)
    except (ValueError, ImportError, FileNotFoundError) as error:
        print(f"sepconv demo: error: {error}", file=sys.stderr)
        return 2
    return 0
