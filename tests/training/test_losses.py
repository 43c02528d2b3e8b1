"""sepconv.losses against Keras 3.15.1's keras.losses (torch backend): the
same inputs give the same values and the same gradients w.r.t. y_pred."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from sepconv import losses  # noqa: E402
from sepconv.training.losses import resolve_loss  # noqa: E402

RTOL = 1e-6
rng = np.random.default_rng(0)


def probabilities(*shape):
    x = rng.random(shape).astype(np.float32) + 0.05
    return x / x.sum(-1, keepdims=True)


def logits(*shape):
    return rng.normal(size=shape).astype(np.float32) * 3


def one_hot(labels, classes):
    return np.eye(classes, dtype=np.float32)[labels]


def value_and_grad(loss, y_true, y_pred, sample_weight):
    pred = torch.tensor(y_pred, requires_grad=True)
    value = loss(y_true, pred, sample_weight=sample_weight)
    if value.ndim:
        value.sum().backward() if value.requires_grad else None
    else:
        value.backward()
    return value.detach().numpy(), pred.grad.numpy()


def check(class_name, kwargs, y_true, y_pred, sample_weight=None, rtol=RTOL):
    ours = getattr(losses, class_name)(**kwargs)
    theirs = getattr(keras.losses, class_name)(**kwargs)
    value, grad = value_and_grad(ours, y_true, y_pred, sample_weight)
    expected, expected_grad = value_and_grad(theirs, y_true, y_pred, sample_weight)
    assert value.shape == expected.shape
    np.testing.assert_allclose(value, expected, rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-7)


B, C, T = 6, 4, 3
LABELS = rng.integers(0, C, size=B)
LABELS_3D = rng.integers(0, C, size=(B, T))
BINARY = rng.integers(0, 2, size=(B, 1)).astype(np.float32)

WEIGHTS = {
    "none": None,
    "vector": rng.random(B).astype(np.float32),
    "column": rng.random((B, 1)).astype(np.float32),
    "zeros": np.zeros(B, np.float32),
}
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", list(WEIGHTS))
@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_categorical(from_logits, weights, reduction):
    y_pred = logits(B, C) if from_logits else probabilities(B, C)
    kwargs = {"from_logits": from_logits, "reduction": reduction}
    check("SparseCategoricalCrossentropy", kwargs, LABELS, y_pred, WEIGHTS[weights])
    check("SparseCategoricalCrossentropy", kwargs, LABELS[:, None].astype(np.float32),
          y_pred, WEIGHTS[weights])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("ignore_class", [None, 0, -1])
def test_sparse_categorical_ignore_class_3d(ignore_class, from_logits, reduction):
    labels = LABELS_3D.copy()
    if ignore_class == -1:
        labels[0, 1] = labels[3, 0] = -1
    y_pred = logits(B, T, C) if from_logits else probabilities(B, T, C)
    kwargs = {"from_logits": from_logits, "reduction": reduction, "ignore_class": ignore_class}
    check("SparseCategoricalCrossentropy", kwargs, labels, y_pred)
    check("SparseCategoricalCrossentropy", kwargs, labels, y_pred,
          rng.random((B, T)).astype(np.float32))


def test_ignore_class_with_per_sample_weights():
    """Keras multiplies a (B, 1) weight by the (B, T) mask in place, which
    raises; sepconv broadcasts, giving Keras's result for the (B, T) weight."""
    labels = LABELS_3D.copy()
    labels[0, 1] = -1
    y_pred = probabilities(B, T, C)
    column = WEIGHTS["vector"][:, None]
    ours = losses.SparseCategoricalCrossentropy(ignore_class=-1)(labels, y_pred, column)
    expected = keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)(
        labels, y_pred, np.broadcast_to(column, (B, T)).copy())
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=RTOL)


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_categorical_class_axis_1(from_logits):
    y_pred = logits(B, C, T) if from_logits else probabilities(B, T, C).transpose(0, 2, 1).copy()
    check("SparseCategoricalCrossentropy", {"from_logits": from_logits, "axis": 1},
          LABELS_3D, y_pred)


def test_sparse_categorical_clipped_probabilities():
    """True-class probabilities of 0 and 1 are clipped: no gradient flows
    through the clip, as in Keras."""
    y_pred = probabilities(B, C)
    y_pred[0] = [1.0, 0.0, 0.0, 0.0]
    y_pred[1] = [0.0, 1.0, 0.0, 0.0]
    labels = LABELS.copy()
    labels[0], labels[1] = 0, 2
    check("SparseCategoricalCrossentropy", {}, labels, y_pred)


