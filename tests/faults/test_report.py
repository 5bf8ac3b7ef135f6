"""docs/reliability.md is computed from the trials' outcomes: every violation counted, none hidden."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from benchmarks.faults.report import FAULTS, render, summarise


def trial(fault: str, **measured: Any) -> dict[str, Any]:
    return {"fault": fault, "recordings_lost": [], "left_running": [], "rows_lost": 0,
            "rows_duplicated": 0, "unproven_files": [], "missed": [], "detect_s": None,
            "recover_s": None, "trial_s": 10.0, "notes": [], "error": None, **measured}


def test_violations_are_summed_per_fault_and_problems_grouped() -> None:
    failed = "recording {}-1111-4a4a-9d9d-0123456789ab failed"
    summary = summarise([
        trial("postgres_stopped", rows_duplicated=1, recover_s=5.0),
        trial("postgres_stopped", recordings_lost=[failed.format("0b7e3c2a")], recover_s=7.0),
        trial("postgres_stopped", recordings_lost=[failed.format("5f0e3c2a")], recover_s=6.0),
        trial("ari_blackholed", error="AssertionError: timed out after 40.0s"),
    ])
    pg = summary["postgres_stopped"]
    assert (pg["trials"], pg["failed_trials"], pg["recordings_lost"], pg["rows_duplicated"]) \
        == (3, 3, 2, 1)
    assert pg["recover_s"] == {"median": 6.0, "max": 7.0}
    assert pg["problems"] == {"recordings_lost: recording <id> failed": 2}
    ari = summary["ari_blackholed"]
    assert (ari["trials"], ari["errors"], ari["recover_s"]) == (1, 1, None)
    assert list(summary) == ["ari_blackholed", "postgres_stopped"]  # the report's order


def test_the_table_has_a_row_per_fault_with_its_counts() -> None:
    summary = summarise([trial("disk_low_refused", missed=["the refusal alarmed"])] * 2)
    text = render(summary, {"date": "2026-11-22", "commit": "abc1234", "trials_per_fault": 2,
                            "wall_s": 60, "machine": {"nproc": 4}})
    [row] = [line for line in text.splitlines() if line.startswith("| `disk_low_refused`")]
    assert [c.strip() for c in row.strip("|").split("|")][:9] == [
        "`disk_low_refused`", "2", "0", "0", "0", "0", "0", "2", "0"]
    assert "(2×): missed: the refusal alarmed" in text


def test_every_fault_the_tests_inject_is_described_and_runnable() -> None:
    """`make faults` offers (--only) and describes exactly the faults marked in tests/faults: a new
    fault test without its entry in FAULTS would get a row reading "(not described)"."""
    marked = {m for path in Path(__file__).parent.glob("test_*.py")
              for m in re.findall(r"mark\.fault\(\"(\w+)\"\)", path.read_text())}
    assert marked == set(FAULTS)
