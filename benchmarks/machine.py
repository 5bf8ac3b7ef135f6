"""What the numbers were measured on: CPU, memory, tool versions, and how busy the box was."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import soundfile as sf


def _first_match(path: str, pattern: str) -> str | None:
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    found = re.search(pattern, text, re.MULTILINE)
    return found.group(1).strip() if found else None


def _tool_version(cmd: list[str], pattern: str) -> str | None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(pattern, done.stdout + done.stderr)
    return found.group(1) if found else None


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def describe(dsn: str | None) -> dict[str, Any]:
    mem_kb = _first_match("/proc/meminfo", r"^MemTotal:\s+(\d+)")
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _first_match("/proc/cpuinfo", r"^model name\s*:\s*(.+)$"),
        "cpu_mhz": _first_match("/proc/cpuinfo", r"^cpu MHz\s*:\s*(.+)$"),
        "ram_gib": round(int(mem_kb) / 1024 / 1024, 1) if mem_kb else None,
        "kernel": platform.release(),
        "os": _first_match("/etc/os-release", r'^PRETTY_NAME="?([^"\n]+)'),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "soundfile": sf.__version__,
        "libsndfile": sf.__libsndfile_version__,
        "psycopg": psycopg.__version__,
        "postgresql": _server_settings(dsn),
        "sox": _tool_version(["sox", "--version"], r"SoX v(\S+)"),
        "ffmpeg": _tool_version(["ffmpeg", "-version"], r"ffmpeg version (\S+)"),
        "load_average_at_start": load_average(),
    }


_SETTINGS = ("server_version", "shared_buffers", "work_mem", "effective_cache_size",
             "random_page_cost", "jit", "synchronous_commit")


def _server_settings(dsn: str | None) -> dict[str, str] | None:
    """The server's version and the settings the plans and the write rates depend on."""
    if dsn is None:
        return None
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            return {name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
                    for name in _SETTINGS}  # names: our constants
    except psycopg.Error:
        return None
