"""python -m benchmarks.faults.run [--trials N] [--only FAULT ...] [--render-only]

Runs the fault-injection tests of tests/faults N times each (FAULT_TRIALS, default 100): every trial
is one parametrised run of the same test `make test` runs once, and appends what it measured to a
JSON-lines file. Failed trials do not stop the run: they are what the report counts. Writes
docs/reliability.md and docs/reliability.json.

Run it under the sandbox lock, like every test that drives the sandbox Asterisk (-o: daemons started
on the way must not inherit the lock's descriptor):
    flock -o /tmp/callrec-sandbox.lock make faults FAULT_TRIALS=5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.faults.report import FAULTS, render, summarise
from benchmarks.load.machine import describe

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


def run_trials(faults: list[str], trials: int, record: Path) -> int:
    """pytest over tests/faults, keeping only the tests marked with these faults (conftest.py)."""
    env = {**os.environ, "FAULT_TRIALS": str(trials), "FAULT_RECORD": str(record),
           "FAULT_ONLY": ",".join(faults)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/faults"]
    print("+", f"FAULT_TRIALS={trials} FAULT_ONLY={env['FAULT_ONLY']}", " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=REPO, env=env, check=False).returncode


def asterisk_version() -> str:
    root = os.environ.get("CALLREC_ROOTFS", "/var/tmp/callrec/rootfs")
    done = subprocess.run(["chroot", root, "asterisk", "-V"], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() or "unknown"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                          check=False).stdout.strip()


def measure(args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run the trials: (their outcomes, what the run was)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "trials.jsonl"
        record.touch()
        status = run_trials(args.only, args.trials, record)
        outcomes = [json.loads(line) for line in record.read_text().splitlines() if line]
    return outcomes, {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "trials_per_fault": args.trials,
        "wall_s": round(time.monotonic() - started, 1),
        "pytest_exit_status": status,
        "machine": describe(asterisk_version()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=int(os.environ.get("FAULT_TRIALS", "100")))
    parser.add_argument("--only", nargs="+", choices=list(FAULTS), default=list(FAULTS))
    parser.add_argument("--out", type=Path, default=DOCS)
    parser.add_argument("--render-only", action="store_true",
                        help="rewrite reliability.md from the trials in reliability.json")
    args = parser.parse_args(argv)
    if args.render_only:
        saved = json.loads((args.out / "reliability.json").read_text())
        outcomes, meta = saved["trials"], saved["meta"]
    else:
        outcomes, meta = measure(args)
    summary = summarise(outcomes)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "reliability.json").write_text(json.dumps(
        {"meta": meta, "faults": summary, "trials": outcomes}, indent=2, default=str) + "\n")
    (args.out / "reliability.md").write_text(render(summary, meta))
    print(f"wrote {args.out / 'reliability.md'} ({len(outcomes)} trials, {meta['wall_s']} s)")
    return 0 if outcomes else 1


if __name__ == "__main__":
    raise SystemExit(main())
