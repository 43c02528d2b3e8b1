"""sepconv.initializers against keras.initializers (Keras 3, torch backend)."""

import math

import keras
import numpy as np
import pytest
import torch
from keras.src.initializers.random_initializers import compute_fans as keras_compute_fans

from sepconv import initializers as ours

theirs = keras.initializers

# (class name, constructor kwargs) for every built-in, with non-default arguments too.
CASES = [
    ("Zeros", {}),
    ("Ones", {}),
    ("Constant", {}),
    ("Constant", {"value": 2}),
    ("Constant", {"value": -1.5}),
    ("Identity", {}),
    ("STFT", {}),
    ("STFT", {"side": "imag", "window": "hamming", "scaling": "spectrum", "periodic": True}),
    ("STFT", {"window": None, "scaling": None}),
    ("STFT", {"window": [0.5, 1.0, 1.0, 0.5]}),
    ("RandomNormal", {}),
    ("RandomNormal", {"mean": 1.0, "stddev": 0.2, "seed": 3}),
    ("RandomUniform", {}),
    ("RandomUniform", {"minval": -2, "maxval": 3, "seed": 5}),
    ("TruncatedNormal", {}),
    ("TruncatedNormal", {"mean": -1.0, "stddev": 2.0, "seed": 1}),
    ("VarianceScaling", {}),
    ("VarianceScaling", {"scale": 2.0, "mode": "fan_avg", "distribution": "uniform", "seed": 2}),
    ("VarianceScaling", {"mode": "fan_out", "distribution": "untruncated_normal"}),
    ("VarianceScaling", {"distribution": "normal"}),
    ("VarianceScaling", {"input_axes": [0, 1, 2], "output_axes": [3]}),
    ("GlorotNormal", {}),
    ("GlorotUniform", {}),
    ("GlorotUniform", {"seed": 42}),
    ("GlorotUniform", {"seed": 1, "input_axes": [2], "output_axes": [3]}),
    ("HeNormal", {}),
    ("HeUniform", {"seed": 0}),
    ("LecunNormal", {}),
    ("LecunUniform", {}),
    ("Orthogonal", {}),
    ("Orthogonal", {"gain": 2.0, "seed": 9}),
]
CASE_IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


def as_numpy(t):
    return t.detach().cpu().numpy()  # Keras's torch backend returns torch tensors


def test_every_keras_public_name_exists():
    missing = [n for n in dir(theirs) if not n.startswith("_") and not hasattr(ours, n)]
    assert missing == []


@pytest.mark.parametrize("name,kwargs", CASES, ids=CASE_IDS)
def test_serialize_equals_keras(name, kwargs):
    mine = getattr(ours, name)(**kwargs)
    assert ours.serialize(mine) == theirs.serialize(getattr(theirs, name)(**kwargs))


@pytest.mark.parametrize("name,kwargs", CASES, ids=CASE_IDS)
def test_config_round_trips_both_ways(name, kwargs):
    config = theirs.serialize(getattr(theirs, name)(**kwargs))
    mine = ours.deserialize(config)
    assert type(mine).__name__ == name
    assert ours.serialize(mine) == config
    assert type(mine).from_config(mine.get_config()).get_config() == mine.get_config()
    # Keras reads what we write.
    back = theirs.deserialize(ours.serialize(mine))
    assert theirs.serialize(back) == config


def test_base_initializer_serializes_like_keras():
    assert ours.serialize(ours.Initializer()) == theirs.serialize(theirs.Initializer())
    with pytest.raises(NotImplementedError):
        ours.Initializer()((2,))


def test_identity_keeps_a_non_default_gain():
    # Keras 3.15.1 writes {} for any Identity (dropping gain); we keep it, and Keras reads it.
    config = ours.serialize(ours.Identity(gain=3.0))
    assert config["config"] == {"gain": 3.0}
    assert theirs.deserialize(config).gain == 3.0
    assert ours.deserialize(config).gain == 3.0


def test_numpy_value_in_constant_config():
    assert ours.serialize(ours.Constant(np.float32(2))) == theirs.serialize(
        theirs.Constant(np.float32(2)))


@pytest.mark.parametrize("shape", [(), (7,), (4, 6), (3, 5, 8), (3, 3, 4, 16), (2, 3, 4, 5, 6),
                                   (1, 1, 32, 64)])
def test_compute_fans_equals_keras(shape):
    assert ours.compute_fans(shape) == keras_compute_fans(shape)


def test_compute_fans_with_axes_equals_keras():
    shape = (3, 3, 4, 16)
    for axes in [([2], [3]), ([0, 1, 2], [3]), ([0], [1, 3])]:
        assert ours.compute_fans(shape, *axes) == keras_compute_fans(shape, *axes)


