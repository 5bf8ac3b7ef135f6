"""docs/benchmarks-load.md from the run's results (the JSON beside it holds every per-call number)."""

from __future__ import annotations

from typing import Any

from benchmarks.load.measure import summary

FRAME_MS = 20.0
TARGET_MS = 20.0
TARGET_N = 100

FINDINGS = """\
* **Where it saturates: callrec's single asyncio event loop, not Asterisk.** The anchor (app_queue)
  records every call at every size with its MixMonitor started *before* the member enters the bridge.
  callrec costs ~60–80 ms of controller CPU per call (≈61 ARI events, plus every AMI event the pbx
  sends its AMI login (~90 per call at -vv), plus its SQL writes and ARI requests) and handles everything on one
  thread. When calls arrive faster than that loop can drain them, the lag between an ARI event's
  Asterisk timestamp and callrec handling it (column "ARI event → handled") grows to seconds, and
  the MixMonitor start waits behind it: start latency ≈ that lag. The recording then misses the
  first part of the conversation (negative extra audio, status `incomplete`, "cut short" in the log),
  or, when the lag exceeds the 3 s talk, MixMonitor meets a channel already gone ("No such channel",
  status `failed`). No audio is ever recorded outside the agent's window (extra audio max ≤ one
  frame): the failure mode is *missing* audio, never extra audio.
* **Why this box saturates early.** 2 cores run both Asterisks (the phones instance generates every
  party's tones, plays MOH and prompts), PostgreSQL, callrec, the benchmark and, during these runs,
  other jobs (column "background": 8–100 % of the box busy before each size). The loop's CPU demand is
  bursty (every call reaches the bridge within the originate window), so 30 ms staggering is a burst of
  ~33 calls/s; 150 ms (~7 calls/s) holds longer. Results vary with the background load: compare rows
  of the same N.
* **What would fix it (suggested changes in src/callrec, not made here):**
  1. Start MixMonitor (option `b`) on the agent's channel *before* adding it to the bridge, as app_queue
     does: with `b` nothing is written until the channel is bridged, so the recording then starts at
     bridge entry whatever the controller's lag (`controller/effects.py`, the agent-answered path
     issuing `add_channel`; the policy's StartRecording would move from AgentJoined to "agent answered,
     before bridging").
  2. Log in to AMI with `Events: off` (callrec never subscribes to AMI events in `serve`; panoramisk
     parses and, at -vv, logs every event the pbx emits: ~90 per call here) — `ami/manager.py` login.
  3. Batch evidence writes (one transaction per drained batch instead of a statement per event:
     `controller/evidence.py` EvidenceWriter._apply / `store/writes.py`) and cache the agent list
     (`controller/agents.py` AgentPool.free runs `list_agents` on every hunt).
  4. The start-up/periodic recordings sweep (`controller/sweep.py`) does a store lookup per file on
     the event loop; with thousands of files in the spool it shows up in the profile.
  5. Unsubscribe or ignore `ChannelVarset` (≈half of all ARI events, ~30 per call) with ARI's per-application event filter."""


METHOD = """\
How it was measured (all times are Asterisk's own, UTC, one host clock):

* **callrec**: `callrec serve -vv` as a child process on a fresh database `callrec_bench_<hex>`,
  tone prompts, one agent row per concurrent call (a001…, all `PJSIP/agent1/sip:agent-hangup@…`: the
  simulated agent answers, plays 550 Hz for 3 s, hangs up). Callers are originated on the phones AMI,
  staggered by {stagger} ms; each hears the announcement, keys `12345#`, waits with music, is bridged.
  *start* = agent's ChannelEnteredBridge (ARI timestamp, ms resolution, stored as
  `agent_legs.joined_at`) → AMI `MixMonitorStart` `Timestamp` of the agent's channel (a separate AMI
  login on the pbx). *start (AMI)* = the agent's AMI `BridgeEnter` → `MixMonitorStart`, both AMI
  (µs). *stop* = agent left (`agent_legs.left_at`, ChannelHangupRequest) → the recording file's last
  write (its mtime: MixMonitor rewrites the WAV header at close). `MixMonitorStop` is never emitted
  here: the agent's channel is already hanging up when callrec's StopMixMonitor arrives, and the
  audiohook ends with the channel; `recordings.stop_requested_at` is by design the departure event's
  own timestamp (0 ms). *extra audio* = file duration − (left_at − joined_at): positive = audio
  outside the agent's window. CPU = utime+stime of the serve process from /proc over the run
  (includes finalising: SHA-256 and the stereo file), per call and per ARI event (events counted
  from the -vv log, whose debug logging is itself part of the cost).
* **anchor (Asterisk alone)**: the same N through `Queue(callrec-bench)` (app_queue loaded for the
  run), one member per call (same simulated agent, `ringinuse=yes`), `monitor-format = wav`: app_queue
  runs MixMonitor (option b implied) on the caller's channel when the member answers. *start* = AMI
  `AgentConnect` → `MixMonitorStart` (negative: app_queue starts the recording before it even
  announces the connect); *stop* = member's `BridgeLeave` → file's last write.
* Negative extra audio is the simulator's silent start (tests/e2e/harness.py: the phones instance's
  Answer() waits for a first media frame; MixMonitor drops one-direction audio meanwhile)."""


