"""sepconv.optimizers against keras.optimizers (Keras 3, torch backend): the
same initial variables and gradient sequence give the same variables after
every step; configs, lookups, torch-optimizer behaviour and argument errors."""

import copy

import keras
import numpy as np
import pytest
import torch
from error_checks import expect_error

import sepconv
from sepconv import optimizers as ours

theirs = keras.optimizers
SHAPES = {"kernel": (3, 3, 4, 8), "bias": (8,), "dense": (5, 7), "scale": ()}
STEPS = 5


def _data():
    rng = np.random.default_rng(1234)
    initial = [rng.standard_normal(s).astype(np.float32) for s in SHAPES.values()]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in SHAPES.values()]
             for _ in range(STEPS)]
    return initial, grads


INITIAL, GRADS = _data()


def exponential(module):
    return module.optimizers.schedules.ExponentialDecay(0.05, 2, 0.7)


def cosine(module):
    return module.optimizers.schedules.CosineDecay(0.0, 6, warmup_target=0.1, warmup_steps=2)


def piecewise(module):
    return module.optimizers.schedules.PiecewiseConstantDecay([1, 3], [0.1, 0.05, 0.01])


CASES = [
    ("SGD", {}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"learning_rate": 0.1, "weight_decay": 0.05}),
    ("SGD", {"learning_rate": 0.1, "clipnorm": 1.0}),
    ("SGD", {"learning_rate": 0.1, "clipvalue": 0.5}),
    ("SGD", {"learning_rate": 0.1, "global_clipnorm": 2.0}),
    ("SGD", {"learning_rate": exponential, "momentum": 0.5}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.5, "gradient_accumulation_steps": 2}),
    ("SGD", {"learning_rate": 0.1, "use_ema": True, "ema_overwrite_frequency": 2}),
    ("Adam", {}),
    ("Adam", {"learning_rate": 0.05, "amsgrad": True}),
    ("Adam", {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-3}),
    ("Adam", {"learning_rate": 0.05, "weight_decay": 0.1}),
    ("Adam", {"learning_rate": 0.05, "clipnorm": 0.5}),
    ("Adam", {"learning_rate": 0.05, "global_clipnorm": 1.0}),
    ("Adam", {"learning_rate": cosine}),
    ("Adam", {"learning_rate": piecewise, "weight_decay": 0.2}),
    ("Adam", {"learning_rate": 0.05, "gradient_accumulation_steps": 2}),
    ("Adam", {"learning_rate": 0.05, "use_ema": True, "ema_momentum": 0.5}),
    ("Adam", {"learning_rate": 0.05, "loss_scale_factor": 8.0}),
    ("AdamW", {}),
    ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.3, "amsgrad": True}),
    ("AdamW", {"learning_rate": exponential, "clipvalue": 0.3}),
    ("RMSprop", {}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.9}),
    ("RMSprop", {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.5, "centered": True}),
    ("RMSprop", {"learning_rate": 0.01, "weight_decay": 0.1, "global_clipnorm": 3.0}),
    ("Adagrad", {}),
    ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "epsilon": 1e-3}),
    ("Adagrad", {"learning_rate": 0.1, "gradient_accumulation_steps": 3}),
    ("Adadelta", {"learning_rate": 1.0}),
    ("Adadelta", {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-4, "clipnorm": 2.0}),
    ("Adamax", {}),
    ("Adamax", {"learning_rate": exponential, "beta_2": 0.9}),
    ("Adamax", {"learning_rate": 0.05, "use_ema": True}),
    ("Nadam", {}),
    ("Nadam", {"learning_rate": 0.05, "weight_decay": 0.1}),
    ("Nadam", {"learning_rate": cosine}),
    ("Nadam", {"learning_rate": 0.05, "gradient_accumulation_steps": 2}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


def make(module, class_name, kwargs, **extra):
    kwargs = {k: (v(module) if callable(v) else v) for k, v in {**kwargs, **extra}.items()}
    return getattr(module.optimizers, class_name)(**kwargs)


def keras_run(name, kwargs):
    optimizer = make(keras, name, kwargs)
    variables = [keras.Variable(v, name=n) for n, v in zip(SHAPES, INITIAL)]
    optimizer.build(variables)
    history = []
    for grads in GRADS:
        optimizer.apply_gradients(zip([torch.tensor(g) for g in grads], variables))
        history.append([keras.ops.convert_to_numpy(v).copy() for v in variables])
    return optimizer, variables, history


def our_run(name, kwargs):
    optimizer = make(sepconv, name, kwargs)
    params = [torch.nn.Parameter(torch.tensor(v)) for v in INITIAL]
    optimizer.build(params)
    history = []
    for grads in GRADS:
        for param, grad in zip(params, grads):
            param.grad = torch.tensor(grad)
        optimizer.step()
        history.append([p.detach().numpy().copy() for p in params])
    return optimizer, params, history


def assert_same(got, expected, what):
    for name, a, b in zip(SHAPES, got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=0, err_msg=f"{what}: {name}")


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_updates_equal_keras(name, kwargs):
    reference, keras_vars, expected = keras_run(name, kwargs)
    optimizer, params, got = our_run(name, kwargs)
    for step, (a, b) in enumerate(zip(got, expected)):
        assert_same(a, b, f"after step {step + 1}")
    assert not np.allclose(got[-1][0], INITIAL[0], rtol=1e-4), "the variables did not move"
    assert optimizer.iterations == int(reference.iterations)
    assert optimizer.learning_rate == pytest.approx(float(reference.learning_rate), rel=1e-7)
    if kwargs.get("use_ema"):
        reference.finalize_variable_values(keras_vars)
        optimizer.finalize_variable_values()
        assert_same([p.detach().numpy() for p in params],
                    [keras.ops.convert_to_numpy(v) for v in keras_vars], "EMA finalized")


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_config_equals_keras(name, kwargs):
    mine = make(sepconv, name, kwargs, name="opt")
    reference = make(keras, name, kwargs, name="opt")
    assert mine.get_config() == reference.get_config()
    rebuilt = ours.deserialize(theirs.serialize(reference))
    assert type(rebuilt) is type(mine) and rebuilt.get_config() == mine.get_config()
    serialized = ours.serialize(mine)
    assert serialized["class_name"] == name and serialized["module"] == "keras.optimizers"
    assert theirs.deserialize(serialized).get_config() == reference.get_config()
    assert type(mine).from_config(mine.get_config()).get_config() == mine.get_config()


def test_keras_defaults_and_names():
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam"):
        mine, reference = getattr(ours, name)(), getattr(theirs, name)()
        mine_config, reference_config = mine.get_config(), reference.get_config()
        assert mine_config.pop("name").split("_")[0] == reference_config.pop("name").split("_")[0]
        assert mine_config == reference_config


def test_exclude_from_weight_decay_equals_keras():
    def run_keras(**exclude):
        optimizer = theirs.AdamW(learning_rate=0.05, weight_decay=0.5)
        variables = [keras.Variable(v, name=n) for n, v in zip(SHAPES, INITIAL)]
        optimizer.exclude_from_weight_decay(
            var_list=[variables[i] for i in exclude.get("indices", [])],
            var_names=exclude.get("names"))
        optimizer.build(variables)
        optimizer.apply_gradients(zip([torch.tensor(g) for g in GRADS[0]], variables))
        return [keras.ops.convert_to_numpy(v) for v in variables]

    def run_ours(**exclude):
        optimizer = ours.AdamW(learning_rate=0.05, weight_decay=0.5)
        params = [torch.nn.Parameter(torch.tensor(v)) for v in INITIAL]
        optimizer.exclude_from_weight_decay(
            var_list=[params[i] for i in exclude.get("indices", [])],
            var_names=exclude.get("names"))
        optimizer.build(list(zip(SHAPES, params)))
        for param, grad in zip(params, GRADS[0]):
            param.grad = torch.tensor(grad)
        optimizer.step()
        return [p.detach().numpy() for p in params]

    for exclude in ({"names": ["bias", "sca"]}, {"indices": [0, 2]}, {}):
        assert_same(run_ours(**exclude), run_keras(**exclude), f"excluded {exclude}")
    with_names, without = run_ours(names=["bias"]), run_ours()
    assert np.array_equal(with_names[0], without[0])
    assert not np.array_equal(with_names[1], without[1])


def test_exclude_by_name_needs_names():
    optimizer = ours.AdamW()
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    weight = torch.nn.Parameter(torch.ones(2))
    optimizer.build([weight])
    weight.grad = torch.ones(2)
    expect_error(optimizer.step, "named_parameters", "without a name")


def test_sepconv_variables_are_matched_by_name():
    layer = sepconv.layers.Dense(2)
    layer.build((None, 3))
    optimizer = ours.SGD(learning_rate=0.1, weight_decay=0.5)
    optimizer.exclude_from_weight_decay(var_names=["kernel"])
    optimizer.build(layer.parameters())
    kernel, bias = layer.kernel.detach().clone(), torch.ones(2)
    with torch.no_grad():
        layer.bias.copy_(bias)
    for p in layer.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    assert torch.equal(layer.kernel.detach(), kernel)
    assert torch.allclose(layer.bias.detach(), bias * (1 - 0.05))


@pytest.mark.parametrize("identifier,cls", [
    ("adam", "Adam"), ("Adam", "Adam"), ("ADAM", "Adam"), ("sgd", "SGD"), ("SGD", "SGD"),
    ("rmsprop", "RMSprop"), ("RMSprop", "RMSprop"), ("adamw", "AdamW"), ("adagrad", "Adagrad"),
    ("adadelta", "Adadelta"), ("adamax", "Adamax"), ("nadam", "Nadam"),
])
def test_get_by_name_matches_keras(identifier, cls):
    mine, reference = ours.get(identifier), theirs.get(identifier)
    assert type(mine).__name__ == cls and isinstance(mine, torch.optim.Optimizer)
    mine_config, reference_config = mine.get_config(), reference.get_config()
    mine_config.pop("name"), reference_config.pop("name")
    assert mine_config == reference_config


def test_get_other_identifiers():
    instance = ours.Adam()
    assert ours.get(instance) is instance
    plain = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)
    assert ours.get(plain) is plain
    assert ours.get(None) is None
    assert isinstance(ours.get(ours.Nadam), ours.Nadam)
    config = {"class_name": "SGD", "config": {"learning_rate": 0.5, "momentum": 0.5}}
    assert ours.get(config).get_config()["momentum"] == 0.5
    assert ours.get({"class_name": "sgd", "config": {}}).__class__ is ours.SGD
    expect_error(lambda: ours.get("adm"), "adm", "adm")
    expect_error(lambda: ours.get(3), "optimizer", "identifier=3")
    expect_error(lambda: ours.get(torch.optim.SGD), "optimizer", "SGD")
    expect_error(lambda: ours.get({"class_name": "Nope", "config": {}}), "Nope", "Nope")