def test_sparse_categorical_second_derivatives():
    """A backward pass with create_graph=True (a gradient penalty, a
    Hessian-vector product) differentiates the loss's gradient as Keras's."""
    x_values = logits(B, C)

    def second(loss_fn):
        x = torch.tensor(x_values, dtype=torch.float64, requires_grad=True)
        value = loss_fn(torch.tensor(LABELS), torch.softmax(x, -1)).sum()
        grad, = torch.autograd.grad(value, x, create_graph=True)
        return torch.autograd.grad((grad ** 2).sum(), x)[0].numpy()

    np.testing.assert_allclose(second(losses.sparse_categorical_crossentropy),
                               second(keras.losses.sparse_categorical_crossentropy),
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", list(WEIGHTS))
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("from_logits", [False, True])
def test_categorical(from_logits, label_smoothing, weights, reduction):
    y_pred = logits(B, C) if from_logits else probabilities(B, C)
    kwargs = {"from_logits": from_logits, "label_smoothing": label_smoothing,
              "reduction": reduction}
    check("CategoricalCrossentropy", kwargs, one_hot(LABELS, C), y_pred, WEIGHTS[weights])


@pytest.mark.parametrize("from_logits", [False, True])
def test_categorical_3d_and_axis(from_logits):
    y_pred = logits(B, T, C) if from_logits else probabilities(B, T, C)
    check("CategoricalCrossentropy", {"from_logits": from_logits, "label_smoothing": 0.2},
          one_hot(LABELS_3D, C), y_pred, rng.random((B, T)).astype(np.float32))
    moved = np.ascontiguousarray(y_pred.transpose(0, 2, 1))
    check("CategoricalCrossentropy", {"from_logits": from_logits, "axis": 1},
          np.ascontiguousarray(one_hot(LABELS_3D, C).transpose(0, 2, 1)), moved)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", list(WEIGHTS))
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("from_logits", [False, True])
def test_binary(from_logits, label_smoothing, weights, reduction):
    y_pred = logits(B, 1) if from_logits else rng.random((B, 1)).astype(np.float32)
    kwargs = {"from_logits": from_logits, "label_smoothing": label_smoothing,
              "reduction": reduction}
    check("BinaryCrossentropy", kwargs, BINARY, y_pred, WEIGHTS[weights])
    check("BinaryCrossentropy", kwargs, BINARY[:, 0], y_pred, WEIGHTS[weights])


@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_multilabel_and_extremes(from_logits):
    y_true = rng.integers(0, 2, size=(B, C)).astype(np.float32)
    y_pred = logits(B, C) if from_logits else rng.random((B, C)).astype(np.float32)
    y_pred[0, :2] = [0.0, 1.0] if not from_logits else [-50.0, 50.0]
    check("BinaryCrossentropy", {"from_logits": from_logits}, y_true, y_pred,
          WEIGHTS["column"])
    check("BinaryCrossentropy", {"from_logits": from_logits, "axis": 0}, y_true, y_pred)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", list(WEIGHTS))
@pytest.mark.parametrize("class_name,kwargs", [
    ("MeanSquaredError", {}), ("MeanAbsoluteError", {}), ("Huber", {}),
    ("Huber", {"delta": 0.3}),
])
def test_regression(class_name, kwargs, weights, reduction):
    y_true = rng.normal(size=(B, T)).astype(np.float32)
    y_pred = rng.normal(size=(B, T)).astype(np.float32)
    check(class_name, {**kwargs, "reduction": reduction}, y_true, y_pred, WEIGHTS[weights])
    check(class_name, {**kwargs, "reduction": reduction}, y_true[:, 0], y_pred[:, :1],
          WEIGHTS[weights])


@pytest.mark.parametrize("class_name", ["MeanSquaredError", "MeanAbsoluteError", "Huber"])
def test_regression_rank_3_with_per_step_weights(class_name):
    y_true = rng.normal(size=(B, T, 2)).astype(np.float32)
    y_pred = rng.normal(size=(B, T, 2)).astype(np.float32)
    check(class_name, {}, y_true, y_pred, rng.random((B, T)).astype(np.float32))
    check(class_name, {}, y_true, y_pred, rng.random((B, T, 1)).astype(np.float32))


def test_input_types_and_integer_labels():
    y_pred = probabilities(B, C)
    loss = losses.SparseCategoricalCrossentropy()
    expected = keras.losses.SparseCategoricalCrossentropy()(LABELS, y_pred)
    for y_true in (LABELS, LABELS.tolist(), torch.tensor(LABELS), LABELS.astype(np.float32)):
        for pred in (y_pred, y_pred.tolist(), torch.tensor(y_pred)):
            got = loss(y_true, pred)
            assert got.dtype == torch.float32
            np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=RTOL)


