/**
 * SQLite schema, one numbered migration at a time (append only; see shared/migration.ts).
 *
 * Conventions: times are ISO-8601 TEXT in UTC (they sort as text); JSON is TEXT; booleans are
 * 0/1. Jobs and executions have an INTEGER PRIMARY KEY `seq` (the rowid, AUTOINCREMENT so a number
 * is never reused) for newest-first/oldest-first order and cursors, and a UNIQUE text `id`.
 */
import type { Migration } from '../shared/migration.js';
import { registrySchema } from '../shared/registry-sql.js';

const INITIAL_SCHEMA = `
CREATE TABLE jobs (
  seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
  id                  TEXT NOT NULL UNIQUE,
  name                TEXT NOT NULL,
  description         TEXT,
  owner               TEXT NOT NULL,
  origin              TEXT NOT NULL,
  tags                TEXT NOT NULL DEFAULT '[]',
  inputs              TEXT NOT NULL DEFAULT '{}',
  secrets             TEXT NOT NULL DEFAULT '{}',
  metadata            TEXT NOT NULL DEFAULT '{}',
  queue               TEXT NOT NULL,
  priority            INTEGER NOT NULL DEFAULT 0,
  spec                TEXT NOT NULL,
  state               TEXT NOT NULL,
  progress            REAL NOT NULL DEFAULT 0,
  result              TEXT,
  error               TEXT,
  vars                TEXT NOT NULL DEFAULT '{}',
  parent_execution_id TEXT,
  task_count          INTEGER NOT NULL DEFAULT 0,
  created_at          TEXT NOT NULL,
  started_at          TEXT,
  completed_at        TEXT,
  failed_at           TEXT
);
CREATE INDEX jobs_by_owner ON jobs (owner, seq);
CREATE INDEX jobs_by_state ON jobs (state, seq);
CREATE INDEX jobs_by_parent_execution ON jobs (parent_execution_id) WHERE parent_execution_id IS NOT NULL;

-- Full-text search over name, description, tags and state. External content (the text lives only
-- in jobs), kept in step by triggers. porter stems English ("running" finds state RUNNING).
CREATE VIRTUAL TABLE jobs_search USING fts5(
  name, description, tags, state,
  content = 'jobs', content_rowid = 'seq', tokenize = 'porter unicode61'
);
CREATE TRIGGER jobs_search_insert AFTER INSERT ON jobs BEGIN
  INSERT INTO jobs_search (rowid, name, description, tags, state)
  VALUES (new.seq, new.name, new.description, new.tags, new.state);
END;
CREATE TRIGGER jobs_search_delete AFTER DELETE ON jobs BEGIN
  INSERT INTO jobs_search (jobs_search, rowid, name, description, tags, state)
  VALUES ('delete', old.seq, old.name, old.description, old.tags, old.state);
END;
CREATE TRIGGER jobs_search_update AFTER UPDATE OF name, description, tags, state ON jobs BEGIN
  INSERT INTO jobs_search (jobs_search, rowid, name, description, tags, state)
  VALUES ('delete', old.seq, old.name, old.description, old.tags, old.state);
  INSERT INTO jobs_search (rowid, name, description, tags, state)
  VALUES (new.seq, new.name, new.description, new.tags, new.state);
END;

CREATE TABLE tasks (
  id       TEXT PRIMARY KEY,
  job_id   TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  name     TEXT NOT NULL,
  spec     TEXT NOT NULL,
  needs    TEXT NOT NULL DEFAULT '[]',
  state    TEXT NOT NULL
);
CREATE INDEX tasks_by_job ON tasks (job_id, position);

-- owner, queue, priority, cpus, memory_mb and kind are copied from the job and task so a claim
-- reads one table.
CREATE TABLE executions (
  seq              INTEGER PRIMARY KEY AUTOINCREMENT,
  id               TEXT NOT NULL UNIQUE,
  job_id           TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  task_id          TEXT NOT NULL,
  parent_id        TEXT,
  idx              INTEGER NOT NULL DEFAULT 0,
  attempt          INTEGER NOT NULL DEFAULT 1,
  kind             TEXT NOT NULL,
  name             TEXT NOT NULL,
  state            TEXT NOT NULL,
  owner            TEXT NOT NULL,
  queue            TEXT NOT NULL,
  priority         INTEGER NOT NULL DEFAULT 0,
  cpus             REAL NOT NULL DEFAULT 0,
  memory_mb        INTEGER NOT NULL DEFAULT 0,
  spec             TEXT NOT NULL,
  node_id          TEXT,
  lease_expires_at TEXT,
  not_before       TEXT,
  timeout_ms       INTEGER,
  created_at       TEXT NOT NULL,
  scheduled_at     TEXT,
  started_at       TEXT,
  completed_at     TEXT,
  exit_code        INTEGER,
  result           TEXT,
  error            TEXT,
  reason           TEXT,
  progress         REAL NOT NULL DEFAULT 0,
  child_count      INTEGER NOT NULL DEFAULT 0,
  child_done       INTEGER NOT NULL DEFAULT 0
);
-- Claims: the loose index scan over owners and each owner's best candidates walk this index.
CREATE INDEX executions_claim ON executions (state, owner, priority DESC, seq);
CREATE INDEX executions_by_queue ON executions (queue, state);
CREATE INDEX executions_by_job ON executions (job_id, seq);
CREATE INDEX executions_by_task ON executions (task_id, seq);
CREATE INDEX executions_by_parent ON executions (parent_id, idx) WHERE parent_id IS NOT NULL;
CREATE INDEX executions_by_node ON executions (node_id) WHERE node_id IS NOT NULL;
CREATE INDEX executions_lease ON executions (lease_expires_at) WHERE state IN ('STARTING', 'RUNNING');

-- No foreign key to executions: a late log batch for a deleted job is dropped by the insert
-- itself, and deleting a job deletes its lines explicitly.
CREATE TABLE log_lines (
  execution_id TEXT NOT NULL,
  number       INTEGER NOT NULL,
  stream       TEXT NOT NULL,
  at           TEXT NOT NULL,
  line         TEXT NOT NULL,
  PRIMARY KEY (execution_id, number)
) WITHOUT ROWID;

CREATE TABLE events (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id       TEXT NOT NULL,
  execution_id TEXT,
  at           TEXT NOT NULL,
  kind         TEXT NOT NULL,
  state        TEXT,
  stage        TEXT,
  message      TEXT,
  data         TEXT
);
CREATE INDEX events_by_job ON events (job_id, id);

CREATE TABLE outbox (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  kind         TEXT NOT NULL,
  url          TEXT NOT NULL,
  headers      TEXT NOT NULL DEFAULT '{}',
  body         TEXT,
  attempts     INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  next_at      TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  last_error   TEXT,
  status       TEXT NOT NULL DEFAULT 'pending'
);
CREATE INDEX outbox_due ON outbox (next_at, id) WHERE status = 'pending';

CREATE TABLE artifacts (
  execution_id TEXT NOT NULL,
  job_id       TEXT NOT NULL,
  path         TEXT NOT NULL,
  size         INTEGER NOT NULL,
  created_at   TEXT NOT NULL,
  PRIMARY KEY (execution_id, path)
);
CREATE INDEX artifacts_by_job ON artifacts (job_id);

CREATE TABLE nodes (
  id                TEXT PRIMARY KEY,
  name              TEXT NOT NULL,
  role              TEXT NOT NULL,
  hostname          TEXT NOT NULL,
  version           TEXT NOT NULL,
  started_at        TEXT NOT NULL,
  last_heartbeat_at TEXT NOT NULL,
  cpu_percent       REAL NOT NULL DEFAULT 0,
  cpus              REAL NOT NULL DEFAULT 0,
  memory_mb         INTEGER NOT NULL DEFAULT 0,
  used_cpus         REAL NOT NULL DEFAULT 0,
  used_memory_mb    INTEGER NOT NULL DEFAULT 0,
  queues            TEXT NOT NULL DEFAULT '[]',
  status            TEXT NOT NULL,
  info              TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE leaders (
  name   TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  until  TEXT NOT NULL
);

CREATE TABLE users (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  role       TEXT NOT NULL,
  created_at TEXT NOT NULL,
  disabled   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE tokens (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  hash         TEXT NOT NULL UNIQUE,
  name         TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  last_used_at TEXT
);
CREATE INDEX tokens_by_user ON tokens (user_id);
`;

