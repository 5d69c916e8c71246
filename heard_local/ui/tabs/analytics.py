"""Analytics: one configuration's report as numbers and plots (volume over time, durations, languages,
talk time, extracted-field distributions) and the LLM's written analysis."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from heard_local.engine import Engine
from heard_local.ui.analytics_view import (
    empty_plot_note,
    field_frame,
    field_names,
    field_order,
    histogram_frame,
    histogram_order,
    languages_frame,
    numbers_of,
    per_day_frame,
    render_field_table,
    render_kpis,
    render_narrative,
    talk_time_frame,
)
from heard_local.ui.context import UiContext
from heard_local.ui.errors import friendly
from heard_local.ui.format import alert
from heard_local.ui.widgets import html

PLOT_HEIGHT = 260


def fetch_report(engine: Engine, configuration_id: str, *, narrative: bool) -> dict[str, Any]:
    return engine.analytics.report(configuration_id, include_narrative=narrative)


def bar_plot(x: str, y: str, title: str, elem_id: str, x_title: str, **options: Any) -> tuple[gr.BarPlot, gr.HTML]:
    """A bar chart of counts (the y axis starts at zero: one bar alone would otherwise have no height),
    and the "no data yet" note shown instead of it when there is nothing to draw."""
    with gr.Column(min_width=160):
        plot = gr.BarPlot(x=x, y=y, title=title, height=PLOT_HEIGHT, y_lim=[0, None], elem_id=elem_id,
                          x_title=x_title, y_title=y.capitalize(), **options)
        note = html(empty_plot_note(title), visible=False, elem_id=f"{elem_id}-empty")
    return plot, note


def plot_update(frame: pd.DataFrame, **options: Any) -> tuple[gr.BarPlot, gr.HTML]:
    """New data for a :func:`bar_plot` pair: the plot when there are rows, else its note."""
    has_rows = not frame.empty and bool(frame.iloc[:, 1].astype(float).abs().sum())
    return gr.BarPlot(value=frame, visible=has_rows, **options), gr.HTML(visible=not has_rows)


def busiest_configuration(ctx: UiContext) -> str | None:
    """The configuration of the most recent conversation (what a user most likely wants to see)."""
    recent = ctx.engine.transcriptions.list(limit=1).items
    if recent:
        return str(recent[0]["configuration_id"])
    configurations = ctx.configurations()
    return configurations[0].configuration_id if configurations else None


def build(ctx: UiContext, tab: gr.Tab) -> None:
    engine = ctx.engine
    html('<div class="hl-section-title">Analytics</div><div class="hl-section-sub">Executive and qualitative '
         "analysis of one configuration's completed conversations. Numbers are computed locally; the "
         "written analysis comes from your local LLM.</div>")
    with gr.Row(equal_height=True, elem_classes="hl-toolbar"):
        configuration = gr.Dropdown(label="Configuration", choices=[], scale=3, elem_id="hl-analytics-config")
        run = gr.Button("Refresh report", size="md", variant="primary", scale=0, min_width=160,
                        elem_id="hl-analytics-run")
    notice = html()
    with gr.Column(visible=False) as charts:
        kpis = html(elem_id="hl-kpis")
        with gr.Row(equal_height=True):
            per_day = bar_plot("date", "conversations", "Conversations per day", "hl-plot-volume", "Day",
                               x_label_angle=-30)
            durations = bar_plot("duration", "conversations", "Durations", "hl-plot-durations", "Duration",
                                 x_label_angle=-30)
        with gr.Row(equal_height=True):
            languages = bar_plot("language", "conversations", "Languages", "hl-plot-languages", "Language")
            talk_time = bar_plot("speaker", "minutes", "Talk time by speaker role", "hl-plot-talk", "Speaker")
    with gr.Column(visible=False) as fields_section:
        html('<div class="hl-subsection">Extracted fields</div>')
        with gr.Row(equal_height=False):
            with gr.Column(scale=2):
                field = gr.Dropdown(label="Field", choices=[], elem_id="hl-analytics-field")
                field_plot = bar_plot("value", "conversations", "Values", "hl-plot-field", "Value")
            with gr.Column(scale=3):
                field_table = html(elem_id="hl-field-table")
    narrative = html(elem_id="hl-narrative")
    report_state = gr.State({})

    outputs = [notice, charts, kpis, *per_day, *durations, *languages, *talk_time, fields_section, field,
               *field_plot, field_table, narrative, report_state]

    @friendly
    def build_report(configuration_id: str | None) -> tuple[Any, ...]:
        if not configuration_id:
            return (alert("Pick a configuration.", "info"), *[gr.skip()] * (len(outputs) - 1))
        report = fetch_report(engine, configuration_id, narrative=False)
        numbers = numbers_of(report)
        names = field_names(numbers)
        first = names[0] if names else None
        total = (numbers.get("conversations") or {}).get("total", 0)
        note = "" if total else alert("No completed conversations in this configuration yet. The report fills in "
                                      "as conversations are processed.", "info")
        return (
            note,
            gr.Column(visible=bool(total)),
            render_kpis(numbers),
            *plot_update(per_day_frame(numbers)),
            *plot_update(histogram_frame(numbers), sort=histogram_order(numbers)),
            *plot_update(languages_frame(numbers)),
            *plot_update(talk_time_frame(numbers)),
            gr.Column(visible=bool(total and names)),
            gr.Dropdown(choices=names, value=first, interactive=bool(names)),
            *plot_update(field_frame(numbers, first), sort=field_order(numbers, first)),
            render_field_table(numbers),
            render_narrative(report) if total else "",
            report,
        )

    @friendly
    def write_narrative(configuration_id: str | None, report: dict[str, Any]) -> Any:
        total = (numbers_of(report or {}).get("conversations") or {}).get("total", 0)
        if not configuration_id or not total:
            return gr.skip()
        return render_narrative(fetch_report(engine, configuration_id, narrative=True))

    def numbers_then_narrative(event: Any) -> None:
        event.then(write_narrative, inputs=[configuration, report_state], outputs=[narrative],
                   api_visibility="private", show_progress="minimal")

    numbers_then_narrative(run.click(build_report, inputs=[configuration], outputs=outputs, api_visibility="private"))
    numbers_then_narrative(configuration.input(build_report, inputs=[configuration], outputs=outputs,
                                               api_visibility="private"))

    def pick_field(report: dict[str, Any], name: str | None) -> Any:
        numbers = numbers_of(report or {})
        return plot_update(field_frame(numbers, name), sort=field_order(numbers, name))

    field.input(pick_field, inputs=[report_state, field], outputs=[*field_plot], api_visibility="private")

    def initial() -> gr.Dropdown:
        return gr.Dropdown(choices=ctx.configuration_choices(), value=busiest_configuration(ctx))

    ctx.loaders.append((initial, [configuration]))
    ctx.configuration_dropdowns.append((configuration, False))
    numbers_then_narrative(tab.select(build_report, inputs=[configuration], outputs=outputs, api_visibility="private"))
