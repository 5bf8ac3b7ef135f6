"""`make bench` stays runnable: the quick mode of its pure part (the policy) end to end.

No timing is asserted (a busy machine would fail it for nothing); what is checked is that the
benchmark still exercises what it claims to: realistic calls that the policy walks to their end, ARI
streams that mean something to translate(), and a runner that writes both reports.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from benchmarks import run as bench_run
from benchmarks.ari_stream import answered_call
from benchmarks.calls import MIX, call_mix
from callrec import policy as p
from callrec.ari import parse_event
from callrec.controller.translate import translate
from callrec.policy import Phase


def test_every_call_of_the_mix_is_decided_to_its_end() -> None:
    calls = call_mix(200)
    final = []
    for call_id, events in calls:
        state = p.initial_state(call_id)
        for event in events:
            state, _ = p.decide(state, event)
        final.append(state.phase)
    assert set(final) <= {Phase.ENDED, Phase.TRANSFERRED}
    assert len({tuple(type(e) for e in events) for _, events in calls}) == len(MIX)


def test_an_answered_calls_ari_stream_means_the_expected_policy_events() -> None:
    roles, texts = answered_call(7)
    meant = [translate(parse_event(t), roles, uuid.uuid4) for t in texts]
    assert [type(e) for e in meant if e is not None] == [
        p.AgentJoined, p.HoldStarted, p.HoldEnded, p.AgentLeft, p.AgentLeft, p.AgentLeft,
        p.CallerLeft, p.CallerLeft]
    assert meant.count(None) > len(texts) / 2  # most events are noise translate() must dismiss


def test_quick_policy_run_writes_both_reports(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    assert bench_run.main(["--quick", "--only", "policy", "--out", str(out)]) == 0
    doc = json.loads(out.with_suffix(".json").read_text())
    assert doc["quick"] is True and doc["machine"]["nproc"] >= 1
    assert doc["policy"]["policy"]["events"] > doc["policy"]["policy"]["calls"] > 0
    assert doc["policy"]["translate"]["policy_events"] > 0
    assert "events/s" in out.read_text() and "QUICK mode" in out.read_text()
