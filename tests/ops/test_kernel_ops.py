"""sepconv's C kernels as torch.library operators: sepconv.ops with the
kernels on gives PyTorch's outputs and gradients (whichever tensors want
them), torch.library's own checks pass on the operators (schemas, fake
implementations, autograd registration), and torch.compile traces them."""

from __future__ import annotations

import pytest
import torch

import sepconv
from sepconv import ops
from sepconv.ops.kernels import custom_ops  # noqa: F401  (registers torch.ops.sepconv)
from keras_reference import kernels_on

CASES = [
    # (N, H, W, C, kernel, multiplier, filters, strides, dilation, padding)
    (2, 9, 8, 5, (3, 3), 1, 7, (1, 1), (1, 1), "same"),
    (1, 10, 11, 17, (3, 3), 2, 33, (2, 2), (1, 1), "same"),
    (2, 7, 7, 3, (5, 5), 3, 4, (1, 1), (1, 1), "valid"),
    (1, 9, 9, 16, (3, 3), 1, 16, (1, 1), (2, 2), "same"),
]


def tensors(case, bias=True, seed=0):
    n, h, w, c, kernel, m, f, *_ = case
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, h, w, c, generator=generator)
    depthwise = torch.randn(*kernel, c, m, generator=generator)
    pointwise = torch.randn(1, 1, c * m, f, generator=generator)
    b = torch.randn(f, generator=generator) if bias else None
    return x, depthwise, pointwise, b


def grads(fn, inputs, weights):
    """fn's output and the gradients of sum(out * r) w.r.t. the tensors of
    ``inputs`` that want one."""
    inputs = [None if t is None else t.clone().requires_grad_(want)
              for t, want in zip(inputs, weights)]
    out = fn(*inputs)
    r = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    wanted = [t for t in inputs if t is not None and t.requires_grad]
    return out, torch.autograd.grad((out * r).sum(), wanted)


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("wants", [(True, True, True, True), (False, True, True, True),
                                   (False, False, True, False)], ids=str)
def test_separable_gradients_match_pytorch(case, wants):
    *_, strides, dilation, padding = case
    inputs = tensors(case)

    def separable(x, depthwise, pointwise, bias):
        return ops.separable_conv(x, depthwise, pointwise, bias, strides, padding, dilation)

    expected_out, expected = grads(separable, inputs, wants)
    with kernels_on():
        out, got = grads(separable, inputs, wants)
    torch.testing.assert_close(out, expected_out, rtol=1e-5, atol=1e-4)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-3 * e.abs().max().item())


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_depthwise_gradients_match_pytorch(case, bias):
    *_, strides, dilation, padding = case
    x, depthwise, _, _ = tensors(case)
    b = torch.randn(depthwise.shape[-2] * depthwise.shape[-1]) if bias else None

    def depthwise_conv(x, kernel, bias):
        return ops.depthwise_conv(x, kernel, bias, strides, padding, dilation)

    expected_out, expected = grads(depthwise_conv, (x, depthwise, b), (True, True, True))
    with kernels_on():
        out, got = grads(depthwise_conv, (x, depthwise, b), (True, True, True))
    torch.testing.assert_close(out, expected_out, rtol=1e-5, atol=1e-4)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-3 * e.abs().max().item())


def test_operators_pass_torch_library_checks():
    x, depthwise, pointwise, bias = tensors(CASES[1])
    pointwise = pointwise.reshape(pointwise.shape[-2:])
    for t in (x, depthwise, pointwise, bias):
        t.requires_grad_()
    torch.library.opcheck(torch.ops.sepconv.separable_conv2d.default,
                          (x, depthwise, pointwise, bias, [2, 2], [1, 1], "same"))
    torch.library.opcheck(torch.ops.sepconv.separable_conv2d.default,
                          (x, depthwise, pointwise, None, [1, 1], [1, 1], "valid"))
    depthwise_bias = torch.randn(depthwise.shape[-2] * depthwise.shape[-1], requires_grad=True)
    torch.library.opcheck(torch.ops.sepconv.depthwise_conv2d.default,
                          (x, depthwise, depthwise_bias, [2, 2], [1, 1], "same"))


