"""compile(metrics=..., weighted_metrics=...) against Keras 3.15.1 (torch
backend): the same model, weights and data give the same logged names (and
their order in History.history), the same values every epoch, the same
evaluate() results and the same train_on_batch/test_on_batch returns."""

from __future__ import annotations

import numpy as np
import pytest

import sepconv
from keras_reference import keras
from trainer_fixtures import (
    assert_history_as_keras,
    assert_logs_as_keras,
    classifier,
    data,
    paired,
)

FIT = dict(batch_size=8, epochs=2, shuffle=False, verbose=0)


def binary_classifier(lib):
    """One sigmoid output: "accuracy" means BinaryAccuracy here."""
    return lib.Sequential([
        lib.Input((4,)),
        lib.layers.Dense(6, activation="relu", name="hidden"),
        lib.layers.Dense(1, activation="sigmoid", name="prob"),
    ], name="binary")


def binary_data(n=40, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype("float32")
    y = ((x[:, 0] + 0.5 * x[:, 1]) > 0).astype("float32")[:, None]
    return x, y


def two_outputs(lib):
    x = lib.Input((5,), name="x")
    h = lib.layers.Dense(6, activation="relu", name="hidden")(x)
    return lib.Model(x, [lib.layers.Dense(3, activation="softmax", name="out1")(h),
                         lib.layers.Dense(1, activation="sigmoid", name="out2")(h)],
                     name="two_outputs")


def two_output_data(n=32, seed=2):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 5)).astype("float32")
    return x, [rng.integers(0, 3, n), (x[:, :1] > 0).astype("float32")]


def problem(loss):
    """(model builder, x, y) for a loss: the targets it expects."""
    if loss == "binary_crossentropy":
        return (binary_classifier, *binary_data())
    x, y = data()
    if loss == "categorical_crossentropy":
        y = np.eye(3, dtype="float32")[y]
    return classifier, x, y


@pytest.fixture(autouse=True)
def fresh_names():
    """Auto-names (auc, auc_1, ...) count from zero in both libraries."""
    sepconv.utils.clear_session()
    keras.utils.clear_session()


def fit_both(build, compile_kwargs, x, y, **fit_kwargs):
    """Compile (``compile_kwargs(lib)``: metric objects per library) and fit
    the Keras and the sepconv model; returns (Keras model, ours, Keras
    history, our history)."""
    theirs, ours = paired(build)
    histories = []
    for model, lib in ((theirs, keras), (ours, sepconv)):
        model.compile(optimizer=lib.optimizers.SGD(0.05), **compile_kwargs(lib))
        histories.append(model.fit(x, y, **{**FIT, **fit_kwargs}).history)
    return theirs, ours, histories[0], histories[1]


def assert_evaluate_as_keras(ours, theirs, x, y, as_list=True, **kwargs):
    """evaluate() as a dict (names, values) and, with ``as_list``, as a
    list in Keras's order. (Where a weighted metric shares an unweighted
    one's name, Keras's list repeats the unweighted value: a Keras quirk
    sepconv does not copy, so those cases compare the dict only.)"""
    assert_logs_as_keras(ours.evaluate(x, y, verbose=0, return_dict=True, **kwargs),
                         theirs.evaluate(x, y, verbose=0, return_dict=True, **kwargs))
    if as_list:
        np.testing.assert_allclose(ours.evaluate(x, y, verbose=0, **kwargs),
                                   theirs.evaluate(x, y, verbose=0, **kwargs),
                                   rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("loss, metrics", [
    ("sparse_categorical_crossentropy", ["accuracy", "acc"]),
    ("categorical_crossentropy", ["accuracy", "mae", "mse"]),
    ("binary_crossentropy", ["mse", "accuracy", "mae"]),
], ids=["sparse", "categorical", "binary"])
def test_accuracy_and_named_metrics_as_keras(loss, metrics):
    """"accuracy" becomes the accuracy the targets call for (binary, sparse
    or categorical), logged under the name given; "mae"/"mse" keep theirs."""
    build, x, y = problem(loss)
    theirs, ours, keras_history, history = fit_both(
        build, lambda lib: dict(loss=loss, metrics=metrics), x, y, validation_split=0.25)
    assert_history_as_keras(history, keras_history)
    assert {f"val_{name}" for name in metrics} <= set(history)
    assert_evaluate_as_keras(ours, theirs, x, y)


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "binary_crossentropy"],
                         ids=["categorical", "binary"])
def test_metric_objects_as_keras(loss):
    def objects(lib):
        if loss == "binary_crossentropy":
            return [lib.metrics.AUC(num_thresholds=50), lib.metrics.Precision(thresholds=0.4),
                    lib.metrics.Recall(name="rec"), lib.metrics.BinaryAccuracy(threshold=0.6)]
        return [lib.metrics.TopKCategoricalAccuracy(k=2), lib.metrics.AUC(),
                lib.metrics.Precision(), lib.metrics.Recall()]

    build, x, y = problem(loss)
    theirs, ours, keras_history, history = fit_both(
        build, lambda lib: dict(loss=loss, metrics=objects(lib)), x, y,
        validation_data=(x[:16], y[:16]))
    assert_history_as_keras(history, keras_history)
    assert_evaluate_as_keras(ours, theirs, x, y)


