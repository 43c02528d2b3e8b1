"""Callbacks against Keras 3.15.1's own: the same callbacks, driven through
a CallbackList by the same scripted log sequences, on a small sepconv model
and the same Keras model, must take the same decisions (stopping epoch,
restored weights, learning rates, checkpoints written), write the same CSV
bytes and History, and print the same messages."""

from __future__ import annotations

import contextlib
import io
import os
import warnings

import keras
import numpy as np
import pytest
import torch

import sepconv
from sepconv.training import distributed
from error_checks import expect_error

CALLBACK_NAMES = ["CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History",
                  "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger",
                  "ReduceLROnPlateau", "TerminateOnNaN"]

# Scripted epoch logs: (loss, val_loss) per epoch.
SEQUENCES = {
    "plateau": [(1.0, 0.9), (0.8, 0.7), (0.7, 0.71), (0.65, 0.7), (0.6, 0.72), (0.55, 0.69),
                (0.5, 0.75), (0.45, 0.76), (0.4, 0.77), (0.35, 0.66)],
    "noisy": [(0.5, 0.5), (0.6, 0.49995), (0.4, 0.6), (0.45, 0.3), (0.44, 0.31), (0.43, 0.3),
              (0.3, 0.29), (0.31, 0.35), (0.32, 0.36), (0.33, 0.37), (0.2, 0.1), (0.21, 0.2)],
    "rising": [(0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (0.6, 0.7)],
}


# ---------------------------------------------------------------- set-up
def make_models(optimizer="torch"):
    """(ours, Keras's): Dense(2) on 3 features, with an SGD at rate 0.1."""
    ours = sepconv.Sequential([sepconv.Input((3,)), sepconv.layers.Dense(2)])
    if optimizer == "torch":
        ours.optimizer = torch.optim.SGD(ours.parameters(), lr=0.1)
    else:
        ours.optimizer = sepconv.optimizers.SGD(0.1)
        ours.optimizer.build(list(ours.parameters()))
    theirs = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    theirs.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    return ours, theirs


def learning_rate(model):
    optimizer = model.optimizer
    if isinstance(optimizer, torch.optim.Optimizer) and not hasattr(optimizer, "learning_rate"):
        return float(optimizer.param_groups[0]["lr"])
    return float(np.asarray(optimizer.learning_rate))


def epoch_weights(model, epoch):
    """Weights that identify the epoch (to see which ones are restored);
    ``model`` may be a list of arrays."""
    arrays = model if isinstance(model, list) else model.get_weights()
    return [np.full(w.shape, epoch + 0.5 * i, dtype="float32") for i, w in enumerate(arrays)]


def drive(library, callbacks, model, epoch_logs, steps=3, batch_logs=None, verbose=0):
    """Run a fit-like loop of callback calls; returns what happened."""
    callback_list = library.callbacks.CallbackList(
        callbacks, add_history=True, add_progbar=verbose != 0, model=model, verbose=verbose,
        epochs=len(epoch_logs), steps=steps)
    model.stop_training = False
    rates, stopped_at, out = [], None, io.StringIO()
    with contextlib.redirect_stdout(out):
        callback_list.on_train_begin()
        logs = None
        for epoch, logs in enumerate(epoch_logs):
            callback_list.on_epoch_begin(epoch)
            for step in range(steps):
                callback_list.on_train_batch_begin(step)
                step_logs = batch_logs(epoch, step) if batch_logs else {"loss": logs["loss"]}
                callback_list.on_train_batch_end(step, step_logs)
                if model.stop_training:
                    break
            model.set_weights(epoch_weights(model, epoch))
            callback_list.on_epoch_end(epoch, dict(logs))
            rates.append(learning_rate(model) if getattr(model, "optimizer", None) else None)
            if model.stop_training:
                stopped_at = epoch
                break
        callback_list.on_train_end(logs)
    return {"stopped_at": stopped_at, "rates": rates, "printed": out.getvalue(),
            "history": model.history.history, "epochs": model.history.epoch,
            "weights": model.get_weights()}


def as_logs(sequence):
    return [{"loss": loss, "val_loss": val} for loss, val in sequence]


def both(make_callbacks, sequence, optimizer="torch", **kwargs):
    """Drive ours and Keras's versions of ``make_callbacks(library)``."""
    ours, theirs = make_models(optimizer)
    mine = drive(sepconv, make_callbacks(sepconv), ours, as_logs(sequence), **kwargs)
    reference = drive(keras, make_callbacks(keras), theirs, as_logs(sequence), **kwargs)
    return mine, reference


def assert_same_run(mine, reference, rtol=1e-6):
    assert mine["stopped_at"] == reference["stopped_at"]
    assert mine["epochs"] == reference["epochs"]
    np.testing.assert_allclose(mine["rates"], reference["rates"], rtol=rtol)
    assert mine["history"].keys() == reference["history"].keys()
    for name in reference["history"]:
        np.testing.assert_allclose(mine["history"][name], reference["history"][name], rtol=rtol)
    for ours, theirs in zip(mine["weights"], reference["weights"], strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert mine["printed"] == reference["printed"]


# ------------------------------------------------------------ namespace
def test_public_namespace_matches_keras():
    assert sorted(sepconv.callbacks.__all__) == sorted(CALLBACK_NAMES)
    for name in CALLBACK_NAMES:
        assert hasattr(keras.callbacks, name)
        assert issubclass(getattr(sepconv.callbacks, name), sepconv.callbacks.Callback)


# -------------------------------------------------------- EarlyStopping
EARLY_STOPPING_CASES = [
    dict(),
    dict(patience=2),
    dict(patience=2, restore_best_weights=True, verbose=1),
    dict(monitor="loss", patience=1, min_delta=0.06, restore_best_weights=True, verbose=1),
    dict(patience=3, baseline=0.65, verbose=1),
    dict(patience=1, baseline=0.2, restore_best_weights=True, verbose=1),
    dict(patience=2, start_from_epoch=3, restore_best_weights=True),
    dict(monitor="val_loss", mode="max", patience=1, verbose=1),
    dict(monitor="loss", mode="min", patience=0, min_delta=-0.01),
]


@pytest.mark.parametrize("sequence", sorted(SEQUENCES))
@pytest.mark.parametrize("kwargs", EARLY_STOPPING_CASES, ids=str)
def test_early_stopping_matches_keras(kwargs, sequence):
    mine, reference = both(lambda lib: [lib.callbacks.EarlyStopping(**kwargs)],
                           SEQUENCES[sequence])
    assert_same_run(mine, reference)


def test_early_stopping_restores_best_weights_of_keras_epoch():
    stoppers = {}

    def make(lib):
        stoppers[lib.__name__] = lib.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
        return [stoppers[lib.__name__]]

    mine, reference = both(make, SEQUENCES["plateau"])
    assert_same_run(mine, reference)
    ours, theirs = stoppers["sepconv"], stoppers["keras"]
    assert (ours.best_epoch, ours.stopped_epoch, ours.wait) == \
        (theirs.best_epoch, theirs.stopped_epoch, theirs.wait)
    assert ours.best == pytest.approx(theirs.best)
    assert (ours.best_epoch, ours.stopped_epoch) == (1, 3)  # val_loss 0.7, then 3 worse
    for restored, expected in zip(mine["weights"], epoch_weights(mine["weights"], 1)):
        np.testing.assert_array_equal(restored, expected)


def test_early_stopping_can_be_reused_across_fits():
    ours, _ = make_models()
    stopper = sepconv.callbacks.EarlyStopping(monitor="loss", patience=0)
    first = drive(sepconv, [stopper], ours, as_logs(SEQUENCES["rising"]))
    second = drive(sepconv, [stopper], ours, as_logs(SEQUENCES["rising"]))
    assert first["stopped_at"] == second["stopped_at"] == 1


def _warning_messages(run):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
    return [str(w.message) for w in caught if w.category is UserWarning]


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
def test_missing_monitor_warns_as_keras(name):
    messages = {}
    for lib in (sepconv, keras):
        model = make_models()[0 if lib is sepconv else 1]
        callback = getattr(lib.callbacks, name)(monitor="val_accuracy", mode="max")
        callback.set_model(model)
        callback.on_train_begin()
        messages[lib.__name__] = _warning_messages(
            lambda callback=callback: callback.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.4}))
    assert messages["sepconv"] == messages["keras"]
    assert messages["sepconv"] and "val_accuracy" in messages["sepconv"][0]


