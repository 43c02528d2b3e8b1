"""compile / fit / evaluate / train_on_batch against Keras 3.15.1: the same
model, weights, data and optimizer give the same history and weights; and
the guarantees the issue names (regularization in the loss, constraints after
every step, callbacks that restore and checkpoint)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import sepconv
from keras_reference import keras
from trainer_fixtures import assert_weights_close, classifier, data, same_weights


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_fit_follows_keras_step_by_step(optimizer):
    x, y = data()
    theirs, ours = classifier(keras), classifier(sepconv)
    same_weights(ours, theirs)
    for model in (theirs, ours):
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    kwargs = dict(batch_size=8, epochs=3, shuffle=False, verbose=0, validation_split=0.25)
    keras_history = theirs.fit(x, y, **kwargs).history
    history = ours.fit(x, y, **kwargs).history
    assert list(history) == list(keras_history)
    for key in keras_history:
        np.testing.assert_allclose(history[key], keras_history[key], rtol=1e-4, atol=1e-6,
                                   err_msg=key)
    assert_weights_close(ours, theirs, rtol=1e-4, atol=1e-5)
    kx = theirs.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), kx, rtol=1e-4)


@pytest.mark.parametrize("weighting", ["sample_weight", "class_weight"])
def test_sample_and_class_weights_as_keras(weighting):
    x, y = data()
    weights = {"sample_weight": np.linspace(0.5, 2.0, len(x)).astype("float32"),
               "class_weight": {0: 1.0, 1: 2.0, 2: 0.5}}
    theirs, ours = classifier(keras), classifier(sepconv)
    same_weights(ours, theirs)
    for model, lib in ((theirs, keras), (ours, sepconv)):
        model.compile(optimizer=lib.optimizers.SGD(0.05),
                      loss="sparse_categorical_crossentropy")
    kwargs = dict(batch_size=16, epochs=2, shuffle=False, verbose=0)
    kwargs[weighting] = weights[weighting]
    keras_history = theirs.fit(x, y, **kwargs).history
    history = ours.fit(x, y, **kwargs).history
    assert sorted(history) == sorted(keras_history)
    for key in keras_history:
        np.testing.assert_allclose(history[key], keras_history[key], rtol=1e-4, err_msg=key)
    assert_weights_close(ours, theirs, rtol=1e-4, atol=1e-5)


def test_regularization_is_in_the_reported_loss():
    model = sepconv.Sequential([
        sepconv.Input((3,)),
        sepconv.layers.Dense(2, use_bias=False, kernel_regularizer=sepconv.regularizers.L2(0.1),
                             name="dense"),
    ])
    model.compile(optimizer="sgd", loss="mse")
    x = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]], "float32")
    y = np.array([[1.0, 0.0], [0.0, 1.0]], "float32")
    kernel = model.get_layer("dense").kernel.detach().numpy().astype(np.float64)
    by_hand = np.mean((x @ kernel - y) ** 2) + 0.1 * np.sum(kernel ** 2)
    assert model.test_on_batch(x, y) == pytest.approx(by_hand, rel=1e-6)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(by_hand, rel=1e-6)


def test_constraints_hold_after_every_training_step():
    x, y = data()
    model = sepconv.Sequential([
        sepconv.Input((6, 6, 2)),
        sepconv.layers.Conv2D(3, 3, kernel_constraint="non_neg", name="conv"),
        sepconv.layers.Flatten(),
        sepconv.layers.Dense(3, kernel_constraint=sepconv.constraints.MaxNorm(0.5), name="head"),
    ])
    model.compile(optimizer=sepconv.optimizers.SGD(1.0), loss="sparse_categorical_crossentropy")
    checked = []

    def check(batch, logs):
        conv, head = model.get_layer("conv").kernel, model.get_layer("head").kernel
        assert bool((conv >= 0).all())
        assert float(torch.linalg.vector_norm(head.detach(), dim=0).max()) <= 0.5 + 1e-6
        checked.append(batch)

    model.fit(x, y, batch_size=8, epochs=2, verbose=0,
              callbacks=[sepconv.callbacks.LambdaCallback(on_train_batch_end=check)])
    assert len(checked) == 12


def test_a_small_problem_converges():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((256, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0]) > 0).astype("float32")
    model = sepconv.Sequential([sepconv.Input((4,)), sepconv.layers.Dense(8, activation="relu"),
                                sepconv.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=sepconv.optimizers.Adam(0.01), loss="binary_crossentropy")
    history = model.fit(x, y, epochs=40, batch_size=32, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] / 3
    predicted = model.predict(x, verbose=0)[:, 0] > 0.5
    assert (predicted == y.astype(bool)).mean() > 0.95


def diverging_schedule(epoch, lr):
    """A sane rate for two epochs, then one that wrecks the model."""
    return 0.05 if epoch < 2 else 50.0


def test_early_stopping_restores_the_best_weights():
    x, y = data()
    model = classifier(sepconv)
    model.compile(optimizer=sepconv.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    snapshots = []
    record = sepconv.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: snapshots.append((logs["val_loss"], model.get_weights())))
    stop = sepconv.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    history = model.fit(x, y, batch_size=8, epochs=20, verbose=0, validation_split=0.25,
                        shuffle=False, callbacks=[
                            sepconv.callbacks.LearningRateScheduler(diverging_schedule),
                            record, stop])
    assert len(history.epoch) < 20
    best_loss, best_weights = min(snapshots, key=lambda item: item[0])
    assert best_loss == min(history.history["val_loss"])
    for restored, best in zip(model.get_weights(), best_weights):
        np.testing.assert_array_equal(restored, best)


def test_model_checkpoint_writes_only_on_improvement(tmp_path):
    x, y = data()
    model = classifier(sepconv)
    model.compile(optimizer=sepconv.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    pattern = str(tmp_path / "best-{epoch:02d}.weights.h5")
    history = model.fit(x, y, batch_size=8, epochs=5, verbose=0, validation_split=0.25,
                        shuffle=False, callbacks=[
                            sepconv.callbacks.LearningRateScheduler(diverging_schedule),
                            sepconv.callbacks.ModelCheckpoint(pattern, save_best_only=True,
                                                              save_weights_only=True)])
    losses = history.history["val_loss"]
    improved = [epoch + 1 for epoch, loss in enumerate(losses) if loss == min(losses[:epoch + 1])
                and (epoch == 0 or loss < min(losses[:epoch]))]
    written = sorted(int(path.name[5:7]) for path in tmp_path.iterdir())
    assert written == improved and len(written) < len(losses)


def test_data_kinds_all_train():
    x, y = data(32)
    tensors = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))

    def batches():
        for start in range(0, 32, 8):
            yield x[start:start + 8], y[start:start + 8]

    for source in (tensors, torch.utils.data.DataLoader(tensors, batch_size=8), batches()):
        model = classifier(sepconv)
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        history = model.fit(source, epochs=1, verbose=0)
        assert set(history.history) == {"loss"} and len(history.history["loss"]) == 1


def test_two_inputs_and_two_outputs_log_as_keras():
    def build(lib):
        a, b = lib.Input((3,), name="a"), lib.Input((2,), name="b")
        h = lib.layers.Concatenate(name="cat")([a, b])
        return lib.Model({"a": a, "b": b}, [lib.layers.Dense(1, name="reg")(h),
                                            lib.layers.Dense(2, activation="softmax",
                                                             name="cls")(h)])

    rng = np.random.default_rng(5)
    inputs = {"a": rng.standard_normal((16, 3)).astype("float32"),
              "b": rng.standard_normal((16, 2)).astype("float32")}
    targets = [rng.standard_normal((16, 1)).astype("float32"), rng.integers(0, 2, 16)]
    theirs, ours = build(keras), build(sepconv)
    same_weights(ours, theirs)
    for model in (theirs, ours):
        model.compile(optimizer="sgd", loss=["mse", "sparse_categorical_crossentropy"],
                      loss_weights=[1.0, 0.5])
    keras_history = theirs.fit(inputs, targets, batch_size=4, epochs=2, shuffle=False,
                               verbose=0).history
    history = ours.fit(inputs, targets, batch_size=4, epochs=2, shuffle=False,
                       verbose=0).history
    assert sorted(history) == sorted(keras_history)
    for key in keras_history:
        np.testing.assert_allclose(history[key], keras_history[key], rtol=1e-4, err_msg=key)


def test_compile_and_fit_argument_errors():
    model = classifier(sepconv)
    x, y = data(8)
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y, verbose=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    for kwargs, argument in ((dict(epochs=0), "epochs"), (dict(batch_size=-1), "batch_size"),
                             (dict(validation_split=1.5), "validation_split")):
        with pytest.raises(ValueError, match=f"Received: {argument}="):
            model.fit(x, y, verbose=0, **kwargs)
    with pytest.raises(ValueError, match="class_weight"):
        model.fit(x, y, verbose=0, class_weight={0: 1.0}, sample_weight=np.ones(8))
    with pytest.raises(ValueError, match="steps_per_execution"):
        model.compile(optimizer="sgd", loss="mse", steps_per_execution=2)