@pytest.mark.parametrize("name,kwargs,shape", [
    ("Zeros", {}, (3, 4)),
    ("Ones", {}, (2, 3, 4)),
    ("Constant", {"value": 2.5}, (3, 3, 2)),
    ("Identity", {}, (4, 4)),
    ("Identity", {"gain": 2.0}, (3, 5)),
    ("Identity", {"gain": 0.5}, (5, 3)),
])
def test_deterministic_initializers_equal_keras_exactly(name, kwargs, shape):
    mine = getattr(ours, name)(**kwargs)(shape)
    assert mine.dtype == torch.float32
    np.testing.assert_array_equal(mine.numpy(), as_numpy(getattr(theirs, name)(**kwargs)(shape)))


@pytest.mark.parametrize("kwargs", [
    {},
    {"side": "imag"},
    {"window": "hamming", "periodic": True},
    {"window": "hann", "scaling": "spectrum"},
    {"window": "blackman", "side": "imag", "periodic": True},
    {"window": None, "scaling": None},
    {"window": [0.1, 0.5, 1.0, 1.0, 0.5, 0.1, 0.0, 0.2], "scaling": "density"},
])
def test_stft_equals_keras(kwargs):
    shape = (8, 1, 9)
    mine = ours.STFT(**kwargs)(shape)
    np.testing.assert_allclose(mine.numpy(), as_numpy(theirs.STFT(**kwargs)(shape)), atol=2e-6)


@pytest.mark.parametrize("window", ["boxcar", "hann", "hamming", "blackman", "blackmanharris",
                                    "nuttall", "flattop", "bartlett", "triang", "cosine"])
@pytest.mark.parametrize("periodic", [False, True])
def test_stft_windows_equal_scipy(window, periodic):
    signal = pytest.importorskip("scipy.signal")
    for n in (1, 2, 7, 8):
        np.testing.assert_allclose(ours._window(window, n, periodic),
                                   signal.get_window(window, n, fftbins=periodic), atol=1e-12)


def test_stft_rejects_unknown_window_and_bad_arguments():
    with pytest.raises(ValueError, match="window='kaiserr'"):
        ours.STFT(window="kaiserr")
    with pytest.raises(ValueError, match="side='complex'"):
        ours.STFT(side="complex")
    with pytest.raises(ValueError, match="scaling='l2'"):
        ours.STFT(scaling="l2")
    with pytest.raises(ValueError, match="window shape"):
        ours.STFT(window=[1.0, 2.0])((4, 1, 3))


KERNEL = (3, 3, 32, 64)  # fan_in 288, fan_out 576; 18432 values


def _expected(name):
    fan_in, fan_out = 288, 576
    avg = (fan_in + fan_out) / 2
    uniform = {"GlorotUniform": 6 / (fan_in + fan_out), "HeUniform": 6 / fan_in,
               "LecunUniform": 3 / fan_in}
    normal = {"GlorotNormal": 1 / avg, "HeNormal": 2 / fan_in, "LecunNormal": 1 / fan_in}
    if name in uniform:
        return "uniform", math.sqrt(uniform[name])
    return "truncated", math.sqrt(normal[name])


@pytest.mark.parametrize("name", ["GlorotUniform", "HeUniform", "LecunUniform",
                                  "GlorotNormal", "HeNormal", "LecunNormal"])
def test_variance_scaling_family_statistics(name):
    torch.manual_seed(0)
    values = getattr(ours, name)()(KERNEL).double()
    reference = torch.as_tensor(as_numpy(getattr(theirs, name)(seed=0)(KERNEL))).double()
    kind, param = _expected(name)
    if kind == "uniform":  # param is the limit
        assert values.abs().max() <= param
        assert values.abs().max() > 0.99 * param
        expected_std = param / math.sqrt(3)
    else:  # param is the target std after truncation, cut at 2 / 0.8796 of it
        bound = 2 * param / 0.87962566103423978
        assert values.abs().max() <= bound * (1 + 1e-6)
        assert values.abs().max() > 0.98 * bound
        expected_std = param
    assert abs(values.mean()) < 0.03 * expected_std
    assert values.std().item() == pytest.approx(expected_std, rel=0.03)
    assert values.std().item() == pytest.approx(reference.std().item(), rel=0.04)


