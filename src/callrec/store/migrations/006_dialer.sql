-- Outbound dialer: call tasks and every attempt made on them (issue 3).
--
-- The schedule (callrec.dialer.schedule) decides; these constraints are the last line behind it:
--  * at most three attempts per task, numbered 1..3 without gaps (the primary key and the check,
--    plus the application inserting n = count + 1 under a row lock on the task);
--  * one open task per number and one per client, so nobody is called twice at once;
--  * the disclosure played to a client who answered is an `announcements` row of kind
--    'outbound_disclosure' on the attempt's call (joined through dial_attempts.call_id).
-- As elsewhere: times are written by the application, no ON DELETE CASCADE.

CREATE TABLE dial_tasks (
    id              uuid PRIMARY KEY,
    number          text NOT NULL CHECK (number ~ '^\+[1-9][0-9]{7,14}$'),
    client_ref      text NOT NULL CHECK (client_ref <> ''),
    client_name     text,
    agent           text,
    business_unit   text NOT NULL CHECK (business_unit <> ''),
    voicemail       text NOT NULL CHECK (voicemail IN ('identifies_client', 'minimal', 'none')),
    status          text NOT NULL CHECK (status IN ('open', 'in_progress', 'closed', 'cancelled')),
    next_due        timestamptz,
    created_at      timestamptz NOT NULL,
    close_reason    text,
    closed_at       timestamptz,
    CONSTRAINT dial_tasks_open_is_due CHECK (status <> 'open' OR next_due IS NOT NULL)
);
CREATE UNIQUE INDEX dial_tasks_one_open_per_number ON dial_tasks (number)
    WHERE status IN ('open', 'in_progress');
CREATE UNIQUE INDEX dial_tasks_one_open_per_client ON dial_tasks (client_ref)
    WHERE status IN ('open', 'in_progress');
CREATE INDEX dial_tasks_due_idx ON dial_tasks (next_due) WHERE status = 'open';
CREATE INDEX dial_tasks_created_at_idx ON dial_tasks (created_at);

CREATE TABLE dial_attempts (
    task_id         uuid NOT NULL REFERENCES dial_tasks (id),
    n               smallint NOT NULL CHECK (n BETWEEN 1 AND 3),
    started_at      timestamptz NOT NULL,
    ended_at        timestamptz,
    outcome         text CHECK (outcome IN (
                        'answered_human', 'machine_voicemail_left', 'machine_no_message',
                        'no_answer', 'busy', 'failed', 'unsure', 'cancelled')),
    -- Asterisk's AMD() result: AMDSTATUS (HUMAN, MACHINE, NOTSURE, HANGUP) and AMDCAUSE.
    amd_verdict     text,
    amd_cause       text,
    -- The voicemail left, if any: which script, the words as rendered, the prompt played, when.
    script_kind     text CHECK (script_kind IN ('try_again', 'final', 'minimal', 'none')),
    script_text     text,
    prompt          text,
    script_at       timestamptz,
    call_id         uuid REFERENCES calls (id),
    recording_id    uuid,
    PRIMARY KEY (task_id, n),
    -- A recording cited here must belong to the attempt's own call.
    FOREIGN KEY (recording_id, call_id) REFERENCES recordings (id, call_id),
    -- MATCH SIMPLE skips the key above when call_id is NULL: a recording needs its call.
    CONSTRAINT dial_attempts_recording_has_call CHECK (
        recording_id IS NULL OR call_id IS NOT NULL),
    CONSTRAINT dial_attempts_ended_has_outcome CHECK ((ended_at IS NULL) = (outcome IS NULL)),
    CONSTRAINT dial_attempts_script_has_text CHECK (
        script_kind IS NULL OR script_kind = 'none' OR script_text <> '')
);
CREATE INDEX dial_attempts_call_id_idx ON dial_attempts (call_id) WHERE call_id IS NOT NULL;
CREATE INDEX dial_attempts_started_at_idx ON dial_attempts (started_at);
