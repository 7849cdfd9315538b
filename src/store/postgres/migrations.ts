/**
 * PostgreSQL schema, one numbered migration at a time (append only; same numbers as SQLite; see
 * shared/migration.ts). Tables are created unqualified: the migrator runs with the store's schema
 * on the search path.
 *
 * Conventions: times are timestamptz, JSON is jsonb. Jobs and executions have a text `id` primary
 * key and an identity `seq` for newest-first/oldest-first order and cursors.
 */
import type { Migration } from '../shared/migration.js';
import { registrySchema } from '../shared/registry-sql.js';

const INITIAL_SCHEMA = `
CREATE TABLE jobs (
  id                  text PRIMARY KEY,
  seq                 bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  name                text NOT NULL,
  description         text,
  owner               text NOT NULL,
  origin              text NOT NULL,
  tags                jsonb NOT NULL DEFAULT '[]',
  inputs              jsonb NOT NULL DEFAULT '{}',
  secrets             jsonb NOT NULL DEFAULT '{}',
  metadata            jsonb NOT NULL DEFAULT '{}',
  queue               text NOT NULL,
  priority            integer NOT NULL DEFAULT 0,
  spec                jsonb NOT NULL,
  state               text NOT NULL,
  progress            double precision NOT NULL DEFAULT 0,
  result              text,
  error               text,
  vars                jsonb NOT NULL DEFAULT '{}',
  parent_execution_id text,
  task_count          integer NOT NULL DEFAULT 0,
  created_at          timestamptz NOT NULL,
  started_at          timestamptz,
  completed_at        timestamptz,
  failed_at           timestamptz,
  -- Full-text search over name, description, tags and state, English stemming ("running" finds
  -- state RUNNING). to_tsvector(regconfig, jsonb) indexes the tags' string values.
  search              tsvector GENERATED ALWAYS AS (
    to_tsvector('english'::regconfig, name)
    || to_tsvector('english'::regconfig, coalesce(description, ''))
    || to_tsvector('english'::regconfig, tags)
    || to_tsvector('english'::regconfig, state)
  ) STORED
);
CREATE INDEX jobs_by_owner ON jobs (owner, seq);
CREATE INDEX jobs_by_state ON jobs (state, seq);
CREATE INDEX jobs_by_parent_execution ON jobs (parent_execution_id) WHERE parent_execution_id IS NOT NULL;
CREATE INDEX jobs_by_tags ON jobs USING gin (tags);
CREATE INDEX jobs_search ON jobs USING gin (search);

CREATE TABLE tasks (
  id       text PRIMARY KEY,
  job_id   text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  position integer NOT NULL,
  name     text NOT NULL,
  spec     jsonb NOT NULL,
  needs    jsonb NOT NULL DEFAULT '[]',
  state    text NOT NULL
);
CREATE INDEX tasks_by_job ON tasks (job_id, position);

-- owner, queue, priority, cpus, memory_mb and kind are copied from the job and task so a claim
-- reads one table.
CREATE TABLE executions (
  id               text PRIMARY KEY,
  seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  job_id           text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  task_id          text NOT NULL,
  parent_id        text,
  idx              integer NOT NULL DEFAULT 0,
  attempt          integer NOT NULL DEFAULT 1,
  kind             text NOT NULL,
  name             text NOT NULL,
  state            text NOT NULL,
  owner            text NOT NULL,
  queue            text NOT NULL,
  priority         integer NOT NULL DEFAULT 0,
  cpus             double precision NOT NULL DEFAULT 0,
  memory_mb        integer NOT NULL DEFAULT 0,
  spec             jsonb NOT NULL,
  node_id          text,
  lease_expires_at timestamptz,
  not_before       timestamptz,
  timeout_ms       bigint,
  created_at       timestamptz NOT NULL,
  scheduled_at     timestamptz,
  started_at       timestamptz,
  completed_at     timestamptz,
  exit_code        integer,
  result           text,
  error            text,
  reason           text,
  progress         double precision NOT NULL DEFAULT 0,
  child_count      integer NOT NULL DEFAULT 0,
  child_done       integer NOT NULL DEFAULT 0
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
  execution_id text NOT NULL,
  number       integer NOT NULL,
  stream       text NOT NULL,
  at           timestamptz NOT NULL,
  line         text NOT NULL,
  PRIMARY KEY (execution_id, number)
);

CREATE TABLE events (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id       text NOT NULL,
  execution_id text,
  at           timestamptz NOT NULL,
  kind         text NOT NULL,
  state        text,
  stage        text,
  message      text,
  data         jsonb
);
CREATE INDEX events_by_job ON events (job_id, id);

CREATE TABLE outbox (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind         text NOT NULL,
  url          text NOT NULL,
  headers      jsonb NOT NULL DEFAULT '{}',
  body         jsonb,
  attempts     integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL,
  next_at      timestamptz NOT NULL,
  created_at   timestamptz NOT NULL,
  last_error   text,
  status       text NOT NULL DEFAULT 'pending'
);
CREATE INDEX outbox_due ON outbox (next_at, id) WHERE status = 'pending';

CREATE TABLE artifacts (
  execution_id text NOT NULL,
  job_id       text NOT NULL,
  path         text NOT NULL,
  size         bigint NOT NULL,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (execution_id, path)
);
CREATE INDEX artifacts_by_job ON artifacts (job_id);

CREATE TABLE nodes (
  id                text PRIMARY KEY,
  name              text NOT NULL,
  role              text NOT NULL,
  hostname          text NOT NULL,
  version           text NOT NULL,
  started_at        timestamptz NOT NULL,
  last_heartbeat_at timestamptz NOT NULL,
  cpu_percent       double precision NOT NULL DEFAULT 0,
  cpus              double precision NOT NULL DEFAULT 0,
  memory_mb         integer NOT NULL DEFAULT 0,
  used_cpus         double precision NOT NULL DEFAULT 0,
  used_memory_mb    integer NOT NULL DEFAULT 0,
  queues            jsonb NOT NULL DEFAULT '[]',
  status            text NOT NULL,
  info              jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE leaders (
  name   text PRIMARY KEY,
  holder text NOT NULL,
  until  timestamptz NOT NULL
);

CREATE TABLE users (
  id         text PRIMARY KEY,
  name       text NOT NULL UNIQUE,
  role       text NOT NULL,
  created_at timestamptz NOT NULL,
  disabled   boolean NOT NULL DEFAULT false
);

CREATE TABLE tokens (
  id           text PRIMARY KEY,
  user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  hash         text NOT NULL UNIQUE,
  name         text NOT NULL,
  created_at   timestamptz NOT NULL,
  last_used_at timestamptz
);
CREATE INDEX tokens_by_user ON tokens (user_id);
`;

