"""RIFF/WAVE chunk layout, read without trusting the size fields.

Asterisk's ``format_wav`` writes a 44-byte header with both size fields set to 0 when the file is
opened and only fills them in (``update_header``) when MixMonitor closes the file. A recording that
is still open, or whose Asterisk crashed, therefore has sizes that disagree with the file length.
This module walks the chunks defensively so the caller can tell "closed" from "still growing" and
patch the header afterwards. It is generic on purpose: ``fact``/``LIST`` chunks, odd-sized chunks
(padded to even length per the RIFF spec) and WAVE_FORMAT_EXTENSIBLE (40-byte ``fmt ``) all occur
in files produced by other tools (sox, ffmpeg) that we may be asked to verify.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

RIFF_HEADER = 12  # "RIFF" <size:u32> "WAVE"
CHUNK_HEADER = 8  # <id:4> <size:u32>
FMT_MIN_BODY = 16  # PCM fmt body; EXTENSIBLE is 40 but the first 16 bytes are laid out the same


@dataclass(frozen=True)
class Chunk:
    ident: bytes
    offset: int  # where the 8-byte chunk header starts
    size: int  # as declared in the header, possibly wrong

    @property
    def body(self) -> int:
        return self.offset + CHUNK_HEADER

    @property
    def end(self) -> int:
        """Offset after the chunk including the RIFF pad byte that follows an odd-sized body."""
        return self.body + self.size + (self.size & 1)


@dataclass(frozen=True)
class Layout:
    file_size: int
    riff_size: int
    chunks: tuple[Chunk, ...]
    clean: bool  # every chunk is well-formed and the last one ends exactly at end of file
    block_align: int | None  # bytes per sample frame, from the fmt chunk when it is readable

    def find(self, ident: bytes) -> Chunk | None:
        return next((c for c in self.chunks if c.ident == ident), None)

    def after(self, chunk: Chunk) -> tuple[Chunk, ...]:
        return tuple(c for c in self.chunks if c.offset > chunk.offset)


def is_wave(head: bytes) -> bool:
    return len(head) >= RIFF_HEADER and head[:4] == b"RIFF" and head[8:12] == b"WAVE"


def read_layout(f: BinaryIO, file_size: int) -> Layout | None:
    """Parse the chunk list of an open WAV file; ``None`` when it is not (yet) a RIFF/WAVE file."""
    f.seek(0)
    head = f.read(RIFF_HEADER)
    if not is_wave(head):
        return None
    (riff_size,) = struct.unpack("<I", head[4:8])
    chunks, clean = _walk(f, file_size)
    return Layout(file_size, riff_size, chunks, clean, _block_align(f, chunks, file_size))


def _walk(f: BinaryIO, file_size: int) -> tuple[tuple[Chunk, ...], bool]:
    """Follow the chunk chain; stop at the first chunk that is malformed or overruns the file.

    An open Asterisk file declares ``data`` as 0 bytes, so the walk would continue *into the
    samples*. A FOURCC must be printable ASCII, which sample data almost never is; stopping there
    also keeps an hour of digital silence (all zero bytes) from being walked 8 bytes at a time.
    """
    chunks: list[Chunk] = []
    pos = RIFF_HEADER
    while pos + CHUNK_HEADER <= file_size:
        f.seek(pos)
        ident, size = struct.unpack("<4sI", f.read(CHUNK_HEADER))
        if not _is_fourcc(ident):
            return tuple(chunks), False
        chunk = Chunk(ident, pos, size)
        chunks.append(chunk)
        if chunk.body + chunk.size > file_size:
            return tuple(chunks), False
        pos = chunk.end
    # Some writers omit the pad byte after an odd-sized *last* chunk; accept that ending too.
    ends_exactly = pos == file_size or (bool(chunks) and pos == file_size + 1)
    return tuple(chunks), ends_exactly and bool(chunks)


def _is_fourcc(ident: bytes) -> bool:
    return all(0x20 <= b <= 0x7E for b in ident)


def _block_align(f: BinaryIO, chunks: tuple[Chunk, ...], file_size: int) -> int | None:
    fmt = next((c for c in chunks if c.ident == b"fmt "), None)
    if fmt is None or fmt.size < FMT_MIN_BODY or fmt.body + FMT_MIN_BODY > file_size:
        return None
    f.seek(fmt.body + 12)  # wFormatTag, nChannels, nSamplesPerSec, nAvgBytesPerSec, nBlockAlign
    (align,) = struct.unpack("<H", f.read(2))
    return align or None


def write_u32(f: BinaryIO, offset: int, value: int) -> bool:
    """Write a little-endian u32 at ``offset`` if it differs; report whether it did."""
    packed = struct.pack("<I", value)
    f.seek(offset)
    if f.read(4) == packed:
        return False
    f.seek(offset)
    f.write(packed)
    return True