def test_unknown_mode_warns_and_means_auto_as_keras():
    for lib in (sepconv, keras):
        with pytest.warns(UserWarning, match="EarlyStopping mode 'biggest' is unknown"):
            assert lib.callbacks.EarlyStopping(mode="biggest").mode == "auto"


def test_auto_mode_cannot_guess_an_unknown_metric_as_keras():
    for lib, model in zip((sepconv, keras), make_models()):
        callback = lib.callbacks.EarlyStopping(monitor="val_accuracy")
        callback.set_model(model)
        callback.on_train_begin()
        with pytest.raises(ValueError, match="monitor=val_accuracy.*mode='max'"):
            callback.on_epoch_end(0, {"val_accuracy": 0.5})


def test_auto_mode_reads_the_metric_direction():
    class Accuracy:
        name, _direction = "accuracy", "up"

    class Container:
        metrics = [Accuracy()]

    callback = sepconv.callbacks.EarlyStopping(monitor="val_accuracy")

    class Holder:
        metrics = [Container()]
        stop_training = False

    callback.set_model(Holder())
    callback.on_train_begin()
    for epoch, value in enumerate([0.5, 0.6, 0.55]):
        callback.on_epoch_end(epoch, {"val_accuracy": value})
    assert callback.best == 0.6 and callback.stopped_epoch == 2


