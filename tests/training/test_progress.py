"""Progress output against Keras 3.15.1's Progbar and ProgbarLogger on the
same steps and logs: the same lines apart from timings. Keras draws its bar
with colour codes, backspaces and carriage returns whatever the stream; ours
does so only on a terminal, so Keras's output is compared after removing
those, and ours must hold no carriage return off a terminal."""

from __future__ import annotations

import contextlib
import io
import re

import keras
import pytest

import sepconv
from sepconv.training import progress
from sepconv.training.progress import ProgressBar, resolve_verbose
from error_checks import expect_error

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Terminal(io.StringIO):
    """A captured stream that says it is a terminal."""

    def isatty(self):
        return True


def mask_times(text):
    """Timings vary from run to run: "12ms/step" -> "T/step", "0s"/"1:02" -> "T"."""
    text = re.sub(r"\d+(us|ms|s)/step", "T/step", text)
    text = re.sub(r"[\d:]+s?(?= (- )?T/step)", "T", text)
    return re.sub(r" +(?=\n|$)", "", text)  # padding over a longer previous line


def keras_segments(text):
    """Keras's output as the successive states of the line: colours and
    backspaces removed, split at carriage returns, blank pieces dropped."""
    text = ANSI.sub("", text).replace("\b", "")
    return [mask_times(piece) for piece in re.split(r"\r", text) if piece.strip("\n")]


def ours_segments(text):
    return [mask_times(piece) for piece in re.split(r"\r", ANSI.sub("", text))
            if piece.strip("\n")]


# Logs per step: running averages, including values Keras shows in scientific
# notation (tiny and negative ones) and a key that appears late.
STEP_LOGS = [
    {"loss": 0.9, "accuracy": 0.0, "mae": -0.25},
    {"loss": 0.7, "accuracy": 0.0004, "mae": -0.0001},
    {"loss": 0.55, "accuracy": 0.5, "mae": 12.5, "late": 3.0},
    {"loss": 123456.789, "accuracy": 1.0, "mae": 1e-7},
]
EPOCH_LOGS = {"loss": 0.5, "accuracy": 0.75, "mae": -0.5, "val_loss": 0.0005, "val_accuracy": 1.0}


def run_logger(library, verbose, stream_type=io.StringIO, epochs=2, steps=4, mode="fit"):
    """Drive the library's ProgbarLogger (added by CallbackList) through a
    fit, evaluate or predict sequence; returns what it printed."""
    model = (sepconv.Sequential([sepconv.Input((3,)), sepconv.layers.Dense(2)])
             if library is sepconv else keras.Sequential([keras.Input((3,)),
                                                         keras.layers.Dense(2)]))
    out = stream_type()
    with contextlib.redirect_stdout(out):
        callbacks = library.callbacks.CallbackList(
            None, add_history=mode == "fit", add_progbar=True, model=model, verbose=verbose,
            epochs=epochs, steps=steps)
        if mode == "fit":
            callbacks.on_train_begin()
            for epoch in range(epochs):
                callbacks.on_epoch_begin(epoch)
                for step in range(steps or 3):
                    callbacks.on_train_batch_begin(step)
                    callbacks.on_train_batch_end(step, STEP_LOGS[step % len(STEP_LOGS)])
                callbacks.on_test_begin()  # validation inside fit is silent
                callbacks.on_test_batch_end(0, {"loss": 0.1})
                callbacks.on_test_end({"loss": 0.1})
                callbacks.on_epoch_end(epoch, EPOCH_LOGS)
            callbacks.on_train_end(EPOCH_LOGS)
        elif mode == "evaluate":
            callbacks.on_test_begin()
            for step in range(steps or 3):
                callbacks.on_test_batch_begin(step)
                callbacks.on_test_batch_end(step, STEP_LOGS[step % len(STEP_LOGS)])
            callbacks.on_test_end({"loss": 0.25, "accuracy": 0.5})
        else:
            callbacks.on_predict_begin()
            for step in range(steps or 3):
                callbacks.on_predict_batch_begin(step)
                callbacks.on_predict_batch_end(step, {"outputs": 1.0})
            callbacks.on_predict_end()
    return out.getvalue()


@pytest.mark.parametrize("mode", ["fit", "evaluate", "predict"])
@pytest.mark.parametrize("epochs, steps", [(2, 4), (1, 12), (3, None)])
def test_one_line_per_epoch_matches_keras(epochs, steps, mode):
    mine = run_logger(sepconv, 2, epochs=epochs, steps=steps, mode=mode)
    reference = run_logger(keras, 2, epochs=epochs, steps=steps, mode=mode)
    assert mask_times(mine) == mask_times(reference)
    assert "\r" not in mine and "\x1b" not in mine
    assert mine.count("/step") == (epochs if mode == "fit" else 1)


