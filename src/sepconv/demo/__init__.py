"""The main job, ``sepconv demo``: why separable convolutions exist, shown by
training the same small network built from SeparableConv2D and from Conv2D
on handwritten digits (see :mod:`sepconv.demo.run`)."""

from sepconv.demo.run import run_demo

__all__ = ["run_demo"]
