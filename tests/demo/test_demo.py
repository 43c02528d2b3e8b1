"""The main job, ``sepconv demo``: what the issue promises (both networks
>= 98% on the held-out digits, the comparison table, a model that reloads,
in Keras too) and clear errors for bad ``--data`` folders."""

import subprocess
import sys

import numpy as np
import pytest

import sepconv
from keras_reference import keras
from sepconv.cli import main
from sepconv.demo import run_demo

PIL = pytest.importorskip("PIL.Image")


def test_default_demo_reaches_98_percent_with_both_networks():
    lines = []
    report = run_demo(quiet=True, print_fn=lines.append)
    accuracies = {row.name: row.accuracy for row in report.rows}
    assert accuracies["SeparableConv2D"] >= 0.98, accuracies
    assert accuracies["Conv2D"] >= 0.98, accuracies
    separable, plain = report.rows
    assert separable.params * 5 < plain.params
    assert separable.multiply_adds * 5 < plain.multiply_adds
    assert any(line.startswith("SeparableConv2D") for line in lines)
    assert any("fewer parameters" in line for line in lines)
    assert report.reload_agrees


def _write_bar_images(directory, per_class=12, size=10):
    """Two classes a network tells apart at once: a bright horizontal bar or
    a bright vertical bar at a random place on a dark noisy background."""
    rng = np.random.default_rng(0)
    for name, axis in (("horizontal", 0), ("vertical", 1)):
        folder = directory / name
        folder.mkdir()
        for index in range(per_class):
            pixels = rng.integers(0, 40, size=(size, size)).astype(np.uint8)
            line = rng.integers(2, size - 2)
            if axis == 0:
                pixels[line, :] = 255
            else:
                pixels[:, line] = 255
            PIL.fromarray(pixels).save(folder / f"{index}.png")


def test_data_folder_trains_saves_and_keras_reads_the_file(tmp_path, capsys):
    data = tmp_path / "bars"
    data.mkdir()
    _write_bar_images(data)
    saved = tmp_path / "bars.keras"
    code = main(["demo", "--data", str(data), "--image-size", "8", "--epochs", "2",
                 "--quiet", "--save", str(saved)])
    out = capsys.readouterr().out
    assert code == 0
    assert "19 training and 5 test images of (8, 8, 1), 2 classes" in out
    assert "predictions agree" in out
    assert saved.is_file()

    ours = sepconv.models.load_model(str(saved))
    theirs = keras.models.load_model(str(saved))
    images = np.random.default_rng(1).random((3, 8, 8, 1)).astype(np.float32)
    np.testing.assert_allclose(theirs.predict(images, verbose=0),
                               ours.predict(images, verbose=0), rtol=1e-5, atol=1e-6)


def _demo_error(capsys, *arguments):
    code = main(["demo", "--epochs", "1", "--quiet", *arguments])
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err
    return captured.err


def test_missing_data_folder_is_a_clear_error(tmp_path, capsys):
    err = _demo_error(capsys, "--data", str(tmp_path / "nowhere"))
    assert "no such folder" in err and "Received: --data" in err


def test_data_folder_without_class_folders_is_a_clear_error(tmp_path, capsys):
    err = _demo_error(capsys, "--data", str(tmp_path))
    assert "at least two class sub-folders" in err and "0 sub-folder(s)" in err


def test_class_folder_without_images_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    err = _demo_error(capsys, "--data", str(tmp_path))
    assert "holds no images" in err and str(tmp_path / "a") in err


def test_unreadable_image_is_a_clear_error(tmp_path, capsys):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        PIL.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / name / "ok.png")
    broken = tmp_path / "b" / "broken.png"
    broken.write_bytes(b"not a png at all")
    err = _demo_error(capsys, "--data", str(tmp_path))
    assert "Cannot read image" in err and str(broken) in err


@pytest.mark.parametrize("arguments, message", [
    (["--save", "model.h5"], "--save must name a .keras file"),
    (["--epochs", "0"], "must be a positive int"),
    (["--batch-size", "many"], "must be a positive int"),
])
def test_bad_options_exit_with_a_usage_error(arguments, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", *arguments])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_python_dash_m_runs_the_demo(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sepconv", "demo", "--epochs", "1", "--quiet"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "SeparableConv2D" in result.stdout and "predictions agree" in result.stdout
