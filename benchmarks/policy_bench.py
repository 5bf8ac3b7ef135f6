"""Policy core: events/s through ``callrec.policy.decide`` and µs/event through ``translate``.

Both are pure and single-threaded, so one Python process measures one core. The events are built
before the clock starts; only the work the controller does per event is timed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.ari_stream import answered_call
from benchmarks.calls import call_mix
from benchmarks.stats import summarise
from callrec import policy as p
from callrec.ari import AriEvent, parse_event
from callrec.controller.translate import Roles, translate

POLICY_TARGET_EVENTS_PER_S = 100_000
TRANSLATE_TARGET_US = 1000.0  # "well under 1 ms CPU per call event"


@dataclass(frozen=True)
class Sizes:
    calls: int  # calls replayed through decide per repetition
    ari_calls: int  # calls' ARI streams replayed through translate per repetition
    repeats: int


FULL = Sizes(calls=20_000, ari_calls=4_000, repeats=7)
QUICK = Sizes(calls=500, ari_calls=100, repeats=3)


def replay(calls: list[tuple[uuid.UUID, list[p.Event]]]) -> int:
    """Every call from its initial state through all its events; returns the events decided."""
    decided = 0
    decide = p.decide
    for call_id, events in calls:
        state = p.initial_state(call_id)
        for event in events:
            state, _ = decide(state, event)
        decided += len(events)
    return decided


def _cpu_seconds(work: Callable[[], Any]) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def bench_policy(sizes: Sizes) -> dict[str, Any]:
    calls = call_mix(sizes.calls)
    events = sum(len(e) for _, e in calls)
    replay(calls)  # warm-up: first calls pay for imports and caches
    rates = []
    for _ in range(sizes.repeats):
        started = time.perf_counter()
        replay(calls)
        rates.append(events / (time.perf_counter() - started))
    rate = summarise(rates)
    return {"calls": sizes.calls, "events": events, "events_per_call": events / sizes.calls,
            "events_per_s": rate.as_json(), "target_events_per_s": POLICY_TARGET_EVENTS_PER_S,
            "met": rate.median >= POLICY_TARGET_EVENTS_PER_S}


def _streams(n: int) -> list[tuple[Roles, list[str]]]:
    return [answered_call(i + 1) for i in range(n)]


def _translate_all(parsed: list[tuple[Roles, list[AriEvent]]]) -> None:
    new_id = uuid.uuid4
    for roles, events in parsed:
        for event in events:
            translate(event, roles, new_id)


def _parse_and_translate_all(texts: list[tuple[Roles, list[str]]]) -> None:
    """What the session does per WebSocket message: parse, then translate (roles already known)."""
    new_id = uuid.uuid4
    for roles, events in texts:
        for text in events:
            translate(parse_event(text), roles, new_id)


def bench_translate(sizes: Sizes) -> dict[str, Any]:
    texts = _streams(sizes.ari_calls)
    parsed = [(roles, [parse_event(t) for t in events]) for roles, events in texts]
    count = sum(len(e) for _, e in texts)
    meaningful = sum(translate(e, r, uuid.uuid4) is not None for r, es in parsed for e in es)
    _translate_all(parsed)
    only, whole = [], []
    for _ in range(sizes.repeats):
        only.append(_cpu_seconds(lambda: _translate_all(parsed)) / count * 1e6)
        whole.append(_cpu_seconds(lambda: _parse_and_translate_all(texts)) / count * 1e6)
    translate_us, with_parse_us = summarise(only), summarise(whole)
    return {"calls": sizes.ari_calls, "events": count, "policy_events": meaningful,
            "translate_us_per_event": translate_us.as_json(),
            "parse_and_translate_us_per_event": with_parse_us.as_json(),
            "target_us_per_event": TRANSLATE_TARGET_US,
            "met": with_parse_us.median < TRANSLATE_TARGET_US}


def run(quick: bool) -> dict[str, Any]:
    sizes = QUICK if quick else FULL
    return {"policy": bench_policy(sizes), "translate": bench_translate(sizes)}