/** Cron schedules: each fires a job spec; next_at moves by compare-and-set so one server fires a tick. */
const SCHEDULES = `
CREATE TABLE schedules (
  id            text PRIMARY KEY,
  seq           bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  name          text NOT NULL,
  description   text,
  cron          text NOT NULL,
  state         text NOT NULL,
  spec          jsonb NOT NULL,
  owner         text NOT NULL,
  origin        text NOT NULL,
  tags          jsonb NOT NULL DEFAULT '[]',
  created_at    timestamptz NOT NULL,
  next_at       timestamptz NOT NULL,
  last_fired_at timestamptz
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
ALTER TABLE users ADD COLUMN password_hash text;
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
ALTER TABLE executions ADD COLUMN child_created integer;
-- The few eaches still making items, per job: their items not made yet count as PENDING.
CREATE INDEX executions_unmade ON executions (job_id) WHERE state = 'RUNNING' AND child_created < child_count;

CREATE TABLE array_items (
  execution_id text NOT NULL,
  chunk        integer NOT NULL,
  items        text NOT NULL,
  PRIMARY KEY (execution_id, chunk)
);

CREATE TABLE log_chunks (
  execution_id text NOT NULL,
  first_number integer NOT NULL,
  last_number  integer NOT NULL,
  line_count   integer NOT NULL,
  first_at     timestamptz NOT NULL,
  bytes        bigint NOT NULL,
  body         text NOT NULL,
  PRIMARY KEY (execution_id, first_number)
);
INSERT INTO log_chunks (execution_id, first_number, last_number, line_count, first_at, bytes, body)
SELECT execution_id, number, number, 1, at, octet_length(line) + 64,
       jsonb_build_array(jsonb_build_array(0, CASE stream WHEN 'stderr' THEN 'e' WHEN 'system' THEN 's' ELSE 'o' END, 0, line))::text
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
ALTER TABLE users ADD COLUMN quotas jsonb NOT NULL DEFAULT '{}';
ALTER TABLE tokens ADD COLUMN kind text NOT NULL DEFAULT 'token';
ALTER TABLE tokens ADD COLUMN prefix text NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN expires_at timestamptz;

CREATE TABLE pubkeys (
  id           text PRIMARY KEY,
  user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name         text NOT NULL,
  key_type     text NOT NULL,
  public_key   text NOT NULL,
  fingerprint  text NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL,
  expires_at   timestamptz,
  last_used_at timestamptz
);
CREATE INDEX pubkeys_by_user ON pubkeys (user_id);

CREATE TABLE job_shares (
  job_id     text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  user_name  text NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (job_id, user_name)
);
CREATE INDEX job_shares_by_user ON job_shares (user_name);

CREATE TABLE usage (
  owner        text NOT NULL,
  period_start timestamptz NOT NULL,
  compute_ms   bigint NOT NULL DEFAULT 0,
  result_bytes bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (owner, period_start)
);

-- Compute seconds per period are summed from an owner's executions that ended in the period.
CREATE INDEX executions_by_owner_completed ON executions (owner, completed_at) WHERE completed_at IS NOT NULL;
`;

