"""sepconv.config: defaults, keras.json reading (never writing) and validation."""

import json
import os
import subprocess
import sys

import pytest

from sepconv import config


def test_defaults_without_a_file(tmp_path):
    settings = config.read_keras_json(str(tmp_path / "missing.json"))
    assert settings == {"image_data_format": "channels_last", "floatx": "float32", "epsilon": 1e-7}


def test_values_are_read_from_the_file(tmp_path):
    path = tmp_path / "keras.json"
    path.write_text(json.dumps({"image_data_format": "channels_first", "floatx": "float64",
                                "epsilon": 1e-5, "backend": "tensorflow"}))
    settings = config.read_keras_json(str(path))
    assert settings == {"image_data_format": "channels_first", "floatx": "float64", "epsilon": 1e-5}


@pytest.mark.parametrize(
    "key, value",
    [("image_data_format", "NHWC"), ("floatx", "float8"), ("epsilon", -1), ("epsilon", "small")],
)
def test_an_invalid_value_names_the_file_and_the_key(tmp_path, key, value):
    path = tmp_path / "keras.json"
    path.write_text(json.dumps({key: value}))
    with pytest.raises(ValueError) as info:
        config.read_keras_json(str(path))
    message = str(info.value)
    assert str(path) in message and key in message and "Received" in message


def test_unreadable_json_names_the_file(tmp_path):
    path = tmp_path / "keras.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="keras.json"):
        config.read_keras_json(str(path))


def test_keras_home_is_honoured_at_import_and_the_file_is_not_written(tmp_path):
    path = tmp_path / "keras.json"
    path.write_text(json.dumps({"image_data_format": "channels_first", "floatx": "float64"}))
    before = path.read_bytes()
    env = dict(os.environ, KERAS_HOME=str(tmp_path))
    code = ("import sepconv, torch; "
            "print(sepconv.config.image_data_format(), sepconv.config.floatx(), "
            "sepconv.layers.Conv2D(2, 3)(torch.zeros(1, 4, 5, 5, dtype=torch.float64)).shape)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.split()[:2] == ["channels_first", "float64"]
    assert "torch.Size([1, 2, 3, 3])" in out  # channels_first is the default layout
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keras.json"]


def test_an_invalid_file_fails_the_import_with_the_path(tmp_path):
    (tmp_path / "keras.json").write_text(json.dumps({"floatx": "float8"}))
    env = dict(os.environ, KERAS_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", "import sepconv"], env=env,
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "floatx" in result.stderr and str(tmp_path) in result.stderr


def test_setters_validate_and_take_effect():
    try:
        config.set_image_data_format("CHANNELS_FIRST")
        assert config.image_data_format() == "channels_first"
        config.set_floatx("float64")
        assert config.floatx() == "float64"
        config.set_epsilon(1e-3)
        assert config.epsilon() == 1e-3
    finally:
        config.set_image_data_format("channels_last")
        config.set_floatx("float32")
        config.set_epsilon(1e-7)
    with pytest.raises(ValueError, match="Received: data_format='nhwc'"):
        config.set_image_data_format("nhwc")
    with pytest.raises(ValueError, match="Received: value='float8'"):
        config.set_floatx("float8")
    with pytest.raises(ValueError, match="Received: value=0"):
        config.set_epsilon(0)
    assert config.backend() == "torch"
