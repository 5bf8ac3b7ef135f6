"""``python -m benchmarks.run [--quick]``: every benchmark that needs no Asterisk, in one run.

Needs the sandbox PostgreSQL (``make sandbox``; or CALLREC_BENCH_PG_DSN / CALLREC_TEST_PG_DSN) for
the store parts, sox and ffmpeg for the audio part. It creates its own database
``callrec_bench_<hex>`` and drops it at the end. Writes docs/benchmarks.md and docs/benchmarks.json
(``--out`` elsewhere; ``--quick`` defaults to a scratch path so a smoke run never overwrites the
real results).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from benchmarks import audio_bench, before_after, listing_bench, machine, policy_bench
from benchmarks.db import bench_database, server_dsn
from benchmarks.report import render
from benchmarks.seed import seed
from benchmarks.store_writes import bench_writes

DOCS = Path(__file__).resolve().parent.parent / "docs"
RECORDINGS = {False: 1_000_000, True: 20_000}
LISTING_REPEATS = {False: 40, True: 3}
EVIDENCE = ("transfers", "holds", "announcements", "recordings", "agent_legs", "call_events",
            "calls")


def _say(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def _empty(dsn: str) -> None:
    """Remove the write benchmark's calls before seeding (they would skew the listing's data)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE " + ", ".join(EVIDENCE) + " CASCADE")  # our constant names


def run_store(quick: bool) -> dict[str, Any]:
    with bench_database(server_dsn()) as dsn:
        _say("store: the controller's write pattern")
        writes = asyncio.run(bench_writes(dsn, quick))
        _empty(dsn)
        _say(f"store: seeding {RECORDINGS[quick]:,} recordings")
        facts = seed(dsn, RECORDINGS[quick])
        _say(f"store: seeded in {facts.seconds:.0f} s; timing the listing filters")
        listing = listing_bench.run(dsn, LISTING_REPEATS[quick])
        _say("store: listing before/after the --agent fix")
        samples = listing_bench.draw_samples(dsn)
        chosen = [c for c in listing_bench.cases(samples) if c.name in BEFORE_AFTER]
        compared = before_after.run(dsn, chosen, LISTING_REPEATS[quick],
                                    samples.agents[len(samples.agents) // 2])
    return {"writes": writes, "seed": facts.__dict__, "listing": listing,
            "before_after": compared}


BEFORE_AFTER = ("agent (20 agents, busiest to quietest)", "agent: the busiest",
                "agent + one month", "paging: agent, page 20",
                "paging: deep (page 1000, offset 49,950)",
                "paging: very deep (page 10000, offset 499,950)", "no filter (page 1)",
                "date range: one month")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke check")
    parser.add_argument("--out", type=Path, help="markdown path (JSON beside it)")
    parser.add_argument("--only", choices=("policy", "store", "audio"), action="append",
                        help="run only these parts (repeatable)")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="only rewrite the markdown beside JSON from its numbers")
    args = parser.parse_args(argv)
    if args.render is not None:
        args.render.with_suffix(".md").write_text(render(json.loads(args.render.read_text())))
        return 0
    parts = set(args.only or ("policy", "store", "audio"))
    out = args.out or (Path(tempfile.gettempdir()) / "callrec-bench-quick.md" if args.quick
                       else DOCS / "benchmarks.md")
    started = time.perf_counter()
    doc: dict[str, Any] = {"quick": args.quick, "started_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
                           "command": "python -m benchmarks.run" + (" --quick" if args.quick else ""),
                           "machine": machine.describe(server_dsn() if "store" in parts else None)}
    if "policy" in parts:
        _say("policy: decide and translate")
        doc["policy"] = policy_bench.run(args.quick)
    if "store" in parts:
        doc["store"] = run_store(args.quick)
    if "audio" in parts:
        _say("audio: merge, render, MP3 against sox/ffmpeg")
        doc["audio"] = audio_bench.run(args.quick)
    doc["load_average_at_end"] = machine.load_average()
    doc["seconds"] = time.perf_counter() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
    out.write_text(render(doc))
    _say(f"wrote {out} and {out.with_suffix('.json')} in {doc['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
