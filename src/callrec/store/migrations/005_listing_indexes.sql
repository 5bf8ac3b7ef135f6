-- Indexes that answer `recordings list` pages from the index alone (measured on 1,000,000
-- recordings: docs/benchmarks.md). The listing first picks a page of (id, sort key) pairs and only
-- then reads the rows it shows; when an index holds the filter column, the sort key and the id,
-- PostgreSQL walks the index without touching the table, instead of one random heap page per
-- candidate row. Each replaces a narrower index of 001 that it fully covers (one more index per
-- table would only slow the controller's writes).

-- Newest first, the listing's default order, with its tie-breaker: a deep page (--page 1000) walks
-- 50,000 index entries instead of fetching 50,000 rows and sorting them. Also serves --since/--until.
CREATE INDEX recordings_started_id_idx ON recordings (started_at DESC, id DESC);
DROP INDEX recordings_started_at_idx;

-- --agent: the agent's legs come from this index alone (InitPlan of listing._BY_AGENT)...
CREATE INDEX agent_legs_agent_name_id_idx ON agent_legs (agent_name, id);
DROP INDEX agent_legs_agent_name_idx;

-- ...and their recordings with both sort keys from this one (also the foreign key's index).
CREATE INDEX recordings_agent_leg_page_idx ON recordings (agent_leg_id)
    INCLUDE (id, started_at, duration_ms);
DROP INDEX recordings_agent_leg_id_idx;

-- --status (failed, incomplete: the ones someone goes looking for) newest first, from the index
-- alone; still serves the controller's look-up of unsealed recordings after a restart.
CREATE INDEX recordings_status_started_idx ON recordings (status, started_at DESC, id DESC);
DROP INDEX recordings_status_idx;
