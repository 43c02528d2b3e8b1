"""The demo's data: scikit-learn's handwritten digits (shipped inside the
package, no download) or a folder of images, one sub-folder per class.

Both give float32 images in ``[0, 1]``, channels last, with integer labels,
split into training and held-out test parts by a seeded shuffle.

>>> split = load_digits(seed=0)
>>> split.x_train.shape[1:], split.x_train.dtype, len(split.class_names)
((8, 8, 1), dtype('float32'), 10)
>>> len(split.x_train) + len(split.x_test)
1797
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


@dataclass
class Split:
    """Training and test images (N, H, W, C) and labels (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list


def _split(images, labels, class_names, test_fraction, seed):
    order = np.random.default_rng(seed).permutation(len(images))
    n_test = max(1, int(round(len(images) * test_fraction)))
    test, train = order[:n_test], order[n_test:]
    return Split(images[train], labels[train], images[test], labels[test], class_names)


def load_digits(seed=0, test_fraction=0.2):
    """scikit-learn's 1,797 8x8 digits, scaled to [0, 1]."""
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise ImportError(
            "The demo trains on the handwritten digits that ship with scikit-learn: "
            "install it with `pip install scikit-learn` (or `pip install sepconv[demo]`)."
        ) from None
    digits = sklearn_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]
    labels = digits.target.astype(np.int64)
    return _split(images, labels, [str(name) for name in digits.target_names],
                  test_fraction, seed)


def load_image_folder(directory, image_size=32, seed=0, test_fraction=0.2):
    """Images under ``directory/<class name>/``, resized to ``image_size``
    squared, in grayscale, with a ValueError for a missing, empty or
    unreadable folder."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise ImportError(
            "Reading an image folder needs Pillow: `pip install pillow` "
            "(or `pip install sepconv[demo]`)."
        ) from None
    if not os.path.isdir(directory):
        raise ValueError(
            f"--data must be a folder with one sub-folder of images per class. "
            f"Received: --data {directory!r} (no such folder)"
        )
    class_names = sorted(entry for entry in os.listdir(directory)
                         if os.path.isdir(os.path.join(directory, entry)))
    if len(class_names) < 2:
        raise ValueError(
            "--data needs at least two class sub-folders of images. "
            f"Received: --data {directory!r} with {len(class_names)} sub-folder(s)"
        )
    images, labels = [], []
    for label, name in enumerate(class_names):
        folder = os.path.join(directory, name)
        files = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_SUFFIXES))
        if not files:
            raise ValueError(
                f"Class folder {folder!r} holds no images ({', '.join(IMAGE_SUFFIXES)}). "
                f"Received: --data {directory!r}"
            )
        for filename in files:
            path = os.path.join(folder, filename)
            try:
                with Image.open(path) as image:
                    pixels = image.convert("L").resize((image_size, image_size))
                    images.append(np.asarray(pixels, dtype=np.float32) / 255.0)
            except (OSError, UnidentifiedImageError) as error:
                raise ValueError(
                    f"Cannot read image {path!r}: {error}. Received: --data {directory!r}"
                ) from None
            labels.append(label)
    images = np.stack(images)[..., None]
    return _split(images, np.asarray(labels, dtype=np.int64), class_names, test_fraction, seed)