# ----------------------------------------------------- ReduceLROnPlateau
REDUCE_CASES = [
    dict(patience=1),
    dict(patience=1, factor=0.5, cooldown=2, verbose=1),
    dict(monitor="loss", patience=0, factor=0.2, min_lr=0.005, verbose=1),
    dict(patience=2, min_delta=0.05, factor=0.3),
    dict(monitor="val_loss", mode="max", patience=1, factor=0.5, min_lr=0.02, cooldown=1),
    dict(monitor="loss", patience=0, factor=0.5, min_lr=0.05),
]


@pytest.mark.parametrize("optimizer", ["torch", "sepconv"])
@pytest.mark.parametrize("sequence", sorted(SEQUENCES))
@pytest.mark.parametrize("kwargs", REDUCE_CASES, ids=str)
def test_reduce_lr_on_plateau_matches_keras(kwargs, sequence, optimizer):
    mine, reference = both(lambda lib: [lib.callbacks.ReduceLROnPlateau(**kwargs)],
                           SEQUENCES[sequence], optimizer=optimizer)
    if mine["printed"] != reference["printed"]:
        # Keras keeps the rate in float32: its messages print float32 products.
        assert optimizer == "torch"
        mine["printed"] = reference["printed"]
    assert_same_run(mine, reference)


def test_reduce_lr_on_plateau_with_sepconv_optimizer_prints_keras_numbers():
    kwargs = dict(monitor="loss", patience=0, factor=0.3, verbose=1)
    mine, reference = both(lambda lib: [lib.callbacks.ReduceLROnPlateau(**kwargs)],
                           SEQUENCES["rising"], optimizer="sepconv")
    assert "reducing learning rate to" in reference["printed"]
    assert mine["printed"] == reference["printed"]
    assert mine["rates"] == reference["rates"]


