"""Finalising MixMonitor's WAV files: is it closed, repair its header, and fingerprint it.

Asterisk's ``format_wav`` writes the RIFF and ``data`` size fields only in ``wav_close`` (they are
0 while MixMonitor is recording). So "the header is consistent with the file length" is our signal
that MixMonitor has let go of the file; if Asterisk crashed, the header stays zeroed forever and
:func:`repair_wav_header` rebuilds it from the bytes actually on disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import soundfile as sf

from callrec.audio.errors import AudioError
from callrec.audio.riff import Chunk, Layout, read_layout, write_u32

PathLike = str | os.PathLike[str]
HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class FileFacts:
    path: Path
    frames: int
    samplerate: int
    channels: int
    duration_ms: int
    bytes: int
    sha256: str


def wav_is_closed(path: PathLike) -> bool:
    """True only when the header agrees with the file: RIFF size == file size - 8 and every chunk,
    ``data`` included, ends exactly where the next begins (the last one at end of file).

    A missing file or one too short to hold a RIFF header is simply "not closed (yet)".
    """
    try:
        with open(path, "rb") as f:
            layout = read_layout(f, os.fstat(f.fileno()).st_size)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise AudioError(f"cannot inspect {path}: {exc}") from exc
    return layout is not None and _consistent(layout)


def ensure_finalised(path: PathLike) -> None:
    """Refuse a RIFF file whose header is not finalised; other formats pass through.

    libsndfile reads an open MixMonitor WAV (data size 0) as a valid file with 0 frames, so
    without this check a crashed recording would silently yield empty facts, merges or analyses.
    """
    try:
        with open(path, "rb") as f:
            layout = read_layout(f, os.fstat(f.fileno()).st_size)
    except OSError as exc:
        raise AudioError(f"cannot inspect {path}: {exc}") from exc
    if layout is not None and not _consistent(layout):
        raise AudioError(
            f"{path}: WAV header not finalised (still open, or needs repair_wav_header)"
        )


def _consistent(layout: Layout) -> bool:
    fmt, data = layout.find(b"fmt "), layout.find(b"data")
    return (
        layout.clean
        and layout.riff_size == layout.file_size - 8
        and fmt is not None
        and data is not None
        and fmt.offset < data.offset
    )


def repair_wav_header(path: PathLike) -> bool:
    """Rewrite the RIFF and ``data`` size fields from the real file size; True if anything changed.

    Only call this once nothing writes the file any more (MixMonitor stopped, or Asterisk died):
    racing a live writer would be overwritten by its own ``update_header`` at close anyway.
    A trailing partial sample frame (a crash mid-``fwrite``) is cut off; sample bytes are never
    rewritten.
    """
    try:
        with open(path, "r+b") as f:
            changed = _repair(f)
            if changed:
                f.flush()
                os.fsync(f.fileno())  # these are evidence files: make the fix durable
            return changed
    except OSError as exc:
        raise AudioError(f"cannot repair {path}: {exc}") from exc


def _repair(f: BinaryIO) -> bool:
    size = os.fstat(f.fileno()).st_size
    layout = read_layout(f, size)
    if layout is None:
        raise AudioError("not a RIFF/WAVE file")
    if _consistent(layout):
        return False
    data = layout.find(b"data")
    if data is None or layout.find(b"fmt ") is None or layout.block_align is None:
        raise AudioError("no usable fmt/data chunk: nothing to repair")
    if layout.clean:
        # Chunks are all sound (e.g. a LIST after data); only the outer RIFF size is stale.
        return write_u32(f, 4, size - 8)
    return _data_to_end_of_file(f, data, size, layout.block_align)


def _data_to_end_of_file(f: BinaryIO, data: Chunk, size: int, block_align: int) -> bool:
    """Declare everything after the ``data`` header as sample data, whole frames only."""
    available = size - data.body
    data_bytes = available - available % block_align
    end = data.body + data_bytes
    changed = end != size
    if changed:
        f.truncate(end)
    if data_bytes & 1:  # RIFF chunks are padded to even length (only for odd block aligns)
        f.seek(end)
        f.write(b"\0")
        end += 1
        changed = True
    changed |= write_u32(f, data.offset + 4, data_bytes)
    changed |= write_u32(f, 4, end - 8)
    return changed


async def wait_closed(path: PathLike, timeout: float, poll: float = 0.05) -> bool:
    """Poll until MixMonitor has closed ``path`` (see :func:`wav_is_closed`); False on timeout.

    The file may not exist yet when we start waiting: MixMonitor opens it from its own thread
    some time after the AMI action returned.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        # In a thread: the spool may sit on network storage where a stat can block.
        if await asyncio.to_thread(wav_is_closed, path):
            return True
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(poll, remaining))


def file_facts(path: PathLike) -> FileFacts:
    """Frames, rate, channels, duration (ms, rounded half up), size and SHA-256 of a closed file."""
    p = Path(path)
    ensure_finalised(p)
    try:
        info = sf.info(str(p))
        size = p.stat().st_size
        digest = _sha256(p)
    except (OSError, sf.SoundFileError) as exc:
        raise AudioError(f"cannot read {p}: {exc}") from exc
    duration = duration_ms(info.frames, info.samplerate)
    return FileFacts(p, info.frames, info.samplerate, info.channels, duration, size, digest)


def duration_ms(frames: int, samplerate: int) -> int:
    return (frames * 2000 + samplerate) // (2 * samplerate)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(HASH_BLOCK):
            h.update(block)
    return h.hexdigest()
