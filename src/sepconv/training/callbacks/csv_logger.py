"""``CSVLogger``: one CSV row per epoch (``epoch`` then the logged values).

Each row (with the header before the first) is formatted whole and written
with one call, then flushed, so the file only ever grows by complete lines.
The columns are the first epoch's log names, sorted, plus their ``val_``
twins when no validation values were logged; a value missing later is
``NA``. Rows end in ``\\r\\n`` as Keras's (the ``csv`` module's Excel
dialect). Only rank 0 writes.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
>>> logger = CSVLogger(path)
>>> logger.on_train_begin()
>>> logger.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.75})
>>> logger.on_train_end()
>>> open(path, newline="").read()
'epoch,loss,val_loss\\r\\n0,0.5,0.75\\r\\n'
"""

from __future__ import annotations

import collections.abc
import csv
import io
import os

import numpy as np

from sepconv.training import distributed
from sepconv.training.callbacks.base import Callback
from sepconv.utils.validation import check_bool


def _cell(value):
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (
            isinstance(value, np.ndarray) and value.ndim == 0):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class CSVLogger(Callback):
    """Streams each epoch's logs to ``filename`` as a row separated by
    ``separator``; ``append=True`` adds to an existing file (its header is
    kept), else the file is overwritten when training starts.

    >>> CSVLogger("training.csv", separator=";").sep
    ';'
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(
                "The `filename` argument must be a path (str or os.PathLike). "
                f"Received: filename={filename!r}"
            )
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(
                "The `separator` argument must be a 1-character string. "
                f"Received: separator={separator!r}"
            )
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = check_bool(append, "append")
        self.keys = None
        self.append_header = True
        self.csv_file = None
        self._header_written = False

    def on_train_begin(self, logs=None):
        self.keys = None
        self._header_written = False
        if not distributed.is_rank_zero():
            return
        if self.append and os.path.exists(self.filename):
            with open(self.filename) as existing:
                self.append_header = not existing.readline()
        else:
            self.append_header = True
        self._close()
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys += [f"val_{key}" for key in self.keys]
        if self.csv_file is None:
            return
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.sep)
        if self.append_header and not self._header_written:
            writer.writerow(["epoch"] + self.keys)
        self._header_written = True
        writer.writerow([epoch] + [_cell(logs.get(key, "NA")) for key in self.keys])
        self.csv_file.write(buffer.getvalue())
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        self._close()

    def _close(self):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = None
