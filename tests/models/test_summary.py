"""``summary()`` against Keras 3.15.1's: same rows and totals; ASCII unless
printing to a terminal."""

from __future__ import annotations

import io
import sys

import pytest

import sepconv
from keras_models import keras, summary_rows, summary_text, totals
from test_functional import article_model, dag_model


@pytest.mark.parametrize("build", [article_model, dag_model], ids=["article", "dag"])
def test_rows_and_totals_equal_keras(build):
    ours, theirs = build(sepconv), build(keras)
    assert summary_rows(ours) == summary_rows(theirs)
    assert totals(ours) == totals(theirs)


def test_article_model_shows_442_params():
    text = summary_text(article_model(sepconv))
    assert 'Model: "test_model"' in text
    assert " Total params: 442 (1.73 KB)" in text.splitlines()
    assert " Trainable params: 442 (1.73 KB)" in text.splitlines()
    assert " Non-trainable params: 0 (0.00 B)" in text.splitlines()


def test_sequential_rows_equal_keras_without_the_input_layer():
    def build(lib):
        return lib.Sequential([lib.Input((16, 16, 8)), lib.layers.DepthwiseConv2D(3, name="dw"),
                               lib.layers.Conv2D(4, 1, name="pw")], name="seq")

    ours, theirs = build(sepconv), build(keras)
    assert summary_rows(ours) == summary_rows(theirs)
    assert [row[0] for row in summary_rows(ours)] == ["dw (DepthwiseConv2D)", "pw (Conv2D)"]


def test_connected_to_column_for_graphs():
    text = summary_text(dag_model(sepconv), line_length=200)
    header = [line for line in text.splitlines() if "Layer (type)" in line][0]
    assert "Connected to" in header
    shared_row = [line for line in text.splitlines() if line.startswith("| shared ")][0]
    assert "a[0][0], b[0][0]" in shared_row


def test_ascii_with_print_fn_and_box_drawing_on_a_terminal(monkeypatch):
    model = article_model(sepconv)
    plain = summary_text(model)
    assert plain.isascii()

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    model.summary()
    fancy = terminal.getvalue()
    assert "\u250f" in fancy and "\u2503 Layer (type)" in fancy and not fancy.isascii()

    piped = io.StringIO()
    monkeypatch.setattr(sys, "stdout", piped)
    model.summary()
    assert piped.getvalue().isascii()


def test_line_length_and_positions():
    model = article_model(sepconv)
    table = [line for line in summary_text(model, line_length=90).splitlines()
             if line[:1] in "+|"]
    assert {len(line) for line in table} == {90}
    absolute = summary_text(model, line_length=70, positions=[30, 55, 70])
    assert {len(line) for line in absolute.splitlines() if line[:1] in "+|"} == {70}
    with pytest.raises(ValueError, match=r"narrower than 4.*Received: line_length=10"):
        model.summary(line_length=10)
    with pytest.raises(ValueError, match=r"one entry per column.*Received: positions"):
        model.summary(positions=[0.5, 1.0])


def test_expand_nested_and_show_trainable():
    inner = sepconv.Sequential([sepconv.Input((6, 6, 2)), sepconv.layers.Conv2D(2, 1, name="in_c")],
                               name="inner")
    x = sepconv.Input((6, 6, 2))
    frozen = sepconv.layers.Conv2D(2, 1, name="frozen", trainable=False)
    model = sepconv.Model(x, frozen(inner(x)))
    text = summary_text(model, expand_nested=True, show_trainable=True, line_length=120)
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("|")}
    assert "\u2514 in_c (Conv2D)" in rows
    assert rows["frozen (Conv2D)"].rstrip("| ").endswith("N")
    assert rows["inner (Sequential)"].rstrip("| ").endswith("Y")
    assert " Non-trainable params: 6 (24.00 B)" in text.splitlines()
    # the same totals as Keras for the same model
    k_inner = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(2, 1)])
    kx = keras.Input((6, 6, 2))
    k_model = keras.Model(kx, keras.layers.Conv2D(2, 1, trainable=False)(k_inner(kx)))
    assert totals(model) == totals(k_model)


def test_layer_range():
    model = dag_model(sepconv)
    rows = summary_rows(model)
    ranged = []
    model.summary(print_fn=ranged.append, layer_range=["shared", "c_a"], line_length=200)
    names = [line.split("|")[1].strip() for line in ranged if line.startswith("| ")][1:]
    assert names == [row[0] for row in rows[2:5]]
    with pytest.raises(ValueError, match="Received: layer_range"):
        model.summary(layer_range=["nothing_like_this", "c_a"])


def test_unbuilt_layers_show_zero_and_unknown_shape():
    model = sepconv.Sequential([sepconv.layers.Conv2D(2, 1, name="later")])
    rows = summary_rows(model)
    assert rows == [("later (Conv2D)", "?", "0 (unbuilt)")]