def test_random_normal_uniform_truncated_statistics():
    shape = (200, 300)
    x = ours.RandomNormal(mean=1.0, stddev=2.0, seed=1)(shape)
    assert x.mean().item() == pytest.approx(1.0, abs=0.03)
    assert x.std().item() == pytest.approx(2.0, rel=0.02)
    u = ours.RandomUniform(minval=-1.0, maxval=3.0, seed=1)(shape)
    assert u.min() >= -1.0 and u.max() < 3.0
    assert u.mean().item() == pytest.approx(1.0, abs=0.03)
    t = ours.TruncatedNormal(mean=-1.0, stddev=0.5, seed=1)(shape)
    assert t.min() >= -2.0 and t.max() <= 0.0
    # Std of a standard normal truncated at +-2 is 0.8796.
    assert t.std().item() == pytest.approx(0.5 * 0.87962566, rel=0.02)
    k = torch.as_tensor(as_numpy(theirs.TruncatedNormal(mean=-1.0, stddev=0.5, seed=1)(shape)))
    assert t.std().item() == pytest.approx(k.std().item(), rel=0.02)


def test_variance_scaling_fan_out_and_untruncated():
    x = ours.VarianceScaling(scale=3.0, mode="fan_out", distribution="untruncated_normal",
                             seed=4)(KERNEL)
    assert x.std().item() == pytest.approx(math.sqrt(3.0 / 576), rel=0.03)
    assert x.abs().max() > 3 * math.sqrt(3.0 / 576)  # not truncated


def test_variance_scaling_uses_input_output_axes():
    init = ours.VarianceScaling(scale=1.0, mode="fan_in", distribution="uniform",
                                input_axes=[2], output_axes=[3], seed=0)
    limit = math.sqrt(3.0 / 32)  # fan_in = shape[2] only
    x = init(KERNEL)
    assert x.abs().max() <= limit and x.abs().max() > 0.99 * limit


@pytest.mark.parametrize("name,kwargs", [c for c in CASES if "seed" in c[1]],
                         ids=[i for i, c in zip(CASE_IDS, CASES) if "seed" in c[1]])
def test_seeded_initializers_repeat(name, kwargs):
    init = getattr(ours, name)(**kwargs)
    np.testing.assert_array_equal(init((3, 3, 4, 5)).numpy(), init((3, 3, 4, 5)).numpy())
    clone = init.clone()
    np.testing.assert_array_equal(init((2, 3, 6, 7)).numpy(), clone((2, 3, 6, 7)).numpy())
    other = getattr(ours, name)(**{**kwargs, "seed": kwargs["seed"] + 100})
    assert not torch.equal(init((2, 3, 6, 7)), other((2, 3, 6, 7)))


def test_unseeded_draws_follow_torch_global_seed():
    init = ours.GlorotUniform()
    torch.manual_seed(123)
    first, second = init((8, 8)), init((8, 8))
    assert not torch.equal(first, second)
    torch.manual_seed(123)
    assert torch.equal(init((8, 8)), first)


@pytest.mark.parametrize("shape", [(5, 5), (8, 3), (3, 8), (3, 3, 4, 16), (3, 3, 16, 4)])
def test_orthogonal_gives_orthogonal_matrices(shape):
    q = ours.Orthogonal(gain=2.0, seed=0)(shape)
    assert tuple(q.shape) == shape
    m = q.reshape(-1, shape[-1]).double() / 2.0
    small = min(m.shape)
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    torch.testing.assert_close(gram, torch.eye(small, dtype=torch.float64), atol=1e-5, rtol=0)
    k = as_numpy(theirs.Orthogonal(gain=2.0, seed=0)(shape))  # same norms as Keras
    assert np.linalg.norm(q.numpy()) == pytest.approx(np.linalg.norm(k), rel=1e-5)


@pytest.mark.parametrize("dtype,expected", [
    (None, torch.float32), ("float64", torch.float64), (torch.float16, torch.float16),
    ("bfloat16", torch.bfloat16), (np.float64, torch.float64)])
def test_dtypes(dtype, expected):
    for init in (ours.GlorotUniform(seed=1), ours.HeNormal(), ours.Orthogonal(), ours.Zeros(),
                 ours.Identity(), ours.STFT()):
        shape = (4, 1, 3) if isinstance(init, ours.STFT) else (4, 4)
        assert init(shape, dtype=dtype).dtype == expected


def test_integer_dtypes_only_for_constant_initializers():
    assert ours.Zeros()((2,), "int32").dtype == torch.int32
    assert ours.Constant(3)((2,), "int64").tolist() == [3, 3]
    with pytest.raises(ValueError, match="floating-point dtype.*dtype='int32'"):
        ours.RandomNormal()((2,), "int32")
    with pytest.raises(ValueError, match="dtype='floaty'"):
        ours.Zeros()((2,), "floaty")


