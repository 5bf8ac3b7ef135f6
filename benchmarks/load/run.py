"""python -m benchmarks.load.run [--sizes 25,50,100] [--more 150,200] [--quick] [--profile DIR]
                                [--baseline EARLIER.json --baseline-label TEXT]

For each size N: callrec (N concurrent inbound calls through `callrec serve`), then the anchor (the same
pattern through app_queue, Asterisk alone), on the same sandbox in the same session. Writes
docs/benchmarks-load.md and docs/benchmarks-load.json. Sizes in --more run only while the box holds
(no failed or unsettled call at the previous size). --baseline: the JSON of an earlier run (e.g. of
the previous commit, run just before with PYTHONPATH=<its checkout>/src) is compared size by size."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.load import callrec_run, queue_run
from benchmarks.load.ami import RawAmi
from benchmarks.load.callrec_run import Setup
from benchmarks.load.machine import describe
from benchmarks.load.proc import total_cpu_s
from benchmarks.load.report import render

DOCS = Path(__file__).resolve().parents[2] / "docs"


async def pbx_command(cli: str) -> str:
    ami = RawAmi("127.0.0.1", 5038, "callrec", "callrec")
    await ami.connect()
    try:
        return await ami.command(cli)
    finally:
        await ami.close()


async def quiesce(timeout: float = 30) -> int:
    """Bounded wait until the pbx carries no channel (a run's leftovers must not load the next)."""
    deadline = time.monotonic() + timeout
    while True:
        out = await pbx_command("core show channels count")
        active = int(out.split(" active channel", 1)[0].split()[-1]) if "active channel" in out else -1
        if active == 0 or time.monotonic() > deadline:
            return active
        await asyncio.sleep(0.5)


async def background_busy_pct(seconds: float = 3.0) -> float:
    """How busy the whole box is with nothing of ours running (other work shares these cores)."""
    before = total_cpu_s()
    await asyncio.sleep(seconds)
    cores = len(Path("/proc/stat").read_text().split("\ncpu")) - 1
    return round((total_cpu_s() - before) / (seconds * cores) * 100, 1)


def holds(result: dict[str, Any]) -> bool:
    calls = result["callrec"]["calls"]
    failed = sum(1 for c in calls if c["failed"]) + result["callrec"]["unsettled"]
    return failed == 0 and len(calls) == result["n"]


def parse_size(spec: str, default_stagger_ms: float) -> tuple[int, float]:
    """"100" or "100@150": N, and the stagger between originates in ms (arrival rate)."""
    n, _, stagger = spec.partition("@")
    return int(n), float(stagger) if stagger else default_stagger_ms


async def one_size(n: int, setup: Setup) -> dict[str, Any]:
    print(f"N={n}: quiesce, background load …", flush=True)
    await quiesce()
    background = await background_busy_pct()
    print(f"N={n}: callrec run (background busy {background}%)", flush=True)
    cr = await callrec_run.run(n, setup)
    await quiesce()
    print(f"N={n}: app_queue anchor run", flush=True)
    q = await queue_run.run(n, Setup(setup.stagger_s, setup.deadline_s))
    return {"n": n, "stagger_ms": round(setup.stagger_s * 1000, 1),
            "background_busy_pct": background, "callrec": cr, "queue": q}


async def main_async(args: argparse.Namespace) -> None:
    sizes = [parse_size(s, args.stagger_ms) for s in args.sizes.split(",") if s]
    more = [parse_size(s, args.stagger_ms) for s in args.more.split(",") if s]
    setup = Setup(stagger_s=args.stagger_ms / 1000, deadline_s=args.deadline,
                  verbosity=args.verbosity)
    version = (await pbx_command("core show version")).strip().splitlines()[0]
    results: list[dict[str, Any]] = []
    baseline = _baseline(args.baseline, args.baseline_label)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for n, stagger in sizes + more:
        if (n, stagger) in more and results and not holds(results[-1]):
            print(f"N={n}: skipped, the previous size did not hold", flush=True)
            break
        results.append(await one_size(n, replace(setup, stagger_s=stagger / 1000)))
        _write(out, version, args.stagger_ms, results, setup.profile_dir, baseline)  # keep it
    if args.profile_size:
        where = Path(args.profile_dir)
        print(f"N={args.profile_size}: separate callrec run under py-spy", flush=True)
        await quiesce()
        await callrec_run.run(args.profile_size, replace(setup, profile_dir=where))
        _write(out, version, args.stagger_ms, results, where, baseline)
    await quiesce()


def _baseline(path: str | None, label: str) -> dict[str, Any] | None:
    if not path:
        return None
    earlier = json.loads(Path(path).read_text())
    return {"label": label, "generated": earlier["generated"], "sizes": earlier["sizes"]}


def _write(out: Path, version: str, stagger_ms: float, results: list[dict[str, Any]],
           profile_dir: Path | None, baseline: dict[str, Any] | None = None) -> None:
    doc = {"machine": describe(version), "stagger_ms": stagger_ms, "sizes": results,
           "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if baseline:
        doc["baseline"] = baseline
    profile = _profile_summary(profile_dir)
    if profile:
        doc["profile"] = profile
    out.with_suffix(".json").write_text(json.dumps(doc, indent=1, default=str))
    out.with_suffix(".md").write_text(render(doc))
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.json')}", flush=True)


CATEGORIES = (("logging", "logging/"), ("AMI parsing (panoramisk)", "panoramisk"),
              ("PostgreSQL (psycopg)", "psycopg"), ("ARI HTTP/WebSocket (aiohttp)", "aiohttp"),
              ("JSON", "json/"))


def _pct(part: int, total: int) -> float:
    return round(part * 100 / total, 1)


def _profile_summary(where: Path | None, top: int = 12) -> dict[str, Any] | None:
    """py-spy raw (collapsed) stacks → where the serve process spent its samples: by library (the
    first matching category from the leaf up) and inclusive per callrec function."""
    if where is None:
        return None
    result: dict[str, Any] = {}
    for path in sorted(where.glob("serve-n*.txt")):
        total, idle = 0, 0  # main thread only: the event loop is what has to keep up
        cats: dict[str, int] = {}
        inclusive: dict[str, int] = {}
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            c, frames = int(count), stack.split(";")
            if frames[0].startswith("Thread._bootstrap"):
                continue  # worker threads (file hashing, DNS): not the event loop
            total += c
            idle += c if "select (selectors.py" in frames[-1] else 0
            cat = next((name for f in reversed(frames) for name, mark in CATEGORIES if mark in f),
                       "other (asyncio, callrec's own code)")
            cats[cat] = cats.get(cat, 0) + c
            for func in {f.split(" (")[0] + " " + f.split("(")[-1].split(":")[0]
                         for f in frames if "callrec/" in f and "cli/main.py" not in f}:
                inclusive[func] = inclusive.get(func, 0) + c
        if not total:
            continue
        result[path.stem] = {
            "samples": total, "idle_pct": _pct(idle, total),
            "by_library": {k: _pct(v, total) for k, v in sorted(cats.items(), key=lambda kv: -kv[1])},
            "callrec_inclusive": {k: _pct(v, total) for k, v in
                                  sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]}}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,25,50,100,50@150,100@150",
                        help="N or N@stagger_ms, comma-separated")
    parser.add_argument("--more", default="150,200", help="run only while the box holds")
    parser.add_argument("--quick", action="store_true", help="sizes 5,10; nothing more")
    parser.add_argument("--stagger-ms", type=float, default=30.0)
    parser.add_argument("--deadline", type=float, default=150.0, help="seconds per run, bounded")
    parser.add_argument("--profile-size", type=int, default=50,
                        help="after the measured runs, one more callrec run of this N under py-spy "
                             "(0: none); kept apart because sampling perturbs what it measures")
    parser.add_argument("--profile-dir", default="/tmp/callrec-bench-load/prof")
    parser.add_argument("--out", default=str(DOCS / "benchmarks-load.md"))
    parser.add_argument("--baseline", help="JSON of an earlier run to compare with, size by size")
    parser.add_argument("--baseline-label", default="earlier run", help="what the baseline ran")
    parser.add_argument("--verbosity", default="-v", choices=("-v", "-vv"),
                        help="callrec serve's; -vv logs every ARI event (a cost of its own), which "
                             "is how a controller without its closing event account is counted")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.more, args.profile_size = "5,10", "", 0
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