def test_post_hook_runs_after_step_and_constraints_attach():
    weight = torch.nn.Parameter(torch.ones(2))
    optimizer = ours.SGD(learning_rate=1.0)
    seen = []
    optimizer.register_step_post_hook(lambda opt, args, kwargs: seen.append(
        weight.detach().clone()))
    optimizer.build([weight])
    weight.grad = torch.tensor([2.0, 0.5])
    optimizer.step()
    assert len(seen) == 1 and torch.equal(seen[0], torch.tensor([-1.0, 0.5]))

    layer = sepconv.layers.Conv2D(2, 1, kernel_constraint="non_neg")
    layer.build((None, 3, 3, 1))
    optimizer = ours.Adam(learning_rate=1.0)
    optimizer.build(layer.parameters())
    sepconv.constraints.attach(optimizer, layer)
    layer(torch.ones(1, 3, 3, 1)).sum().backward()
    optimizer.step()
    assert bool((layer.kernel >= 0).all())


def _numpy(variables):
    return [keras.ops.convert_to_numpy(v) if isinstance(v, keras.Variable)
            else v.detach().cpu().numpy() for v in variables]


def _assert_variables_equal(got, expected, rtol=0.0):
    assert len(got) == len(expected)
    for index, (a, b) in enumerate(zip(_numpy(got), _numpy(expected))):
        assert a.dtype == b.dtype and a.shape == b.shape, f"variable {index}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=0, err_msg=f"variable {index}")


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_variables_equal_keras(name, kwargs):
    """Keras's optimizer-variable list (what .keras files hold): the same
    entries in the same order, dtypes and values, unbuilt and after steps;
    each side's saved variables load into the other."""
    assert len(make(sepconv, name, kwargs).variables) == len(make(keras, name, kwargs).variables)
    reference, _, _ = keras_run(name, kwargs)
    optimizer, _, _ = our_run(name, kwargs)
    _assert_variables_equal(optimizer.variables, reference.variables, rtol=1e-6)

    keras_store = {}
    reference.save_own_variables(keras_store)
    mine = make(sepconv, name, kwargs)
    mine.build([torch.nn.Parameter(torch.tensor(v)) for v in INITIAL])
    mine.load_own_variables(keras_store)
    _assert_variables_equal(mine.variables, reference.variables)
    assert mine.iterations == int(reference.iterations)

    our_store = {}
    optimizer.save_own_variables(our_store)
    other = make(keras, name, kwargs)
    other.build([keras.Variable(v, name=n) for n, v in zip(SHAPES, INITIAL)])
    other.load_own_variables(our_store)
    _assert_variables_equal(other.variables, optimizer.variables)


