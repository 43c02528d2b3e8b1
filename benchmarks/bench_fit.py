"""Time one epoch of ``model.fit`` on the demo network against an equivalent
hand-written PyTorch training loop (same model object, optimizer, data,
batch size and per-step accuracy bookkeeping).

Each run trains both contenders ``--epochs`` epochs in one process, one
``fit(epochs=...)`` call timed epoch by epoch by a callback (from
``on_epoch_begin`` to ``on_epoch_end``: everything fit does per epoch), then
the hand loop epoch by epoch; the first epoch of each is a warm-up. Prints
the median seconds per epoch and the ratio loop / fit (>= 1 means fit is not
slower).

    python benchmarks/bench_fit.py --epochs 9 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import sepconv
from sepconv.demo.data import load_digits
from sepconv.demo.networks import build_network


def hand_loop_epoch(model, optimizer, x, y, batch_size):
    """What a PyTorch user writes: shuffle, forward, loss, backward, step,
    running loss and accuracy."""
    model.train()
    order = torch.randperm(len(x))
    total_loss, correct = 0.0, 0
    for start in range(0, len(x), batch_size):
        index = order[start:start + batch_size]
        xb, yb = x[index], y[index]
        probabilities = model(xb, training=True)
        loss = torch.nn.functional.nll_loss(torch.log(probabilities.clamp_min(1e-7)), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += float(loss.detach()) * len(index)
        correct += int((probabilities.argmax(-1) == yb).sum())
    return total_loss / len(x), correct / len(x)


def run(epochs, batch_size):
    split = load_digits(seed=0)
    x, y = torch.from_numpy(split.x_train), torch.from_numpy(split.y_train)
    fit_model = build_network(x.shape[1:], 10)
    fit_model.compile(optimizer=sepconv.optimizers.Adam(0.003),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loop_model = build_network(x.shape[1:], 10)
    loop_optimizer = torch.optim.Adam(loop_model.parameters(), lr=0.003, eps=1e-7)
    timer = EpochTimer()
    fit_model.fit(x.numpy(), y.numpy(), batch_size=batch_size, epochs=epochs + 1, verbose=0,
                  callbacks=[timer])
    loop_times = []
    for _ in range(epochs + 1):
        start = time.perf_counter()
        hand_loop_epoch(loop_model, loop_optimizer, x, y, batch_size)
        loop_times.append(time.perf_counter() - start)
    # the first epoch of each warms up
    return statistics.median(timer.seconds[1:]), statistics.median(loop_times[1:])


class EpochTimer(sepconv.callbacks.Callback):
    """Seconds from the start to the end of every epoch of a fit."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=9)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    torch.manual_seed(0)
    np.random.seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"batch size {args.batch_size}")
    print("| run | fit s/epoch | hand loop s/epoch | loop / fit |")
    print("|---|---|---|---|")
    ratios = []
    for run_index in range(args.runs):
        fit_seconds, loop_seconds = run(args.epochs, args.batch_size)
        ratios.append(loop_seconds / fit_seconds)
        print(f"| {run_index + 1} | {fit_seconds:.3f} | {loop_seconds:.3f} | {ratios[-1]:.2f} |")
    print(f"median loop / fit ratio: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