def _fmt(value: float | None) -> str:
    return "–" if value is None else (f"{value:.1f}" if isinstance(value, float) else str(value))


def _dist(values: list[float | None]) -> str:
    s = summary(values)
    return " / ".join(_fmt(s[k]) for k in ("p50", "p95", "p99", "max"))


def _col(calls: list[dict[str, Any]], key: str) -> list[float | None]:
    return [c.get(key) for c in calls]


def _failed(run: dict[str, Any]) -> int:
    return sum(1 for c in run["calls"] if c["failed"]) + run["unsettled"] + max(
        0, run["n"] - len(run["calls"]))


def _callrec_rows(sizes: list[dict[str, Any]]) -> list[str]:
    rows = [("| N @ stagger | failed | start ms p50/p95/p99/max | start (AMI) p99 | stop ms p50/p95/p99/max "
            "| extra audio ms p50/max | CPU ms/call | events/call | CPU ms/event | peak RSS MB "
            "| ARI event → handled ms p50/p99/max | CPU s pbx / phones | box busy % (background) | wall s |"),
            "|" + "---|" * 14]
    for s in sizes:
        r, calls = s["callrec"], s["callrec"]["calls"]
        extra = summary(_col(calls, "extra_audio_ms"))
        busy = round(r["machine_busy_cpu_s"] / (r["wall_s"] * s.get("cores", 2)) * 100, 0)
        rows.append(
            f"| {s['n']} @ {s.get('stagger_ms', '?')} ms | {_failed(r)} | {_dist(_col(calls, 'start_ms'))} "
            f"| {_fmt(summary(_col(calls, 'start_ms_ami_bridgeenter'))['p99'])} "
            f"| {_dist(_col(calls, 'stop_ms_file_mtime'))} | {_fmt(extra['p50'])} / {_fmt(extra['max'])} "
            f"| {_fmt(r['serve']['cpu_ms_per_call'])} | {_fmt(r['serve']['events_per_call'])} "
            f"| {_fmt(r['serve']['cpu_ms_per_event'])} | {_fmt(r['serve']['peak_rss_mb'])} "
            f"| {_lag(r)} | {_fmt(r.get('asterisk_cpu_s', {}).get('pbx'))} / "
            f"{_fmt(r.get('asterisk_cpu_s', {}).get('phones'))} | {busy:.0f} ({s['background_busy_pct']:.0f}) | {r['wall_s']} |")
    return rows


def _lag(run: dict[str, Any]) -> str:
    lag = run.get("ari_delivery_lag_ms") or {}
    return " / ".join(_fmt(lag.get(k)) for k in ("p50", "p99", "max"))


def _queue_rows(sizes: list[dict[str, Any]]) -> list[str]:
    rows = [("| N @ stagger | failed | start ms p50/p95/p99/max | start vs BridgeEnter p99 "
            "| stop ms p50/p95/p99/max | extra audio ms p50/max | pbx CPU s | phones CPU s | wall s |"),
            "|" + "---|" * 9]
    for s in sizes:
        q, calls = s["queue"], s["queue"]["calls"]
        extra = summary(_col(calls, "extra_audio_ms"))
        rows.append(
            f"| {s['n']} @ {s.get('stagger_ms', '?')} ms | {_failed(q)} | {_dist(_col(calls, 'start_ms'))} "
            f"| {_fmt(summary(_col(calls, 'start_ms_vs_bridge_enter'))['p99'])} "
            f"| {_dist(_col(calls, 'stop_ms_file_mtime'))} | {_fmt(extra['p50'])} / {_fmt(extra['max'])} "
            f"| {_fmt(q['asterisk_cpu_s'].get('pbx'))} | {_fmt(q['asterisk_cpu_s'].get('phones'))} "
            f"| {q['wall_s']} |")
    return rows


def _ratio(ours: float | None, anchor: float | None) -> str:
    if ours is None or anchor is None:
        return "–"
    if anchor <= 0.5:
        return f"{ours:.1f} ms vs {anchor:.2f} ms (anchor ≈ 0: ratio undefined)"
    return f"{ours / anchor:.1f}×"


