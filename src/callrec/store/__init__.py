"""PostgreSQL evidence store (psycopg 3 + psycopg-pool). One domain error: StoreError."""

from callrec.store.errors import StoreError
from callrec.store.migrate import Migration, bundled_migrations, migrate
from callrec.store.models import (
    Agent,
    AgentLeg,
    Announcement,
    Call,
    CallDetail,
    CallEvent,
    Hold,
    Recording,
    RecordingInfo,
    Transfer,
)
from callrec.store.store import Store

__all__ = [
    "Agent",
    "AgentLeg",
    "Announcement",
    "Call",
    "CallDetail",
    "CallEvent",
    "Hold",
    "Migration",
    "Recording",
    "RecordingInfo",
    "Store",
    "StoreError",
    "Transfer",
    "bundled_migrations",
    "migrate",
]