# ------------------------------------------------- LearningRateScheduler
SCHEDULES = {
    "halve": lambda epoch, lr: lr * 0.5,
    "epoch_only": lambda epoch: 0.1 / (epoch + 1),
    "step": lambda epoch, lr: lr if epoch < 2 else lr * 0.1,
    "numpy": lambda epoch, lr: np.float32(0.05 * (epoch + 1)),
}


@pytest.mark.parametrize("optimizer", ["torch", "sepconv"])
@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
def test_learning_rate_scheduler_matches_keras(schedule, optimizer):
    mine, reference = both(
        lambda lib: [lib.callbacks.LearningRateScheduler(SCHEDULES[schedule], verbose=1)],
        SEQUENCES["rising"], optimizer=optimizer)
    if optimizer == "torch":  # a torch optimizer holds float64 rates: the messages differ
        assert mine["printed"].count("LearningRateScheduler setting learning rate") == 6
        mine["printed"] = reference["printed"]
    assert_same_run(mine, reference)


def test_learning_rate_scheduler_rejects_non_float_as_keras():
    for lib, model in zip((sepconv, keras), make_models()):
        scheduler = lib.callbacks.LearningRateScheduler(lambda epoch: 1)
        scheduler.set_model(model)
        with pytest.raises(ValueError, match="output of the `schedule` function should be a float"):
            scheduler.on_epoch_begin(0)


def test_learning_rate_of_a_schedule_is_refused_clearly():
    model = make_models()[0]
    schedule = sepconv.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    model.optimizer = sepconv.optimizers.SGD(schedule)
    scheduler = sepconv.callbacks.LearningRateScheduler(lambda epoch, lr: 0.01)
    scheduler.set_model(model)
    with pytest.raises(TypeError, match="not settable"):
        scheduler.on_epoch_begin(0)


def test_torch_optimizer_param_groups_all_change():
    model = make_models()[0]
    model.optimizer = torch.optim.SGD([{"params": [model.weights[0]]},
                                       {"params": [model.weights[1]], "lr": 0.3}], lr=0.1)
    scheduler = sepconv.callbacks.LearningRateScheduler(lambda epoch, lr: lr / 4)
    scheduler.set_model(model)
    scheduler.on_epoch_begin(0)
    assert [g["lr"] for g in model.optimizer.param_groups] == [0.025, 0.025]


# ------------------------------------------------------ ModelCheckpoint
CHECKPOINT_CASES = [
    dict(filepath="m-{epoch:02d}.weights.h5", save_weights_only=True),
    dict(filepath="m-{epoch:02d}-{val_loss:.2f}.weights.h5", save_weights_only=True,
         save_best_only=True, verbose=1),
    dict(filepath="best.weights.h5", save_weights_only=True, save_best_only=True,
         monitor="loss", mode="max"),
    dict(filepath="m-{epoch}.weights.h5", save_weights_only=True, save_best_only=True,
         initial_value_threshold=0.5, verbose=1),
    dict(filepath="sub/m-{epoch}-{batch}.weights.h5", save_weights_only=True, save_freq=2),
    dict(filepath="m-{epoch:03d}-{loss:.3f}.keras", save_best_only=True, monitor="loss"),
]


