"""Run by tests/training/test_distributed.py under torchrun: join the group,
sum two tensors over all processes, check the sums and exit right away (the
collective is the last thing before interpreter shutdown)."""

import torch

from sepconv.training import distributed

if __name__ == "__main__":
    assert distributed.initialize_from_environment()
    world = distributed.world_size()
    floats, ints = distributed.all_reduce_sum([torch.ones(3), torch.arange(4)])
    assert floats.dtype == torch.float32 and ints.dtype == torch.int64
    assert floats.tolist() == [float(world)] * 3, floats
    assert ints.tolist() == [0, world, 2 * world, 3 * world], ints