@pytest.mark.parametrize("validation", ["validation_split", "validation_data"])
def test_weighted_metrics_use_sample_weight_as_keras(validation):
    x, y = data()
    sample_weight = np.linspace(0.2, 3.0, len(x)).astype("float32")
    validation_kwargs = (dict(validation_split=0.25) if validation == "validation_split" else
                         dict(validation_data=(x[:16], y[:16], sample_weight[::-1][:16].copy())))
    theirs, ours, keras_history, history = fit_both(
        classifier,
        lambda lib: dict(loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                         weighted_metrics=["accuracy",
                                           lib.metrics.SparseCategoricalCrossentropy()]),
        x, y, sample_weight=sample_weight, **validation_kwargs)
    assert_history_as_keras(history, keras_history)
    # The weights matter here (else the test could not tell them ignored).
    assert history["weighted_accuracy"] != history["accuracy"]
    assert "val_weighted_accuracy" in history
    assert_evaluate_as_keras(ours, theirs, x, y, as_list=False, sample_weight=sample_weight)


def test_repeated_metric_names_get_keras_suffixes():
    """accuracy, accuracy_1, weighted_accuracy, weighted_accuracy_1."""
    x, y = data()
    sample_weight = np.linspace(0.2, 3.0, len(x)).astype("float32")
    theirs, ours, keras_history, history = fit_both(
        classifier,
        lambda lib: dict(loss="sparse_categorical_crossentropy",
                         metrics=["accuracy", "accuracy"],
                         weighted_metrics=["accuracy", "accuracy"]),
        x, y, sample_weight=sample_weight)
    assert_history_as_keras(history, keras_history)
    assert_evaluate_as_keras(ours, theirs, x, y, as_list=False, sample_weight=sample_weight)


@pytest.mark.parametrize("form", ["dict", "list_of_lists"])
def test_two_outputs_log_per_output_metrics_as_keras(form):
    """Per-output metrics (a dict by output name or a list of lists),
    weighted metrics and loss weights: "out1_loss", "out1_accuracy",
    "out2_weighted_accuracy"... with Keras's values."""
    x, y = two_output_data()
    sample_weight = np.linspace(0.5, 2.0, len(x)).astype("float32")

    def compile_kwargs(lib):
        if form == "dict":
            return dict(loss={"out1": "sparse_categorical_crossentropy",
                              "out2": "binary_crossentropy"},
                        loss_weights={"out1": 1.0, "out2": 0.3},
                        metrics={"out1": ["accuracy",
                                          lib.metrics.SparseTopKCategoricalAccuracy(k=2)],
                                 "out2": ["accuracy", "mae"]},
                        weighted_metrics={"out2": ["accuracy"]})
        return dict(loss=["sparse_categorical_crossentropy", "binary_crossentropy"],
                    loss_weights=[0.7, 2.0],
                    metrics=[["accuracy"], ["mse", lib.metrics.AUC(), "accuracy"]],
                    weighted_metrics=[["accuracy"], []])

    theirs, ours, keras_history, history = fit_both(
        two_outputs, compile_kwargs, x, y, sample_weight=sample_weight, validation_split=0.25)
    assert_history_as_keras(history, keras_history)
    assert {"out1_loss", "out2_loss", "out1_accuracy", "out2_accuracy",
            "val_out1_accuracy"} <= set(history)
    assert_evaluate_as_keras(ours, theirs, x, y, sample_weight=sample_weight)
    assert_evaluate_as_keras(ours, theirs, x, {"out1": y[0], "out2": y[1]})


def test_returned_dicts_are_ordered_as_keras():
    """Keras returns its logs sorted by name from evaluate/train_on_batch/
    test_on_batch(return_dict=True), as History holds them."""
    x, y = data(16)
    theirs, ours = paired(classifier)
    returned = []
    for model, lib in ((theirs, keras), (ours, sepconv)):
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy",
                               lib.metrics.SparseTopKCategoricalAccuracy(k=2, name="a_top2")])
        returned.append([list(model.evaluate(x, y, verbose=0, return_dict=True)),
                         list(model.train_on_batch(x, y, return_dict=True)),
                         list(model.test_on_batch(x, y, return_dict=True))])
    assert returned[1] == returned[0]


def test_train_and_test_on_batch_return_metrics_as_keras():
    """Each call reports its own batch (Keras resets the metrics first), as
    a list in Keras's order or as a dict; the weights follow Keras's."""
    x, y = data(32)
    theirs, ours = paired(classifier)
    for model, lib in ((theirs, keras), (ours, sepconv)):
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy", lib.metrics.SparseTopKCategoricalAccuracy(k=2)])
    calls = [("train_on_batch", slice(0, 8), False), ("train_on_batch", slice(8, 16), True),
             ("test_on_batch", slice(16, 24), False), ("test_on_batch", slice(0, 8), True),
             ("train_on_batch", slice(24, 32), False)]
    for method, rows, return_dict in calls:
        expected = getattr(theirs, method)(x[rows], y[rows], return_dict=return_dict)
        got = getattr(ours, method)(x[rows], y[rows], return_dict=return_dict)
        if return_dict:
            assert_logs_as_keras(got, expected)
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6,
                                       err_msg=f"{method} on rows {rows}")
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0),
                               rtol=1e-4, atol=1e-6)
