"""The web UI (Gradio), mounted at ``/`` on the API's FastAPI app by ``heard-local serve``.

Every tab calls the engine; nothing here holds business logic. Gradio's usage analytics are switched
off before Gradio is imported: nothing leaves the machine.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("GRADIO_RUN_HISTORY", "False")

from heard_local.ui.app import build_ui, mount_ui

__all__ = ["build_ui", "mount_ui"]
