"""sepconv.metrics against Keras 3.15.1's keras.metrics (torch backend):
results after several update_state calls, configs, compile's resolution of
metric identifiers, and the additivity of the state across data shards."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from sepconv import losses, metrics  # noqa: E402
from sepconv.utils.naming import reset_names  # noqa: E402

rng = np.random.default_rng(1)
B, C, T = 8, 5, 3


def probabilities(*shape):
    x = rng.random(shape).astype(np.float32) + 0.05
    return x / x.sum(-1, keepdims=True)


def sparse(*shape):
    return rng.integers(0, C, size=shape)


def onehot(labels):
    return np.eye(C, dtype=np.float32)[labels]


def binary(*shape):
    return rng.integers(0, 2, size=shape).astype(np.float32)


def uniform(*shape):
    return rng.random(shape).astype(np.float32)


def normal(*shape):
    return rng.normal(size=shape).astype(np.float32)


def batches(kind, weighted):
    """Three (y_true, y_pred, sample_weight) batches for a kind of data."""
    out = []
    for _ in range(3):
        if kind == "sparse":
            y_true, y_pred = sparse(B), probabilities(B, C)
        elif kind == "sparse_column":
            y_true, y_pred = sparse(B, 1), probabilities(B, C)
        elif kind == "sparse_3d":
            y_true, y_pred = sparse(B, T), probabilities(B, T, C)
        elif kind == "onehot":
            y_true, y_pred = onehot(sparse(B)), probabilities(B, C)
        elif kind == "onehot_3d":
            y_true, y_pred = onehot(sparse(B, T)), probabilities(B, T, C)
        elif kind == "binary":
            y_true, y_pred = binary(B, 1), uniform(B, 1)
        elif kind == "binary_flat":
            y_true, y_pred = binary(B), uniform(B, 1)
        elif kind == "multilabel":
            y_true, y_pred = binary(B, C), uniform(B, C)
        elif kind == "logits":
            y_true, y_pred = binary(B, C), normal(B, C)
        elif kind == "exact":
            y_true = rng.integers(0, 3, size=(B, 1)).astype(np.float32)
            y_pred = rng.integers(0, 3, size=(B, 1)).astype(np.float32)
        else:  # regression
            y_true, y_pred = normal(B, T), normal(B, T)
        weight = uniform(B) if weighted else None
        out.append((y_true, y_pred, weight))
    return out


CASES = [
    ("Accuracy", {}, "exact"),
    ("BinaryAccuracy", {}, "binary"),
    ("BinaryAccuracy", {"threshold": 0.3}, "binary_flat"),
    ("BinaryAccuracy", {}, "multilabel"),
    ("CategoricalAccuracy", {}, "onehot"),
    ("CategoricalAccuracy", {}, "onehot_3d"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("SparseCategoricalAccuracy", {}, "sparse_column"),
    ("SparseCategoricalAccuracy", {}, "sparse_3d"),
    ("TopKCategoricalAccuracy", {"k": 2}, "onehot"),
    ("TopKCategoricalAccuracy", {"k": 3}, "onehot_3d"),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse"),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, "sparse_3d"),
    ("MeanAbsoluteError", {}, "regression"),
    ("MeanSquaredError", {}, "regression"),
    ("BinaryCrossentropy", {"from_logits": True}, "logits"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "onehot"),
    ("SparseCategoricalCrossentropy", {}, "sparse_3d"),
    ("AUC", {}, "binary"),
    ("AUC", {"num_thresholds": 7, "curve": "PR"}, "multilabel"),
    ("AUC", {"curve": "PR", "summation_method": "minoring"}, "binary"),
    ("AUC", {"curve": "PRGAIN", "summation_method": "majoring"}, "binary"),
    ("AUC", {"multi_label": True, "num_labels": C}, "multilabel"),
    ("AUC", {"multi_label": True, "curve": "PR"}, "multilabel"),
    ("AUC", {"multi_label": True, "label_weights": [1.0, 2.0, 0.0, 1.0, 0.5]}, "multilabel"),
    ("AUC", {"from_logits": True}, "logits"),
    ("AUC", {"thresholds": [0.2, 0.5, 0.7]}, "binary"),
    ("AUC", {"thresholds": [0.25, 0.5, 0.75]}, "multilabel"),
    ("AUC", {"label_weights": [1.0, 2.0, 0.0, 1.0, 0.5]}, "multilabel"),
    ("Precision", {}, "binary"),
    ("Precision", {"thresholds": [0.2, 0.5, 0.9]}, "multilabel"),
    ("Precision", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, "multilabel"),
    ("Precision", {"top_k": 2}, "multilabel"),
    ("Precision", {"class_id": 1}, "multilabel"),
    ("Precision", {"top_k": 2, "class_id": 3, "thresholds": 0.1}, "multilabel"),
    ("Recall", {}, "binary_flat"),
    ("Recall", {"thresholds": [0.3, 0.6]}, "multilabel"),
    ("Recall", {"thresholds": np.linspace(0, 1, 4).tolist()}, "binary"),
    ("Recall", {"top_k": 1}, "multilabel"),
    ("Recall", {"class_id": 2}, "multilabel"),
]


def run(metric, data):
    for y_true, y_pred, weight in data:
        metric.update_state(y_true, torch.tensor(y_pred), sample_weight=weight)
    return np.asarray(metric.result())


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("class_name,kwargs,kind", CASES)
def test_results_match_keras(class_name, kwargs, kind, weighted):
    data = batches(kind, weighted)
    ours = getattr(metrics, class_name)(**kwargs)
    theirs = getattr(keras.metrics, class_name)(**kwargs)
    got, expected = run(ours, data), run(theirs, data)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-7)
    ours.reset_state()
    theirs.reset_state()
    got, expected = run(ours, data[:1]), run(theirs, data[:1])
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("class_name,kwargs,kind", CASES)
def test_variables_add_up_across_shards(class_name, kwargs, kind):
    data = batches(kind, weighted=True)
    whole = getattr(metrics, class_name)(**kwargs)
    first = getattr(metrics, class_name)(**kwargs)
    second = getattr(metrics, class_name)(**kwargs)
    run(whole, data)
    run(first, data[:2])
    run(second, data[2:])
    assert len(first.variables) == len(second.variables) > 0
    for mine, other in zip(first.variables, second.variables):
        assert isinstance(mine, torch.Tensor)
        mine.copy_(mine + other)  # what an all-reduce(sum) does in place
    np.testing.assert_allclose(np.asarray(first.result()), np.asarray(whole.result()),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("class_name,kwargs,kind", CASES)
def test_config_matches_keras(class_name, kwargs, kind):
    reset_names()
    ours = getattr(metrics, class_name)(name="m", **kwargs)
    theirs = getattr(keras.metrics, class_name)(name="m", **kwargs)
    expected = theirs.get_config()
    if expected.get("label_weights") is not None:
        expected["label_weights"] = np.asarray(expected["label_weights"]).tolist()
    assert ours.get_config() == expected
    rebuilt = type(ours).from_config(ours.get_config())
    assert rebuilt.get_config() == ours.get_config()


def test_default_names_match_keras():
    for class_name in ("Mean", "Sum", "Accuracy", "AUC", "Precision", "Recall",
                       "MeanSquaredError", "TopKCategoricalAccuracy"):
        assert getattr(metrics, class_name)().name.split("_")[0] == \
            getattr(keras.metrics, class_name)().name.split("_")[0]


@pytest.mark.parametrize("weights_shape", [None, (B,), (B, 1), (B, T), ()])
def test_mean_and_sum_weighting(weights_shape):
    values = normal(B, T)
    weight = None if weights_shape is None else uniform(*weights_shape)
    for class_name in ("Mean", "Sum"):
        ours, theirs = getattr(metrics, class_name)(), getattr(keras.metrics, class_name)()
        ours.update_state(values, sample_weight=weight)
        theirs.update_state(values, sample_weight=weight)
        ours.update_state(values[:, 0])
        theirs.update_state(values[:, 0])
        np.testing.assert_allclose(ours.result().numpy(), np.asarray(theirs.result()),
                                   rtol=2e-6)


def test_mean_of_scalars_counted_by_batch_size():
    """What a training loop feeds its loss tracker: one value per batch,
    weighted by the batch size (an int), mixed with an ordinary update."""
    ours, theirs = metrics.Mean(), keras.metrics.Mean()
    for value, size in zip(normal(6), [32, 32, 7, 1, 32, 5]):
        ours.update_state(torch.tensor(value), sample_weight=size)
        theirs.update_state(value, sample_weight=size)
    vector = normal(3)
    ours.update_state(vector)
    theirs.update_state(vector)
    np.testing.assert_allclose(ours.result().numpy(), np.asarray(theirs.result()), rtol=1e-7)
    assert float(ours.count) == float(np.asarray(theirs.count)) == 109 + 3


def test_sparse_accuracy_of_label_tensors_matches_keras():
    """What fit feeds the accuracy metric: integer label tensors, one per
    sample or one column, and float predictions (with ties), mixed with
    weighted updates; the state variables equal Keras's exactly."""
    ours, theirs = metrics.SparseCategoricalAccuracy(), keras.metrics.SparseCategoricalAccuracy()
    tied = np.zeros((B, C), dtype="float32")
    for labels, scores, weights in [
            (torch.tensor(sparse(B), dtype=torch.int64), probabilities(B, C), None),
            (torch.tensor(sparse(B, 1), dtype=torch.int32), probabilities(B, C), None),
            (torch.tensor(sparse(B), dtype=torch.int64), tied, None),
            (torch.tensor(sparse(B), dtype=torch.int64), probabilities(B, C), uniform(B)),
            (torch.tensor(sparse(B), dtype=torch.uint8), probabilities(B, C), None)]:
        ours.update_state(labels, torch.tensor(scores), sample_weight=weights)
        theirs.update_state(labels.numpy(), scores, sample_weight=weights)
    for got, expected in zip(ours.variables, theirs.variables):
        np.testing.assert_array_equal(got.numpy(), np.asarray(expected))
    assert float(ours.result()) == float(np.asarray(theirs.result()))
    assert 0 < float(ours.total) < float(ours.count)


