"""What the numbers were measured on."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from benchmarks.load.proc import find_pids


def describe(asterisk_version: str) -> dict[str, str | int]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
    return {"nproc": os.cpu_count() or 0, "cpu": cpu, "ram_gib": round(mem_kb / 1048576, 1),
            "kernel": platform.release(), "python": platform.python_version(),
            "asterisk": asterisk_version}


def asterisk_pids() -> dict[str, int]:
    """pbx and phones Asterisk daemons (the chroot's `asterisk -f …`; phones has its own -C)."""
    pids: dict[str, int] = {}
    for pid in find_pids("asterisk", "-f"):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"chroot" in cmdline.split(b"\0")[0]:
            continue  # the chroot wrapper, if it did not exec
        pids["phones" if b"asterisk-phones" in cmdline else "pbx"] = pid
    return pids
