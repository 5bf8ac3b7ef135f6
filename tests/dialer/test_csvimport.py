"""CSV import: a report line for every row; a file that is not readable as a whole imports
nothing (the parser raises before anything is returned to be stored)."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest

from callrec.dialer.csvimport import (
    MAX_ROWS,
    Defaults,
    RowStatus,
    parse,
    read_file,
)
from callrec.dialer.errors import DialerError
from callrec.dialer.intake import Intake
from callrec.dialer.schedule import Task, VoicemailMode, new_task
from callrec.dialer.settings import BusinessUnit, DialerConfig
from tests.dialer.conftest import T0

CONFIG = DialerConfig(business_units=(BusinessUnit("north"), BusinessUnit("south")),
                      default_business_unit="north")
NO_DEFAULTS = Defaults()
INTAKE = Intake(CONFIG, frozenset({"alice", "bob"}), T0)


def report(text: str, open_tasks: list[Task] | None = None,
           defaults: Defaults = NO_DEFAULTS) -> list[tuple[int, str, str]]:
    rows = parse(text, INTAKE, open_tasks or [], defaults).rows
    return [(r.line, r.status.value, r.reason) for r in rows]


def test_every_row_is_reported_with_its_line_and_reason() -> None:
    text = ("number,client_ref,agent,business_unit,voicemail\n"
            "021 123 4567,C1,alice,south,identifies_client\n"
            "021 CALL ME,C2,,,\n"
            "\n"
            "09 123 4567,,,,\n"
            "09 123 4568,C4,carol,,\n"
            "09 123 4569,C5,,east,\n"
            "09 123 4570,C6,,,maybe\n"
            "09 123 4571,C7\n"
            "0800 559 009,C8,bob,,none\n")
    assert report(text) == [
        (2, "accepted", ""),
        (3, "rejected", "number: contains letters (CALLM)"),
        (5, "rejected", "client_ref: empty"),
        (6, "rejected", "agent: no enabled agent named 'carol' (see `callrec agents list`)"),
        (7, "rejected", "business_unit: unknown business unit 'east'; configured: north, south"),
        (8, "rejected", "voicemail: 'maybe' is not one of identifies_client, minimal, none"),
        (9, "rejected", "2 fields where the header has 5"),
        (10, "accepted", ""),
    ]


def test_accepted_rows_carry_their_tasks() -> None:
    text = "Client Ref,Number,Voicemail\nC1,021 123 4567,identifies_client\nC2,09 123 4567,\n"
    tasks = parse(text, INTAKE, []).tasks
    assert [(t.number, t.client_ref, t.business_unit, t.voicemail, t.next_due) for t in tasks] == [
        ("+64211234567", "C1", "north", VoicemailMode.IDENTIFIES_CLIENT, T0),
        ("+6491234567", "C2", "north", VoicemailMode.MINIMAL, T0)]


def test_duplicates_within_the_file_and_against_open_tasks() -> None:
    existing = new_task(CONFIG, id=uuid4(), number="+6491234567", client_ref="OLD",
                        created_at=T0)
    text = ("number,client_ref\n"
            "021 123 4567,C1\n"
            "+64 21 123 4567,C2\n"      # same number, written differently
            "021 999 9999,C1\n"         # same client
            "(09) 123-4567,C3\n"        # the open task's number
            "021 888 8888,OLD\n")       # the open task's client
    assert report(text, [existing]) == [
        (2, "accepted", ""),
        (3, "rejected", "duplicate: same number as line 2"),
        (4, "rejected", "duplicate: same client as line 2"),
        (5, "rejected", f"duplicate: +6491234567 already has an open task ({existing.id})"),
        (6, "rejected", f"duplicate: client OLD already has an open task ({existing.id})"),
    ]


def test_a_row_refused_for_another_reason_does_not_block_a_later_duplicate() -> None:
    text = "number,client_ref,agent\n021 123 4567,C1,carol\n021 123 4567,C1,alice\n"
    assert [s for _, s, _ in report(text)] == ["rejected", "accepted"]


def test_the_commands_defaults_fill_empty_columns() -> None:
    text = "number,client_ref,agent,business_unit\n021 123 4567,C1,,\n021 123 4568,C2,bob,north\n"
    tasks = parse(text, INTAKE, [], Defaults(agent="alice", business_unit="south")).tasks
    assert [(t.agent, t.business_unit) for t in tasks] == [("alice", "south"), ("bob", "north")]


@pytest.mark.parametrize(("text", "message"), [
    ("", "the file is empty"),
    ("\n\n", "the file is empty"),
    ("number\n021 123 4567\n", "missing required columns: client_ref"),
    ("number,client_ref,notes\n021 123 4567,C1,x\n", "unknown columns ['notes']"),
    ("number;client_ref\n021 123 4567;C1\n", "is the file comma-separated?"),
    ("number,client_ref,number\n", "columns named more than once: number"),
    ('number,client_ref\n"021 123 4567,C1\n', "not a readable CSV file"),
    ("number,client_ref\n021\x00,C1\n", "not a readable CSV file"),
    ("number,client_ref\n" + "021 123 4567,C\n" * (MAX_ROWS + 1), f"more than {MAX_ROWS} rows"),
])
def test_a_file_that_cannot_be_read_as_a_whole_imports_nothing(text: str, message: str) -> None:
    with pytest.raises(DialerError) as refused:
        parse(text, INTAKE, [])
    assert message in str(refused.value)


def test_overlong_fields_are_refused_by_row() -> None:
    text = "number,client_ref\n021 123 4567," + "x" * 500 + "\n"
    [(line, status, reason)] = report(text)
    assert (line, status) == (2, "rejected") and "client_ref: longer than" in reason


def test_reading_the_file(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_bytes("\ufeffnumber,client_ref\n021 123 4567,Ngā\n".encode())
    assert read_file(good) == "number,client_ref\n021 123 4567,Ngā\n"  # BOM dropped
    latin = tmp_path / "latin.csv"
    latin.write_bytes("number,client_ref\n021 123 4567,Zo\xeb\n".encode("latin-1"))
    with pytest.raises(DialerError, match="not UTF-8"):
        read_file(latin)
    with pytest.raises(DialerError, match="cannot read"):
        read_file(tmp_path / "missing.csv")


def test_row_results_say_accepted_or_rejected() -> None:
    assert {s.value for s in RowStatus} == {"accepted", "rejected"}