def test_get_accepts_every_identifier_kind():
    assert ours.get(None) is None
    assert type(ours.get("glorot_uniform")) is ours.GlorotUniform
    assert type(ours.get("GlorotUniform")) is ours.GlorotUniform
    assert type(ours.get("normal")) is ours.RandomNormal
    assert type(ours.get("zero")) is ours.Zeros
    assert type(ours.get("OrthogonalInitializer")) is ours.Orthogonal
    assert type(ours.get(ours.HeNormal)) is ours.HeNormal
    new_form = theirs.serialize(theirs.RandomUniform(-1.0, 1.0, seed=3))
    assert ours.get(new_form).get_config() == {"seed": 3, "minval": -1.0, "maxval": 1.0}
    old_form = {"class_name": "VarianceScaling", "config": {"scale": 2.0, "mode": "fan_out"}}
    assert ours.get(old_form).get_config()["scale"] == 2.0
    assert type(ours.get({"class_name": "he_uniform", "config": {}})) is ours.HeUniform
    instance = ours.Ones()
    assert ours.get(instance) is instance

    def fn(shape, dtype=None):
        return torch.ones(shape)

    assert ours.get(fn) is fn
    assert type(ours.deserialize("glorot_normal")) is ours.GlorotNormal


def test_get_tensor_gives_constant_of_that_shape():
    value = torch.arange(6.0).reshape(2, 3)
    init = ours.get(value)
    torch.testing.assert_close(init((2, 3), "float64"), value.double())
    with pytest.raises(ValueError, match=r"Received: shape=\(3, 2\)"):
        init((3, 2))
    config = ours.serialize(init)
    assert config["config"]["value"]["class_name"] == "__tensor__"
    torch.testing.assert_close(ours.deserialize(config)((2, 3)), value)
    torch.testing.assert_close(ours.get(np.ones((2, 2)))((2, 2)), torch.ones(2, 2))


def test_bad_identifiers_raise_with_the_value():
    with pytest.raises(ValueError) as info:
        ours.get("glorot_unifrom")
    message = str(info.value)
    assert "Could not interpret initializer identifier: 'glorot_unifrom'" in message
    assert "Did you mean 'glorot_uniform'?" in message
    assert message.endswith("Received: identifier='glorot_unifrom'")
    with pytest.raises(TypeError, match="Received: identifier=5"):
        ours.get(5)
    with pytest.raises(ValueError, match="'Nope' is neither a built-in"):
        ours.deserialize({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="'class_name'"):
        ours.deserialize({"config": {}})
    with pytest.raises(TypeError, match="could not rebuild|Could not rebuild"):
        ours.deserialize({"class_name": "Zeros", "config": {"bogus": 1}})


@pytest.mark.parametrize("make,match", [
    (lambda: ours.RandomNormal(stddev=-1.0), "stddev=-1.0"),
    (lambda: ours.TruncatedNormal(mean="a"), "mean='a'"),
    (lambda: ours.RandomUniform(minval=1.0, maxval=0.0), "maxval=0.0"),
    (lambda: ours.VarianceScaling(scale=0.0), "scale=0.0"),
    (lambda: ours.VarianceScaling(mode="fan_mid"), "mode='fan_mid'"),
    (lambda: ours.VarianceScaling(distribution="cauchy"), "distribution='cauchy'"),
    (lambda: ours.VarianceScaling(input_axes=[0]), "output_axes=None"),
    (lambda: ours.GlorotUniform(seed=1.5), "seed=1.5"),
    (lambda: ours.Identity()((2, 2, 2)), r"shape=\(2, 2, 2\)"),
    (lambda: ours.Orthogonal()((4,)), r"shape=\(4,\)"),
    (lambda: ours.Zeros()((2, -1)), r"shape=\(2, -1\)"),
    (lambda: ours.Constant("x"), "value='x'"),
    (lambda: ours.GlorotUniform(input_axes=[2], output_axes=[3])((4, 4)), "output_axes=\\[3\\]"),
])
def test_argument_errors_name_the_value(make, match):
    with pytest.raises(ValueError, match=match):
        make()


class MyInit(ours.Initializer):
    def __init__(self, value=1.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return torch.full(shape, self.value)

    def get_config(self):
        return {"value": self.value}


def test_custom_initializer_serialization():
    config = ours.serialize(MyInit(4.0))
    assert config == {"module": __name__, "class_name": "MyInit", "config": {"value": 4.0},
                      "registered_name": "MyInit"}
    rebuilt = ours.deserialize(config, custom_objects={"MyInit": MyInit})
    assert isinstance(rebuilt, MyInit) and rebuilt.value == 4.0
    with pytest.raises(ValueError, match="custom_objects"):
        ours.deserialize(config)
    assert repr(ours.GlorotUniform(seed=1)) == (
        "GlorotUniform(seed=1, input_axes=None, output_axes=None)")
