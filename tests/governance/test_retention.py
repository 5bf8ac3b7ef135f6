"""Retention: each recording is kept for its class (by queue, else business unit, else default),
then its files are deleted and a disposal recorded -- unless a legal hold stops it. A dry run
changes nothing; a second run does nothing more; an interrupted run is finished by the next."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import psycopg
import pytest

from callrec.governance import AccessRefused, Governance, GovernanceError, RetentionConfig
from callrec.governance import store as q
from callrec.governance.retention import plan, purge_one, retention_class, run
from callrec.governance.settings import retention_config
from tests.governance.conftest import T0, FakeClock, Seeded, SeedRecording, audit_rows, sha256

pytestmark = [pytest.mark.pg]
Users = dict[str, Governance]

CONFIG = RetentionConfig(
    default_class="default",
    classes=(("default", 90), ("seven_years", 2557), ("short", 30)),
    queues=(("fraud", "seven_years"),),
    business_units=(("benefits", "seven_years"), ("helpdesk", "short")),
)


@pytest.mark.parametrize(("queue", "unit", "expected"), [
    (None, None, "default"),
    ("general", "unknown-unit", "default"),
    (None, "benefits", "seven_years"),
    ("fraud", "helpdesk", "seven_years"),  # the queue wins over the business unit
    ("general", "helpdesk", "short"),
])
def test_the_class_comes_from_queue_then_business_unit_then_default(
        queue: str | None, unit: str | None, expected: str) -> None:
    assert retention_class(queue, unit, CONFIG) == expected


def test_the_retention_table_parses_and_refuses_undefined_classes() -> None:
    parsed = retention_config({"classes": {"default": 90, "seven_years": 2557},
                               "business_units": {"benefits": "seven_years"}})
    assert parsed.days("seven_years") == 2557
    assert parsed.business_units == (("benefits", "seven_years"),)
    assert RetentionConfig().days("default") == 90 and RetentionConfig().days("seven_years") == 2557
    with pytest.raises(GovernanceError, match="undefined classes forever"):
        retention_config({"queues": {"q": "forever"}})
    with pytest.raises(GovernanceError, match="unknown keys"):
        retention_config({"clases": {}})


async def status(raw: psycopg.AsyncConnection, rec: Seeded) -> str:
    cur = await raw.execute("SELECT status FROM recordings WHERE id = %s", (rec.id,))
    row = await cur.fetchone()
    assert row is not None
    return str(row[0])


async def disposals(raw: psycopg.AsyncConnection) -> dict[UUID, tuple[str, str, str | None]]:
    cur = await raw.execute("SELECT recording_id, retention_class, actor, sha256 FROM disposals")
    return {r[0]: (r[1], r[2], r[3]) for r in await cur.fetchall()}


@pytest.fixture
async def aged(seed: SeedRecording, clock: FakeClock) -> dict[str, Seeded]:
    """Recordings of several classes and ages; the clock is then 100 days after T0."""
    made = {
        "old_default": await seed(started=T0),
        "young_default": await seed(started=T0 + timedelta(days=20)),
        "old_benefits": await seed(started=T0, business_unit="benefits"),
        "old_fraud_queue": await seed(started=T0, queue="fraud", business_unit="helpdesk"),
        "helpdesk_40_days": await seed(started=T0 + timedelta(days=60),
                                       business_unit="helpdesk"),
        "held": await seed(started=T0),
        "incomplete": await seed(started=T0, status="incomplete", stereo=False),
    }
    clock.advance(days=100)
    return made


async def test_dry_run_lists_what_is_due_and_changes_nothing(
        users: Users, aged: dict[str, Seeded], raw: psycopg.AsyncConnection) -> None:
    await users["amos"].hold_add(aged["held"].id, "litigation 2025-33")
    report = await run(users["root"], CONFIG, dry_run=True)
    due = {v.recording_id for v in report.due}
    assert due == {aged[n].id for n in ("old_default", "helpdesk_40_days", "incomplete")}
    assert all(f.exists() for rec in aged.values() for f in rec.files)
    assert {await status(raw, rec) for rec in aged.values()} == {"complete", "incomplete"}
    assert await disposals(raw) == {}


async def test_a_run_purges_by_class_respects_holds_and_records_disposals(
        users: Users, aged: dict[str, Seeded], raw: psycopg.AsyncConnection) -> None:
    await users["amos"].hold_add(aged["held"].id, "litigation 2025-33")
    fingerprint = sha256(aged["old_default"].mix)
    report = await run(users["root"], CONFIG)
    purged = {"old_default", "helpdesk_40_days", "incomplete"}
    assert report.purged == 3
    for name, rec in aged.items():
        gone = name in purged
        assert all(not f.exists() for f in rec.files) if gone else all(
            f.exists() for f in rec.files), name
        assert (await status(raw, rec) == "purged") is gone, name
    found = await disposals(raw)
    assert found[aged["old_default"].id] == ("default", "root", fingerprint)
    assert found[aged["helpdesk_40_days"].id][0] == "short"
    assert set(found) == {aged[n].id for n in purged}
    purges = [r for r in await audit_rows(raw) if r[1] == "retention.purge" and r[2]]
    assert {r[2] for r in purges} == {str(aged[n].id) for n in purged}


async def test_a_second_run_does_nothing_more(users: Users, aged: dict[str, Seeded],
                                              raw: psycopg.AsyncConnection) -> None:
    await run(users["root"], CONFIG)
    before = await disposals(raw)
    again = await run(users["root"], CONFIG)
    assert again.due == () and again.purged == 0
    assert await disposals(raw) == before


async def test_files_already_gone_from_an_interrupted_run_are_recorded_as_missing(
        users: Users, aged: dict[str, Seeded], raw: psycopg.AsyncConnection) -> None:
    rec = aged["old_default"]
    rec.mix.unlink()  # as if a run had died after deleting this file, before committing
    await run(users["root"], CONFIG)
    disposal = await q.get_disposal(raw, rec.id)
    assert disposal is not None
    outcomes = {f["path"]: f["outcome"] for f in disposal.files}
    assert outcomes[str(rec.mix)] == "missing"
    assert outcomes[str(rec.legs[0])] == "deleted"


async def test_a_released_hold_no_longer_blocks(users: Users, aged: dict[str, Seeded],
                                                raw: psycopg.AsyncConnection) -> None:
    held = aged["held"]
    await users["amos"].hold_add(held.id, "litigation")
    with pytest.raises(AccessRefused, match="already under a legal hold"):
        await users["april"].hold_add(held.id, "again")
    await users["april"].hold_remove(held.id, "case closed")
    await run(users["root"], CONFIG)
    assert await status(raw, held) == "purged"
    holds = await q.holds_of(raw, held.id)
    assert [(h.placed_by, h.released_by, h.release_reason) for h in holds] == [
        ("amos", "april", "case closed")]
    actions = [(r[0], r[1], r[3]) for r in await audit_rows(raw) if r[2] == str(held.id)]
    assert actions[:3] == [("amos", "hold.add", "granted"), ("april", "hold.add", "refused"),
                           ("april", "hold.remove", "granted")]


async def test_holds_are_for_approvers_and_purges_for_admins(
        users: Users, aged: dict[str, Seeded], raw: psycopg.AsyncConnection) -> None:
    with pytest.raises(AccessRefused, match="viewer may not hold.add"):
        await users["vera"].hold_add(aged["held"].id, "I want to")
    with pytest.raises(AccessRefused, match="approver may not retention.purge"):
        await run(users["amos"], CONFIG)
    with pytest.raises(AccessRefused, match="auditor may not retention.plan"):
        await run(users["aud"], CONFIG, dry_run=True)
    assert await disposals(raw) == {}


async def test_a_purged_recording_cannot_be_held_requested_or_fetched(
        users: Users, aged: dict[str, Seeded]) -> None:
    await run(users["root"], CONFIG)
    rec = aged["old_default"]
    with pytest.raises(AccessRefused, match="purged"):
        await users["amos"].hold_add(rec.id, "too late")
    with pytest.raises(AccessRefused, match="purged"):
        await users["vera"].request_access(rec.id, "too late")


async def test_a_hold_placed_after_the_plan_still_wins(users: Users, aged: dict[str, Seeded],
                                                       raw: psycopg.AsyncConnection) -> None:
    due = await plan(users["root"], CONFIG, dry_run=False)
    target = next(v for v in due if v.recording_id == aged["old_default"].id)
    await users["amos"].hold_add(target.recording_id, "late subpoena")
    outcome = await purge_one(users["root"], target, CONFIG)
    assert not outcome.purged and "legal hold" in outcome.note
    assert await status(raw, aged["old_default"]) == "complete"
    assert all(f.exists() for f in aged["old_default"].files)
