"""Keras-style progress lines for loops over batches.

``verbose=1`` draws Keras's bar (``3/4 ━━━━━━━━━━━━━━━─ 1s 12ms/step -
loss: 0.2500``): on a terminal it is redrawn in place (carriage return,
Keras's colours) at most every ``interval`` seconds; on any other stream
(a log file, a pipe, captured output) only the final line is written, with
no carriage return and no colour codes. ``verbose=2`` writes one line when
the loop ends (``4/4 - 0s - 12ms/step - loss: 0.2500``); ``"auto"`` means 1
on a terminal and 2 elsewhere.

Values are shown as given (the caller passes running averages), in the order
they first appeared, with Keras's number formats.

>>> import io
>>> out = io.StringIO()
>>> bar = ProgressBar(4, verbose=2, stream=out)
>>> for step in range(1, 5):
...     bar.update(step, [("loss", 0.25)])
>>> line = out.getvalue()
>>> line.startswith("4/4 - ") and line.endswith("/step - loss: 0.2500\\n")
True
"""

from __future__ import annotations

import sys
import time

import numpy as np

_WIDTH = 20
_BLOCK = "\u2501"  # Keras's bar character
_BOLD, _GREEN, _GREY, _RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"


def is_terminal(stream=None):
    """Whether ``stream`` (default: ``sys.stdout``) is an interactive terminal."""
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (ValueError, OSError):  # a closed or detached stream
        return False


def resolve_verbose(verbose, stream=None):
    """``"auto"`` -> 1 when ``stream`` (default ``sys.stdout``) is a terminal,
    else 2; 0, 1 or 2 as given; anything else is a ValueError.

    >>> import io
    >>> resolve_verbose("auto", io.StringIO()), resolve_verbose(1)
    (2, 1)
    """
    if isinstance(verbose, str) and verbose == "auto":
        return 1 if is_terminal(stream) else 2
    if isinstance(verbose, (int, np.integer)) and not isinstance(verbose, (bool, np.bool_)) \
            and verbose in (0, 1, 2):
        return int(verbose)
    raise ValueError(
        f"`verbose` must be 'auto', 0 (silent), 1 (progress bar) or 2 (one line). "
        f"Received: verbose={verbose!r}"
    )


def write_text(stream, text):
    """Write and flush ``text``; on a stream whose encoding lacks the bar
    character, fall back to ``=`` as Keras does (other characters the
    encoding cannot hold are dropped)."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        text = text.replace(_BLOCK, "=").encode(encoding, errors="ignore").decode(encoding)
        stream.write(text)
    stream.flush()


def format_duration(seconds):
    """Keras's ETA format: ``"7s"``, ``"2:05"`` or ``"1:02:05"``.

    >>> format_duration(7.9), format_duration(125), format_duration(3725)
    ('7s', '2:05', '1:02:05')
    """
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def format_per_step(seconds, unit_name="step"):
    """Keras's time-per-step format.

    >>> format_per_step(0.0123), format_per_step(2e-5), format_per_step(1.6)
    ('12ms/step', '20us/step', '2s/step')
    """
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


def format_value(value, signed=True):
    """A logged number as Keras shows it: 4 decimals, or scientific notation
    at or below 1e-3 (in absolute value when ``signed``; Keras's one-line
    mode compares the value itself, so negatives are scientific there).

    >>> format_value(0.25), format_value(0.0), format_value(-0.5, signed=False)
    ('0.2500', '0.0000e+00', '-5.0000e-01')
    """
    if not isinstance(value, float):
        value = float(np.mean(value))
    large = abs(value) > 1e-3 if signed else value > 1e-3
    return f"{value:.4f}" if large else f"{value:.4e}"


class ProgressBar:
    """Progress over ``target`` steps (``None``: unknown until the end);
    ``update(step, values)`` after each step, ``values`` being (name, number)
    pairs shown as given.

    >>> import io
    >>> out = io.StringIO()
    >>> bar = ProgressBar(2, verbose=1, stream=out)
    >>> bar.update(1, [("loss", 0.5)]); bar.update(2, [("loss", 0.25)])
    >>> out.getvalue().startswith("2/2 " + "\u2501" * 20 + " 0s ")
    True
    """

    def __init__(self, target, verbose=1, stream=None, interval=0.05, unit_name="step"):
        self.target = target
        self.stream = stream if stream is not None else sys.stdout
        self.verbose = resolve_verbose(verbose, self.stream)
        self.interval = interval
        self.unit_name = unit_name
        self.interactive = is_terminal(self.stream)
        self._values = {}
        self._start = time.time()
        self._last_update = 0.0
        self._after_first_step = None
        self._previous_width = 0

    def _step_duration(self, current, now):
        if not current:
            return 0.0
        if self._after_first_step is not None and current > 1:
            per_step = (now - self._after_first_step) / (current - 1)
        else:
            per_step = (now - self._start) / current
        if current == 1:
            self._after_first_step = now
        return per_step

    def _count(self, current):
        return f"{current:>{len(str(self.target))}}/{self.target}"

    def _bar_line(self, current, now, per_step, finalize):
        """The verbose=1 line as (text, visible width); colours on a terminal."""
        def style(code, text):
            return f"{code}{text}{_RESET}" if self.interactive else text

        known = self.target is not None and self.target > 0
        if known:
            done = int(_WIDTH * float(current) / self.target)
            bar = style(_BOLD, self._count(current)) + " "
            if done > 0 or not self.interactive:
                bar += style(_GREEN, _BLOCK * done)
            bar += style(_GREY, _BLOCK * (_WIDTH - done))
            plain = len(self._count(current)) + 1 + _WIDTH
        else:
            bar = "%7d/Unknown" % current
            plain = len(bar)
        elapsed = format_duration(per_step * (self.target - current)) \
            if known and not finalize else f"{now - self._start:.0f}s"
        info = " " + style(_BOLD, elapsed) + " " + format_per_step(per_step, self.unit_name)
        metrics = "".join(f" - {name}: {format_value(value)}"
                          for name, value in self._values.items())
        width = plain + 1 + len(elapsed) + 1 + len(format_per_step(per_step, self.unit_name))
        return bar + info + metrics, width + len(metrics)

    def _summary_line(self, current, now, per_step):
        """The verbose=2 line."""
        metrics = "".join(f" - {name}: {format_value(value, signed=False)}"
                          for name, value in self._values.items())
        return (f"{self._count(current)} - {now - self._start:.0f}s - "
                f"{format_per_step(per_step, self.unit_name)}{metrics}\n")

    def update(self, current, values=None, finalize=None):
        """Report that ``current`` steps are done; ``finalize`` (default:
        ``current >= target``) ends the line."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or ():
            self._values[name] = value
        now = time.time()
        per_step = self._step_duration(current, now)
        if self.verbose == 1:
            self._draw(current, now, per_step, finalize)
        elif self.verbose == 2 and finalize and self.target is not None and self.target > 0:
            write_text(self.stream, self._summary_line(current, now, per_step))
        self._last_update = now

    def _draw(self, current, now, per_step, finalize):
        if not finalize and (not self.interactive or now - self._last_update < self.interval):
            return
        text, width = self._bar_line(current, now, per_step, finalize)
        if self.interactive:
            text = "\r" + text + " " * max(self._previous_width - width, 0)
        self._previous_width = width
        write_text(self.stream, text + ("\n" if finalize else ""))
