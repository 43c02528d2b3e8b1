"""``sepconv demo``: train the separable network and its plain-Conv2D twin on
the same data, report both, then save, reload and check the model.

>>> report = run_demo(epochs=1, quiet=True, print_fn=lambda *a: None)
>>> [row.name for row in report.rows], report.reload_agrees
(['SeparableConv2D', 'Conv2D'], True)
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np
import torch

import sepconv
from sepconv.demo.data import load_digits, load_image_folder
from sepconv.demo.networks import build_network, multiply_adds


LEARNING_RATE = 0.003  # Adam's, decayed to zero along a cosine over the training


@dataclass
class Row:
    name: str
    params: int
    multiply_adds: int
    accuracy: float
    seconds: float


@dataclass
class Report:
    rows: list = field(default_factory=list)
    reload_agrees: bool = False
    saved_to: str = ""


def _train(split, separable, epochs, batch_size, seed, quiet, print_fn):
    torch.manual_seed(seed)
    model = build_network(split.x_train.shape[1:], len(split.class_names), separable=separable)
    if not quiet:
        model.summary(print_fn=print_fn)
    steps = epochs * math.ceil(len(split.x_train) / batch_size)
    learning_rate = sepconv.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)
    model.compile(optimizer=sepconv.optimizers.Adam(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(split.x_train, split.y_train, batch_size=batch_size, epochs=epochs,
              verbose=0 if quiet else "auto")
    seconds = time.perf_counter() - start
    predicted = model.predict(split.x_test, batch_size=256, verbose=0).argmax(-1)
    accuracy = float((predicted == split.y_test).mean())
    name = "SeparableConv2D" if separable else "Conv2D"
    return model, Row(name, model.count_params(), multiply_adds(model), accuracy, seconds)


def comparison_table(rows):
    """The side-by-side table, as lines of text."""
    header = f"{'network':<17}{'params':>10}{'multiply-adds':>16}{'test accuracy':>16}" \
             f"{'training':>11}"
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(f"{row.name:<17}{row.params:>10,}{row.multiply_adds:>16,}"
                     f"{row.accuracy:>15.2%}{row.seconds:>10.1f}s")
    separable, plain = rows
    lines.append(
        f"The separable network needs {plain.params / separable.params:.1f}x fewer parameters "
        f"and {plain.multiply_adds / separable.multiply_adds:.1f}x fewer multiply-adds "
        f"for {separable.accuracy - plain.accuracy:+.2%} accuracy.")
    return lines


def _save_and_reload(model, split, path, print_fn):
    model.save(path)
    reloaded = sepconv.models.load_model(path)
    before = model.predict(split.x_test, batch_size=256, verbose=0)
    after = reloaded.predict(split.x_test, batch_size=256, verbose=0)
    agrees = bool(np.allclose(before, after, rtol=1e-5, atol=1e-6))
    print_fn(f"Saved to {path}, reloaded: predictions "
             f"{'agree' if agrees else 'DIFFER'} on {len(after)} test images.")
    return agrees


def run_demo(epochs=30, batch_size=32, seed=0, save=None, data=None, image_size=32,
             quiet=False, print_fn=print):
    """Run the whole demo; returns a :class:`Report`."""
    split = (load_image_folder(data, image_size=image_size, seed=seed) if data
             else load_digits(seed=seed))
    source = data or "scikit-learn's handwritten digits"
    print_fn(f"Data: {source}: {len(split.x_train)} training and {len(split.x_test)} test "
             f"images of {split.x_train.shape[1:]}, {len(split.class_names)} classes.")
    report = Report()
    models = []
    for separable in (True, False):
        model, row = _train(split, separable, epochs, batch_size, seed, quiet, print_fn)
        print_fn(f"{row.name} network: test accuracy {row.accuracy:.2%} "
                 f"after {row.seconds:.1f}s of training.")
        models.append(model)
        report.rows.append(row)
    for line in comparison_table(report.rows):
        print_fn(line)
    with tempfile.TemporaryDirectory() as scratch:
        path = save or os.path.join(scratch, "separable_digits.keras")
        report.reload_agrees = _save_and_reload(models[0], split, path, print_fn)
        report.saved_to = save or ""
    return report
