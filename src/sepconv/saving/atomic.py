"""Atomic file writes: a save either completes or leaves the previous file
as it was.

The content goes to a temporary file in the target's directory, is flushed
and fsynced, then renamed over the target (``os.replace`` is atomic on POSIX
and Windows); the directory is fsynced so the rename survives a crash. If
anything fails, the temporary file is removed and the target is untouched.

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> path = os.path.join(folder, "note.txt")
>>> with atomic_write(path) as handle:
...     _ = handle.write(b"saved")
>>> open(path, "rb").read()
b'saved'
"""

from __future__ import annotations

import contextlib
import os
import tempfile


def check_target(path, overwrite=True):
    """``path`` as a string whose directory exists; an existing file is an
    error when ``overwrite`` is False."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"Cannot save to {path!r}: the directory {directory!r} does not exist. "
            "Create it first."
        )
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot save to {path!r}: it is a directory.")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(
            f"{path!r} exists and overwrite=False. Pass overwrite=True to replace it."
        )
    return path


@contextlib.contextmanager
def atomic_write(path, overwrite=True):
    """A binary file object whose content replaces ``path`` only when the
    ``with`` block ends without an error."""
    path = check_target(path, overwrite)
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(
        dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w+b") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory):
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
