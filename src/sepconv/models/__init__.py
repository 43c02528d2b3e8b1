"""Models: ``Model`` (functional or subclassed) and ``Sequential``."""

from sepconv.models.functional import Functional
from sepconv.models.model import Model
from sepconv.models.sequential import Sequential
from sepconv.saving.api import load_model, save_model

__all__ = ["Functional", "Model", "Sequential", "load_model", "save_model"]
