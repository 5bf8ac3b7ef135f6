"""CPU time and memory of a process, from /proc (Linux)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcSample:
    cpu_s: float      # utime + stime of the process (all threads)
    rss_kb: int       # VmRSS now
    hwm_kb: int       # VmHWM: peak resident set since start


def sample(pid: int) -> ProcSample:
    # WHY split after the last ")": the command name inside parentheses may contain spaces.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14, 15 of stat)
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                  if ":" in line)
    return ProcSample(cpu, int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0]))


def find_pids(argv0_suffix: str, *args: str) -> list[int]:
    """Pids whose command line starts with a program ending in `argv0_suffix` and holds `args`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv if a]
        if words and words[0].endswith(argv0_suffix) and all(a in words for a in args):
            found.append(int(entry.name))
    return found


def total_cpu_s() -> float:
    """Busy CPU seconds of the whole machine (all cores), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")
