"""Voicemail messages and the outbound disclosure as audio files Asterisk can play: espeak-ng, then
sox to 8 kHz mono 16-bit PCM WAV (the native format of Asterisk's format_wav: nothing is transcoded
at call time), as scripts/make-prompts.sh renders the fixed prompts.

A rendered message is cached under a name derived from a hash of what is spoken and how, and of
nothing else: the file name never carries the client's or the agent's name (it shows up in
Asterisk's logs and in Playback URIs). Blocking: call it from a worker thread in async code.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

from callrec.dialer.errors import PromptError
from callrec.dialer.settings import DialerConfig

VOICE = "en-gb"
WORDS_PER_MINUTE = 150  # a little slower than the IVR prompts: a callback number must be noted
RENDER_TIMEOUT = 30.0
_SOX_OUT = ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"]
# Bump when the rendering changes, so cached files are not reused for a different sound.
_FORMAT = "v1"
# A phone number: 7+ digits possibly grouped by single spaces, not part of a clock time.
_PHONE = re.compile(r"(?<![\d:])\d(?:\d| (?=\d)){6,}(?![\d:])")


def speech_text(text: str) -> str:
    """What espeak is given: phone numbers digit by digit, a pause between their groups
    ("0800 559 009" would otherwise be read as "eight hundred", "five hundred and fifty-nine")."""
    def spell(match: re.Match[str]) -> str:
        return ", ".join(" ".join(group) for group in match.group(0).split(" "))
    return _PHONE.sub(spell, text)


def prompt_name(text: str) -> str:
    """The file stem of the rendered `text`: "vm-" and 32 hex digits of a SHA-256."""
    spec = "\0".join((_FORMAT, VOICE, str(WORDS_PER_MINUTE), speech_text(text)))
    return "vm-" + hashlib.sha256(spec.encode("utf-8")).hexdigest()[:32]


def render_prompt(text: str, directory: Path) -> Path:
    """`directory`/<prompt_name>.wav, rendered unless already there."""
    if not text.strip():
        raise PromptError("nothing to say: an empty message is not rendered")
    target = directory / f"{prompt_name(text)}.wav"
    if target.is_file() and target.stat().st_size > 44:  # more than a bare WAV header
        return target
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=directory) as scratch:
            raw, out = Path(scratch) / "espeak.wav", Path(scratch) / "out.wav"
            _run(["espeak-ng", "-v", VOICE, "-s", str(WORDS_PER_MINUTE), "-w", str(raw),
                  "--", speech_text(text)])
            # norm -3: every message at the same loudness whatever its text.
            _run(["sox", str(raw), *_SOX_OUT, str(out), "norm", "-3"])
            out.chmod(0o644)  # Asterisk runs as another user and must read it
            os.replace(out, target)  # atomic: a concurrent Playback never sees half a file
    except OSError as exc:
        raise PromptError(f"rendering a prompt in {directory}: {exc}") from exc
    return target


def prompt_media_of(prompt_media: str, path: Path) -> str:
    """How Asterisk names the rendered file `path` of the directory it knows as `prompt_media`."""
    return f"{prompt_media.rstrip('/')}/{path.stem}"


def resolve_disclosure(config: DialerConfig) -> DialerConfig:
    """`config` with the disclosure_prompt that will be played, for the dialer to start with.

    An operator's own recording (disclosure_prompt set) is returned as is: its words are the
    operator's word (disclosure_text). Otherwise disclosure_text is rendered into prompt_dir like a
    voicemail script, so that what is played is what the proof (the announcements row) cites.
    Idempotent, and only a stat() when the file is already there. Blocking (espeak-ng, sox): call
    it from a worker thread in async code. PromptError when it cannot be rendered: then nothing
    may be dialled, since a client must never be recorded without a disclosure that can be played.
    """
    if config.disclosure_prompt:
        return config
    path = render_prompt(config.disclosure_text, Path(config.prompt_dir))
    return replace(config, disclosure_prompt=prompt_media_of(config.prompt_media, path))


def _run(argv: list[str]) -> None:
    try:
        subprocess.run(argv, check=True, capture_output=True, timeout=RENDER_TIMEOUT)
    except FileNotFoundError as exc:
        raise PromptError(f"{argv[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise PromptError(f"{argv[0]} took more than {RENDER_TIMEOUT:.0f} s") from exc
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PromptError(f"{argv[0]} failed ({exc.returncode}): "
                          f"{detail[-1] if detail else 'no message'}") from exc
