"""MP3 export through the ffmpeg CLI, and file fingerprints.

ffmpeg rather than a Python MP3 binding: it is already the project's codec tool (README), LAME is
the reference encoder, and ffmpeg writes the Xing/LAME header that tells decoders the encoder delay
and padding, so the decoded copy keeps the WAV's duration to within a frame.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from callrec.release.errors import ReleaseError

HASH_BLOCK = 1 << 20
FFMPEG_TIMEOUT_S = 600.0  # an hour of 8 kHz audio encodes in seconds; this only catches a hang
STDERR_TAIL = 800


def encode_mp3(wav: Path, out: Path, *, ffmpeg: str = "ffmpeg",
               timeout: float = FFMPEG_TIMEOUT_S) -> None:
    """Encode ``wav`` to ``out`` (VBR LAME, quality 2). Written under a temporary name and renamed."""
    partial = out.with_name(out.name + ".part")
    # -nostdin: ffmpeg otherwise reads the terminal and can swallow keystrokes or block in the
    # background. -f mp3: the ".part" suffix gives ffmpeg no format to infer.
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav),
           "-map_metadata", "-1", "-codec:a", "libmp3lame", "-q:a", "2", "-f", "mp3",
           str(partial)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise ReleaseError(f"ffmpeg not found ({ffmpeg}): install ffmpeg for MP3 export") from exc
    except subprocess.TimeoutExpired as exc:
        partial.unlink(missing_ok=True)
        raise ReleaseError(f"ffmpeg did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        reason = done.stderr.strip()[-STDERR_TAIL:] or "no message"
        raise ReleaseError(f"ffmpeg failed (exit {done.returncode}): {reason}")
    os.replace(partial, out)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while block := f.read(HASH_BLOCK):
                h.update(block)
    except OSError as exc:
        raise ReleaseError(f"cannot read {path}: {exc}") from exc
    return h.hexdigest()
