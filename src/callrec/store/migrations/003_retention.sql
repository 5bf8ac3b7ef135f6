-- Retention: legal holds, disposal records and the 'purged' recording status.

-- 001 declared the status check inline, so PostgreSQL named it recordings_status_check.
ALTER TABLE recordings DROP CONSTRAINT recordings_status_check;
ALTER TABLE recordings ADD CONSTRAINT recordings_status_check CHECK (status IN (
    'recording', 'stopping', 'finalising',
    'complete', 'incomplete', 'interrupted', 'failed', 'purged'));

-- A hold is released, never deleted: the history of holds is evidence too.
CREATE TABLE legal_holds (
    id              uuid PRIMARY KEY,
    recording_id    uuid NOT NULL REFERENCES recordings (id),
    reason          text NOT NULL CHECK (btrim(reason) <> ''),
    placed_by       text NOT NULL,
    placed_at       timestamptz NOT NULL,
    released_by     text,
    released_at     timestamptz,
    release_reason  text,
    CONSTRAINT legal_holds_release_complete CHECK (
        (released_at IS NULL) = (released_by IS NULL)
        AND (released_at IS NULL) = (release_reason IS NULL))
);
-- At most one active hold per recording; also the index retention's NOT EXISTS uses.
CREATE UNIQUE INDEX legal_holds_active_idx ON legal_holds (recording_id) WHERE released_at IS NULL;

-- One disposal per purged recording (the primary key makes a re-run idempotent).
CREATE TABLE disposals (
    recording_id    uuid PRIMARY KEY REFERENCES recordings (id),
    disposed_at     timestamptz NOT NULL,
    retention_class text NOT NULL,
    retention_days  integer NOT NULL CHECK (retention_days >= 0),
    actor           text NOT NULL,
    sha256          text,
    -- [{"path": ..., "outcome": "deleted" | "missing"}]: what was removed from disk.
    files           jsonb NOT NULL CHECK (jsonb_typeof(files) = 'array')
);

-- Listing filters and sorts over a large store.
-- (recordings list --sort duration: longest first, unfinished ones last)
CREATE INDEX recordings_duration_idx ON recordings (duration_ms DESC NULLS LAST, id DESC);
CREATE INDEX calls_business_unit_idx ON calls (business_unit) WHERE business_unit IS NOT NULL;
CREATE INDEX calls_queue_idx ON calls (queue) WHERE queue IS NOT NULL;
