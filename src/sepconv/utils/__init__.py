"""Utilities: ``clear_session`` and Keras-style naming."""

from sepconv.utils.naming import reset_names, to_snake_case, unique_name


def clear_session():
    """Reset global state, as ``keras.utils.clear_session()``: layer names
    start again from ``conv2d``, ``separable_conv2d``, ...

    >>> import sepconv
    >>> sepconv.utils.clear_session()
    >>> sepconv.layers.Conv2D(2, 3).name
    'conv2d'
    """
    reset_names()


__all__ = ["clear_session", "reset_names", "to_snake_case", "unique_name"]
