"""Where this process stands in a ``torch.distributed`` run.

Without an initialised process group (the usual single-process case) this is
rank 0 of a world of 1, so code can ask the same questions either way:

>>> rank(), world_size(), is_rank_zero()
(0, 1, True)
>>> import torch
>>> all_reduce_sum([torch.tensor([1.0, 2.0])])
[tensor([1., 2.])]
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def initialize_from_environment():
    """Join the process group ``torchrun`` describes (``WORLD_SIZE`` > 1 and
    ``MASTER_ADDR`` in the environment) unless one is already initialised:
    gloo on CPU, nccl when CUDA is available. Returns whether distributed."""
    if dist.is_available() and not dist.is_initialized() \
            and int(os.environ.get("WORLD_SIZE", "1")) > 1 and "MASTER_ADDR" in os.environ:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend=backend)
    return is_distributed()


def is_distributed():
    """Whether a process group with more than one process is initialised."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank():
    """This process's rank (0 when not distributed)."""
    return dist.get_rank() if is_distributed() else 0


def world_size():
    """The number of processes (1 when not distributed)."""
    return dist.get_world_size() if is_distributed() else 1


def is_rank_zero():
    """Whether this process logs and writes files (rank 0 does)."""
    return rank() == 0


def all_reduce_sum(tensors):
    """``tensors`` summed element-wise over all processes (the tensors
    themselves when not distributed). They travel as one float64 buffer on
    the process group's device (one collective, whatever their number) and
    come back in their own dtypes and devices."""
    tensors = list(tensors)
    if not is_distributed() or not tensors:
        return tensors
    device = torch.device("cuda", torch.cuda.current_device()) \
        if dist.get_backend() == "nccl" else torch.device("cpu")
    flat = torch.cat([t.detach().reshape(-1).to(device=device, dtype=torch.float64)
                      for t in tensors])
    work = dist.all_reduce(flat, op=dist.ReduceOp.SUM, async_op=True)
    work.wait()
    _hold_until_next_reduction(work)
    pieces = flat.split([t.numel() for t in tensors])
    return [piece.reshape(t.shape).to(device=t.device, dtype=t.dtype)
            for piece, t in zip(pieces, tensors)]


_last_work = []


def _hold_until_next_reduction(work):
    """Keep Python's reference to the last collective's work handle.

    The work owns the reduced tensors, and gloo's worker thread drops its
    own reference to the work a moment after ``wait`` returns. Were that
    the last reference, the worker would free the tensors and need the GIL
    to release their Python objects; after the program's last collective
    (fit ends, the script exits) the interpreter is finalizing by then, the
    worker thread is torn down inside a C++ destructor and the process
    aborts ("terminate called without an active exception"). Held here,
    the work is freed by the main thread, at the next reduction or at exit.
    """
    _last_work[:] = [work]