def test_loading_variables_warns_or_refuses_as_keras():
    store = {}
    optimizer, _, _ = our_run("Adam", {"learning_rate": 0.05})
    optimizer.save_own_variables(store)
    for lib in (keras, sepconv):  # an unbuilt optimizer: only the step count and the rate
        with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
            make(lib, "Adam", {}).load_own_variables(store)
    bad = dict(store, **{"2": np.zeros((2, 2), np.float32)})
    mine = make(sepconv, "Adam", {})
    mine.build([torch.nn.Parameter(torch.tensor(v)) for v in INITIAL])
    expect_error(lambda: mine.load_own_variables(bad), "momentum", r"shape \(2, 2\)")
    assert mine.iterations == 0  # nothing assigned before the check


@pytest.mark.parametrize("name,kwargs", [
    ("Adam", {"amsgrad": True}), ("Nadam", {}), ("SGD", {"momentum": 0.9}),
    ("RMSprop", {"centered": True, "momentum": 0.5}),
    ("Adam", {"use_ema": True, "gradient_accumulation_steps": 2}),
])
def test_state_dict_round_trip(name, kwargs):
    def fresh():
        params = [torch.nn.Parameter(torch.tensor(v)) for v in INITIAL]
        optimizer = getattr(ours, name)(learning_rate=0.05, **kwargs)
        optimizer.build(params)
        return optimizer, params

    def step(optimizer, params, grads):
        for param, grad in zip(params, grads):
            param.grad = torch.tensor(grad)
        optimizer.step()

    first, first_params = fresh()
    for grads in GRADS[:3]:
        step(first, first_params, grads)
    saved = copy.deepcopy(first.state_dict())
    second, second_params = fresh()
    with torch.no_grad():
        for a, b in zip(second_params, first_params):
            a.copy_(b)
    second.load_state_dict(saved)
    assert second.iterations == first.iterations
    for grads in GRADS[3:]:
        step(first, first_params, grads)
        step(second, second_params, grads)
    for a, b in zip(first_params, second_params):
        assert torch.equal(a, b)
    expect_error(lambda: second.load_state_dict(torch.optim.SGD(second_params).state_dict()),
                 "keras", "state_dict keys")