@pytest.mark.parametrize("ignore_class", [None, 2])
@pytest.mark.parametrize("from_logits", [False, True])
def test_integer_label_tensors_equal_float_labels(from_logits, ignore_class):
    """fit's labels arrive as integer tensors, which skip Keras's cast to
    float32 and back: values and gradients are bitwise those of float labels
    (and Keras's), for labels per sample or in one column, with a mask."""
    y_pred = logits(B, C) if from_logits else probabilities(B, C)
    loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits,
                                                ignore_class=ignore_class)
    expected = value_and_grad(loss, LABELS.astype(np.float32), y_pred, WEIGHTS["vector"])
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits,
                                                            ignore_class=ignore_class)
    reference = value_and_grad(keras_loss, LABELS, y_pred, WEIGHTS["vector"])
    for labels in (torch.tensor(LABELS), torch.tensor(LABELS, dtype=torch.int32),
                   torch.tensor(LABELS, dtype=torch.uint8), torch.tensor(LABELS[:, None])):
        got = value_and_grad(loss, labels, y_pred, WEIGHTS["vector"])
        for a, b, c in zip(got, expected, reference):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_allclose(a, c, rtol=RTOL, atol=1e-7)


def test_float64_dtype():
    y_true, y_pred = one_hot(LABELS, C), probabilities(B, C).astype(np.float64)
    for reduction in ("none", "sum", "sum_over_batch_size"):
        got = losses.CategoricalCrossentropy(dtype="float64", reduction=reduction)(y_true, y_pred)
        expected = keras.losses.CategoricalCrossentropy(dtype="float64", reduction=reduction)(
            y_true, y_pred)
        # Keras computes in float64 but its mean reductions divide in floatx.
        assert got.dtype == expected.dtype
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name,kwargs,true,pred", [
    ("sparse_categorical_crossentropy", {"from_logits": True}, LABELS, logits(B, C)),
    ("sparse_categorical_crossentropy", {"ignore_class": 1}, LABELS, probabilities(B, C)),
    ("categorical_crossentropy", {"label_smoothing": 0.1}, one_hot(LABELS, C),
     probabilities(B, C)),
    ("binary_crossentropy", {"from_logits": True}, BINARY, logits(B, 1)),
    ("mean_squared_error", {}, rng.normal(size=(B, T)), rng.normal(size=(B, T))),
    ("mean_absolute_error", {}, rng.normal(size=(B, T)), rng.normal(size=(B, T))),
    ("huber", {"delta": 0.5}, rng.normal(size=(B, T)), rng.normal(size=(B, T))),
])
def test_functions(name, kwargs, true, pred):
    true = torch.tensor(true, dtype=torch.float32)
    pred = torch.tensor(pred, dtype=torch.float32)
    got = getattr(losses, name)(true, pred, **kwargs)
    expected = getattr(keras.losses, name)(true, pred, **kwargs)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=RTOL)


def test_short_names():
    assert losses.mse is losses.mean_squared_error and losses.mae is losses.mean_absolute_error


CONFIG_CASES = [
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 3, "axis": 1}),
    ("CategoricalCrossentropy", {"label_smoothing": 0.25, "axis": 2, "reduction": "sum"}),
    ("BinaryCrossentropy", {"from_logits": True, "name": "bce", "reduction": None}),
    ("MeanSquaredError", {"reduction": "mean"}),
    ("MeanAbsoluteError", {}),
    ("Huber", {"delta": 2.0}),
]


@pytest.mark.parametrize("class_name,kwargs", CONFIG_CASES)
def test_config_and_serialization(class_name, kwargs):
    ours = getattr(losses, class_name)(**kwargs)
    theirs = getattr(keras.losses, class_name)(**kwargs)
    assert ours.get_config() == theirs.get_config()
    assert losses.serialize(ours) == keras.losses.serialize(theirs)
    rebuilt = losses.deserialize(keras.losses.serialize(theirs))
    assert type(rebuilt) is type(ours) and rebuilt.get_config() == ours.get_config()
    assert keras.losses.deserialize(losses.serialize(ours)).get_config() == theirs.get_config()


