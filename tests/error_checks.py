"""``expect_error``: a bad argument raises ValueError/TypeError whose message
names the argument and ends with ``Received: ...`` (DESIGN.md, principle 5)."""

from __future__ import annotations

import re

import pytest


def expect_error(fn, argument, received, types=(ValueError, TypeError)):
    """``fn()`` raises one of ``types``; the message matches ``argument`` (a
    regex) and has ``Received:`` followed somewhere by ``received`` (a regex)."""
    with pytest.raises(types) as info:
        fn()
    message = str(info.value)
    assert re.search(argument, message), (
        f"the message does not name {argument!r}: {type(info.value).__name__}: {message}"
    )
    assert re.search(r"Received:.*" + received, message, flags=re.S), (
        f"the message lacks 'Received: ...{received}': {type(info.value).__name__}: {message}"
    )
    return info.value
