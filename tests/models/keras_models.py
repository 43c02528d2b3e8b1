"""Build the same model in sepconv and in Keras 3.15.1 (torch backend) and
compare them: weights copied from Keras into ours, then outputs, configs and
summaries side by side."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import sepconv  # noqa: E402


def both(build):
    """``build(lib)`` with ``lib`` = sepconv and then Keras: (ours, theirs),
    Keras's weights copied into ours."""
    ours, theirs = build(sepconv), build(keras)
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def keras_outputs(model, x, training=False):
    """Keras's outputs as NumPy (a list for several outputs)."""
    out = model(x, training=training)
    if isinstance(out, (list, tuple)):
        return [o.detach().cpu().numpy() for o in out]
    if isinstance(out, dict):
        return {k: v.detach().cpu().numpy() for k, v in out.items()}
    return out.detach().cpu().numpy()


def our_outputs(model, x, training=False):
    out = model(x, training=training)
    if isinstance(out, (list, tuple)):
        return [o.detach().numpy() for o in out]
    if isinstance(out, dict):
        return {k: v.detach().numpy() for k, v in out.items()}
    return out.detach().numpy()


def assert_same_outputs(ours, theirs, x, rtol=2e-5, training=False):
    expected = keras_outputs(theirs, x, training)
    got = our_outputs(ours, x, training)
    if isinstance(expected, dict):
        assert sorted(got) == sorted(expected)
        pairs = [(got[k], expected[k]) for k in expected]
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected)
        pairs = list(zip(got, expected))
    else:
        pairs = [(got, expected)]
    for mine, reference in pairs:
        assert mine.shape == reference.shape
        scale = float(np.max(np.abs(reference))) or 1.0
        np.testing.assert_allclose(mine, reference, rtol=rtol, atol=rtol * scale)


def jsonable(value):
    """Configs compared as JSON would store them (tuples as lists)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def keras_config(model):
    """Keras's ``get_config`` as JSON data, without the ``mask=None`` Keras
    records on calls of models (masking is not part of sepconv)."""
    config = jsonable(model.get_config())

    def strip(value):
        if isinstance(value, dict):
            if value.get("kwargs") == {"mask": None}:
                value = {**value, "kwargs": {}}
            return {k: strip(v) for k, v in value.items()}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(config)


def summary_text(model, **kwargs):
    lines = []
    model.summary(print_fn=lambda line, *args, **kw: lines.append(line), **kwargs)
    return "\n".join(lines)


def summary_rows(model):
    """(name, class, output shape, params) per layer, read from the printed
    table of either library (box drawing or ASCII)."""
    text = summary_text(model)  # Keras's rich tables cut lines wider than the console
    rows, current = [], None
    for line in text.splitlines():
        if not line or line[0] not in "|\u2502":
            if current:
                rows.append(current)
                current = None
            continue
        cells = [c.strip() for c in line.strip("|\u2502").replace("\u2502", "|").split("|")]
        if cells[0] == "Layer (type)":
            continue
        current = cells if current is None else [a + " " + b if b else a
                                                 for a, b in zip(current, cells)]
    if current:
        rows.append(current)
    return [tuple(cell.strip() for cell in row[:3]) for row in rows]


def totals(model):
    """The three ``... params: N (size)`` lines of a summary."""
    return [line.strip() for line in summary_text(model).splitlines() if "params:" in line]


def as_tensor(x):
    return torch.as_tensor(np.asarray(x, dtype=np.float32))
