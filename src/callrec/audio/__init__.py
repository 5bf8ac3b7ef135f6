"""WAV finalisation (header repair, duration, SHA-256), stereo merge and tone analysis."""

from callrec.audio.analysis import (
    active_duration,
    dtmf_present,
    is_silent,
    tone_levels,
    tone_spans,
    tones_present,
)
from callrec.audio.errors import AudioError, LegMismatch
from callrec.audio.stereo import merge_legs
from callrec.audio.tones import sine, write_samples, write_tone, write_tones_sequence
from callrec.audio.wavfile import (
    FileFacts,
    ensure_finalised,
    file_facts,
    repair_wav_header,
    wait_closed,
    wav_is_closed,
)

__all__ = [
    "AudioError",
    "FileFacts",
    "LegMismatch",
    "active_duration",
    "dtmf_present",
    "ensure_finalised",
    "file_facts",
    "is_silent",
    "merge_legs",
    "repair_wav_header",
    "sine",
    "tone_levels",
    "tone_spans",
    "tones_present",
    "wait_closed",
    "wav_is_closed",
    "write_samples",
    "write_tone",
    "write_tones_sequence",
]
