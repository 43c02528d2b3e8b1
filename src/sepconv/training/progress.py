"""Keras-style progress lines for loops over batches.

On a terminal the bar is redrawn in place with Keras's block characters;
otherwise (logs, pipes, notebooks' captured output) it is plain ASCII and
only the final line is written.

>>> import io
>>> out = io.StringIO()
>>> bar = ProgressBar(4, verbose=1, stream=out)
>>> for step in range(1, 5):
...     bar.update(step)
>>> line = out.getvalue()
>>> line.startswith("4/4 [") and line.rstrip().endswith("/step")
True
"""

from __future__ import annotations

import sys
import time

_WIDTH = 20


def resolve_verbose(verbose):
    """``"auto"`` -> 1; otherwise 0, 1 or 2 (a ValueError names anything else)."""
    if verbose == "auto":
        return 1
    if verbose in (0, 1, 2) and not isinstance(verbose, float):
        return int(verbose)
    raise ValueError(
        f"`verbose` must be 'auto', 0 (silent), 1 (progress bar) or 2 (one line). "
        f"Received: verbose={verbose!r}"
    )


def _format_duration(seconds):
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def _format_per_step(seconds):
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


class ProgressBar:
    """Progress over ``target`` steps; ``update(step, values)`` after each."""

    def __init__(self, target, verbose=1, stream=None):
        self.target = target
        self.verbose = resolve_verbose(verbose)
        self.stream = stream if stream is not None else sys.stdout
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()

    def _bar(self, step):
        done = _WIDTH if not self.target else int(_WIDTH * step / self.target)
        if self.interactive:
            return "\u2501" * done + "\u2500" * (_WIDTH - done)
        return "[" + "=" * done + "." * (_WIDTH - done) + "]"

    def line(self, step, values=()):
        """The progress line for ``step`` with ``values`` (name, number) pairs."""
        elapsed = time.perf_counter() - self.start
        parts = [f"{step}/{self.target}", self._bar(step), _format_duration(elapsed),
                 _format_per_step(elapsed / max(step, 1))]
        parts += [f"- {name}: {value:.4f}" for name, value in values]
        return " ".join(parts)

    def update(self, step, values=()):
        """Report that ``step`` steps are done."""
        final = step >= self.target
        if self.verbose == 0 or (not final and not (self.verbose == 1 and self.interactive)):
            return
        end = "\n" if final else ""
        prefix = "\r" if self.interactive else ""
        self.stream.write(prefix + self.line(step, values) + end)
        self.stream.flush()
