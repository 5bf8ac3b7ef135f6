"""Alternating rounds of the load benchmark: several controller builds or settings, side by side.

One load run is noisy on a 2-core box that also runs both Asterisks (the load report shows the same
size failing 0 or 60 calls from one run to the next). So each configuration runs in turn, round
after round, in one session, and the report gives the median and spread of each.

    python -m benchmarks.load.rounds --rounds 3 --sizes 100,50@150 \\
        --config "before:PYTHONPATH=/tmp/old/src" --config "asyncio:CALLREC_EVENT_LOOP=asyncio" \\
        --config "uvloop:" --out docs/benchmarks-load-rounds.md

A configuration is ``name:VAR=value,VAR=value`` (environment for the runner and the controller it
starts; ``PYTHONPATH`` points at another checkout's ``src`` to measure an older build).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.load.measure import summary

Key = tuple[str, int, float]


def parse_config(spec: str) -> tuple[str, dict[str, str]]:
    name, _, assignments = spec.partition(":")
    env = dict(item.split("=", 1) for item in assignments.split(",") if item)
    return name, env


def one_run(name: str, env: dict[str, str], sizes: str, out: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.load.run", "--sizes", sizes, "--more", "",
               "--profile-size", "0", "--out", str(out)]
    subprocess.run(command, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)
    return dict(json.loads(out.with_suffix(".json").read_text()))


def figures(doc: dict[str, Any]) -> dict[tuple[int, float], dict[str, float | None]]:
    """Per size of one run: the figures the rounds compare."""
    found = {}
    for size in doc["sizes"]:
        run = size["callrec"]
        calls = run["calls"]
        found[(size["n"], size["stagger_ms"])] = {
            "cpu_ms_per_call": run["serve"]["cpu_ms_per_call"],
            "cpu_ms_per_event": run["serve"]["cpu_ms_per_event"],
            "failed": float(sum(1 for c in calls if c.get("failed")) + run["unsettled"]),
            "stop_p99_ms": summary([c.get("stop_ms_file_mtime") for c in calls])["p99"],
        }
    return found


def render(results: dict[Key, list[dict[str, float | None]]], names: list[str],
           rounds: int) -> str:
    generated = (f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python -m "
                 f"benchmarks.load.rounds` ({rounds} rounds, the configurations in turn; raw "
                 "figures in the JSON beside it).")
    header = ("| configuration | N @ stagger | CPU ms/call median (each round) "
              "| CPU ms/event median | failed calls (each round) | stop p99 ms (each round) |")
    lines = [f"# Load benchmark rounds: {', '.join(names)}", "", generated, "", header,
             "|---|---|---|---|---|---|"]
    for (name, n, stagger), runs in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][2],
                                                                              names.index(kv[0][0]))):
        lines.append(f"| {name} | {n} @ {stagger:.0f} ms | {_median(runs, 'cpu_ms_per_call')} "
                     f"({_each(runs, 'cpu_ms_per_call')}) | {_median(runs, 'cpu_ms_per_event', 2)} "
                     f"| {_each(runs, 'failed', 0)} | {_each(runs, 'stop_p99_ms')} |")
    return "\n".join(lines) + "\n"


def _values(runs: list[dict[str, float | None]], key: str) -> list[float]:
    return [v for run in runs if (v := run[key]) is not None]


def _median(runs: list[dict[str, float | None]], key: str, digits: int = 1) -> str:
    values = _values(runs, key)
    return f"{statistics.median(values):.{digits}f}" if values else "–"


def _each(runs: list[dict[str, float | None]], key: str, digits: int = 1) -> str:
    return ", ".join("–" if run[key] is None else f"{run[key]:.{digits}f}" for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", action="append", required=True, help="name:VAR=value,...")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="100,50@150")
    parser.add_argument("--out", default="docs/benchmarks-load-rounds.md")
    parser.add_argument("--work", default="/tmp/callrec-bench-rounds",
                        help="each run's own report and JSON")
    args = parser.parse_args()
    configs = [parse_config(spec) for spec in args.config]
    out, work = Path(args.out), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results: dict[Key, list[dict[str, float | None]]] = defaultdict(list)
    for r in range(1, args.rounds + 1):
        for name, env in configs:
            print(f"round {r}: {name}", flush=True)
            doc = one_run(name, env, args.sizes, work / f"{name}-{r}.md")
            for (n, stagger), values in figures(doc).items():
                results[(name, n, stagger)].append(values)
    out.write_text(render(results, [name for name, _ in configs], args.rounds))
    out.with_suffix(".json").write_text(json.dumps(
        [{"config": k[0], "n": k[1], "stagger_ms": k[2], "runs": v} for k, v in results.items()],
        indent=1))
    print(f"wrote {out} and {out.with_suffix('.json')}", flush=True)


if __name__ == "__main__":
    main()
