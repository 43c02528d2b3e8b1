"""Run by tests/training/test_distributed.py under torchrun: every process
builds the same model, fits it on its shard and writes its final weights and
history to OUT/rank<R>.npz."""

import os
import sys

import numpy as np
import torch

import sepconv


def main(out_dir):
    torch.manual_seed(0)  # the same initial weights everywhere (DDP broadcasts anyway)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 6, 6, 2)).astype("float32")
    y = (x[..., 0].mean(axis=(1, 2)) > 0).astype("int64")
    model = sepconv.Sequential([
        sepconv.Input((6, 6, 2)),
        sepconv.layers.SeparableConv2D(4, 3, padding="same"),
        sepconv.layers.BatchNormalization(),
        sepconv.layers.ReLU(),
        sepconv.layers.GlobalAveragePooling2D(),
        sepconv.layers.Dense(2, activation="softmax"),
    ])
    model.compile(optimizer=sepconv.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=8, epochs=4, verbose=0)
    rank = torch.distributed.get_rank()
    np.savez(os.path.join(out_dir, f"rank{rank}.npz"), loss=np.array(history.history["loss"]),
             world=torch.distributed.get_world_size(),
             **{f"w{i}": w for i, w in enumerate(model.get_weights())})


if __name__ == "__main__":
    main(sys.argv[1])
