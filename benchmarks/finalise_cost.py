"""CPU the controller spends sealing one recording, apart from handling the call's events.

When a segment stops, the controller waits for MixMonitor to close the files, hashes the mix (SHA-256)
and writes the two legs as one stereo file (hashed too): work per recording, done in threads, and
counted in the controller's CPU by the load benchmark. This measures it alone, on files the size a
call of ``--seconds`` leaves (8 kHz, 16-bit, as MixMonitor writes them):

    python -m benchmarks.finalise_cost --seconds 3 --repeat 50
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from callrec.audio.tones import sine, write_samples
from callrec.controller.recorder import Recorder, RecordingFiles


def recording(root: Path, seconds: float) -> RecordingFiles:
    files = RecordingFiles.for_recording(uuid4(), datetime.now(UTC), str(root), str(root))
    files.local_mix.parent.mkdir(parents=True, exist_ok=True)
    write_samples(files.local_caller, sine(400, seconds))
    write_samples(files.local_agent, sine(550, seconds))
    write_samples(files.local_mix, sine(400, seconds) + sine(550, seconds))
    return files


async def cpu_ms_per_seal(seconds: float, repeat: int) -> list[float]:
    recorder = Recorder(None, asterisk_dir="/unused", local_dir="/unused",  # type: ignore[arg-type]
                        finalise_timeout=1.0)
    costs = []
    with tempfile.TemporaryDirectory(prefix="callrec-finalise-") as tmp:
        for _ in range(repeat):
            files = recording(Path(tmp), seconds)
            before = time.process_time()  # every thread of the process: to_thread work included
            sealed = await recorder.finalise(files)
            costs.append((time.process_time() - before) * 1000)
            assert sealed.facts is not None and sealed.stereo is not None
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="the call's length")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    costs = asyncio.run(cpu_ms_per_seal(args.seconds, args.repeat))
    print(f"sealing a {args.seconds:g} s recording: median {statistics.median(costs):.2f} ms CPU "
          f"(min {min(costs):.2f}, max {max(costs):.2f}, {len(costs)} runs)")


if __name__ == "__main__":
    main()
