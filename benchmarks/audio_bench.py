"""Audio pipeline on a synthetic 1-hour 8 kHz call, against sox/ffmpeg doing the same work.

Operations, each timed interleaved with its baseline (A B A B ...):

* stereo merge: ``callrec.audio.merge_legs`` (header checks, merge, fsync, SHA-256 of the result)
  vs ``sox -M`` alone, and vs ``sox -M`` + fsync + SHA-256 (the same work);
* client copy: ``plan_release`` + ``render_wav`` (holds cut, spans beeped, fsync) vs a sox script
  (``trim`` per kept piece, ``synth`` per beep, one concatenation) and one ffmpeg filter graph
  (``atrim`` / ``aevalsrc`` / ``concat``), each + fsync;
* MP3: ``callrec.release.export.encode_mp3`` vs ``ffmpeg -i wav -codec:a libmp3lame -q:a 2``;
* the whole MP3 release (render + encode + SHA-256 of the copy) vs sox script + ffmpeg + SHA-256.

Peak memory of merge and render is measured in a child process (``ru_maxrss``) against a child
that only imports the same modules: the difference is what the operation itself held.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from benchmarks.stats import interleaved, summarise
from callrec.audio import merge_legs
from callrec.audio.wavfile import duration_ms
from callrec.release import EditPlan, PieceKind, RedactMode, Span, plan_release, render_wav
from callrec.release.export import encode_mp3, sha256_file
from callrec.release.render import BEEP_DBFS, BEEP_HZ

RATE = 8000
TARGET_RATIO = 0.8  # ours must run at >= 0.8x the speed of the tools doing the same work


@dataclass(frozen=True)
class Sizes:
    seconds: int
    repeats: int


FULL = Sizes(seconds=3600, repeats=5)
QUICK = Sizes(seconds=120, repeats=1)


# ------------------------------------------------------------------------------------ material
def write_leg(path: Path, seconds: int, freq: float, seed: int) -> None:
    """A talker: bursts of tone (2-8 s) and pauses, over low noise; written a minute at a time."""
    rng = np.random.default_rng(seed)
    with sf.SoundFile(str(path), "w", samplerate=RATE, channels=1, format="WAV",
                      subtype="PCM_16") as out:
        for start in range(0, seconds, 60):
            n = min(60, seconds - start) * RATE
            t = (np.arange(n) + start * RATE) / RATE
            talking = (np.floor(t / rng.uniform(2, 8)) % 2) == 0
            signal = 0.3 * np.sin(2 * np.pi * freq * t) * talking + rng.normal(0, 0.01, n)
            out.write(np.clip(signal, -1, 1))


def release_spans(seconds: int) -> tuple[list[tuple[int, int]], list[Span]]:
    """Three holds to cut and three spans to beep, spread over the call (in ms)."""
    ms = seconds * 1000
    holds = [(ms * a // 12, ms * b // 12) for a, b in ((2, 3), (5, 6), (8, 9))]
    redactions = [Span(ms * a // 24, ms * a // 24 + ms // 240) for a in (3, 13, 21)]
    return holds, redactions


# ------------------------------------------------------------------------------------ baselines
def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def _fsync_and_hash(path: Path) -> str:
    with open(path, "rb") as f:
        os.fsync(f.fileno())
    return sha256_file(path)


def sox_merge(caller: Path, agent: Path, out: Path) -> None:
    _run(["sox", "-M", str(caller), str(agent), "-b", "16", str(out)])


def sox_render(source: Path, plan: EditPlan, out: Path, work: Path) -> None:
    """The same edit list with sox: a trim per kept piece, a 1 kHz synth per redaction, a concat."""
    pieces = []
    for i, piece in enumerate(p for p in plan.pieces if p.kind is not PieceKind.CUT):
        part = work / f"piece{i:03d}.wav"
        seconds = f"{piece.length_ms / 1000:.3f}"
        if piece.kind is PieceKind.KEEP:
            _run(["sox", str(source), str(part), "trim", f"{piece.start_ms / 1000:.3f}", seconds])
        else:
            _run(["sox", "-n", "-r", str(RATE), "-c", "2", "-b", "16", str(part), "synth", seconds,
                  "sine", f"{BEEP_HZ:.0f}", "gain", f"{BEEP_DBFS:.0f}"])
        pieces.append(str(part))
    _run(["sox", *pieces, str(out)])
    for part in pieces:
        os.unlink(part)
    _fsync_and_hash(out)


def ffmpeg_render(source: Path, plan: EditPlan, out: Path) -> None:
    """The same edit list as one ffmpeg filter graph: atrim per kept piece, aevalsrc per beep."""
    kept = [p for p in plan.pieces if p.kind is not PieceKind.CUT]
    splits = sum(p.kind is PieceKind.KEEP for p in kept)
    graph = [f"[0:a]asplit={splits}" + "".join(f"[s{i}]" for i in range(splits))]
    labels, s = [], 0
    amplitude = 10 ** (BEEP_DBFS / 20)
    for i, p in enumerate(kept):
        if p.kind is PieceKind.KEEP:
            graph.append(f"[s{s}]atrim=start={p.start_ms / 1000}:end={p.end_ms / 1000},"
                         f"asetpts=PTS-STARTPTS[p{i}]")
            s += 1
        else:
            graph.append(f"aevalsrc={amplitude:.4f}*sin(2*PI*{BEEP_HZ:.0f}*t)|"
                         f"{amplitude:.4f}*sin(2*PI*{BEEP_HZ:.0f}*t):s={RATE}:"
                         f"d={p.length_ms / 1000}[p{i}]")
        labels.append(f"[p{i}]")
    graph.append("".join(labels) + f"concat=n={len(labels)}:v=0:a=1[out]")
    _run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source),
          "-filter_complex", ";".join(graph), "-map", "[out]", "-c:a", "pcm_s16le", str(out)])
    _fsync_and_hash(out)


def ffmpeg_mp3(wav: Path, out: Path) -> None:
    _run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav),
          "-codec:a", "libmp3lame", "-q:a", "2", str(out)])


# ------------------------------------------------------------------------------------ ours
def our_render(source: Path, holds: list[tuple[int, int]], redactions: list[Span],
               out: Path) -> None:
    info = sf.info(str(source))
    plan = plan_release(duration_ms(info.frames, info.samplerate), holds, redactions)
    render_wav(source, plan, out, RedactMode.BEEP)


def _fresh(path: Path, work: Callable[[], object]) -> Callable[[], object]:
    """Each run writes a new file: the tools refuse (or the copy refuses) to overwrite."""
    def run() -> object:
        path.unlink(missing_ok=True)
        return work()
    return run


# ------------------------------------------------------------------------------------ memory
# Run in a child so that nothing else of the benchmark is in its memory. The kernel's peak-RSS mark
# (VmHWM) is reset just before the operation (clear_refs 5), so the peak is the operation's own,
# not the import of numpy and the store's modules; tracemalloc adds the peak of Python and numpy
# allocations, which a streaming implementation keeps at a few blocks.
_PEAK = """
import json, re, sys, tracemalloc
from pathlib import Path
import soundfile as sf
from callrec.audio import merge_legs
from callrec.audio.wavfile import duration_ms
from callrec.release import RedactMode, Span, plan_release, render_wav

