"""The streamed min/max envelope equals the one computed over the whole file at once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callrec.audio import AudioError
from callrec.timeline.waveform import envelope


def brute_force(data: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    column = np.arange(len(data)) * columns // len(data)
    mins = np.array([data[column == c].min() for c in range(columns)])
    maxs = np.array([data[column == c].max() for c in range(columns)])
    return mins, maxs


@pytest.mark.parametrize(("columns", "block"), [(1, 10), (7, 3), (100, 64), (333, 65536),
                                                (5000, 997)])
def test_streamed_envelope_matches_the_whole_file(tmp_path: Path, columns: int,
                                                  block: int) -> None:
    rng = np.random.default_rng(7)
    stereo = rng.uniform(-0.9, 0.9, size=(5000, 2))
    path = tmp_path / "x.wav"
    sf.write(str(path), stereo, 8000, subtype="PCM_16")
    data = sf.read(str(path), dtype="float32")[0]
    env = envelope(path, columns, block_frames=block)
    mins, maxs = brute_force(data.min(axis=1), columns)[0], brute_force(data.max(axis=1),
                                                                        columns)[1]
    assert np.array_equal(env.mins, mins) and np.array_equal(env.maxs, maxs)
    assert env.duration_s == 5000 / 8000


def test_more_columns_than_frames_gives_one_per_frame(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    sf.write(str(path), np.array([0.5, -0.5, 0.25]), 8000, subtype="PCM_16")
    env = envelope(path, 100)
    assert env.columns == 3 and env.maxs[0] == pytest.approx(0.5, abs=1e-4)


def test_unreadable_file_is_an_audio_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.wav"
    path.write_bytes(b"not audio at all")
    with pytest.raises(AudioError):
        envelope(path, 10)