def _checkpoint_run(lib, model, folder, kwargs, sequence):
    kwargs = dict(kwargs, filepath=os.path.join(folder, kwargs["filepath"]))
    written = []

    class Recorder(lib.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            written.append(sorted(_files(folder)))

    run = drive(lib, [lib.callbacks.ModelCheckpoint(**kwargs), Recorder()], model,
                as_logs(sequence), batch_logs=lambda epoch, step: {"loss": 0.1 * step})
    return run, written


def _files(folder):
    return [os.path.relpath(os.path.join(root, name), folder)
            for root, _, names in os.walk(folder) for name in names]


@pytest.mark.parametrize("sequence", ["plateau", "noisy"])
@pytest.mark.parametrize("kwargs", CHECKPOINT_CASES, ids=str)
def test_model_checkpoint_writes_the_files_keras_writes(kwargs, sequence, tmp_path):
    ours, theirs = make_models()
    mine, mine_files = _checkpoint_run(sepconv, ours, str(tmp_path / "ours"), kwargs,
                                       SEQUENCES[sequence])
    reference, keras_files = _checkpoint_run(keras, theirs, str(tmp_path / "keras"), kwargs,
                                             SEQUENCES[sequence])
    assert mine_files == keras_files
    assert mine["printed"].replace(str(tmp_path / "ours"), "") == \
        reference["printed"].replace(str(tmp_path / "keras"), "")


def test_model_checkpoint_saves_the_best_epoch_weights(tmp_path):
    model = make_models()[0]
    path = str(tmp_path / "best.weights.h5")
    checkpoint = sepconv.callbacks.ModelCheckpoint(path, save_best_only=True,
                                                   save_weights_only=True)
    drive(sepconv, [checkpoint], model, as_logs(SEQUENCES["plateau"]))
    best_epoch = int(np.argmin([val for _, val in SEQUENCES["plateau"]]))
    model.load_weights(path)
    for loaded, expected in zip(model.get_weights(), epoch_weights(model, best_epoch)):
        np.testing.assert_array_equal(loaded, expected)
    assert [f for f in os.listdir(tmp_path)] == ["best.weights.h5"]  # no temporary left


def test_model_checkpoint_saves_a_keras_loadable_model(tmp_path):
    model = make_models()[0]
    path = str(tmp_path / "model.keras")
    drive(sepconv, [sepconv.callbacks.ModelCheckpoint(path)], model, as_logs(SEQUENCES["rising"]))
    loaded = keras.saving.load_model(path)
    for ours, theirs in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


def test_model_checkpoint_missing_field_names_the_path(tmp_path):
    path = str(tmp_path / "m-{val_acc:.2f}.keras")
    for lib, model in zip((sepconv, keras), make_models()):
        checkpoint = lib.callbacks.ModelCheckpoint(path)
        checkpoint.set_model(model)
        with pytest.raises(KeyError, match="Failed to format this callback filepath"):
            checkpoint.on_epoch_end(0, {"loss": 0.1})


def test_model_checkpoint_into_a_directory_fails(tmp_path):
    (tmp_path / "dir.keras").mkdir()
    checkpoint = sepconv.callbacks.ModelCheckpoint(str(tmp_path / "dir.keras"))
    checkpoint.set_model(make_models()[0])
    with pytest.raises(OSError, match="non-directory filepath"):
        checkpoint.on_epoch_end(0, {"val_loss": 0.1})


# ------------------------------------------------------------ CSVLogger
CSV_CASES = [
    dict(),
    dict(separator=";"),
    dict(append=True),
]


def _csv_epochs(with_val=True):
    logs = []
    for epoch, (loss, val) in enumerate(SEQUENCES["noisy"][:4]):
        entry = {"loss": loss, "mae": loss / 3, "accuracy": np.float32(0.25 * epoch)}
        if with_val:
            entry["val_loss"] = val
        if epoch == 2:
            entry.pop("mae")
        logs.append(entry)
    return logs


def _csv_run(lib, model, path, kwargs, epochs, runs=2):
    for _ in range(runs):
        drive(lib, [lib.callbacks.CSVLogger(path, **kwargs)], model, epochs)
    with open(path, "rb") as handle:
        return handle.read()


@pytest.mark.parametrize("with_val", [True, False])
@pytest.mark.parametrize("kwargs", CSV_CASES, ids=str)
def test_csv_logger_writes_keras_bytes(kwargs, with_val, tmp_path):
    ours, theirs = make_models()
    epochs = _csv_epochs(with_val)
    mine = _csv_run(sepconv, ours, str(tmp_path / "ours.csv"), kwargs, epochs)
    reference = _csv_run(keras, theirs, str(tmp_path / "keras.csv"), kwargs, epochs)
    assert mine == reference
    assert mine.count(b"\n") == (9 if kwargs.get("append") else 5)


def test_csv_logger_appends_without_a_second_header_to_an_existing_file(tmp_path):
    ours, theirs = make_models()
    contents = []
    for lib, model, name in ((sepconv, ours, "ours.csv"), (keras, theirs, "keras.csv")):
        path = tmp_path / name
        path.write_bytes(b"epoch,loss\r\n")
        contents.append(_csv_run(lib, model, str(path), {"append": True}, _csv_epochs(), 1))
    assert contents[0] == contents[1]


def test_csv_logger_rows_are_complete_after_each_epoch(tmp_path):
    path = tmp_path / "log.csv"
    logger = sepconv.callbacks.CSVLogger(str(path))
    logger.set_model(make_models()[0])
    logger.on_train_begin()
    for epoch in range(3):
        logger.on_epoch_end(epoch, {"loss": 0.5})
        text = path.read_bytes()
        assert text.endswith(b"\r\n") and text.count(b"\r\n") == epoch + 2
    logger.on_train_end()


# ------------------------------------------- History / TerminateOnNaN / Lambda
def test_history_matches_keras_and_is_the_models():
    for with_extra in (False, True):
        def make(lib):
            return [lib.callbacks.LearningRateScheduler(lambda e, lr: lr * 0.9)] if with_extra \
                else []
        mine, reference = both(make, SEQUENCES["noisy"])
        assert_same_run(mine, reference)


def test_callback_list_history_is_set_on_the_model():
    model = make_models()[0]
    callbacks = sepconv.callbacks.CallbackList(add_history=True, model=model)
    assert model.history is callbacks.callbacks[0]
    assert isinstance(model.history, sepconv.callbacks.History)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_terminate_on_nan_matches_keras(bad):
    def batch_logs(epoch, step):
        return {"loss": bad if (epoch, step) == (1, 1) else 0.5}

    ours, theirs = make_models()
    mine = drive(sepconv, [sepconv.callbacks.TerminateOnNaN()], ours,
                 as_logs(SEQUENCES["noisy"]), batch_logs=batch_logs)
    reference = drive(keras, [keras.callbacks.TerminateOnNaN()], theirs,
                      as_logs(SEQUENCES["noisy"]), batch_logs=batch_logs)
    assert_same_run(mine, reference)
    assert mine["stopped_at"] == 1 and "Batch 1: Invalid loss" in mine["printed"]


def test_terminate_on_nan_can_raise():
    callback = sepconv.callbacks.TerminateOnNaN(raise_error=True)
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 4"):
        callback.on_train_batch_end(4, {"loss": float("nan")})


def test_lambda_callback_calls_as_keras():
    calls = {}

    def make(lib):
        record = calls.setdefault(lib.__name__, [])
        return [lib.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: record.append(("epoch_begin", epoch, logs)),
            on_epoch_end=lambda epoch, logs: record.append(("epoch_end", epoch, dict(logs))),
            on_train_begin=lambda logs: record.append(("train_begin", logs)),
            on_train_end=lambda logs: record.append(("train_end", logs)),
            on_train_batch_begin=lambda batch, logs: record.append(("batch_begin", batch, logs)),
            on_train_batch_end=lambda batch, logs: record.append(("batch_end", batch, logs)),
            on_test_begin=lambda logs: record.append("test"))]

    both(make, SEQUENCES["rising"][:2])
    assert calls["sepconv"] == calls["keras"]
    assert len(calls["sepconv"]) == 2 + 2 * (2 + 2 * 3)