def test_learning_rate_property_and_setter():
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = ours.SGD(learning_rate=0.1)
    assert optimizer.learning_rate == float(np.float32(0.1))
    optimizer.learning_rate = 0.5
    optimizer.build([weight])
    assert [g["lr"] for g in optimizer.param_groups] == [0.5]
    optimizer.learning_rate = 0.25
    assert optimizer.param_groups[0]["lr"] == 0.25 and optimizer.learning_rate == 0.25
    weight.grad = torch.ones(1)
    optimizer.step()
    assert weight.item() == -0.25
    optimizer.param_groups[0]["lr"] = 1.0
    optimizer.step()
    assert weight.item() == -1.25 and optimizer.learning_rate == 1.0
    expect_error(lambda: setattr(optimizer, "learning_rate", -1.0), "learning_rate",
                 "learning_rate=-1.0")

    scheduled = ours.Adam(learning_rate=ours.schedules.ExponentialDecay(0.1, 1, 0.5))
    with pytest.raises(TypeError, match="not settable"):
        scheduled.learning_rate = 0.1
    scheduled.build([weight])
    assert scheduled.learning_rate == pytest.approx(0.1)
    scheduled.step()
    assert scheduled.learning_rate == pytest.approx(0.05)
    assert scheduled.param_groups[0]["lr"] == pytest.approx(0.1)


