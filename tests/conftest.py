"""Shared test set-up: Keras 3 (the reference) runs on its torch backend."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")