# ------------------------------------------------------- CallbackList
def test_callback_list_adds_defaults_once_and_passes_params():
    model = make_models()[0]
    progbar = sepconv.callbacks.ProgbarLogger()
    callbacks = sepconv.callbacks.CallbackList(
        [[sepconv.callbacks.Callback()], progbar], add_history=True, add_progbar=True,
        model=model, verbose=2, epochs=3, steps=4)
    kinds = [type(c).__name__ for c in callbacks.callbacks]
    assert kinds == ["Callback", "ProgbarLogger", "History"]
    for callback in callbacks.callbacks:
        assert callback.params == {"verbose": 2, "epochs": 3, "steps": 4}
        assert callback.model is model


def test_callback_list_batch_hooks_fall_back_to_old_names():
    seen = []

    class Old(sepconv.callbacks.Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch, logs))

    callbacks = sepconv.callbacks.CallbackList([Old()])
    callbacks.on_train_batch_begin(0)
    callbacks.on_train_batch_end(0, {"loss": torch.tensor(0.5), "acc": np.float64(1)})
    assert seen == [("begin", 0), ("end", 0, {"acc": 1.0, "loss": 0.5})]


def test_callback_list_end_without_begin_fails():
    callbacks = sepconv.callbacks.CallbackList()
    with pytest.raises(ValueError, match="on_test_end"):
        callbacks.on_test_end()