def status(key):
    return int(re.search(key + r":\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1))

args = json.loads(sys.argv[1])
if args["op"] == "render":
    info = sf.info(args["source"])
    plan = plan_release(duration_ms(info.frames, info.samplerate),
                        [tuple(h) for h in args["holds"]], [Span(*r) for r in args["redactions"]])
Path("/proc/self/clear_refs").write_text("5")
before = status("VmRSS")
tracemalloc.start()
if args["op"] == "merge":
    merge_legs(args["caller"], args["agent"], args["out"])
elif args["op"] == "render":
    render_wav(Path(args["source"]), plan, Path(args["out"]), RedactMode.BEEP)
elif args["op"] == "read_whole":  # the non-streaming way, for contrast
    sf.read(args["source"], dtype="int16")
heap = tracemalloc.get_traced_memory()[1]
print(json.dumps({"rss_before_kib": before, "peak_rss_kib": status("VmHWM"),
                  "peak_heap_bytes": heap}))
"""


def peak_memory(args: dict[str, Any]) -> dict[str, int]:
    done = subprocess.run([sys.executable, "-c", _PEAK, json.dumps(args)], check=True,
                          capture_output=True, text=True)
    facts: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    facts["growth_kib"] = facts["peak_rss_kib"] - facts["rss_before_kib"]
    return facts


# ------------------------------------------------------------------------------------ the bench
def _speeds(timings: dict[str, list[float]], audio_seconds: int) -> dict[str, Any]:
    return {name: {"seconds": summarise(t).as_json(),
                   "x_realtime_median": audio_seconds / summarise(t).median}
            for name, t in timings.items()}


def _ratio(timings: dict[str, list[float]], ours: str, baseline: str) -> float:
    """Our speed as a fraction of the baseline's (>1: faster), from the medians."""
    return summarise(timings[baseline]).median / summarise(timings[ours]).median


def run(quick: bool) -> dict[str, Any]:
    sizes = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="callrec-bench-audio-", dir="/var/tmp") as tmp:
        return _run_in(Path(tmp), sizes)


def _run_in(d: Path, sizes: Sizes) -> dict[str, Any]:
    caller, agent, stereo = d / "caller.wav", d / "agent.wav", d / "stereo.wav"
    write_leg(caller, sizes.seconds, 400.0, seed=1)
    write_leg(agent, sizes.seconds, 550.0, seed=2)
    merge_legs(caller, agent, stereo)
    holds, redactions = release_spans(sizes.seconds)
    plan = plan_release(sizes.seconds * 1000, holds, redactions)
    work = d / "pieces"
    work.mkdir()
    copy, mp3 = d / "copy.wav", d / "copy.mp3"

    merge = interleaved({
        "callrec merge_legs": _fresh(d / "m1.wav", lambda: merge_legs(caller, agent, d / "m1.wav")),
        "sox -M": _fresh(d / "m2.wav", lambda: sox_merge(caller, agent, d / "m2.wav")),
        "sox -M + fsync + sha256": _fresh(d / "m3.wav", lambda: (
            sox_merge(caller, agent, d / "m3.wav"), _fsync_and_hash(d / "m3.wav"))),
    }, sizes.repeats)
    render = interleaved({
        "callrec render_wav": _fresh(d / "r1.wav", lambda: our_render(stereo, holds, redactions,
                                                                      d / "r1.wav")),
        "sox trim/synth/concat": _fresh(d / "r2.wav", lambda: sox_render(stereo, plan,
                                                                         d / "r2.wav", work)),
        "ffmpeg atrim/concat": _fresh(d / "r3.wav", lambda: ffmpeg_render(stereo, plan,
                                                                          d / "r3.wav")),
    }, sizes.repeats)
    our_render(stereo, holds, redactions, copy)
    encode = interleaved({
        "callrec encode_mp3": _fresh(d / "e1.mp3", lambda: encode_mp3(copy, d / "e1.mp3")),
        "ffmpeg libmp3lame": _fresh(d / "e2.mp3", lambda: ffmpeg_mp3(copy, d / "e2.mp3")),
    }, sizes.repeats)
    pipeline = interleaved({
        "callrec render + encode_mp3 + sha256": _fresh(mp3, lambda: (
            our_render(stereo, holds, redactions, copy.with_name("p1.wav")),
            encode_mp3(copy.with_name("p1.wav"), mp3), sha256_file(mp3),
            copy.with_name("p1.wav").unlink())),
        "sox script + ffmpeg + sha256": _fresh(d / "p2.mp3", lambda: (
            sox_render(stereo, plan, d / "p2.wav", work), ffmpeg_mp3(d / "p2.wav", d / "p2.mp3"),
            sha256_file(d / "p2.mp3"), (d / "p2.wav").unlink())),
    }, sizes.repeats)

    memory = {
        "merge_legs": peak_memory({"op": "merge", "caller": str(caller), "agent": str(agent),
                                   "out": str(d / "rss-merge.wav")}),
        "render_wav": peak_memory({"op": "render", "source": str(stereo), "holds": holds,
                                   "redactions": [(r.start_ms, r.end_ms) for r in redactions],
                                   "out": str(d / "rss-render.wav")}),
        "sf.read of the whole stereo file (contrast)": peak_memory({"op": "read_whole",
                                                                    "source": str(stereo)}),
    }
    fastest_tool = min(summarise(render["sox trim/synth/concat"]).median,
                       summarise(render["ffmpeg atrim/concat"]).median)
    return {
        "audio_seconds": sizes.seconds, "rate": RATE, "repeats": sizes.repeats,
        "leg_bytes": caller.stat().st_size, "stereo_bytes": stereo.stat().st_size,
        "holds_ms": holds, "redactions_ms": [(r.start_ms, r.end_ms) for r in redactions],
        "pieces": len(plan.pieces), "output_ms": plan.output_duration_ms,
        "merge": _speeds(merge, sizes.seconds), "render": _speeds(render, sizes.seconds),
        "encode": _speeds(encode, sizes.seconds), "pipeline": _speeds(pipeline, sizes.seconds),
        "ratios": {
            "merge_vs_sox_same_work": _ratio(merge, "callrec merge_legs", "sox -M + fsync + sha256"),
            "merge_vs_sox_merge_only": _ratio(merge, "callrec merge_legs", "sox -M"),
            "render_vs_sox": _ratio(render, "callrec render_wav", "sox trim/synth/concat"),
            "render_vs_ffmpeg": _ratio(render, "callrec render_wav", "ffmpeg atrim/concat"),
            "render_vs_fastest_tool": fastest_tool / summarise(render["callrec render_wav"]).median,
            "encode_vs_ffmpeg": _ratio(encode, "callrec encode_mp3", "ffmpeg libmp3lame"),
            "pipeline_vs_tools": _ratio(pipeline, "callrec render + encode_mp3 + sha256",
                                        "sox script + ffmpeg + sha256"),
        },
        "target_ratio": TARGET_RATIO,
        "memory": memory,
    }
