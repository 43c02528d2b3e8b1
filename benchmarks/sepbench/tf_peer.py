"""The TensorFlow-Keras contender: Keras 3 on its tensorflow backend.

A process has one Keras backend, so this contender runs in a worker process
(``python -m sepbench.tf_peer``, started by :class:`TFKeras` with
``KERAS_BACKEND=tensorflow``, TensorFlow's intra-op threads = the harness's
torch thread count and one inter-op thread). The harness hands each case
over as ``.npy`` files (input, weights in Keras's order, upstream gradient);
the worker times the same calls (forward: the layer in a ``tf.function``;
forward+backward: a ``tf.function`` with a ``GradientTape`` returning the
output and the gradients of the input and every weight for that upstream
gradient) and
writes back its forward output or input gradient for the agreement check.
Messages are JSON lines on the worker's stdin and on a private copy of its
stdout (the real stdout goes to stderr, so library prints cannot garble
them); its stderr goes to a log that error messages quote.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import traceback

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "tf_keras"


class TFKeras:
    """Client side: one worker process for the whole run."""

    def __init__(self, python, threads):
        self.dir = tempfile.mkdtemp(prefix="sepbench-tf-")
        self.log = open(os.path.join(self.dir, "worker.log"), "w+", encoding="utf-8")
        env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
        self.proc = subprocess.Popen(
            [python, "-m", "sepbench.tf_peer", "--threads", str(threads)], cwd=BENCH_DIR,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        hello = self._receive()
        self.unavailable = hello.get("unavailable")
        self.info = {k: v for k, v in hello.items() if k != "ready"}
        if self.unavailable:
            self.close()

    @classmethod
    def start(cls, python, threads):
        """(worker, None), or (None, why) when TensorFlow is not importable by ``python``."""
        peer = cls(python, threads)
        return (None, peer.unavailable) if peer.unavailable else (peer, None)

    def _receive(self):
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise RuntimeError(f"the TensorFlow-Keras worker exited (status "
                               f"{self.proc.returncode}); its log ends:\n{self._log_tail()}")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"the TensorFlow-Keras worker failed:\n{reply['error']}")
        return reply

    def _log_tail(self, chars=4000):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-chars:]

    def _ask(self, **request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._receive()

    def load_case(self, case, x, weights, grad_out):
        """Hand over one case: NHWC input, Keras-order weights, NHWC upstream
        gradient (torch tensors or NumPy arrays)."""
        import numpy as np

        for name, value in (("x", x), ("grad_out", grad_out),
                            *((f"w{i}", w) for i, w in enumerate(weights))):
            np.save(os.path.join(self.dir, f"{name}.npy"), np.asarray(value, dtype=np.float32))
        self._ask(op="case", case=case.as_dict(), dir=self.dir)

    def run(self, mode, repeats, warmup):
        """(times in ms, forward output or input gradient as an NHWC array)."""
        import numpy as np

        reply = self._ask(op="run", mode=mode, repeats=repeats, warmup=warmup)
        return reply["times_ms"], np.load(reply["output"])

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        for name in os.listdir(self.dir):
            os.remove(os.path.join(self.dir, name))
        os.rmdir(self.dir)


class _Case:
    """Worker side: one case's layer, tensors and compiled functions."""

    def __init__(self, tf, keras, case_dict, directory):
        import numpy as np

        from sepbench.cases import Case, build_layer

        case = Case(**case_dict)
        self.dir = directory
        self.layer = layer = build_layer(keras, case)
        layer.set_weights([np.load(os.path.join(directory, f"w{i}.npy"))
                           for i in range(len(case.weight_shapes()))])
        self.x = tf.constant(np.load(os.path.join(directory, "x.npy")))
        self.grad_out = tf.constant(np.load(os.path.join(directory, "grad_out.npy")))
        self.forward = tf.function(lambda x: layer(x))

        @tf.function
        def forward_backward(x, grad_out):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x)
            # y is returned too: a conv's gradients do not need its output, so
            # without it the graph optimizer would prune the forward pass away.
            return y, tape.gradient(y, [x, *layer.trainable_weights],
                                    output_gradients=grad_out)

        self.forward_backward = forward_backward

    def run(self, mode, repeats, warmup):
        import time

        import numpy as np

        from sepbench.timing import run_interleaved

        if mode == "forward":
            call = lambda: self.forward(self.x)  # noqa: E731
            output = lambda result: result  # noqa: E731
        else:
            call = lambda: self.forward_backward(self.x, self.grad_out)  # noqa: E731
            output = lambda result: result[1][0]  # noqa: E731
        path = os.path.join(self.dir, "output.npy")
        np.save(path, output(call()).numpy())  # also traces the tf.function

        def step():
            start = time.perf_counter()
            call()
            return time.perf_counter() - start

        times = run_interleaved({NAME: step}, repeats, warmup)[NAME]
        return {"times_ms": times, "output": path}


def serve(argv=None):
    """The worker's main loop (see the module doc)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args(argv)
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(message):
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    try:
        import tensorflow as tf
    except ImportError as error:
        send({"unavailable": f"tensorflow is not importable by {sys.executable}: {error}"})
        return
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    if keras.config.backend() != "tensorflow":
        send({"unavailable": f"keras runs the {keras.config.backend()} backend"})
        return
    send({"ready": True, "python": sys.executable, "tensorflow": tf.__version__,
          "keras": keras.__version__, "intra_op_threads": args.threads,
          "inter_op_threads": 1})
    case = None
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "quit":
            break
        try:
            if request["op"] == "case":
                case = None  # free the previous case first
                case = _Case(tf, keras, request["case"], request["dir"])
                send({"ok": True})
            else:
                send(case.run(request["mode"], request["repeats"], request["warmup"]))
        except Exception:  # noqa: BLE001 - reported to the harness, which raises
            send({"error": traceback.format_exc()})


if __name__ == "__main__":
    serve()