/** Cron schedules: each fires a job spec; `next_at` moves by compare-and-set so one server fires a tick. */
const SCHEDULES = `
CREATE TABLE schedules (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  id            TEXT NOT NULL UNIQUE,
  name          TEXT NOT NULL,
  description   TEXT,
  cron          TEXT NOT NULL,
  state         TEXT NOT NULL,
  spec          TEXT NOT NULL,
  owner         TEXT NOT NULL,
  origin        TEXT NOT NULL,
  tags          TEXT NOT NULL DEFAULT '[]',
  created_at    TEXT NOT NULL,
  next_at       TEXT NOT NULL,
  last_fired_at TEXT
);
CREATE INDEX schedules_by_owner ON schedules (owner, seq);
CREATE INDEX schedules_due ON schedules (next_at) WHERE state = 'ACTIVE';
`;

/**
 * An each with a concurrency limit releases its next PENDING item on every finish; without this
 * index finding it walks every finished item first (quadratic over a large array).
 */
const CHILDREN_BY_STATE = `
CREATE INDEX executions_children_by_state ON executions (parent_id, state, idx) WHERE parent_id IS NOT NULL;
`;

/** Tork's POST /users keeps a bcrypt hash for its basic-auth logins. */
const USER_PASSWORD_HASH = `
ALTER TABLE users ADD COLUMN password_hash TEXT;
`;

