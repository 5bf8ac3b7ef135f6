"""Draw a :class:`TimelineModel` as a PNG: lanes of coloured bars on the call's time axis (phases,
announcement, agents in the bridge, recorded spans, holds), transfer markers across all lanes, and
under it each recording's waveform at its place in the call.

matplotlib's object API with the Agg canvas, never pyplot: no global figure registry, no GUI
backend, safe in a server process. The model travels with the picture twice: as PNG text metadata
(key ``callrec-timeline``) and as a sidecar ``<picture>.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from callrec.timeline.model import PHASE_LABELS, Span, TimelineModel
from callrec.timeline.waveform import Envelope

METADATA_KEY = "callrec-timeline"
WIDTH_IN, HEIGHT_IN, DPI = 14.0, 6.0, 100
PHASE_COLOURS = {
    "announcing": "#8da0cb", "identifying": "#a6d854", "waiting": "#ffd92f",
    "connected": "#66c2a5", "unattended": "#fc8d62", "transferred": "#e78ac3",
}
LANE_COLOURS = {"announcement": "#8da0cb", "agents": "#1b9e77", "recorded": "#d95f02",
                "holds": "#7570b3"}
BAR_HEIGHT = 0.6
CHARS_ACROSS = 200  # 7 pt labels across the time axis: ~6 px a character over ~1200 px


@dataclass(frozen=True)
class Lane:
    name: str
    spans: tuple[Span, ...]


def lanes(model: TimelineModel) -> tuple[Lane, ...]:
    """Top to bottom: what the caller went through, then who was there and what was recorded."""
    return (
        Lane("phases", model.phases),
        Lane("announcement", model.announcements),
        Lane("agents", model.agents),
        Lane("recorded", tuple(Span(f"segment {r.segment}", r.start_s, r.end_s)
                               for r in model.recorded)),
        Lane("holds", model.holds),
    )


def waveform_columns(model: TimelineModel, recording_s: float) -> int:
    """Pixel columns a recording of `recording_s` seconds covers on the time axis."""
    total = max(model.end_s, 1e-3)
    return max(1, round(WIDTH_IN * DPI * 0.85 * recording_s / total))


def render(model: TimelineModel, waveforms: Mapping[UUID, Envelope], out: Path) -> dict[str, Any]:
    """Write the PNG and its sidecar; returns the sidecar's content."""
    sidecar = {**model.as_json(), "waveforms": [
        {"recording_id": str(r.recording_id), "file": r.file,
         "columns": waveforms[r.recording_id].columns if r.recording_id in waveforms else 0}
        for r in model.recorded]}
    text = json.dumps(sidecar, sort_keys=True)
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    _draw_lanes(top, model)
    _draw_waveforms(bottom, model, waveforms)
    for marker in model.transfers:
        for ax in (top, bottom):
            ax.axvline(marker.at_s, color="#e7298a", linestyle="--", linewidth=1.2)
        top.annotate(marker.label, (marker.at_s, -0.55), fontsize=8, color="#e7298a",
                     rotation=90, va="bottom", ha="right",
                     bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    fig.suptitle(f"Call {model.call_id}   started {model.origin:%Y-%m-%d %H:%M:%S} UTC")
    _save(fig, out, text)
    return sidecar


def _draw_lanes(ax: Axes, model: TimelineModel) -> None:
    rows = lanes(model)
    for y, lane in enumerate(reversed(rows)):
        for span in lane.spans:
            colour = PHASE_COLOURS.get(span.label, "#999999") if lane.name == "phases" else (
                LANE_COLOURS.get(lane.name, "#999999"))
            width = max(span.end_s - span.start_s, model.end_s / 500)  # a moment stays visible
            ax.broken_barh([(span.start_s, width)], (y - BAR_HEIGHT / 2, BAR_HEIGHT),
                           facecolors=colour, edgecolor="white")
            label = PHASE_LABELS.get(span.label, span.label) if lane.name == "phases" else (
                span.label)
            if width >= len(label) * model.end_s / CHARS_ACROSS:  # only where it fits
                ax.text(span.start_s + width / 2, y, label, ha="center", va="center",
                        fontsize=7, clip_on=True)
    ax.set_yticks(range(len(rows)), [lane.name for lane in reversed(rows)])
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlim(0, max(model.end_s, 1e-3))
    ax.grid(axis="x", alpha=0.3)


def _draw_waveforms(ax: Axes, model: TimelineModel, waveforms: Mapping[UUID, Envelope]) -> None:
    for r in model.recorded:
        env = waveforms.get(r.recording_id)
        if env is None:
            ax.text((r.start_s + r.end_s) / 2, 0, "recording file unavailable", ha="center",
                    va="center", fontsize=8, color="#d95f02")
            continue
        times = r.start_s + (np.arange(env.columns) + 0.5) * env.duration_s / env.columns
        ax.fill_between(times, env.mins, env.maxs, color=LANE_COLOURS["recorded"],
                        linewidth=0, step="mid")
    for h in model.holds:
        ax.axvspan(h.start_s, h.end_s, color=LANE_COLOURS["holds"], alpha=0.15)
    ax.set_ylim(-1, 1)
    ax.set_ylabel("waveform")
    ax.set_xlabel("seconds since the call started")
    ax.grid(axis="x", alpha=0.3)


def _save(fig: Figure, out: Path, text: str) -> None:
    """PNG and sidecar each written under a temporary name and renamed into place."""
    partial = out.with_name(out.name + ".part")
    fig.savefig(partial, format="png", metadata={METADATA_KEY: text})
    os.replace(partial, out)
    side = sidecar_path(out)
    side_partial = side.with_name(side.name + ".part")
    side_partial.write_text(text + "\n", encoding="utf-8")
    os.replace(side_partial, side)


def sidecar_path(picture: Path) -> Path:
    return picture.with_name(picture.name + ".json")
