"""Turning trial outcomes (one JSON object per trial, from tests/faults) into docs/reliability.*. Pure."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# What each fault is, in the order the report lists them.
FAULTS: Mapping[str, str] = {
    "controller_killed": "`callrec serve` killed (-9) mid-call and restarted at once; the call is "
                         "adopted and its agent hangs up afterwards",
    "controller_killed_outbound": "`callrec serve` killed (-9) while a dialer's call plays its "
                                  "disclosure to a person; after the restart the disclosure is "
                                  "played again whole (the agent muted until it ends), the attempt "
                                  "counts as a person reached, and the agent hangs up afterwards",
    "ari_blackholed": "ARI WebSocket black-holed (no FIN) mid-call through a local proxy, then "
                      "healed; one agent hangs up during the outage, another after it",
    "ami_lost": "AMI black-holed (no FIN) mid-call through a local proxy: the agent hangs up "
                "during the outage (its StopMixMonitor gets no answer, MixMonitor's `b` ends the "
                "file), the network heals once the controller drops the dead socket; then a new "
                "call is recorded",
    "asterisk_restarted": "pbx Asterisk restarted (`core stop now`) mid-call; then a new call",
    "asterisk_crashed": "pbx Asterisk killed (-9) mid-call and started again; then a new call",
    "postgres_stopped": "PostgreSQL stopped (immediate) mid-call; the agent hangs up during the "
                        "outage; PostgreSQL started after the call ended",
    "disk_full_mid_recording": "recordings tmpfs below the free-space threshold at the start "
                               "(carry_on) and full a few seconds into the recording",
    "disk_low_refused": "recordings tmpfs below the free-space threshold, disk_policy = refuse: "
                        "the recording is refused with an alarm (audio kept 0% by design)",
}
COUNTS = ("recordings_lost", "left_running", "rows_lost", "rows_duplicated", "unproven_files",
          "missed")


def _count(value: Any) -> int:
    return len(value) if isinstance(value, list) else int(value or 0)


def _spread(values: Sequence[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": round(statistics.median(values), 2), "max": round(max(values), 2)}


def summarise(outcomes: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per fault: trials, trials that failed, each invariant's violations, detection and recovery
    times, and the most frequent problems (with how often each was seen)."""
    by_fault: dict[str, list[Mapping[str, Any]]] = {}
    for o in outcomes:
        by_fault.setdefault(str(o["fault"]), []).append(o)
    order = [f for f in FAULTS if f in by_fault] + sorted(set(by_fault) - set(FAULTS))
    return {fault: _one(by_fault[fault]) for fault in order}


