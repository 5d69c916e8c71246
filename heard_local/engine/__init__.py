"""The engine every front door shares, and the shapes its services answer with."""

from heard_local.engine.engine import Engine
from heard_local.engine.ingest import Submission

__all__ = ["Engine", "Submission"]
