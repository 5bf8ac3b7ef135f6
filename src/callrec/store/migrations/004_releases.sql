-- Client copies of recordings ("release to a client who asks"): what was released, to which
-- request, who reviewed it, exactly which edits were made, and the fingerprint of what left.
--
-- No update or delete path exists in the code: a release is a fact. The row references the
-- recording it was made from (no cascade: evidence is never deleted as a side effect).

CREATE TABLE releases (
    id                  uuid PRIMARY KEY,
    recording_id        uuid NOT NULL REFERENCES recordings (id),
    request_ref         text NOT NULL CHECK (request_ref <> ''),
    reviewer            text NOT NULL CHECK (reviewer <> ''),
    reviewed_at         timestamptz NOT NULL,
    -- Pieces tiling the original recording: kind keep/cut/redact, source ms, output ms.
    edit_list           jsonb NOT NULL CHECK (jsonb_typeof(edit_list) = 'array'),
    redact_mode         text NOT NULL CHECK (redact_mode IN ('beep', 'silence')),
    format              text NOT NULL CHECK (format IN ('wav', 'mp3')),
    source_path         text NOT NULL,
    source_sha256       text NOT NULL CHECK (source_sha256 ~ '^[0-9a-f]{64}$'),
    output_path         text NOT NULL,
    output_sha256       text NOT NULL CHECK (output_sha256 ~ '^[0-9a-f]{64}$'),
    output_duration_ms  integer NOT NULL CHECK (output_duration_ms > 0),
    created_by          text NOT NULL CHECK (created_by <> ''),
    created_at          timestamptz NOT NULL
);
CREATE INDEX releases_recording_id_idx ON releases (recording_id, created_at);
CREATE INDEX releases_request_ref_idx ON releases (request_ref);
