"""The engine every front door shares."""

from heard_local.engine.engine import Engine, Submission

__all__ = ["Engine", "Submission"]
