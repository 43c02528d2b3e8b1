"""Time one epoch of ``model.fit`` on the demo network against an equivalent
hand-written PyTorch training loop (same network, optimizer settings, data,
batch size and per-step loss and accuracy bookkeeping).

Each run is one ``fit(epochs=...)`` call. A callback times every fit epoch
(from ``on_epoch_begin`` to ``on_epoch_end``: everything fit does per epoch)
and trains one epoch with the hand loop next to it, under the same machine
load: before the fit epoch on even epochs, after it on odd ones, so that
neither side always runs right after the other. Both train the same model
(the hand loop with its own torch.optim.Adam), so both run on the same
weights in the same memory: separate copies of a network can differ in
speed by a few percent on their own. The first pair of each run is a
warm-up. Prints each run's median seconds per epoch and the median over all
pairs of the ratio loop / fit (>= 1 means fit is not slower).

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
    """(fit seconds, hand-loop seconds) of each epoch pair after the warm-up."""
    split = load_digits(seed=0)
    x, y = torch.from_numpy(split.x_train), torch.from_numpy(split.y_train)
    fit_model = build_network(x.shape[1:], 10)
    fit_model.compile(optimizer=sepconv.optimizers.Adam(0.003),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loop_optimizer = torch.optim.Adam(fit_model.parameters(), lr=0.003, eps=1e-7)
    timer = PairedEpochTimer(lambda: hand_loop_epoch(fit_model, loop_optimizer, x, y,
                                                     batch_size))
    fit_model.fit(x.numpy(), y.numpy(), batch_size=batch_size, epochs=epochs + 1, verbose=0,
                  callbacks=[timer])
    return timer.fit_seconds[1:], timer.loop_seconds[1:]


class PairedEpochTimer(sepconv.callbacks.Callback):
    """Times every fit epoch and one epoch of ``hand_loop_epoch()`` next to
    it: before it on even epochs, after it on odd ones."""

    def __init__(self, hand_loop_epoch):
        super().__init__()
        self.hand_loop_epoch = hand_loop_epoch
        self.fit_seconds, self.loop_seconds = [], []

    def _time_hand_loop(self):
        start = time.perf_counter()
        self.hand_loop_epoch()
        self.loop_seconds.append(time.perf_counter() - start)

    def on_epoch_begin(self, epoch, logs=None):
        if epoch % 2 == 0:
            self._time_hand_loop()
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.fit_seconds.append(time.perf_counter() - self._start)
        if epoch % 2 == 1:
            self._time_hand_loop()


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
        ratios += [loop / fit for fit, loop in zip(fit_seconds, loop_seconds)]
        fit_median, loop_median = statistics.median(fit_seconds), statistics.median(loop_seconds)
        print(f"| {run_index + 1} | {fit_median:.3f} | {loop_median:.3f} | "
              f"{loop_median / fit_median:.2f} |")
    print(f"median loop / fit ratio over {len(ratios)} epoch pairs: "
          f"{statistics.median(ratios):.3f}")

if __name__ == "__main__":
    main()
