-- Evidence replayed after a crash adds no second row; a release that broke is audited as 'failed'.

-- The controller journals evidence facts while PostgreSQL is away and replays them in order. A fact
-- applied just before a crash (or whose commit's answer was lost) is replayed once more. Every other
-- table is keyed by our own UUIDs, so the replay is refused; call_events had only a serial id, so it
-- gained a second row. Each event now carries the id of the fact that wrote it, unique.
-- Rows written before this get a random key each (a volatile default is evaluated per existing row).
ALTER TABLE call_events
    ADD COLUMN idempotency_key uuid NOT NULL DEFAULT gen_random_uuid(),
    ADD CONSTRAINT call_events_idempotency_key_key UNIQUE (idempotency_key);

-- An export that was allowed but whose own machinery broke (disk, ffmpeg, database) handed nothing
-- out. It was stored as 'refused' with failed=true in the detail; now it is an outcome of its own.
-- Rows already written keep their outcome: the audit log is append-only and each row's hash covers
-- its outcome, so rewriting them would break the chain `callrec audit verify` checks.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_outcome_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_outcome_check
    CHECK (outcome IN ('granted', 'refused', 'failed'));
