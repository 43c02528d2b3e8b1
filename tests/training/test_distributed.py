"""fit under torchrun: 2 CPU processes on loopback (gloo) train replicas that
end with identical weights while the loss falls."""

import os
import socket
import subprocess
import sys

import numpy as np


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def torchrun(worker, processes, *arguments):
    """Run tests/training/<worker> under torchrun with ``processes`` CPU
    processes; assert that every one of them exited cleanly."""
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={processes}",
               "--master_addr=127.0.0.1", f"--master_port={free_port()}",
               os.path.join(os.path.dirname(__file__), worker), *arguments]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-3000:]


def test_two_processes_end_with_identical_weights(tmp_path):
    torchrun("ddp_fit_worker.py", 2, str(tmp_path))
    ranks = [np.load(tmp_path / f"rank{rank}.npz") for rank in (0, 1)]
    assert int(ranks[0]["world"]) == 2
    weights = [key for key in ranks[0].files if key[0] == "w" and key[1:].isdigit()]
    assert len(weights) == 9  # sep (3) + BatchNormalization (4) + Dense (2)
    for key in weights:
        np.testing.assert_array_equal(ranks[0][key], ranks[1][key], err_msg=key)
    np.testing.assert_array_equal(ranks[0]["loss"], ranks[1]["loss"])  # averaged across ranks
    loss = ranks[0]["loss"]
    assert loss[-1] < loss[0]


def test_processes_exit_cleanly_right_after_a_reduction():
    """A reduction as the program's last act must not abort the process at
    exit (gloo's worker thread used to free the reduced tensors while the
    interpreter was shutting down: "terminate called without an active
    exception", in about one process in five). Twelve processes make a
    regression all but certain to show."""
    for _ in range(2):
        torchrun("ddp_reduce_worker.py", 6)
