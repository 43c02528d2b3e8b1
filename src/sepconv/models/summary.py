"""``model.summary()``: Keras 3's table of layers, output shapes and
parameter counts.

On a terminal the table is drawn with box characters, as Keras draws it;
when ``print_fn`` is given or the output is not a terminal it is plain ASCII
so that logs and files stay readable.

>>> import sepconv
>>> inputs = sepconv.Input(shape=(224, 224, 10), name="input")
>>> outputs = sepconv.layers.SeparableConv2D(32, (3, 3), activation="relu",
...     padding="same", name="separable_conv2d")(inputs)
>>> sepconv.Model(inputs, outputs, name="test_model").summary(line_length=72)
Model: "test_model"
+-------------------------------+------------------------+-------------+
| Layer (type)                  | Output Shape           |     Param # |
+===============================+========================+=============+
| input (InputLayer)            | (None, 224, 224, 10)   |           0 |
+-------------------------------+------------------------+-------------+
| separable_conv2d              | (None, 224, 224, 32)   |         442 |
| (SeparableConv2D)             |                        |             |
+-------------------------------+------------------------+-------------+
 Total params: 442 (1.73 KB)
 Trainable params: 442 (1.73 KB)
 Non-trainable params: 0 (0.00 B)
"""

from __future__ import annotations

import math
import re
import shutil
import sys
import textwrap


_BOX = {  # (left, fill, joint, right) for each rule; cell walls
    "top": ("\u250f", "\u2501", "\u2533", "\u2513"),
    "head": ("\u2521", "\u2501", "\u2547", "\u2529"),
    "row": ("\u251c", "\u2500", "\u253c", "\u2524"),
    "bottom": ("\u2514", "\u2500", "\u2534", "\u2518"),
    "head_wall": "\u2503",
    "wall": "\u2502",
}
_ASCII = {
    "top": ("+", "-", "+", "+"),
    "head": ("+", "=", "+", "+"),
    "row": ("+", "-", "+", "+"),
    "bottom": ("+", "-", "+", "+"),
    "head_wall": "|",
    "wall": "|",
}


def readable_size(num_bytes):
    """``1768`` -> ``"1.73 KB"`` (powers of 1024, as Keras prints)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if num_bytes < 1024:
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.2f} PB"


def _count_and_bytes(weights):
    unique = {id(w): w for w in weights}.values()
    count = sum(math.prod(w.shape) for w in unique)
    size = sum(math.prod(w.shape) * w.element_size() for w in unique)
    return int(count), size


def _format_shape(shape):
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _format_shapes(shapes):
    if isinstance(shapes, tuple) and all(d is None or isinstance(d, int) for d in shapes):
        return _format_shape(shapes)
    if isinstance(shapes, dict):
        return "{" + ", ".join(f"{k}: {_format_shapes(v)}" for k, v in shapes.items()) + "}"
    return "[" + ", ".join(_format_shapes(s) for s in shapes) + "]"


class _ModelView:
    """What the summary needs to know about ``model``'s layers and nodes."""

    def __init__(self, model):
        self.model = model
        self.nodes = list(getattr(model, "_nodes", []))
        for tensor in getattr(model, "_input_tensors", []):
            self.nodes.insert(0, tensor._keras_history.node)
        self.node_ids = {id(node) for node in self.nodes}
        self.layers = model.layers

    def layer_nodes(self, layer):
        return [node for node in layer._inbound_nodes if id(node) in self.node_ids]

    def node_index(self, node):
        return self.layer_nodes(node.layer).index(node)

    def output_shape(self, layer):
        nodes = self.layer_nodes(layer) or layer._inbound_nodes
        if nodes:
            outputs = [t.shape for t in nodes[-1].output_tensors]
            return _format_shapes(outputs[0] if len(outputs) == 1 else outputs)
        if layer.built and layer._build_shapes is not None:
            try:
                return _format_shapes(layer.compute_output_shape(layer._build_shapes))
            except Exception:  # noqa: BLE001 - a shape we cannot tell is shown as '?'
                return "?"
        return "?"

    def connections(self, layer):
        names = []
        for node in self.layer_nodes(layer):
            for tensor in node.input_tensors:
                history = tensor._keras_history
                index = (self.node_index(history.node)
                         if id(history.node) in self.node_ids else history.node_index)
                names.append(f"{history.layer.name}[{index}][{history.tensor_index}]")
        return ", ".join(names) or "-"

    def is_chain(self):
        """A single path of single-input layers: no 'Connected to' column."""
        from sepconv.models.functional import Functional
        from sepconv.models.sequential import Sequential

        if isinstance(self.model, Sequential) or not isinstance(self.model, Functional):
            return True
        if len(self.model._input_tensors) != 1:
            return False
        consumers = {}
        for node in self.nodes:
            if node.is_input:
                continue
            if len(node.input_tensors) != 1:
                return False
            key = id(node.input_tensors[0])
            consumers[key] = consumers.get(key, 0) + 1
            if consumers[key] > 1 or len(self.layer_nodes(node.layer)) > 1:
                return False
        return True