def test_torch_lr_scheduler_drives_a_float_rate():
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = ours.SGD(learning_rate=1.0)
    optimizer.build([weight])
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    for _ in range(3):
        weight.grad = torch.ones(1)
        optimizer.step()
        scheduler.step()
    assert weight.item() == -(1.0 + 0.5 + 0.25)
    assert optimizer.learning_rate == 0.125


def test_param_groups_with_their_own_rates():
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    optimizer = ours.SGD(learning_rate=1.0)
    optimizer.build([{"params": [a]}, {"params": [b], "lr": 0.5}])
    a.grad, b.grad = torch.ones(1), torch.ones(1)
    optimizer.step()
    assert (a.item(), b.item()) == (-1.0, -0.5)
    expect_error(lambda: optimizer.add_param_group({"params": [torch.nn.Parameter(
        torch.ones(1))], "momentum": 0.9}), "param group", "momentum")


def test_torch_optimizer_behaviour():
    weight = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    optimizer = ours.Adam(learning_rate=0.1)
    assert not optimizer.built
    expect_error(optimizer.step, "build", "unbuilt")
    optimizer.build([weight])
    assert optimizer.built and isinstance(optimizer, torch.optim.Optimizer)
    optimizer.build([weight])  # the same parameters again: nothing happens
    expect_error(lambda: optimizer.build([torch.nn.Parameter(torch.ones(1))]),
                 "already built", "length 1")
    expect_error(optimizer.step, "No gradients", "None")

    def closure():
        optimizer.zero_grad()
        loss = (weight ** 2).sum()
        loss.backward()
        return loss

    assert optimizer.step(closure).item() == 5.0
    assert optimizer.iterations == 1 and weight.grad is not None
    optimizer.zero_grad()
    assert weight.grad is None
    assert "Adam" in repr(optimizer)
    assert "not built" in repr(ours.SGD(name="s"))


def test_loss_scaling_and_accumulated_iterations():
    optimizer = ours.SGD(loss_scale_factor=4.0, gradient_accumulation_steps=2)
    assert optimizer.scale_loss(torch.tensor(2.0)).item() == 8.0
    assert ours.SGD().scale_loss(3.0) == 3.0
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer.build([weight])
    counts = []
    for _ in range(4):
        weight.grad = torch.ones(1)
        optimizer.step()
        counts.append(optimizer.iterations)
    assert counts == [0, 1, 1, 2]