@pytest.mark.parametrize("mode", ["fit", "evaluate", "predict"])
@pytest.mark.parametrize("epochs, steps", [(2, 4), (1, 12), (3, None)])
def test_terminal_bar_matches_keras(epochs, steps, mode):
    mine = run_logger(sepconv, 1, Terminal, epochs=epochs, steps=steps, mode=mode)
    reference = run_logger(keras, 1, Terminal, epochs=epochs, steps=steps, mode=mode)
    ours, theirs = ours_segments(mine), keras_segments(reference)
    # Intermediate redraws are throttled by time (both every 0.05 s), so which
    # of them happen, and for a bar of unknown length which step's values the
    # last one shows, depends on the machine's load: compare the "Epoch" lines
    # and the final bars up to their timing (the values are compared off a
    # terminal, where they are deterministic).
    def key_states(segments):
        return [mask_times(segment).split(" T/step")[0] for segment in segments
                if segment.startswith("Epoch") or segment.endswith("\n")]

    assert key_states(ours) == key_states(theirs)
    assert "\r" in mine and "\x1b[32m" in mine  # redrawn in place, in colour


@pytest.mark.parametrize("mode", ["fit", "evaluate", "predict"])
def test_bar_off_a_terminal_is_the_final_line_without_control_characters(mode):
    mine = run_logger(sepconv, 1, mode=mode)
    reference = run_logger(keras, 1, Terminal, mode=mode)
    finals = [s for s in keras_segments(reference) if s.startswith("Epoch") or s.endswith("\n")]
    assert "\r" not in mine and "\b" not in mine and "\x1b" not in mine
    assert mask_times(mine) == "".join(finals)


def test_auto_verbosity_is_the_bar_on_a_terminal_and_one_line_elsewhere():
    on_terminal = run_logger(sepconv, "auto", Terminal, epochs=1)
    elsewhere = run_logger(sepconv, "auto", io.StringIO, epochs=1)
    assert "\r" in on_terminal and "\u2501" in on_terminal
    assert mask_times(elsewhere) == mask_times(run_logger(keras, 2, epochs=1))
    assert resolve_verbose("auto", Terminal()) == 1
    assert resolve_verbose("auto", io.StringIO()) == 2


def test_silent_logger_prints_nothing():
    callbacks = sepconv.callbacks.CallbackList([sepconv.callbacks.ProgbarLogger()],
                                               verbose=0, epochs=2, steps=2)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        callbacks.on_train_begin()
        callbacks.on_epoch_begin(0)
        callbacks.on_train_batch_end(0, {"loss": 1.0})
        callbacks.on_epoch_end(0, {"loss": 1.0})
    assert out.getvalue() == ""


@pytest.mark.parametrize("verbose", [1, 2])
@pytest.mark.parametrize("target", [1, 7, 10, 250])
def test_progress_bar_matches_keras_progbar(verbose, target):
    values = [("loss", 0.5), ("tiny", 2e-5), ("negative", -0.125)]
    ours, theirs = Terminal(), Terminal()
    bar = ProgressBar(target, verbose=verbose, stream=ours)
    with contextlib.redirect_stdout(theirs):
        reference = keras.utils.Progbar(target, verbose=verbose, stateful_metrics=["loss", "tiny",
                                                                                "negative"])
        for step in range(1, target + 1):
            bar.update(step, values)
            reference.update(step, values)
    assert ours_segments(ours.getvalue())[-1] == keras_segments(theirs.getvalue())[-1]


@pytest.mark.parametrize("bad", [3, -1, "1", 1.0, True, None])
def test_resolve_verbose_names_the_value(bad):
    expect_error(lambda: resolve_verbose(bad), "verbose", re.escape(repr(bad)))


def test_predict_progress_off_a_terminal_is_one_line():
    model = sepconv.Sequential([sepconv.Input((3,)), sepconv.layers.Dense(2)])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        model.predict([[0.0, 1.0, 2.0]] * 5, batch_size=2)
    assert re.fullmatch(r"3/3 - \d+s - \d+(us|ms|s)/step\n", out.getvalue())


def test_a_stream_without_the_bar_character_gets_keras_fallback():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    ProgressBar(2, verbose=1, stream=stream).update(2, [("loss", 0.5)])
    text = raw.getvalue().decode("ascii")
    assert text.startswith("2/2 " + "=" * 20 + " ") and text.endswith("- loss: 0.5000\n")


@pytest.mark.parametrize("seconds, expected", [
    (0, "0s"), (59.9, "59s"), (60, "60s"), (61, "1:01"), (3600, "60:00"), (3601, "1:00:01"),
])
def test_eta_format_matches_keras(seconds, expected):
    # Keras's thresholds are strict (> 60, > 3600), as in its Progbar.update.
    assert progress.format_duration(seconds) == expected
