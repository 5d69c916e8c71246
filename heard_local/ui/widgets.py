"""Gradio components configured the way every tab wants them."""

from __future__ import annotations

from typing import Any

import gradio as gr


def html(value: Any = "", **kwargs: Any) -> gr.HTML:
    """An HTML panel styled by heard-local's style sheet only (Gradio's prose styles would put heavy
    borders on tables and padding on links)."""
    return gr.HTML(value, apply_default_css=False, **kwargs)