def _column_widths(line_length, positions):
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    widths, current = [], 0
    for position in positions:
        width = position - current
        if width < 4:
            raise ValueError(
                "The summary's columns would be narrower than 4 characters: increase "
                f"`line_length` or spread `positions`. Received: line_length="
                f"{line_length}, positions={positions}"
            )
        widths.append(width)
        current = position
    return widths


def _render_table(header, rows, widths, alignment, chars):
    inner = [w - 3 for w in widths]
    inner[-1] -= 1

    def rule(kind):
        left, fill, joint, right = chars[kind]
        return left + joint.join(fill * (w + 2) for w in inner) + right

    def render_row(cells, wall):
        wrapped = [textwrap.wrap(str(c), w, break_on_hyphens=False) or [""]
                   for c, w in zip(cells, inner)]
        lines = []
        for i in range(max(len(cell) for cell in wrapped)):
            parts = []
            for cell, w, align in zip(wrapped, inner, alignment):
                text = cell[i] if i < len(cell) else ""
                text = {"left": text.ljust, "right": text.rjust, "center": text.center}[align](w)
                parts.append(f" {text} ")
            lines.append(wall + wall.join(parts) + wall)
        return lines

    lines = [rule("top")] + render_row(header, chars["head_wall"]) + [rule("head")]
    for index, row in enumerate(rows):
        if index:
            lines.append(rule("row"))
        lines += render_row(row, chars["wall"])
    lines.append(rule("bottom"))
    return lines


def _layer_range_bounds(layers, layer_range):
    if layer_range is None:
        return 0, len(layers)
    if (not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2
            or not all(isinstance(x, str) for x in layer_range)):
        raise ValueError(
            "`layer_range` must be two layer-name patterns (start, end). "
            f"Received: layer_range={layer_range!r}"
        )
    lower = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    upper = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not lower or not upper:
        raise ValueError(
            "`layer_range` matches no layer names of the model. "
            f"Received: layer_range={layer_range!r}"
        )
    return min(lower), max(upper) + 1


def summary_lines(model, line_length=None, positions=None, expand_nested=False,
                  show_trainable=False, layer_range=None, fancy=False):
    """The summary of ``model`` as a list of lines."""
    view = _ModelView(model)
    chain = view.is_chain()
    if chain:
        default_length, default_positions = 88, [0.45, 0.80, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
        alignment = ["left", "left", "right"]
    else:
        default_length, default_positions = 108, [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        alignment = ["left", "left", "right", "left"]
    positions = list(positions or default_positions)
    if show_trainable:
        default_length += 12
        if positions[-1] <= 1:
            positions = [p * 0.90 for p in positions] + [1.0]
        else:
            positions = positions + [positions[-1] + 12]
        header.append("Trainable")
        alignment.append("center")
    if len(positions) != len(header):
        raise ValueError(
            f"`positions` needs one entry per column ({len(header)}: {header}). "
            f"Received: positions={positions!r}"
        )
    if line_length is None:
        line_length = min(default_length, shutil.get_terminal_size().columns - 4)
    widths = _column_widths(line_length, positions)

    def fields(layer, view, prefix=""):
        if not layer.built:
            params = "0 (unbuilt)"
        else:
            params = f"{layer.count_params():,}"
        row = [f"{prefix}{layer.name} ({type(layer).__name__})", view.output_shape(layer),
               params]
        if not chain:
            row.append(view.connections(layer))
        if show_trainable:
            row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        return row

    def rows_for(layer, view, level=0):
        prefix = "   " * level + "\u2514 " if level else ""
        rows = [fields(layer, view, prefix)]
        if expand_nested and hasattr(layer, "layers") and layer.layers:
            nested = _ModelView(layer)
            for sub in layer.layers:
                rows += rows_for(sub, nested, level + 1)
        return rows

    start, end = _layer_range_bounds(view.layers, layer_range)
    rows = [row for layer in view.layers[start:end] for row in rows_for(layer, view)]
    lines = [f'Model: "{model.name}"']
    lines += _render_table(header, rows, widths, alignment, _BOX if fancy else _ASCII)
    trainable, trainable_bytes = _count_and_bytes(model.trainable_weights)
    frozen, frozen_bytes = _count_and_bytes(model.non_trainable_weights)
    lines += [
        f" Total params: {trainable + frozen:,} ({readable_size(trainable_bytes + frozen_bytes)})",
        f" Trainable params: {trainable:,} ({readable_size(trainable_bytes)})",
        f" Non-trainable params: {frozen:,} ({readable_size(frozen_bytes)})",
    ]
    return lines


def print_summary(model, line_length=None, positions=None, print_fn=None,
                  expand_nested=False, show_trainable=False, layer_range=None):
    """Print :func:`summary_lines`, each line through ``print_fn`` (default:
    ``print``; box drawing only when that goes to a terminal)."""
    fancy = print_fn is None and sys.stdout.isatty()
    for line in summary_lines(model, line_length=line_length, positions=positions,
                              expand_nested=expand_nested, show_trainable=show_trainable,
                              layer_range=layer_range, fancy=fancy):
        (print_fn or print)(line)


__all__ = ["print_summary", "readable_size", "summary_lines"]