/**
 * Big arrays and big logs (migration 6).
 * - An each keeps its evaluated list once, in chunks of items (`array_items`), and creates its
 *   items a window at a time: `child_created` counts those made so far (NULL: every child was
 *   made when it expanded, as before).
 * - Logs are stored in chunks (one row per batch a worker sends, not one per line); the lines of
 *   the old table move over as one-line chunks. `bytes` is what the chunk costs in storage.
 */
// The reaper's stranded-job check asks, per open job, whether any top-level execution is unfinished;
// top-level executions are a handful per job, array items are many, so index only the former.
const TOP_LEVEL_BY_JOB = `
CREATE INDEX executions_top_level ON executions (job_id, state) WHERE parent_id IS NULL;
`;

const BIG_ARRAYS_AND_LOGS = `
ALTER TABLE executions ADD COLUMN child_created INTEGER;
-- The few eaches still making items, per job: their items not made yet count as PENDING.
CREATE INDEX executions_unmade ON executions (job_id) WHERE state = 'RUNNING' AND child_created < child_count;

CREATE TABLE array_items (
  execution_id TEXT NOT NULL,
  chunk        INTEGER NOT NULL,
  items        TEXT NOT NULL,
  PRIMARY KEY (execution_id, chunk)
) WITHOUT ROWID;

CREATE TABLE log_chunks (
  execution_id TEXT NOT NULL,
  first_number INTEGER NOT NULL,
  last_number  INTEGER NOT NULL,
  line_count   INTEGER NOT NULL,
  first_at     TEXT NOT NULL,
  bytes        INTEGER NOT NULL,
  body         TEXT NOT NULL,
  PRIMARY KEY (execution_id, first_number)
);
INSERT INTO log_chunks (execution_id, first_number, last_number, line_count, first_at, bytes, body)
SELECT execution_id, number, number, 1, at, length(CAST(line AS BLOB)) + 64,
       json_array(json_array(0, CASE stream WHEN 'stderr' THEN 'e' WHEN 'system' THEN 's' ELSE 'o' END, 0, line))
FROM log_lines;
DROP TABLE log_lines;
`;