def test_mean_metric_wrapper_and_mask():
    y_true, y_pred = sparse(B, T), probabilities(B, T, C)
    y_true[0, 0] = -1
    kwargs = {"ignore_class": -1}
    ours = metrics.MeanMetricWrapper(losses.sparse_categorical_crossentropy, **kwargs)
    theirs = keras.metrics.MeanMetricWrapper(keras.losses.sparse_categorical_crossentropy,
                                             **kwargs)
    weight = uniform(B, T)
    ours.update_state(y_true, y_pred, sample_weight=weight)
    theirs.update_state(y_true, y_pred, sample_weight=weight)
    np.testing.assert_allclose(ours.result().numpy(), np.asarray(theirs.result()), rtol=2e-6)
    assert ours.get_config() == theirs.get_config() | {"name": ours.name}


def test_updates_do_not_track_gradients():
    y_pred = torch.tensor(probabilities(B, C), requires_grad=True)
    metric = metrics.CategoricalCrossentropy()
    metric.update_state(onehot(sparse(B)), y_pred)
    auc = metrics.AUC(multi_label=True)
    auc.update_state(binary(B, C), y_pred)
    for variable in metric.variables + auc.variables:
        assert not variable.requires_grad and variable.grad_fn is None
    assert not metric.result().requires_grad