/**
 * Outside jobs (issue 12): jobs run elsewhere and recorded here (srtslurm's status API), keyed by
 * the outside id, beside the barge job that stands for them; lists sort by the outside system's
 * submission time as text, byte order as SQLite compares. Status reports: an outbox row's method
 * (a report's update is a PUT) and an ordering key (one job's reports to one endpoint go one at a
 * time, oldest first).
 */
const OUTSIDE_JOBS = `
CREATE TABLE outside_jobs (
  origin       text NOT NULL,
  external_id  text COLLATE "C" NOT NULL,
  job_id       text NOT NULL UNIQUE REFERENCES jobs (id) ON DELETE CASCADE,
  status       text NOT NULL,
  cluster      text,
  submitted_at text COLLATE "C" NOT NULL,
  record       jsonb NOT NULL,
  PRIMARY KEY (origin, external_id)
);
CREATE INDEX outside_jobs_newest ON outside_jobs (origin, submitted_at DESC, external_id DESC);

ALTER TABLE outbox ADD COLUMN method text NOT NULL DEFAULT 'POST';
ALTER TABLE outbox ADD COLUMN ordering_key text;
CREATE INDEX outbox_ordered ON outbox (ordering_key, id) WHERE status = 'pending' AND ordering_key IS NOT NULL;
`;

/** The web UI's throughput figures count executions that ended in the last hour, by this index. */
const FINISHED_BY_TIME = `
CREATE INDEX executions_by_completed ON executions (completed_at) WHERE completed_at IS NOT NULL;
`;

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial schema', sql: INITIAL_SCHEMA },
  { version: 2, name: 'schedules', sql: SCHEDULES },
  { version: 3, name: 'children by state', sql: CHILDREN_BY_STATE },
  { version: 4, name: 'user password hashes', sql: USER_PASSWORD_HASH },
  { version: 5, name: 'accounts', sql: ACCOUNTS },
  { version: 6, name: 'big arrays and big logs', sql: BIG_ARRAYS_AND_LOGS },
  { version: 7, name: 'top-level executions by job', sql: TOP_LEVEL_BY_JOB },
  { version: 9, name: 'tools, filesystems and grants', sql: registrySchema('timestamptz', 'jsonb') },
  { version: 11, name: 'outside jobs and ordered reports', sql: OUTSIDE_JOBS },
  { version: 14, name: 'executions by completion time', sql: FINISHED_BY_TIME },
];