def test_function_serialization_and_wrapper_config():
    from keras.src.losses.losses import LossFunctionWrapper

    assert losses.serialize(losses.mean_squared_error) == \
        keras.losses.serialize(keras.losses.mean_squared_error)
    ours = losses.LossFunctionWrapper(losses.huber, name="h", delta=2.0)
    theirs = LossFunctionWrapper(keras.losses.huber, name="h", delta=2.0)
    assert ours.get_config() == theirs.get_config()
    rebuilt = losses.LossFunctionWrapper.from_config(theirs.get_config())
    assert rebuilt.fn is losses.huber and rebuilt.get_config() == ours.get_config()


@pytest.mark.parametrize("identifier", [
    "mse", "MSE", "mae", "bce", "mean_squared_error", "huber", "sparse_categorical_crossentropy",
    "categorical_crossentropy", "binary_crossentropy", "MeanSquaredError", "Huber",
    "SparseCategoricalCrossentropy", "CategoricalCrossentropy", "BinaryCrossentropy",
    {"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}},
])
def test_get_matches_keras(identifier):
    ours, theirs = losses.get(identifier), keras.losses.get(identifier)
    if isinstance(theirs, keras.losses.Loss):
        assert type(ours).__name__ == type(theirs).__name__
        assert ours.get_config() == theirs.get_config()
    else:
        assert ours.__name__ == theirs.__name__


def test_get_classes_instances_callables():
    assert isinstance(losses.get(losses.Huber), losses.Huber)
    instance = losses.MeanAbsoluteError()
    assert losses.get(instance) is instance
    assert losses.get(None) is None

    def custom(y_true, y_pred):
        return y_pred

    assert losses.get(custom) is custom


@pytest.mark.parametrize("identifier,y_true_shape,y_pred_shape", [
    ("ce", (B,), (B, C)), ("crossentropy", (B, 1), (B, C)), ("CE", (B, C), (B, C)),
    ("crossentropy", (B, 1), (B, 1)), ("mse", (B, 1), (B, 1)),
    ("Huber", (B, 1), (B, 1)), (losses.mean_absolute_error, (B, 1), (B, 1)),
])
def test_resolve_loss_matches_keras_compile(identifier, y_true_shape, y_pred_shape):
    from keras.src.trainers.compile_utils import get_loss

    keras_identifier = identifier
    if callable(identifier):
        keras_identifier = getattr(keras.losses, identifier.__name__)
    y_true, y_pred = np.zeros(y_true_shape, np.float32), np.zeros(y_pred_shape, np.float32)
    ours = resolve_loss(identifier, y_true, y_pred)
    theirs = get_loss(keras_identifier, y_true, y_pred)
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.name == theirs.name
    if hasattr(theirs, "fn"):
        assert ours.fn.__name__ == theirs.fn.__name__


@pytest.mark.parametrize("make,message", [
    (lambda: losses.MeanSquaredError(reduction="avg"), "Received: reduction='avg'"),
    (lambda: losses.BinaryCrossentropy(from_logits="yes"), "Received: from_logits='yes'"),
    (lambda: losses.CategoricalCrossentropy(label_smoothing=1.5),
     "Received: label_smoothing=1.5"),
    (lambda: losses.CategoricalCrossentropy(axis=1.0), "Received: axis=1.0"),
    (lambda: losses.SparseCategoricalCrossentropy(ignore_class="void"),
     "Received: ignore_class='void'"),
    (lambda: losses.Huber(delta="1"), "Received: delta='1'"),
    (lambda: losses.get("mean_sqared_error"), "Received: identifier='mean_sqared_error'"),
    (lambda: losses.MeanSquaredError(dtype="float7"), "Received: dtype='float7'"),
])
def test_errors_name_argument_and_value(make, message):
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    assert message in str(info.value)


def test_shape_mismatch_raises_like_keras():
    with pytest.raises(ValueError, match="same shape"):
        losses.CategoricalCrossentropy()(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="same shape"):
        keras.losses.CategoricalCrossentropy()(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="same shape up until the last"):
        losses.SparseCategoricalCrossentropy()(np.ones((2, 3)), np.ones((2, 4)))