def test_callback_unwraps_distributed_data_parallel():
    model = make_models()[0]

    class FakeDDP(torch.nn.parallel.DistributedDataParallel):
        def __init__(self, module):  # no process group needed for this check
            torch.nn.Module.__init__(self)
            self.module = module

    callback = sepconv.callbacks.Callback()
    callback.set_model(FakeDDP(model))
    assert callback.model is model


# -------------------------------------------------------- distributed
def test_other_ranks_decide_alike_but_write_and_print_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(distributed, "is_rank_zero", lambda: False)
    model = make_models()[0]
    checkpoint = sepconv.callbacks.ModelCheckpoint(
        str(tmp_path / "m{epoch}.weights.h5"), save_best_only=True, save_weights_only=True,
        verbose=1)
    stopper = sepconv.callbacks.EarlyStopping(patience=1, verbose=1)
    logger = sepconv.callbacks.CSVLogger(str(tmp_path / "log.csv"))
    callbacks = sepconv.callbacks.CallbackList(
        [checkpoint, stopper, logger], add_history=True, add_progbar=True, model=model,
        verbose=1, epochs=3, steps=1)
    model.stop_training = False
    callbacks.on_train_begin()
    for epoch, (loss, val) in enumerate([(0.5, 0.5), (0.4, 0.6), (0.3, 0.7)]):
        callbacks.on_epoch_begin(epoch)
        callbacks.on_train_batch_end(0, {"loss": loss})
        callbacks.on_epoch_end(epoch, {"loss": loss, "val_loss": val})
        if model.stop_training:
            break
    callbacks.on_train_end()
    assert os.listdir(tmp_path) == []
    assert capsys.readouterr().out == ""
    assert checkpoint.best == 0.5 and stopper.stopped_epoch == 1


