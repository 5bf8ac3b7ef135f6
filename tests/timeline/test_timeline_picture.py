"""`draw_call` on a call assembled in the real store: a valid PNG whose data (sidecar JSON and PNG
text metadata) lists the phases in order, with the recorded span inside the connected phase."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import matplotlib.image
import pytest

from callrec.store import Store
from callrec.timeline import TimelineError, draw_call
from callrec.timeline.render import METADATA_KEY
from tests.release.evidence import recorded_call

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_text(path: Path) -> dict[str, str]:
    """The PNG's tEXt chunks (key -> value), read by hand: the data, not the pixels."""
    data, found, pos = path.read_bytes(), {}, len(PNG_SIGNATURE)
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            found[key.decode("latin-1")] = value.decode("latin-1")
        pos += 12 + length
    return found


async def test_picture_of_a_transferred_call_with_a_hold(store: Store, tmp_path: Path) -> None:
    call = await recorded_call(store, tmp_path / "spool", [(400, 3.0), (1800, 1.0), (550, 2.0)],
                               holds_ms=[(3000, 4000)], transfer_to="PJSIP/2400")
    out = tmp_path / "call.png"

    drawn = await draw_call(store, call.call_id, out)

    assert out.read_bytes().startswith(PNG_SIGNATURE)
    pixels = matplotlib.image.imread(str(out))
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    sidecar = json.loads((tmp_path / "call.png.json").read_text())
    assert sidecar == drawn == json.loads(png_text(out)[METADATA_KEY])

    assert [p["label"] for p in sidecar["phases"]] == [
        "announcing", "identifying", "waiting", "connected", "unattended", "transferred"]
    [connected] = [p for p in sidecar["phases"] if p["label"] == "connected"]
    [recorded] = sidecar["recorded"]
    assert connected["start_s"] <= recorded["start_s"] < recorded["end_s"] <= connected["end_s"]
    assert recorded["recording_id"] == str(call.recording_id)
    [hold] = sidecar["holds"]
    assert hold["start_s"] == pytest.approx(recorded["start_s"] + 3.0, abs=0.002)
    assert hold["end_s"] == pytest.approx(recorded["start_s"] + 4.0, abs=0.002)
    assert [t["label"] for t in sidecar["transfers"]] == ["blind transfer to PJSIP/2400"]
    assert [a["label"] for a in sidecar["agents"]] == ["alice"]
    assert sidecar["waveforms"][0]["columns"] > 10  # the recording's waveform was drawn


async def test_missing_recording_file_still_draws_the_call(store: Store, tmp_path: Path) -> None:
    call = await recorded_call(store, tmp_path / "spool", [(400, 2.0)])
    call.mix.unlink()
    drawn = await draw_call(store, call.call_id, tmp_path / "call.png")
    assert drawn["waveforms"][0]["columns"] == 0
    assert (tmp_path / "call.png").read_bytes().startswith(PNG_SIGNATURE)


async def test_unknown_call_is_a_clear_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(TimelineError, match="no call"):
        await draw_call(store, __import__("uuid").uuid4(), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