@pytest.mark.parametrize("build,argument,received", [
    (lambda: ours.SGD(learning_rate=1), "learning_rate", "learning_rate=1"),
    (lambda: ours.SGD(learning_rate="0.1"), "learning_rate", "'0.1'"),
    (lambda: ours.SGD(learning_rate=-0.1), "learning_rate", "learning_rate=-0.1"),
    (lambda: ours.SGD(momentum=1.5), "momentum", "momentum=1.5"),
    (lambda: ours.SGD(momentum=1), "momentum", "momentum=1"),
    (lambda: ours.SGD(nesterov="yes"), "nesterov", "'yes'"),
    (lambda: ours.Adam(clipnorm=1.0, clipvalue=1.0), "clipnorm", "clipvalue=1.0"),
    (lambda: ours.Adam(global_clipnorm=1.0, clipnorm=1.0), "global_clipnorm", "clipnorm=1.0"),
    (lambda: ours.Adam(clipnorm=-1.0), "clipnorm", "clipnorm=-1.0"),
    (lambda: ours.Adam(beta_1=1.0), "beta_1", "beta_1=1.0"),
    (lambda: ours.Adam(epsilon=-1e-7), "epsilon", "epsilon=-1e-07"),
    (lambda: ours.Adam(amsgrad=1), "amsgrad", "amsgrad=1"),
    (lambda: ours.AdamW(weight_decay=None), "weight_decay", "weight_decay=None"),
    (lambda: ours.RMSprop(rho=2.0), "rho", "rho=2.0"),
    (lambda: ours.Adagrad(initial_accumulator_value=-1.0), "initial_accumulator_value",
     "=-1.0"),
    (lambda: ours.Adam(use_ema=True, ema_momentum=1.5), "ema_momentum", "ema_momentum=1.5"),
    (lambda: ours.Adam(use_ema=True, ema_overwrite_frequency=0), "ema_overwrite_frequency",
     "ema_overwrite_frequency=0"),
    (lambda: ours.Adam(gradient_accumulation_steps=1), "gradient_accumulation_steps",
     "gradient_accumulation_steps=1"),
    (lambda: ours.Adam(gradient_accumulation_steps=2.0), "gradient_accumulation_steps",
     "=2.0"),
    (lambda: ours.Adam(loss_scale_factor=0.0), "loss_scale_factor", "loss_scale_factor=0.0"),
    (lambda: ours.Adam(foo=1), "not recognized", "foo"),
])
def test_bad_arguments(build, argument, received):
    expect_error(build, argument, received)


def test_keras_refuses_the_same_arguments():
    for build in (lambda: theirs.SGD(learning_rate=1), lambda: theirs.SGD(momentum=1.5),
                  lambda: theirs.Adam(clipnorm=1.0, clipvalue=1.0),
                  lambda: theirs.AdamW(weight_decay=None),
                  lambda: theirs.Adam(gradient_accumulation_steps=1),
                  lambda: theirs.Adam(use_ema=True, ema_momentum=1.5),
                  lambda: theirs.Adam(foo=1)):
        with pytest.raises(ValueError):
            build()


def test_public_namespace():
    assert sepconv.optimizers.schedules.ExponentialDecay is ours.schedules.ExponentialDecay
    from sepconv.optimizers import schedules

    assert schedules is ours.schedules
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam",
                 "Optimizer", "get", "serialize", "deserialize"):
        assert hasattr(theirs, name) and hasattr(ours, name)


def half_rate():
    return 0.05


def test_callable_learning_rate_equals_keras():
    reference, _, expected = keras_run("Adam", {"learning_rate": lambda module: half_rate})
    optimizer, _, got = our_run("Adam", {"learning_rate": lambda module: half_rate})
    for a, b in zip(got, expected):
        assert_same(a, b, "callable learning rate")
    assert optimizer.learning_rate == pytest.approx(0.05)


def test_deepcopy_gives_an_independent_optimizer():
    weight = torch.nn.Parameter(torch.ones(2))
    optimizer = ours.SGD(learning_rate=0.5, momentum=0.5)
    optimizer.build([weight])
    weight.grad = torch.ones(2)
    optimizer.step()
    clone = copy.deepcopy(optimizer)
    assert clone.iterations == 1 and clone.get_config() == optimizer.get_config()
    assert clone.param_groups[0]["params"][0] is not weight


@pytest.mark.parametrize("beta_1, beta_2", [(0.9, 0.999), (0.5, 0.95)])
def test_adam_step_size_equals_keras_float32_operations(beta_1, beta_2):
    """Adam's step size comes from a table of bias corrections made 256
    steps at a time: bitwise what Keras's operations on float32 0-d tensors
    give, across table boundaries, far-off steps and a changed beta."""
    optimizer = ours.Adam(0.01, beta_1=beta_1, beta_2=beta_2)
    lr = torch.tensor(0.003)
    for iterations in [*range(600), 5000, 123456, 7]:
        if iterations == 123456:
            optimizer.beta_2 = 0.9
        optimizer._iterations = iterations
        step = torch.tensor(iterations + 1, dtype=torch.float32)
        beta_1_power = torch.pow(torch.tensor(optimizer.beta_1), step)
        beta_2_power = torch.pow(torch.tensor(optimizer.beta_2), step)
        expected = lr * torch.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        assert optimizer._alpha(lr, torch.float32) == expected.item(), iterations
