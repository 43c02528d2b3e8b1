"""Models: ``Model`` (functional or subclassed) and ``Sequential``."""

from sepconv.models.functional import Functional
from sepconv.models.model import Model
from sepconv.models.sequential import Sequential

__all__ = ["Functional", "Model", "Sequential"]
