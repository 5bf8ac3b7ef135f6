-- Access under approval, and the hash-chained audit log.
--
-- The rules (who may do what) live in callrec.governance.access; the schema repeats the few that
-- must hold whatever the code does: a request cannot be decided by its requester, a grant cannot
-- be given to its approver, and audit rows can be inserted and read but never changed.

-- The fingerprint of the stereo copy, so that `recordings fetch` can verify the file it hands out
-- (recordings.sha256 is the mixed file's). NULL for recordings finalised before this column.
ALTER TABLE recordings
    ADD COLUMN stereo_sha256 text CHECK (stereo_sha256 ~ '^[0-9a-f]{64}$');

-- Users are disabled, never deleted: requests, grants and audit rows keep naming them.
CREATE TABLE users (
    name            text PRIMARY KEY CHECK (name <> ''),
    role            text NOT NULL CHECK (role IN ('viewer', 'approver', 'auditor', 'admin')),
    enabled         boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL,
    created_by      text NOT NULL
);

CREATE TABLE access_requests (
    id              uuid PRIMARY KEY,
    recording_id    uuid NOT NULL REFERENCES recordings (id),
    requester       text NOT NULL REFERENCES users (name),
    reason          text NOT NULL CHECK (btrim(reason) <> ''),
    requested_at    timestamptz NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    decided_by      text REFERENCES users (name),
    decided_at      timestamptz,
    decision_note   text,
    -- Four eyes, enforced below the application too.
    CONSTRAINT access_requests_not_self_decided CHECK (decided_by IS DISTINCT FROM requester),
    CONSTRAINT access_requests_decision_complete CHECK (
        (status = 'pending') = (decided_by IS NULL AND decided_at IS NULL))
);
CREATE INDEX access_requests_recording_idx ON access_requests (recording_id, requested_at);
CREATE INDEX access_requests_pending_idx ON access_requests (requested_at) WHERE status = 'pending';

-- One grant per approved request; it lets its grantee fetch that one recording until expires_at.
CREATE TABLE access_grants (
    id              uuid PRIMARY KEY,
    request_id      uuid NOT NULL UNIQUE REFERENCES access_requests (id),
    recording_id    uuid NOT NULL REFERENCES recordings (id),
    grantee         text NOT NULL REFERENCES users (name),
    approved_by     text NOT NULL REFERENCES users (name),
    granted_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    CONSTRAINT access_grants_not_self_granted CHECK (approved_by <> grantee),
    CONSTRAINT access_grants_expire_after_grant CHECK (expires_at > granted_at)
);
CREATE INDEX access_grants_lookup_idx ON access_grants (grantee, recording_id, expires_at);

-- The audit log. `seq` is assigned by the appender under an advisory lock (max + 1), not by a
-- sequence: a sequence leaves gaps on rollback, and a gap must mean "a row was deleted".
-- row_hash = sha256(canonical JSON of the row's fields, prev_hash included); see governance/audit.py.
CREATE TABLE audit_log (
    seq             bigint PRIMARY KEY CHECK (seq >= 1),
    at              timestamptz NOT NULL,
    actor           text NOT NULL,
    action          text NOT NULL CHECK (action <> ''),
    target          text,
    outcome         text NOT NULL CHECK (outcome IN ('granted', 'refused')),
    detail          jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(detail) = 'object'),
    prev_hash       text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    row_hash        text NOT NULL UNIQUE CHECK (row_hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, seq);
CREATE INDEX audit_log_target_idx ON audit_log (target, seq);

-- Append-only. callrec connects as the table's owner, and an owner keeps every privilege whatever
-- is REVOKEd, so the guarantee is a trigger. Statement-level, so even an UPDATE or DELETE that
-- matches no row is refused. The only way around it is `ALTER TABLE audit_log DISABLE TRIGGER`
-- by the owner (or a superuser): an administrator's deliberate act, which `callrec audit verify`
-- then exposes through the broken chain.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
-- For roles other than the owner (a separate application role in production), the grants say it too.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
