"""sepconv.optimizers.schedules against keras.optimizers.schedules (Keras 3,
torch backend): the same steps give the same float32 rates, the same configs,
and bad arguments are refused."""

import keras
import numpy as np
import pytest
import torch
from error_checks import expect_error

from sepconv.optimizers import schedules as ours

theirs = keras.optimizers.schedules

CASES = [
    ("ExponentialDecay", (0.1, 7, 0.8), {}),
    ("ExponentialDecay", (0.1, 7, 0.8), {"staircase": True, "name": "exp"}),
    ("ExponentialDecay", (3e-4, 2.5, 1.3), {}),
    ("InverseTimeDecay", (0.2, 3, 0.5), {}),
    ("InverseTimeDecay", (0.2, 3, 0.5), {"staircase": True}),
    ("PolynomialDecay", (0.1, 9), {}),
    ("PolynomialDecay", (0.1, 9), {"end_learning_rate": 0.01, "power": 0.5}),
    ("PolynomialDecay", (0.1, 9), {"end_learning_rate": 0.02, "power": 2.0, "cycle": True}),
    ("CosineDecay", (0.1, 11), {}),
    ("CosineDecay", (0.1, 11), {"alpha": 0.2}),
    ("CosineDecay", (0.0, 11), {"warmup_target": 0.3, "warmup_steps": 5}),
    ("CosineDecay", (0.05, 11), {"alpha": 0.1, "warmup_target": 0.3, "warmup_steps": 4,
                                 "name": "warm"}),
    ("CosineDecayRestarts", (0.1, 5), {}),
    ("CosineDecayRestarts", (0.1, 5), {"t_mul": 1.0, "m_mul": 0.5}),
    ("CosineDecayRestarts", (0.1, 3), {"t_mul": 1.5, "m_mul": 0.8, "alpha": 0.05}),
    ("PiecewiseConstantDecay", ([3, 8], [0.1, 0.05, 0.01]), {}),
    ("PiecewiseConstantDecay", ([2.5, 6.0], [1.0, 0.5, 0.25]), {"name": "pc"}),
    ("PiecewiseConstantDecay", ([4], [0.3, 0.1]), {}),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]
STEPS = list(range(0, 40)) + [57, 100, 1000]


def pair(name, args, kwargs):
    return getattr(ours, name)(*args, **kwargs), getattr(theirs, name)(*args, **kwargs)


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=IDS)
@pytest.mark.parametrize("step_type", ["int", "int64 tensor", "float32 tensor"])
def test_values_equal_keras(name, args, kwargs, step_type):
    mine, reference = pair(name, args, kwargs)
    for step in STEPS:
        if step_type == "int64 tensor":
            step = torch.tensor(step, dtype=torch.int64)
        elif step_type == "float32 tensor":
            step = torch.tensor(step, dtype=torch.float32)
        expected = keras.ops.convert_to_numpy(reference(step))
        got = mine(step)
        assert isinstance(got, torch.Tensor) and got.dtype == torch.float32 and got.ndim == 0
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6, atol=0,
                                   err_msg=f"step {step}")


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=IDS)
def test_config_equals_keras(name, args, kwargs):
    mine, reference = pair(name, args, kwargs)
    assert mine.get_config() == reference.get_config()
    assert ours.serialize(mine) == theirs.serialize(reference)
    rebuilt = ours.deserialize(theirs.serialize(reference))
    assert type(rebuilt) is type(mine) and rebuilt.get_config() == mine.get_config()
    from_ours = theirs.deserialize(ours.serialize(mine))
    assert from_ours.get_config() == reference.get_config()


def test_every_keras_public_name_exists():
    missing = [n for n in dir(theirs) if not n.startswith("_") and not hasattr(ours, n)]
    assert missing == []


def test_deserialize_by_name_and_unknown():
    assert isinstance(ours.deserialize({"class_name": "ExponentialDecay",
                                        "config": {"initial_learning_rate": 0.1,
                                                   "decay_steps": 2, "decay_rate": 0.5}}),
                      ours.ExponentialDecay)
    expect_error(lambda: ours.deserialize({"class_name": "Nope", "config": {}}),
                 "Nope", "Nope")


def test_custom_schedule_subclass():
    class Halving(ours.LearningRateSchedule):
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, step):
            return torch.tensor(self.rate / 2 ** int(step))

        def get_config(self):
            return {"rate": self.rate}

    config = ours.serialize(Halving(1.0))
    assert config["class_name"] == "Halving" and config["config"] == {"rate": 1.0}
    rebuilt = ours.deserialize(config, custom_objects={"Halving": Halving})
    assert float(rebuilt(3)) == 0.125


def test_base_class_must_be_overridden():
    with pytest.raises(NotImplementedError, match="__call__"):
        ours.LearningRateSchedule()(0)
    with pytest.raises(NotImplementedError, match="get_config"):
        ours.LearningRateSchedule().get_config()


@pytest.mark.parametrize("build,argument,received", [
    (lambda: ours.ExponentialDecay(0.1, 0, 0.5), "decay_steps", "decay_steps=0"),
    (lambda: ours.ExponentialDecay(0.1, -3, 0.5), "decay_steps", "decay_steps=-3"),
    (lambda: ours.InverseTimeDecay(0.1, 0, 0.5), "decay_steps", "decay_steps=0"),
    (lambda: ours.PolynomialDecay(0.1, 0), "decay_steps", "decay_steps=0"),
    (lambda: ours.CosineDecay(0.1, 0), "decay_steps", "decay_steps=0"),
    (lambda: ours.CosineDecayRestarts(0.1, 0), "first_decay_steps", "first_decay_steps=0"),
    (lambda: ours.CosineDecayRestarts(0.1, 5, t_mul=0.0), "t_mul", "t_mul=0.0"),
    (lambda: ours.ExponentialDecay("0.1", 3, 0.5), "initial_learning_rate", "'0.1'"),
    (lambda: ours.ExponentialDecay(0.1, 3, 0.5, staircase="yes"), "staircase", "'yes'"),
    (lambda: ours.PolynomialDecay(0.1, 3, power=float("nan")), "power", "nan"),
    (lambda: ours.CosineDecay(0.1, 3, warmup_steps=-1), "warmup_steps", "warmup_steps=-1"),
    (lambda: ours.PiecewiseConstantDecay([1, 2], [0.1, 0.2]), "boundaries", "length 2"),
    (lambda: ours.PiecewiseConstantDecay([2, 1], [0.1, 0.2, 0.3]), "increasing", r"\[2, 1\]"),
    (lambda: ours.PiecewiseConstantDecay(5, [0.1]), "boundaries", "boundaries=5"),
    (lambda: ours.PiecewiseConstantDecay([1], [0.1, "a"]), "values", "'a'"),
])
def test_bad_arguments(build, argument, received):
    expect_error(build, argument, received)


def test_keras_refuses_the_same_decay_steps():
    for build in (lambda: theirs.ExponentialDecay(0.1, 0, 0.5),
                  lambda: theirs.CosineDecayRestarts(0.1, 0),
                  lambda: theirs.PiecewiseConstantDecay([1, 2], [0.1, 0.2])):
        with pytest.raises(ValueError):
            build()
