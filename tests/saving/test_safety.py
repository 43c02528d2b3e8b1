"""No lost work and no trust in files: interrupted saves keep the previous
file; hostile or broken archives are refused with clear errors."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import sepconv
from sepconv.saving import keras_archive


def small_model(seed):
    sepconv.utils.clear_session()
    model = sepconv.Sequential([sepconv.Input((4, 4, 2), name="x"),
                                sepconv.layers.SeparableConv2D(3, 3, name="sep"),
                                sepconv.layers.Dense(2, name="head")], name="small")
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model


X = np.random.default_rng(0).standard_normal((2, 4, 4, 2)).astype(np.float32)

CHILD = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    sys.path.insert(0, {tests!r})
    from test_safety import small_model
    import sepconv.saving.atomic as atomic

    def stall(fd):
        print("written, not yet renamed", flush=True)
        time.sleep(120)

    atomic.os.fsync = stall
    small_model(seed=2).save({path!r})
""")


def test_a_save_killed_mid_write_leaves_the_previous_file(tmp_path):
    path = tmp_path / "model.keras"
    first = small_model(seed=1)
    first.save(path)
    expected = first.predict(X, verbose=0)
    script = CHILD.format(tests=os.path.dirname(__file__), path=str(path))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "written, not yet renamed"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    loaded = sepconv.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), expected, rtol=1e-6)


def test_a_failing_save_keeps_the_previous_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "model.weights.h5"
    small_model(seed=1).save_weights(path)
    before = path.read_bytes()

    def broken(model, target):
        target.write(b"half a file")
        raise RuntimeError("disk full")

    monkeypatch.setattr("sepconv.saving.weights_h5.save_weights_h5", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        small_model(seed=2).save_weights(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.weights.h5"]


# ------------------------------------------------------------ hostile archives
def archive_members(model):
    with zipfile.ZipFile(io.BytesIO(keras_archive.archive_bytes(model))) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_archive(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_not_a_zip_and_truncated_archives(tmp_path):
    (tmp_path / "text.keras").write_text("hello")
    with pytest.raises(ValueError, match="not a .keras \\(zip\\) archive"):
        sepconv.models.load_model(tmp_path / "text.keras")
    good = keras_archive.archive_bytes(small_model(1))
    (tmp_path / "cut.keras").write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError):
        sepconv.models.load_model(tmp_path / "cut.keras")


def test_missing_members_and_bad_json(tmp_path):
    members = archive_members(small_model(1))
    without_config = {k: v for k, v in members.items() if k != "config.json"}
    write_archive(tmp_path / "a.keras", without_config)
    with pytest.raises(ValueError, match="has no 'config.json'"):
        sepconv.models.load_model(tmp_path / "a.keras")
    write_archive(tmp_path / "b.keras", {**members, "config.json": b"{not json"})
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        sepconv.models.load_model(tmp_path / "b.keras")
    write_archive(tmp_path / "c.keras", {**members, "model.weights.h5": b"garbage" * 100})
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        sepconv.models.load_model(tmp_path / "c.keras")
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["class_name"] = "TotallyUnknownLayer"
    write_archive(tmp_path / "d.keras", {**members, "config.json": json.dumps(config)})
    with pytest.raises(ValueError, match="TotallyUnknownLayer.*custom_objects"):
        sepconv.models.load_model(tmp_path / "d.keras")


@pytest.mark.parametrize("name", ["../escape.txt", "/absolute.txt", "assets/../../up.txt"])
def test_member_paths_outside_the_archive_are_refused(tmp_path, name):
    members = archive_members(small_model(1))
    target = tmp_path / "inner" / "model.keras"
    target.parent.mkdir()
    write_archive(target, {**members, name: b"payload"})
    with pytest.raises(ValueError, match="absolute or parent-directory path"):
        sepconv.models.load_model(target)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert written == ["inner", os.path.join("inner", "model.keras")]


def test_huge_declared_sizes_and_zip_bombs_are_refused(tmp_path, monkeypatch):
    members = archive_members(small_model(1))
    monkeypatch.setitem(keras_archive._LIMITS, "config.json", 100)
    write_archive(tmp_path / "big.keras", members)
    with pytest.raises(ValueError, match="declares .* bytes, more than the 100"):
        sepconv.models.load_model(tmp_path / "big.keras")
    monkeypatch.undo()
    monkeypatch.setattr(keras_archive, "_MAX_RATIO", 100)
    bomb = {**members, "config.json": members["config.json"] + b" " * 1_000_000}
    write_archive(tmp_path / "bomb.keras", bomb, compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(ValueError, match="zip bomb"):
        sepconv.models.load_model(tmp_path / "bomb.keras")