/**
 * Accounts (issue 8): roles gain viewer and worker (role is free text, no change); quotas per
 * user; tokens become credentials of two kinds (API tokens, API keys) with a display prefix and an
 * optional expiry; registered ssh-ed25519 public keys; jobs shared with other users; usage per
 * owner and quota period for what cannot be counted from live rows (result bytes served).
 */
const ACCOUNTS = `
ALTER TABLE users ADD COLUMN quotas TEXT NOT NULL DEFAULT '{}';
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'token';
ALTER TABLE tokens ADD COLUMN prefix TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN expires_at TEXT;

CREATE TABLE pubkeys (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  key_type     TEXT NOT NULL,
  public_key   TEXT NOT NULL,
  fingerprint  TEXT NOT NULL UNIQUE,
  created_at   TEXT NOT NULL,
  expires_at   TEXT,
  last_used_at TEXT
);
CREATE INDEX pubkeys_by_user ON pubkeys (user_id);

CREATE TABLE job_shares (
  job_id     TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  user_name  TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (job_id, user_name)
);
CREATE INDEX job_shares_by_user ON job_shares (user_name);

CREATE TABLE usage (
  owner        TEXT NOT NULL,
  period_start TEXT NOT NULL,
  compute_ms   INTEGER NOT NULL DEFAULT 0,
  result_bytes INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (owner, period_start)
);

-- Compute seconds per period are summed from an owner's executions that ended in the period.
CREATE INDEX executions_by_owner_completed ON executions (owner, completed_at) WHERE completed_at IS NOT NULL;
`;

/**
 * Outside jobs (issue 12): jobs run elsewhere and recorded here (srtslurm's status API), keyed by
 * the outside id, beside the barge job that stands for them; lists sort by the outside system's
 * submission time as text. Status reports: an outbox row's method
 * (a report's update is a PUT) and an ordering key (one job's reports to one endpoint go one at a
 * time, oldest first).
 */
const OUTSIDE_JOBS = `
CREATE TABLE outside_jobs (
  origin       TEXT NOT NULL,
  external_id  TEXT NOT NULL,
  job_id       TEXT NOT NULL UNIQUE REFERENCES jobs (id) ON DELETE CASCADE,
  status       TEXT NOT NULL,
  cluster      TEXT,
  submitted_at TEXT NOT NULL,
  record       TEXT NOT NULL,
  PRIMARY KEY (origin, external_id)
);
CREATE INDEX outside_jobs_newest ON outside_jobs (origin, submitted_at DESC, external_id DESC);

ALTER TABLE outbox ADD COLUMN method TEXT NOT NULL DEFAULT 'POST';
ALTER TABLE outbox ADD COLUMN ordering_key TEXT;
CREATE INDEX outbox_ordered ON outbox (ordering_key, id) WHERE status = 'pending' AND ordering_key IS NOT NULL;
`;

/** The web UI's throughput figures count executions that ended in the last hour, by this index. */
const FINISHED_BY_TIME = `
CREATE INDEX executions_by_completed ON executions (completed_at) WHERE completed_at IS NOT NULL;
`;

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial schema', sql: INITIAL_SCHEMA },
  { version: 2, name: 'schedules', sql: SCHEDULES },
  { version: 3, name: 'children by state', sql: CHILDREN_BY_STATE },
  { version: 4, name: 'user password hashes', sql: USER_PASSWORD_HASH },
  { version: 5, name: 'accounts', sql: ACCOUNTS },
  { version: 6, name: 'big arrays and big logs', sql: BIG_ARRAYS_AND_LOGS },
  { version: 7, name: 'top-level executions by job', sql: TOP_LEVEL_BY_JOB },
  { version: 9, name: 'tools, filesystems and grants', sql: registrySchema('TEXT', 'TEXT') },
  { version: 11, name: 'outside jobs and ordered reports', sql: OUTSIDE_JOBS },
  { version: 14, name: 'executions by completion time', sql: FINISHED_BY_TIME },
];
