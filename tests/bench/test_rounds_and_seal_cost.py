"""The load rounds' summary and the sealing-cost benchmark, without the sandbox."""

from __future__ import annotations

from benchmarks.finalise_cost import cpu_ms_per_seal
from benchmarks.load.rounds import parse_config, render


def test_a_configuration_is_a_name_and_its_environment() -> None:
    assert parse_config("old:PYTHONPATH=/tmp/old/src,CALLREC_EVENT_LOOP=asyncio") == (
        "old", {"PYTHONPATH": "/tmp/old/src", "CALLREC_EVENT_LOOP": "asyncio"})
    assert parse_config("HEAD:") == ("HEAD", {})


def test_the_summary_gives_each_configurations_median_and_every_round() -> None:
    run = {"cpu_ms_per_call": 20.0, "cpu_ms_per_event": 0.9, "failed": 0.0, "stop_p99_ms": 4.0}
    results = {("b", 100, 30.0): [run, {**run, "cpu_ms_per_call": 30.0}, {**run, "failed": 7.0}],
               ("a", 100, 30.0): [{**run, "cpu_ms_per_event": None}]}
    table = render(results, ["a", "b"], 3)
    a_row, b_row = (line for line in table.splitlines() if line.startswith(("| a ", "| b ")))
    assert a_row == "| a | 100 @ 30 ms | 20.0 (20.0) | – | 0 | 4.0 |"  # listed in the given order
    assert b_row == "| b | 100 @ 30 ms | 20.0 (20.0, 30.0, 20.0) | 0.90 | 0, 0, 7 | 4.0, 4.0, 4.0 |"


async def test_sealing_a_recording_is_measured_in_cpu_milliseconds() -> None:
    costs = await cpu_ms_per_seal(seconds=0.5, repeat=2)
    assert len(costs) == 2 and all(0 < cost < 1000 for cost in costs)
