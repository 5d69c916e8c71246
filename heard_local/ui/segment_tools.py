"""The inline correction controls of a transcript line (edit, split at the caret, merge with the next, move
to another speaker) and the undo bar. The browser side (heard_local.ui.scripts.TRANSCRIPT) sends what was
asked to the transcript view's Python handler, which makes the correction through the engine."""

from __future__ import annotations

from heard_local.domain import Segment
from heard_local.ui.format import esc


def segment_tools(index: int, segment: Segment, speakers: list[tuple[str, str]], *, last: bool) -> str:
    """``speakers``: (id, label) of every speaker of the transcript."""
    options = "".join(f'<option value="{esc(sid)}"{" selected" if sid == segment.speaker else ""}>{esc(label)}'
                      "</option>" for sid, label in speakers)
    merge = "" if last else '<button type="button" data-edit="merge" title="Merge with the next line">Merge ↓</button>'
    return (
        f'<span class="hl-seg-tools" data-index="{index}">'
        '<button type="button" data-edit="edit" title="Correct this line">Edit</button>'
        '<button type="button" data-edit="save" class="hl-when-editing" title="Save the correction">Save</button>'
        '<button type="button" data-edit="split" class="hl-when-editing" '
        'title="Split the line where the cursor is">Split at cursor</button>'
        f"{merge}"
        f'<select data-edit="speaker" title="Move this line to another speaker">{options}</select>'
        "</span>"
    )


def undo_bar(corrections: int) -> str:
    if corrections <= 0:
        return ""
    plural = "s" if corrections != 1 else ""
    return (f'<div class="hl-undo-bar">{corrections} correction{plural} to this transcript '
            '<button type="button" data-edit="undo">Undo the last</button>'
            '<button type="button" data-edit="undo-all">Back to the original</button></div>')