def _one(trials: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    problems: Counter[str] = Counter()
    for t in trials:
        problems.update(f"{k}: {_generic(x)}" for k in COUNTS if isinstance(t.get(k), list)
                        for x in t[k])
        if t.get("error"):
            problems[f"error: {_generic(t['error'])}"] += 1
    failed = sum(1 for t in trials if t.get("error") or any(_count(t.get(k)) for k in COUNTS))
    return {
        "trials": len(trials),
        "failed_trials": failed,
        "errors": sum(1 for t in trials if t.get("error")),
        **{k: sum(_count(t.get(k)) for t in trials) for k in COUNTS},
        "detect_s": _spread([t["detect_s"] for t in trials if t.get("detect_s") is not None]),
        "recover_s": _spread([t["recover_s"] for t in trials if t.get("recover_s") is not None]),
        "trial_s": _spread([t["trial_s"] for t in trials if t.get("trial_s") is not None]),
        "kept": _kept([t["kept"] for t in trials if t.get("kept") is not None]),
        "problems": dict(problems.most_common(8)),
    }


def _kept(values: Sequence[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values)}


def _generic(text: str) -> str:
    """A problem without the ids and numbers that make every occurrence unique."""
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<id>", str(text))
    return re.sub(r"\d+(\.\d+)?", "N", text)[:200]


def _secs(spread: Mapping[str, float] | None) -> str:
    return f"{spread['median']:.1f} / {spread['max']:.1f}" if spread else "–"


def _percent(kept: Mapping[str, float] | None) -> str:
    return f"{kept['median']:.0%} / {kept['min']:.0%}" if kept else "–"


def render(summary: Mapping[str, Mapping[str, Any]], meta: Mapping[str, Any]) -> str:
    lines = [
        "# Reliability under injected faults",
        "",
        (f"Generated by `make faults` (`python -m benchmarks.faults.run`) on {meta['date']}, "
        f"commit `{meta['commit']}`{' (uncommitted changes)' if meta.get('dirty') else ''}, "
        f"{meta['trials_per_fault']} trial(s) per fault. Each trial is one run of a test in "
        "`tests/faults/` on the real sandbox (Asterisk 22 pbx + phones, PostgreSQL 15); the same "
        "tests run once in `make test`. Raw figures: `docs/reliability.json`. The whole run "
        f"took {meta['wall_s'] / 60:.0f} min."),
        "",
        ("| fault | trials | recordings lost | left running after the agent left | rows lost | "
        "rows duplicated | files not proven | other expectations missed | errors | "
        "detect s (median / max) | recover s (median / max) | audio kept (median / min) | "
         "trial s (median) |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for fault, s in summary.items():
        lines.append(f"| `{fault}` | {s['trials']} | {s['recordings_lost']} | {s['left_running']} "
                     f"| {s['rows_lost']} | {s['rows_duplicated']} | {s['unproven_files']} | "
                     f"{s['missed']} | {s['errors']} | {_secs(s['detect_s'])} | "
                     f"{_secs(s['recover_s'])} | {_percent(s['kept'])} | "
                     f"{s['trial_s']['median'] if s['trial_s'] else '–'} |")
    lines += ["", "## The faults", ""]
    lines += [f"* `{f}`: {FAULTS.get(f, '(not described)')}." for f in summary]
    lines += ["", *DEFINITIONS, "", "## Problems seen", ""]
    seen = [(f, p, n) for f, s in summary.items() for p, n in s["problems"].items()]
    lines += [f"* `{f}` ({n}×): {p}" for f, p, n in seen] or ["None."]
    lines += ["", "## Found by these trials, fixed", "", *FIXED]
    lines += ["", "## What the trials do not show", "", *FINDINGS]
    lines += ["", "## Machine", "", *(f"* {k}: {v}" for k, v in meta["machine"].items()), ""]
    return "\n".join(lines)


DEFINITIONS = (
    "Columns (each a count over all trials; the goal is zero in the first five):",
    "",
    ("* **recordings lost**: an agent joined the bridge but no recording row exists, a row that "
    "claims audio has no file, or a recording failed that no policy refused."),
    ("* **left running after the agent left**: once the call was over, a recording row still "
    "open, an agent channel of the call still up on the pbx, a file still growing (looked at "
    "for 2.3 s: Asterisk writes through a 32 KiB buffer, 2.05 s of audio), or a file longer than "
    "its agent's time in the bridge by more than a 20 ms frame (plus 0.3 %: the file counts "
    "samples, the bridge time is wall clock)."),
    ("* **rows lost / duplicated**: the call's evidence counted by kind (calls, legs and their "
    "answer/join/leave times, recordings and their stop and seal, announcements, timeline events) "
    "against the same scripted call with no fault, measured on the sandbox in the same run; "
    "the fault's own `recovered`/`alarm` events aside. Identical timeline rows count as duplicated."),
    ("* **files not proven**: a file neither `complete` with a closed header and a matching SHA-256 "
    "nor marked `incomplete`/`interrupted` (whose hash, when present, must match too)."),
    ("* **other expectations missed**: what the fault's test expects besides (e.g. the live call's "
    "recording stopped by its agent's hang-up after an ARI outage; the truncated file detected)."),
    "* **errors**: trials that could not be carried out (a timeout waiting for the call, ...).",
    ("* **detect**: ARI black hole → the controller reports the socket dead (heartbeat); AMI "
    "black hole → the controller drops the dead socket, timed from the agent's hang-up (found by the first "
    "action that gets no answer and the Ping after it, or by the 10 s heartbeat, first of the "
    "two); "
    "Asterisk restart/crash → the controller is connected again after Asterisk answers."),
    ("* **audio kept**: the faulted recording's duration over its agent's time in the bridge up "
     "to the moment the agent left or Asterisk went away (less the simulated phones' 200 ms "
     "silent start): how much of the conversation reached the file."),
    ("* **recover**: end of the fault (network healed, Asterisk answering, PostgreSQL started) → "
     "the faulted call closed and every recording of it sealed in PostgreSQL; for a killed "
     "controller: the kill → the new process has adopted the call (for the dialer's call: → the "
     "disclosure played again has finished, about 8 s of it)."),
)


# Found while building these trials and fixed since; each fix is pinned by the test named.
FIXED = (
    ("* **A crash of the controller during a database outage lost evidence.** A fact waited in "
     "memory until its write gave up (the pool's 10 s connection timeout) before it went to the "
     "journal; a controller killed in that window lost the agent's departure and the call's end. "
     "A write PostgreSQL sits on is now journalled after 0.5 s "
     "(`tests/controller/test_evidence.py::test_a_write_the_database_sits_on_is_journalled_before_"
     "it_gives_up`, `test_postgres_outage.py::test_a_crash_during_the_outage_loses_no_evidence`)."),
    ("* **An agent who left during an ARI outage got a false cut-short alarm.** The reconcile "
     "dated the departure it missed at the reconnect, so the outage counted as time in the bridge "
     "and a complete file was sealed `incomplete`. A departure found by a reconcile is now "
     "`unobserved`: sealed without the cut-short check (`test_ari_blackhole.py"
     "::test_an_agent_gone_during_the_outage_is_not_a_cut_short_recording`)."),
    ("* **A dialer's conversation adopted after a restart stayed muted, and its client was rung "
     "again.** Recovery resumed it as an inbound call: the agent's ARI mute (Asterisk keeps it) "
     "was never lifted, the disclosure's proof stayed open, and the dialer closed the attempt "
     "`failed`, so the task was retried. Now the disclosure is played again whole before the "
     "unmute, and the attempt counts as a person reached (`test_outbound_crash.py`, "
     "`tests/controller/test_adopt_outbound.py`, `tests/dialer/test_loop.py`)."),
)

# What the table cannot show, and why.
FINDINGS = (
    ("* **Facts still in memory die with a killed controller.** The evidence journal is written "
     "when PostgreSQL fails, not before every write: a `kill -9` loses what the writer held at "
     "that instant (facts batched for at most 50 ms, or up to 0.5 s while PostgreSQL hangs). The "
     "restart then proves what it can from Asterisk and marks the rest `interrupted`; the "
     "`controller_killed` trials count no row lost because the kill lands mid-conversation, "
     "when nothing is being written."),
    ("* **An outbound call whose recording row was written but not its disclosure's** (a kill "
     "in the milliseconds between the two) is ended by recovery, not resumed: nothing may be said "
     "to the client before a disclosure that can be proven (`outbound_disclosure_unproven_after_"
     "restart`, unit-tested in `tests/controller/test_recovery_plan.py`; no trial hits that "
     "window)."),
    ("* **A dialer's conversation adopted after a restart can lose its muted stretch on file.** In "
     "2 of the 15 `controller_killed_outbound` trials of the 2026-11-22 run, MixMonitor on the muted "
     "agent wrote nothing from the recording's start until shortly before (or at) the unmute after "
     "the replayed disclosure: 1.2 s and 4.1 s on file of 13 s in the bridge. Asterisk logged "
     "nothing. It is not the restart's doing: after this run the same loss showed on plain "
     "answered dialer calls (no fault) three times in a row, and stopped once the pbx Asterisk was "
     "restarted - a pbx up through hundreds of calls records a muted agent's side badly; the root "
     "cause in Asterisk is not established. callrec sealed both `incomplete` with a cut-short alarm, and what each client "
     "heard (its own capture) was the replayed disclosure whole, then the agent. Those two trials "
     "are the 4 missed expectations in the table; the trial now takes a flagged `incomplete` "
     "recording as held and checks the client's side in every trial."),
    ("* **What an Asterisk crash costs in audio is Asterisk's.** MixMonitor writes through a "
     "32 KiB buffer (2.05 s of audio per file); whatever is in it when Asterisk dies is gone. "
     "The `asterisk_crashed` trials talk 3 s before the crash: the *audio kept* column shows it."),
)
