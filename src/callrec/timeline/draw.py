"""`draw_call`: fetch a call's evidence, build its model, stream each recording's waveform, draw."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any
from uuid import UUID

from callrec.audio import AudioError
from callrec.store import Store, StoreError
from callrec.timeline.errors import TimelineError
from callrec.timeline.model import TimelineModel, build_timeline
from callrec.timeline.render import render, waveform_columns
from callrec.timeline.waveform import Envelope, envelope

log = logging.getLogger(__name__)


async def draw_call(store: Store, call_id: UUID, out: Path, *, waveform: bool = True
                    ) -> dict[str, Any]:
    """Draw the call to `out` (PNG) and `out`.json; returns the sidecar's content."""
    try:
        detail = await store.get_call(call_id)
    except StoreError as exc:
        raise TimelineError(f"database: {exc}") from exc
    if detail is None:
        raise TimelineError(f"no call {call_id}")
    model = build_timeline(detail)
    waves = await asyncio.to_thread(waveforms, model) if waveform else {}
    try:
        return await asyncio.to_thread(render, model, waves, out)
    except (OSError, ValueError) as exc:
        raise TimelineError(f"cannot write {out}: {exc}") from exc


def waveforms(model: TimelineModel) -> dict[UUID, Envelope]:
    """Envelopes of the recordings whose file is readable; a missing or unreadable file is drawn
    as "unavailable" rather than failing the whole picture (it is what `callrec verify` is for)."""
    found: dict[UUID, Envelope] = {}
    for r in model.recorded:
        path = Path(r.file)
        if not path.exists():
            continue
        try:
            found[r.recording_id] = envelope(path, waveform_columns(model, r.end_s - r.start_s))
        except AudioError as exc:
            log.warning("waveform of recording %s unavailable: %s", r.recording_id, exc)
    return found