# (identifier, y_true shape, y_pred shape)
RESOLVE_CASES = [
    ("accuracy", (B,), (B, C)), ("accuracy", (B, 1), (B, C)), ("accuracy", (B, C), (B, C)),
    ("accuracy", (B, 1), (B, 1)), ("accuracy", (B,), (B, 1)), ("acc", (B, T), (B, T, C)),
    ("Accuracy", (B, C), (B, C)), ("ACC", (B, 1), (B, 1)),
    ("mae", (B, 1), (B, 1)), ("mse", (B, 1), (B, 1)), ("MAE", (B, 1), (B, 1)),
    ("AUC", (B, 1), (B, 1)), ("auc", (B, 1), (B, 1)), ("precision", (B, 1), (B, 1)),
    ("Recall", (B, 1), (B, 1)), ("sparse_categorical_accuracy", (B,), (B, C)),
    ("categorical_crossentropy", (B, C), (B, C)), ("bce", (B, 1), (B, 1)),
    ("top_k_categorical_accuracy", (B, C), (B, C)),
]


@pytest.mark.parametrize("identifier,true_shape,pred_shape", RESOLVE_CASES)
def test_resolve_metric_matches_keras_compile(identifier, true_shape, pred_shape):
    from keras.src.trainers.compile_utils import get_metric

    y_true, y_pred = np.zeros(true_shape, np.float32), np.zeros(pred_shape, np.float32)
    ours = metrics.resolve_metric(identifier, torch.tensor(y_true), torch.tensor(y_pred),
                                  loss=losses.get("mse"))
    theirs = get_metric(identifier, y_true, y_pred)
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.name == theirs.name


