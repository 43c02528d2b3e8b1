"""``InputSpec``: what a layer accepts (rank and fixed axis sizes), checked per call.

>>> import torch
>>> spec = InputSpec(ndim=4, axes={-1: 3})
>>> spec.check(torch.zeros(2, 5, 5, 3), "conv2d")
>>> spec.check(torch.zeros(2, 5, 5), "conv2d")
Traceback (most recent call last):
...
ValueError: Input 0 of layer 'conv2d' is incompatible with the layer: it must have rank 4. Received: inputs.shape=(2, 5, 5)
"""

from __future__ import annotations


class InputSpec:
    """Rank (exact, minimum or maximum) and axis sizes a layer's input must have."""

    def __init__(self, ndim=None, min_ndim=None, max_ndim=None, axes=None):
        self.ndim = ndim
        self.min_ndim = min_ndim
        self.max_ndim = max_ndim
        self.axes = dict(axes or {})

    def check(self, tensor, layer_name, index=0):
        """Raise ValueError if ``tensor`` does not satisfy the spec."""
        shape = tuple(tensor.shape)
        rank = len(shape)
        rule = None
        if self.ndim is not None and rank != self.ndim:
            rule = f"it must have rank {self.ndim}"
        elif self.min_ndim is not None and rank < self.min_ndim:
            rule = f"it must have rank >= {self.min_ndim}"
        elif self.max_ndim is not None and rank > self.max_ndim:
            rule = f"it must have rank <= {self.max_ndim}"
        else:
            for axis, size in self.axes.items():
                if size is not None and -rank <= axis < rank and shape[axis] not in (size, None):
                    rule = (
                        f"axis {axis} must have size {size} (the size the layer "
                        f"was built for)"
                    )
                    break
        if rule is not None:
            raise ValueError(
                f"Input {index} of layer '{layer_name}' is incompatible with the "
                f"layer: {rule}. Received: inputs.shape={shape}"
            )

    def __repr__(self):
        parts = [
            f"{key}={value}"
            for key, value in (
                ("ndim", self.ndim),
                ("min_ndim", self.min_ndim),
                ("max_ndim", self.max_ndim),
                ("axes", self.axes or None),
            )
            if value is not None
        ]
        return f"InputSpec({', '.join(parts)})"
