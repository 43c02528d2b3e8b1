"""Helpers of ``benchmarks/bench_separable.py``: the cases, the contenders, the
roofline, the TensorFlow-Keras subprocess and the report.

``cases`` and ``timing`` import neither torch nor TensorFlow: the
TensorFlow-Keras worker (``tf_peer``, run in its own process) uses them too.
"""