def _ratio_rows(sizes: list[dict[str, Any]]) -> list[str]:
    rows = ["| N @ stagger | start p99 callrec / app_queue | stop p99 callrec / app_queue |", "|---|---|---|"]
    for s in sizes:
        c, q = s["callrec"]["calls"], s["queue"]["calls"]
        rows.append(f"| {s['n']} @ {s.get('stagger_ms', '?')} ms | {_ratio(summary(_col(c, 'start_ms'))['p99'], summary(_col(q, 'start_ms'))['p99'])} "
                    f"| {_ratio(summary(_col(c, 'stop_ms_file_mtime'))['p99'], summary(_col(q, 'stop_ms_file_mtime'))['p99'])} |")
    return rows


def _verdicts(sizes: list[dict[str, Any]]) -> list[str]:
    at = next((s for s in sizes if s["n"] == TARGET_N), sizes[-1] if sizes else None)
    if at is None:
        return []
    c, q = at["callrec"]["calls"], at["queue"]["calls"]
    start, stop = summary(_col(c, "start_ms"))["p99"], summary(_col(c, "stop_ms_file_mtime"))["p99"]
    q_start = summary(_col(q, "start_ms"))["p99"]
    q_stop = summary(_col(q, "stop_ms_file_mtime"))["p99"]
    extra = max((e for s in sizes for e in _col(s["callrec"]["calls"], "extra_audio_ms")
                 if e is not None), default=None)
    per_event = at["callrec"]["serve"]["cpu_ms_per_event"]

    def ok(flag: bool) -> str:
        return "**met**" if flag else "**missed**"

    def within(ours: float | None, anchor: float | None) -> bool:
        return ours is not None and anchor is not None and ours <= max(2 * anchor, 1.0)

    return [
        f"Targets, at N = {at['n']} concurrent recorded calls:",
        "",
        (f"* start latency p99 ≤ {TARGET_MS:.0f} ms: {_fmt(start)} ms → "
        f"{ok(start is not None and start <= TARGET_MS)}; ≤ 2× app_queue's ({_fmt(q_start)} ms) → "
        f"{ok(within(start, q_start))}"),
        (f"* stop latency p99 ≤ {TARGET_MS:.0f} ms: {_fmt(stop)} ms → "
        f"{ok(stop is not None and stop <= TARGET_MS)}; ≤ 2× app_queue's ({_fmt(q_stop)} ms) → "
        f"{ok(within(stop, q_stop))}"),
        (f"* no audio outside the agent window beyond one {FRAME_MS:.0f} ms frame (all sizes): max "
        f"{_fmt(extra)} ms → {ok(extra is not None and extra <= FRAME_MS)}"),
        (f"* controller ≤ 1 ms CPU per call event: {_fmt(per_event)} ms → "
        f"{ok(per_event is not None and per_event <= 1.0)}"),
    ]


def _profile(doc: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for name, prof in (doc.get("profile") or {}).items():
        out += ["", (f"## Where the controller's time goes (py-spy, separate run {name}, "
                f"{prof['samples']} samples at 50 Hz; idle in select: {prof['idle_pct']}%)"), "",
                "By library (innermost match): " + ", ".join(
                    f"{k} {v}%" for k, v in prof["by_library"].items()), "",
                "Inclusive, callrec functions:", ""]
        out += [f"* {v}% `{k}`" for k, v in prof["callrec_inclusive"].items()]
    return out


def render(doc: dict[str, Any]) -> str:
    m, sizes = doc["machine"], doc["sizes"]
    for s in sizes:
        s.setdefault("cores", m["nproc"])
    lines = [
        "# Load benchmark: callrec under N concurrent recorded calls, against app_queue",
        "",
        (f"Generated {doc['generated']} by `python -m benchmarks.load.run` (`make bench-load`); raw "
        "per-call numbers in `docs/benchmarks-load.json`."),
        "",
        (f"Machine: {m['nproc']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM, kernel {m['kernel']}, "
        f"Python {m['python']}, {m['asterisk']}. The same cores run both Asterisk instances (pbx and "
        "the phones simulating every caller and agent with tone generators), PostgreSQL, callrec and "
        "the benchmark; 'background' is how busy the box was just before each size with nothing of "
        "ours running (other work on the machine)."),
        "",
        *_verdicts(sizes),
        "",
        "## Findings",
        "",
        FINDINGS,
        "",
        "## callrec",
        "",
        *_callrec_rows(sizes),
        "",
        "## Anchor: the same pattern with Asterisk alone (app_queue + MixMonitor)",
        "",
        *_queue_rows(sizes),
        "",
        "## callrec relative to the anchor",
        "",
        *_ratio_rows(sizes),
        *_profile(doc),
        "",
        "## Method",
        "",
        METHOD.format(stagger=doc["stagger_ms"]),
        "",
    ]
    return "\n".join(lines)