# ------------------------------------------------------------- errors
@pytest.mark.parametrize("make, argument, received", [
    (lambda: sepconv.callbacks.ReduceLROnPlateau(factor=1.0), "factor", "factor=1.0"),
    (lambda: sepconv.callbacks.ReduceLROnPlateau(factor="0.5"), "factor", "factor='0.5'"),
    (lambda: sepconv.callbacks.ReduceLROnPlateau(min_lr=-1.0), "min_lr", "min_lr=-1.0"),
    (lambda: sepconv.callbacks.ReduceLROnPlateau(cooldown=-1), "cooldown", "cooldown=-1"),
    (lambda: sepconv.callbacks.ReduceLROnPlateau(epsilon=0.1), "unexpected", "epsilon=0.1"),
    (lambda: sepconv.callbacks.EarlyStopping(patience=1.5), "patience", "patience=1.5"),
    (lambda: sepconv.callbacks.EarlyStopping(min_delta="x"), "min_delta", "min_delta='x'"),
    (lambda: sepconv.callbacks.EarlyStopping(baseline=float("nan")), "baseline", "baseline=nan"),
    (lambda: sepconv.callbacks.EarlyStopping(start_from_epoch=-2), "start_from_epoch",
     "start_from_epoch=-2"),
    (lambda: sepconv.callbacks.EarlyStopping(restore_best_weights=1), "restore_best_weights",
     "restore_best_weights=1"),
    (lambda: sepconv.callbacks.EarlyStopping(monitor=3), "monitor", "monitor=3"),
    (lambda: sepconv.callbacks.ModelCheckpoint("m.keras", save_freq="batch"), "save_freq",
     "save_freq='batch'"),
    (lambda: sepconv.callbacks.ModelCheckpoint("m.keras", save_freq=0), "save_freq",
     "save_freq=0"),
    (lambda: sepconv.callbacks.ModelCheckpoint("m.pt"), "filepath", "filepath=m.pt"),
    (lambda: sepconv.callbacks.ModelCheckpoint("m.keras", save_weights_only=True),
     "weights.h5", "filepath=m.keras"),
    (lambda: sepconv.callbacks.ModelCheckpoint(3), "filepath", "filepath=3"),
    (lambda: sepconv.callbacks.CSVLogger("log.csv", separator=";;"), "separator",
     "separator=';;'"),
    (lambda: sepconv.callbacks.CSVLogger(None), "filename", "filename=None"),
    (lambda: sepconv.callbacks.LearningRateScheduler(0.1), "schedule", "schedule=0.1"),
    (lambda: sepconv.callbacks.LambdaCallback(on_epoch_end=3), "on_epoch_end",
     "on_epoch_end=3"),
    (lambda: sepconv.callbacks.TerminateOnNaN(raise_error="yes"), "raise_error",
     "raise_error='yes'"),
    (lambda: sepconv.callbacks.CallbackList([3]), "callbacks", "3"),
    (lambda: sepconv.callbacks.CallbackList("cb"), "callbacks", "callbacks='cb'"),
])
def test_bad_arguments_name_argument_and_value(make, argument, received):
    expect_error(make, argument, received)


# ------------------------------------------------ batch logs inside fit
def test_fit_and_evaluate_give_batch_logs_to_the_callbacks_that_read_them():
    """The loops compute running logs after a batch only for callbacks that
    override a batch hook (a subclass, an old-name hook or a LambdaCallback
    function); those receive what Keras passes."""
    x = np.random.default_rng(0).standard_normal((12, 3)).astype("float32")
    y = np.random.default_rng(1).standard_normal((12, 2)).astype("float32")
    records = {}

    def run(lib):
        record = records.setdefault(lib.__name__, [])

        class OldName(lib.callbacks.Callback):
            def on_batch_end(self, batch, logs=None):
                record.append(("old", batch, dict(logs)))

        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2)])
        model.set_weights([np.full((3, 2), 0.1, "float32"), np.zeros(2, "float32")])
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
        watch = lib.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: record.append(("lambda", batch, dict(logs))))
        model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0,
                  callbacks=[OldName(), watch])

        class Test(lib.callbacks.Callback):
            def on_test_batch_end(self, batch, logs=None):
                record.append(("test", batch, dict(logs)))

        model.evaluate(x, y, batch_size=6, verbose=0, callbacks=[Test()])

    run(keras)
    run(sepconv)
    mine, reference = records["sepconv"], records["keras"]
    assert [entry[:2] for entry in mine] == [entry[:2] for entry in reference]
    for (_, _, ours), (_, _, theirs) in zip(mine, reference):
        assert list(ours) == list(theirs)
        np.testing.assert_allclose(list(ours.values()), list(theirs.values()), rtol=1e-5)


def test_only_a_drawn_bar_reads_batch_logs():
    silent = sepconv.callbacks.CallbackList(add_history=True, add_progbar=True, verbose=2,
                                            epochs=1, steps=3)
    assert not silent.reads_batch_logs("on_train_batch_end")
    bar = sepconv.callbacks.CallbackList(add_progbar=True, verbose=1, epochs=1, steps=3)
    assert bar.reads_batch_logs("on_train_batch_end")
    assert not bar.reads_batch_logs("on_predict_batch_end")