def test_resolve_metric_objects_and_functions():
    from keras.src.trainers.compile_utils import get_metric

    y = np.zeros((B, 1), np.float32)
    reset_names()
    ours = metrics.resolve_metric(metrics.AUC(name="my_auc"), y, y)
    theirs = get_metric(keras.metrics.AUC(name="my_auc"), y, y)
    assert ours.name == theirs.name == "my_auc"
    ours = metrics.resolve_metric(losses.mean_squared_error, y, y)
    theirs = get_metric(keras.losses.mean_squared_error, y, y)
    assert type(ours).__name__ == type(theirs).__name__ == "MeanMetricWrapper"
    assert ours.name == theirs.name == "mean_squared_error"
    ours = metrics.resolve_metric(metrics.Precision, y, y)
    assert type(ours).__name__ == "Precision"


@pytest.mark.parametrize("identifier", ["crossentropy", "accuarcy"])
def test_resolve_metric_unknown_names_raise_like_keras(identifier):
    from keras.src.trainers.compile_utils import get_metric

    y = np.zeros((B, 1), np.float32)
    with pytest.raises(ValueError):
        get_metric(identifier, y, y)
    with pytest.raises(ValueError, match=f"Received: metric='{identifier}'"):
        metrics.resolve_metric(identifier, y, y)


@pytest.mark.parametrize("identifier", [
    "mse", "MAE", "auc", "AUC", "Precision", "recall", "binary_accuracy",
    "SparseTopKCategoricalAccuracy", "bce", "mean",
    {"class_name": "AUC", "config": {"num_thresholds": 11, "curve": "PR"}},
])
def test_get_matches_keras(identifier):
    reset_names()
    ours = metrics.get(identifier)
    theirs = keras.metrics.get(identifier)
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.get_config() == theirs.get_config() | {"name": ours.name}


def test_serialization_round_trip_with_keras():
    ours = metrics.AUC(num_thresholds=11, curve="PR", name="pr")
    theirs = keras.metrics.AUC(num_thresholds=11, curve="PR", name="pr")
    assert metrics.serialize(ours) == keras.metrics.serialize(theirs)
    assert metrics.deserialize(keras.metrics.serialize(theirs)).get_config() == \
        ours.get_config()
    assert keras.metrics.deserialize(metrics.serialize(ours)).get_config() == \
        theirs.get_config()


@pytest.mark.parametrize("make,message", [
    (lambda: metrics.Precision(thresholds=[0.5, 1.5]), "Received: thresholds=[0.5, 1.5]"),
    (lambda: metrics.Recall(top_k=0), "Received: top_k=0"),
    (lambda: metrics.Recall(class_id="a"), "Received: class_id='a'"),
    (lambda: metrics.AUC(num_thresholds=1), "Received: num_thresholds=1"),
    (lambda: metrics.AUC(curve="ROCK"), "Received: curve='ROCK'"),
    (lambda: metrics.AUC(summation_method="trapezoid"),
     "Received: summation_method='trapezoid'"),
    (lambda: metrics.AUC(num_labels=3), "Received: num_labels=3"),
    (lambda: metrics.AUC(multi_label="yes"), "Received: multi_label='yes'"),
    (lambda: metrics.TopKCategoricalAccuracy(k=0), "Received: k=0"),
    (lambda: metrics.BinaryAccuracy(threshold="0.5"), "Received: threshold='0.5'"),
    (lambda: metrics.Mean(dtype="float7"), "Received: dtype='float7'"),
    (lambda: metrics.get("precison"), "Received: identifier='precison'"),
    (lambda: metrics.MeanMetricWrapper(3), "Received: fn=3"),
])
def test_errors_name_argument_and_value(make, message):
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    assert message in str(info.value)


def test_auc_multi_label_needs_rank_2():
    with pytest.raises(ValueError, match="rank 2"):
        metrics.AUC(multi_label=True).update_state(binary(B, T, C), uniform(B, T, C))
