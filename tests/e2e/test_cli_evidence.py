"""The evidence of a real call, as an operator reads it through the `callrec` command line."""

from __future__ import annotations

import contextlib
import json

import pytest

from callrec.app import Service
from callrec.config import Config
from tests.e2e.harness import Phones, agent, cli, finished_call, set_agents

pytestmark = [pytest.mark.e2e]


@pytest.fixture
async def db_env(e2e_config: Config) -> dict[str, str]:
    """Listing recordings is an audited act of a known user: an admin, here."""
    env = {"CALLREC_DATABASE_DSN": e2e_config.database.dsn, "CALLREC_ACTING_USER": "e2e-admin"}
    with contextlib.suppress(AssertionError):  # the first user of a database must be an admin
        await cli("users", "add", "e2e-admin", "--role", "admin", env=env)
    return env


async def test_calls_and_recordings_show_the_evidence(service: Service, phones: Phones,
                                                      db_env: dict[str, str]) -> None:
    await set_agents(service.store, {"alice": agent("agent-hangup")})
    number = await phones.call()
    call_id = str((await finished_call(service.store, number)).call.id)

    listed = json.loads(await cli("calls", "list", "--json", env=db_env))
    assert any(c["id"] == call_id and c["caller_number"] == number for c in listed)

    shown = json.loads(await cli("calls", "show", call_id, "--json", env=db_env))
    assert shown["call"]["client_number"] == "12345"
    assert [a["outcome"] for a in shown["announcements"]] == ["finished"]
    assert [g["agent_name"] for g in shown["legs"]] == ["alice"]
    kinds = [e["kind"] for e in shown["events"]]
    assert kinds.index("phase:announcing") < kinds.index("phase:connected") < kinds.index(
        "phase:ended")

    recordings = json.loads(await cli("recordings", "list", "--call", call_id, "--json",
                                      env=db_env))
    [rec] = recordings
    assert rec["agent_name"] == "alice" and rec["direction"] == "inbound"
    assert rec["recording"]["status"] == "complete" and len(rec["recording"]["sha256"]) == 64
    audit = json.loads(await cli("audit", "list", "--json", env=db_env))
    assert any(a["action"] == "recordings.list" and a["actor"] == "e2e-admin" for a in audit)

    table = await cli("calls", "show", call_id, env=db_env)
    assert "Timeline" in table and "phase:connected" in table and "agent_hangup" in table


async def test_bad_input_is_a_clear_error_not_a_traceback(db_env: dict[str, str]) -> None:
    with pytest.raises(AssertionError, match="not a call ID"):
        await cli("calls", "show", "../../etc/passwd", env=db_env)
    with pytest.raises(AssertionError, match="no call"):
        await cli("calls", "show", "00000000-0000-0000-0000-000000000000", env=db_env)