def test_torch_compile_traces_the_operators_in_one_graph():
    """fullgraph=True: no graph break; the forward graph calls the forward
    operators and the backward graph their backward operators."""
    from functorch.compile import make_boxed_func
    from torch._dynamo.backends.common import aot_autograd

    case = CASES[0]
    *_, strides, dilation, padding = case
    x, depthwise, pointwise, bias = (t.requires_grad_() for t in tensors(case))
    second = torch.randn(3, 3, pointwise.shape[-1], 2, requires_grad=True)
    weights = [depthwise, pointwise, second]

    def block(x):
        y = ops.separable_conv(x, depthwise, pointwise, bias, strides, padding, dilation)
        return ops.depthwise_conv(torch.relu(y), second, None, 2, "same", 1)

    called = set()

    def record(graph, example_inputs):
        called.update(str(node.target) for node in graph.graph.nodes
                      if node.op == "call_function")
        return make_boxed_func(graph.forward)

    torch._dynamo.reset()
    with kernels_on():
        expected = block(x)
        expected_grads = torch.autograd.grad(expected.square().sum(), [x] + weights)
        compiled = torch.compile(block, fullgraph=True,
                                 backend=aot_autograd(fw_compiler=record, bw_compiler=record))
        out = compiled(x)
        got = torch.autograd.grad(out.square().sum(), [x] + weights)
    assert {"sepconv.separable_conv2d.default", "sepconv.depthwise_conv2d.default",
            "sepconv.separable_conv2d_backward.default",
            "sepconv.depthwise_conv2d_backward.default"} <= called, sorted(called)
    torch.testing.assert_close(out, expected)
    for g, e in zip(got, expected_grads):
        torch.testing.assert_close(g, e)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_layers_train_through_the_kernels(jit_compile, monkeypatch, recwarn):
    """A MobileNet-style block fits with the kernels on (their backward
    kernels running, eagerly or in a torch.compile graph without a graph
    break) to the weights it reaches with them off (float32 rounding apart)."""
    from sepconv.ops import kernels

    backward_calls = []
    original = kernels.separable_conv2d_backward
    monkeypatch.setattr(kernels, "separable_conv2d_backward",
                        lambda *a, **k: backward_calls.append(1) or original(*a, **k))

    def fitted(kernels_on):
        torch.manual_seed(0)
        torch._dynamo.reset()
        model = sepconv.Sequential([
            sepconv.Input((8, 8, 3)),
            sepconv.layers.SeparableConv2D(8, 3, padding="same", activation="relu"),
            sepconv.layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2),
            sepconv.layers.GlobalAveragePooling2D(),
            sepconv.layers.Dense(2, activation="softmax"),
        ])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                      jit_compile=jit_compile)
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(16, 8, 8, 3, generator=generator).numpy()
        y = (x[..., 0].mean(axis=(1, 2)) > 0).astype("int64")
        # loaded again inside the first trace: dynamo must not trace the loading
        monkeypatch.setitem(kernels._state, "libraries", {})
        with kernels.switched(kernels_on):
            model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
        return model.get_weights()

    with_kernels = fitted(True)
    assert len(backward_calls) == 8  # 2 epochs x 4 batches
    for on, off in zip(with_kernels, fitted(False)):
        torch.testing.assert_close(torch.tensor(on), torch.tensor(off), rtol=1e-4, atol=1e-5)
    assert not [w for w in recwarn if "Dynamo" in str(w.message) or "graph break" in
                str(w.message).lower()], [str(w.message)[:200] for w in recwarn]


@pytest.mark.parametrize("class_name, kwargs", [
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3, "padding": "same"}),
    ("DepthwiseConv2D", {"kernel_size": 3, "padding": "same", "depth_multiplier": 2,
                         "strides": 2}),
])
def test_second_derivatives_through_the_kernels(class_name, kwargs):
    """A gradient penalty (the gradient of a norm of an input gradient)
    differentiates the backward operators: the same as PyTorch's path."""
    def penalty_grads(kernels):
        torch.manual_seed(0)
        layer = getattr(sepconv.layers, class_name)(**kwargs)
        x = torch.randn(2, 6, 6, 3, requires_grad=True)
        layer(x)
        with sepconv.ops.kernels.switched(kernels):
            grad, = torch.autograd.grad(layer(x).square().sum(), x, create_graph=True)
            return torch.autograd.grad(grad.square().sum(), [x] + list(layer.trainable_weights))

    for got, expected in zip(penalty_grads(True), penalty_grads(False)):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
