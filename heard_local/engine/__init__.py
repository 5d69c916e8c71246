"""The engine every front door shares, and the shapes its services answer with."""

from heard_local.domain import Submission
from heard_local.engine.engine import Engine

__all__ = ["Engine", "Submission"]
